/// How long a remembered device is remembered: `30d`, `12h`, `90m`, `2w`, or seconds.
public enum RememberDuration {
    public static let range: ClosedRange<Int64> = 60...(400 * 86_400)

    public static func parse(_ text: Substring) -> Int64? {
        guard let unit = text.last else { return nil }
        let multiplier: Int64
        var digits = text.dropLast()
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        case "w": multiplier = 604_800
        case "0"..."9":
            // A bare number is seconds; any other last character is an unknown unit.
            multiplier = 1
            digits = text
        default: return nil
        }
        guard let value = LineFormat.decimal(digits), value <= 1_000_000_000 else { return nil }
        let seconds = Int64(value) * multiplier
        return range.contains(seconds) ? seconds : nil
    }

    /// `2592000` → `30 days`, `43200` → `12 hours`.
    public static func describe(_ seconds: Int64) -> String {
        func plural(_ n: Int64, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if seconds % 86_400 == 0 { return plural(seconds / 86_400, "day") }
        if seconds % 3600 == 0 { return plural(seconds / 3600, "hour") }
        if seconds % 60 == 0 { return plural(seconds / 60, "minute") }
        return plural(seconds, "second")
    }
}

/// What "the same device" means: the SSH key that already authenticated the connection, or else the
/// client's address. Never anything when neither is known (a local login).
public enum DeviceIdentity: Equatable, Sendable, CustomStringConvertible {
    case key(fingerprint: String)
    case address(String)

    /// The identity from sshd's `SSH_AUTH_INFO_0` (lines like `publickey ssh-ed25519 AAAA…`) or from
    /// `PAM_RHOST`, which must be an IP address (a host name could be spoofed through DNS).
    public static func find(authInfo: String?, remoteHost: String?) -> DeviceIdentity? {
        if let authInfo {
            for line in authInfo.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 3, words[0] == "publickey", let blob = Base64.decode(words[2]) {
                    return .key(fingerprint: "SHA256:" + Base64.encode(Crypto.sha256(blob), padded: false))
                }
            }
        }
        if let remoteHost, let address = IPAddress(remoteHost) { return .address(address.description) }
        return nil
    }

    /// `key:SHA256:…` or `address:192.0.2.7`, as the state file and the tool write it.
    public var description: String {
        switch self {
        case .key(let fingerprint): return "key:" + fingerprint
        case .address(let address): return "address:" + address
        }
    }

    public init?(_ text: Substring) {
        if text.hasPrefix("key:SHA256:") {
            let fingerprint = text.dropFirst(4)
            guard fingerprint.utf8.count <= 60, fingerprint.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
            self = .key(fingerprint: String(fingerprint))
        } else if text.hasPrefix("address:"), let address = IPAddress(text.dropFirst(8)) {
            self = .address(address.description)
        } else {
            return nil
        }
    }
}

/// A device whose code may be skipped until `expires`.
public struct RememberedDevice: Equatable, Sendable {
    /// The enrollment the device was remembered under; another enrollment (re-enrolling) ignores it.
    public var enrollment: String
    public var device: DeviceIdentity
    public var created: Int64
    public var expires: Int64

    public init(enrollment: String, device: DeviceIdentity, created: Int64, expires: Int64) {
        self.enrollment = enrollment
        self.device = device
        self.created = created
        self.expires = expires
    }
}

/// RFC 4648 Base64 (standard alphabet), for SSH key blobs and fingerprints.
public enum Base64 {
    // Computed: no heap-allocated globals in the module (see Base32.alphabet).
    private static var alphabet: [UInt8] { Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8) }

    public static func encode(_ bytes: [UInt8], padded: Bool = true) -> String {
        let alphabet = Self.alphabet
        var out = regroupBits(bytes, from: 8, to: 6, keepPartial: true).map { alphabet[Int($0)] }
        if padded {
            while out.count % 4 != 0 { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: Substring) -> [UInt8]? {
        let alphabet = Self.alphabet
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1, padding <= 2 else { return nil }
        return regroupBits(values, from: 6, to: 8, keepPartial: false)
    }
}

/// Calendar dates as days since 1970-01-01, for `nullok_until=`.
public enum CivilDate {
    /// `2027-01-31` → days since the epoch; nil unless it is a real date written as YYYY-MM-DD.
    public static func days(_ text: Substring) -> Int64? {
        guard text.utf8.count == 10, let seconds = UTCTimestamp.parse(Substring(text + "T00:00:00Z")) else { return nil }
        return seconds / 86_400
    }

    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 { UTCTimestamp.days(fromCivil: year, month, day) }
}

/// One field holding the password followed by the code (`forward_pass`).
public enum CombinedInput {
    /// Splits off the code at the end: a recovery code written with its dashes (`…kf7q-m2xd-9pwa`),
    /// or else exactly `digits` digits. Nil when the input ends in neither; then no code was given.
    public static func split(_ raw: [UInt8], digits: Int) -> (password: [UInt8], code: CodeInput)? {
        guard raw.count <= CodeInput.maxLength else { return nil }
        let displayed = RecoveryCode.symbols + RecoveryCode.symbols / RecoveryCode.groupSize - 1
        if raw.count >= displayed {
            let tail = Array(raw.suffix(displayed))
            if tail[4] == UInt8(ascii: "-"), tail[9] == UInt8(ascii: "-"), let normalized = RecoveryCode.normalize(tail) {
                return (Array(raw.dropLast(displayed)), .recovery(normalized))
            }
        }
        guard raw.count >= digits else { return nil }
        let tail = Array(raw.suffix(digits))
        guard tail.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return (Array(raw.dropLast(digits)), .otp(tail))
    }
}
