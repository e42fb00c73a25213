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
