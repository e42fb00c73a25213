/// What pam-totp-web reads from a request besides form fields' meaning: the form body, the client's
/// address from nginx, and whether a POST came from this site.
public enum HTTPInput {
    /// The largest form body read (every form of the portal is far smaller).
    public static let maxFormBytes = 8192
    public static let maxFields = 16

    public enum FormError: Error, Equatable, Sendable {
        case tooLarge, malformed, repeatedField
    }

    /// Parses an `application/x-www-form-urlencoded` body: `+` is a blank, `%XX` a byte; the result
    /// must be UTF-8. A field given twice is refused (which one would count is a guess).
    public static func parseForm(_ body: [UInt8]) throws(FormError) -> [String: String] {
        guard body.count <= maxFormBytes else { throw .tooLarge }
        var fields: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            guard fields.count < maxFields else { throw .tooLarge }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decodeComponent(parts[0])
            let value = parts.count > 1 ? try decodeComponent(parts[1]) : ""
            guard !name.isEmpty else { throw .malformed }
            guard fields[name] == nil else { throw .repeatedField }
            fields[name] = value
        }
        return fields
    }

    static func decodeComponent(_ bytes: ArraySlice<UInt8>) throws(FormError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
                index += 1
            } else if byte == UInt8(ascii: "%") {
                guard bytes.endIndex - index >= 3, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw .malformed
                }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else { throw .malformed }
        return text
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Whether a POST may be served: `Sec-Fetch-Site`, which every current browser sends, must be
    /// `same-origin` or `none` (typed by the user), and an `Origin` must be this site over HTTPS
    /// (`host` is the request's `Host`, which nginx passes on; the portal is served over TLS only,
    /// so an `http://` origin is another site, one an attacker on the path could speak for).
    /// `Origin: null` is what browsers send for a same-origin form under `Referrer-Policy:
    /// no-referrer`, so it proves nothing either way; the CSRF token and the SameSite cookie still
    /// guard such a request.
    public static func isSameOrigin(origin: String?, secFetchSite: String?, host: String?) -> Bool {
        if let site = secFetchSite, site != "same-origin" && site != "none" { return false }
        if let origin, origin != "null" {
            guard let host, !host.isEmpty else { return false }
            return origin == "https://" + host
        }
        return true
    }

    /// Whether `text` is an IP address literal (dotted-quad IPv4, or IPv6 without a zone), as nginx
    /// writes `X-Real-IP`.
    public static func isIPAddress(_ text: String) -> Bool {
        isIPv4(Substring(text)) || isIPv6(text)
    }

    static func isIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        return octets.allSatisfy { octet in
            guard (1...3).contains(octet.utf8.count), octet == "0" || !octet.hasPrefix("0"), let value = parseNumber(octet) else {
                return false
            }
            return value <= 255
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        guard (2...45).contains(text.utf8.count), text.contains(":") else { return false }
        let halves = split(text, on: "::")
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (halfIndex, half) in halves.enumerated() {
            if half.isEmpty { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() {
                let isLast = halfIndex == halves.count - 1 && index == parts.count - 1
                if isLast && part.contains(".") {
                    guard isIPv4(part) else { return false }
                    groups += 2
                    continue
                }
                guard (1...4).contains(part.utf8.count), part.utf8.allSatisfy({ hexValue($0) != nil }) else { return false }
                groups += 1
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }

    /// Splits at every occurrence of `separator` (no Foundation here).
    static func split(_ text: String, on separator: String) -> [String] {
        var result: [String] = []
        var current = ""
        var rest = Substring(text)
        while let first = rest.first {
            if rest.hasPrefix(separator) {
                result.append(current)
                current = ""
                rest = rest.dropFirst(separator.count)
            } else {
                current.append(first)
                rest = rest.dropFirst()
            }
        }
        result.append(current)
        return result
    }
}
