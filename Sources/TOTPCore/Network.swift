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
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
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
        if halves.count == 1 {
            guard let all = groups(halves[0], allowIPv4: true), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowIPv4: false), let tail = groups(halves[1], allowIPv4: true),
            head.count + tail.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension Substring {
    /// Splits on a whole separator string (for "::"), keeping empty pieces.
    func components(separatedBy separator: String) -> [Substring] {
        var pieces: [Substring] = []
        var rest = self
        while let range = rest.range(of: separator) {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }

    func range(of needle: String) -> Range<Index>? {
        let target = Array(needle.utf8)
        guard !target.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].utf8.starts(with: target) {
                return index..<self.utf8.index(index, offsetBy: target.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}

/// A network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128.
public struct CIDR: Equatable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    public let prefix: Int

    public init?(_ text: Substring) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.bytes.count * 8
        let length: Int
        if parts.count == 2 {
            // A prefix given for an IPv4-mapped IPv6 address counts in IPv6 bits.
            let mapped = parts[0].contains(":") && address.bytes.count == 4
            guard let value = LineFormat.decimal(parts[1]), value <= (mapped ? 128 : maximum) else { return nil }
            length = mapped ? value - 96 : value
            guard length >= 0 else { return nil }
        } else {
            length = maximum
        }
        // Refuse host bits after the prefix ("10.1.2.3/8"): almost always a typo for another network.
        for bit in length..<maximum where address.bytes[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 { return nil }
        network = address
        prefix = length
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        for bit in 0..<prefix where (address.bytes[bit / 8] ^ network.bytes[bit / 8]) & (0x80 >> UInt8(bit % 8)) != 0 {
            return false
        }
        return true
    }

    public var description: String { "\(network)/\(prefix)" }
}

/// The `trusted=` networks.
public struct TrustedNetworks: Equatable, Sendable {
    public var networks: [CIDR]

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(entry: String, line: Int)
        case empty
        public var description: String {
            switch self {
            case .malformed(let entry, let line):
                return "'\(entry)' is not a network in CIDR notation" + (line > 0 ? " (line \(line))" : "")
            case .empty: return "no networks given"
            }
        }
    }

    /// Parses a comma-separated list (the option's value) or a file's text: one network per line,
    /// `#` starting a comment. Any malformed entry refuses the whole list.
    public static func parse(_ text: String, isFile: Bool) throws(Problem) -> TrustedNetworks {
        var networks: [CIDR] = []
        let lines = isFile ? text.split(separator: "\n", omittingEmptySubsequences: false) : [Substring(text)]
        for (index, line) in lines.enumerated() {
            let content = isFile ? (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") : line
            // In a file, "a, b," is tolerated; on the module line an empty entry is a typo and refused.
            for raw in content.split(separator: ",", omittingEmptySubsequences: isFile) {
                let entry = raw.trimmingCharacters
                if entry.isEmpty && isFile { continue }
                guard let cidr = CIDR(entry) else { throw .malformed(entry: String(entry.prefix(60)), line: isFile ? index + 1 : 0) }
                networks.append(cidr)
            }
        }
        guard !networks.isEmpty else { throw .empty }
        return TrustedNetworks(networks: networks)
    }

    /// The network `host` (PAM_RHOST) lies in. A host name, or no host, never matches.
    public func match(_ host: String?) -> CIDR? {
        guard let host, let address = IPAddress(host) else { return nil }
        return networks.first { $0.contains(address) }
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    var trimmingCharacters: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return self[endIndex...] }
        return self[first...last]
    }
}
