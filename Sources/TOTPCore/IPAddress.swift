/// An IPv4 or IPv6 address, parsed strictly from its textual form (no host names, no zones).
public struct IPAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    public init?(_ text: Substring) {
        if text.contains(":") {
            guard let bytes = Self.parseIPv6(text) else { return nil }
            // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it carries.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                self.bytes = Array(bytes[12..<16])
            } else {
                self.bytes = bytes
            }
        } else {
            guard let bytes = Self.parseIPv4(text) else { return nil }
            self.bytes = bytes
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard let value = LineFormat.decimal(part), value <= 255 else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        guard let (head, tail) = cutAtDoubleColon(text) else { return nil }
        func groups(_ part: Substring, allowIPv4: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if piece.contains("."), allowIPv4, index == pieces.count - 1, let v4 = parseIPv4(piece) {
                    out += v4
                    continue
                }
                guard (1...4).contains(piece.utf8.count), let value = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return out
        }
        guard let tail else {
            guard let all = groups(head, allowIPv4: true), all.count == 16 else { return nil }
            return all
        }
        guard let before = groups(head, allowIPv4: false), let after = groups(tail, allowIPv4: true),
            before.count + after.count <= 14
        else { return nil }
        return before + [UInt8](repeating: 0, count: 16 - before.count - after.count) + after
    }

    /// `text` cut at its "::" (the run of zero groups): what comes before and after it, or the whole
    /// text and nil if there is none; nil if there is more than one.
    static func cutAtDoubleColon(_ text: Substring) -> (Substring, Substring?)? {
        let bytes = Array(text.utf8)
        let starts = bytes.indices.dropLast().filter { bytes[$0] == UInt8(ascii: ":") && bytes[$0 + 1] == UInt8(ascii: ":") }
        guard let start = starts.first else { return (text, nil) }
        guard starts.count == 1 else { return nil }
        let cut = text.utf8.index(text.utf8.startIndex, offsetBy: start)
        return (text[..<cut], text[text.utf8.index(cut, offsetBy: 2)...])
    }
}
