/// The portal's two languages: the university guides it follows are bilingual.
public enum Language: String, CaseIterable, Sendable {
    case en
    case ja

    /// `en` or `ja` exactly, as `?lang=` and the `lang` cookie carry it.
    public init?(code: String) {
        self.init(rawValue: code)
    }

    /// The language an `Accept-Language` header prefers (RFC 9110, section 12.5.4): the highest
    /// q-value among `en`, `en-*`, `ja`, `ja-*` and `*`; the earlier one on a tie; English when the
    /// header names neither, or is missing or malformed.
    public static func negotiate(_ header: String?) -> Language {
        guard let header, header.utf8.count <= 1024 else { return .en }
        var best: (language: Language, quality: Int)?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let tagPart = parts.first else { continue }
            let tag = asciiLowercased(String(trimmed(tagPart)))
            var quality = 1000
            for parameter in parts.dropFirst() {
                let text = asciiLowercased(String(trimmed(parameter)))
                if text.hasPrefix("q=") {
                    guard let value = parseQuality(text.dropFirst(2)) else {
                        quality = -1
                        break
                    }
                    quality = value
                }
            }
            guard quality > 0 else { continue }
            let language: Language
            if tag == "ja" || tag.hasPrefix("ja-") {
                language = .ja
            } else if tag == "en" || tag.hasPrefix("en-") || tag == "*" {
                language = .en
            } else {
                continue
            }
            if best == nil || quality > best?.quality ?? 0 { best = (language, quality) }
        }
        return best?.language ?? .en
    }

    /// A q-value in thousandths: `0`, `1`, `0.5`, `1.000`; nil when malformed.
    static func parseQuality(_ text: Substring) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, whole == "0" || whole == "1" else { return nil }
        var thousandths = whole == "1" ? 1000 : 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard fraction.count <= 3, fraction.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            var scaled = 0
            var weight = 100
            for digit in fraction.utf8 {
                scaled += Int(digit - UInt8(ascii: "0")) * weight
                weight /= 10
            }
            if whole == "1" && scaled != 0 { return nil }
            thousandths += scaled
        }
        return thousandths
    }

    /// The language for a request: `?lang=`, then the `lang` cookie, then `Accept-Language`.
    public static func choose(query: String?, cookie: String?, acceptLanguage: String?) -> Language {
        if let query, let language = Language(code: query) { return language }
        if let cookie, let language = Language(code: cookie) { return language }
        return negotiate(acceptLanguage)
    }
}
