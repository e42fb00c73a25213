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
    public static func totp(issuer: String, account: String, secret: [UInt8], parameters: OTPParameters) -> String {
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

/// `YYYY-MM-DDTHH:MM:SSZ`, computed without the C library so the core stays clock- and locale-free.
public enum UTCTimestamp {
    public static func format(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    public static func parse(_ text: Substring) -> Int64? {
        let u = Array(text.utf8)
        guard u.count == 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
            u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"), u[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard u[index] >= 0x30 && u[index] <= 0x39 else { return nil }
                value = value * 10 + Int64(u[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let seconds = days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        // Refuse dates like February 30th, which would not format back to themselves.
        return format(seconds) == String(text) ? seconds : nil
    }

    /// Howard Hinnant's days-from-civil algorithm.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
