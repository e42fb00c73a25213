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
    public static func hotp(secret: Secret, counter: UInt64, algorithm: HashAlgorithm, digits: Int) -> Secret {
        let digits = min(max(digits, OTPParameters.digitsRange.lowerBound), OTPParameters.digitsRange.upperBound)
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 {
            message[index] = UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * index))
        }
        let mac = Crypto.hmac(algorithm, key: secret, message: message)
        // Dynamic truncation (RFC 4226, section 5.4); the HMAC is at least 20 bytes, so offset+3 is in range.
        var value: UInt32 = mac.withUnsafeBytes { mac in
            let offset = Int(mac[mac.count - 1] & 0x0f)
            let high = UInt32(mac[offset] & 0x7f) << 24 | UInt32(mac[offset + 1]) << 16
            return high | UInt32(mac[offset + 2]) << 8 | UInt32(mac[offset + 3])
        }
        value %= powersOfTen[digits]
        defer { value = 0 }
        return Secret(count: digits) { out in
            var rest = value
            for index in stride(from: digits - 1, through: 0, by: -1) {
                out[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
    }

    /// The TOTP value (RFC 6238, section 4) at unix time `now`.
    public static func totp(secret: Secret, at now: Int64, parameters: OTPParameters) -> Secret {
        hotp(secret: secret, counter: parameters.step(at: now), algorithm: parameters.algorithm, digits: parameters.digits)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { a in b.withUnsafeBytes { b in constantTimeEqual(a, b) } }
}
