/// The `otpauth://` URI authenticator apps read from a QR code (Google's Key Uri Format).
public enum OTPAuthURI {
    /// The URI for `enrollment`: `totp` with its period, or `hotp` with its counter.
    public static func uri(issuer: String, account: String, enrollment: Enrollment, counter: UInt64? = nil) -> String {
        switch enrollment.type {
        case .totp:
            return totp(issuer: issuer, account: account, secret: enrollment.secret, parameters: enrollment.parameters)
        case .hotp:
            let issuerText = percentEncode(issuer)
            return "otpauth://hotp/\(issuerText):\(percentEncode(account))"
                + "?secret=\(Base32.encode(enrollment.secret))&issuer=\(issuerText)"
                + "&algorithm=\(enrollment.parameters.algorithm.rawValue)&digits=\(enrollment.parameters.digits)&counter=\(counter ?? enrollment.counter)"
        }
    }

    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`, with the
    /// label and issuer percent-encoded as UTF-8 (so `@`, spaces, colons and non-ASCII survive).
    /// `algorithm`, `digits` and `period` are left out when they are the Key URI Format's defaults
    /// (SHA1, 6, 30), as every app reads them: 34 bytes fewer keep the terminal QR code one version
    /// smaller, which is what lets it fit an 80×24 terminal with a typical issuer and user name.
    public static func totp(issuer: String, account: String, secret: Secret, parameters: OTPParameters) -> String {
        let issuerText = percentEncode(issuer)
        var uri = "otpauth://totp/\(issuerText):\(percentEncode(account))?secret=\(Base32.encode(secret))&issuer=\(issuerText)"
        if parameters != OTPParameters(algorithm: .sha1, digits: 6, period: 30) {
            uri += "&algorithm=\(parameters.algorithm.rawValue)&digits=\(parameters.digits)&period=\(parameters.period)"
        }
        return uri
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    public static func percentEncode(_ text: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension OTPAuthURI {
    /// Reverses `percentEncode`: nil unless every `%` starts two hex digits and the result is UTF-8.
    public static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        func hex(_ c: UInt8?) -> UInt8? {
            switch c {
            case let c? where c >= 0x30 && c <= 0x39: return c - 0x30
            case let c? where c >= 0x41 && c <= 0x46: return c - 0x41 + 10
            case let c? where c >= 0x61 && c <= 0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = hex(iterator.next()), let low = hex(iterator.next()) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
