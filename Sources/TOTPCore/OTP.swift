@_exported public import TOTPCrypto

/// The parameters an authenticator app is configured with.
public struct OTPParameters: Equatable, Sendable {
    public static let digitsRange = 6...8
    public static let periodRange = 15...300

    public var algorithm: HashAlgorithm
    public var digits: Int
    public var period: Int

    /// The parameters every app supports and Google Authenticator assumes: SHA1, 6 digits, 30 s.
    public static let standard = OTPParameters(algorithm: .sha1, digits: 6, period: 30)

    public init(algorithm: HashAlgorithm, digits: Int, period: Int) {
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    /// Whether digits and period are within what the module supports.
    public var isValid: Bool {
        Self.digitsRange.contains(digits) && Self.periodRange.contains(period)
    }

    /// The RFC 6238 time step T = floor((now - T0) / X) with T0 = 0; times before 1970 count as step 0.
    public func step(at now: Int64) -> UInt64 {
        guard now > 0, period > 0 else { return 0 }
        return UInt64(now) / UInt64(period)
    }
}

public enum OTP {
    private static let powersOfTen: [UInt32] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    /// The HOTP value (RFC 4226, section 5.3) for `counter`, as ASCII digits with leading zeros.
    /// - Parameter digits: 6 to 8; other values are clamped into that range.
    public static func hotp(secret: [UInt8], counter: UInt64, algorithm: HashAlgorithm, digits: Int) -> [UInt8] {
        let digits = min(max(digits, OTPParameters.digitsRange.lowerBound), OTPParameters.digitsRange.upperBound)
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 {
            message[index] = UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * index))
        }
        var mac = Crypto.hmac(algorithm, key: secret, message: message)
        defer { Crypto.cleanse(&mac) }
        // Dynamic truncation (RFC 4226, section 5.4); the HMAC is at least 20 bytes, so offset+3 is in range.
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var value = binary % powersOfTen[digits]
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: digits)
        var index = digits - 1
        while index >= 0 {
            out[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            index -= 1
        }
        return out
    }

    /// The TOTP value (RFC 6238, section 4) at unix time `now`.
    public static func totp(secret: [UInt8], at now: Int64, parameters: OTPParameters) -> [UInt8] {
        hotp(secret: secret, counter: parameters.step(at: now), algorithm: parameters.algorithm, digits: parameters.digits)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
