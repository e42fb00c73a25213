import PortalProtocol
import TOTPCore

/// How the pages show what the helper answered.
public enum Display {
    /// A Base32 secret in groups of four, as apps and the university guides show it: `JBSW Y3DP EHPK 3PXP`.
    public static func groupSecret(_ secret: String) -> String {
        var groups: [String] = []
        var current = ""
        for character in secret where character != " " && character != "=" {
            current.append(character)
            if current.count == 4 {
                groups.append(current)
                current = ""
            }
        }
        if !current.isEmpty { groups.append(current) }
        return groups.joined(separator: " ")
    }

    /// The recovery codes of an `OK recovery=CODE,CODE,…`: each made of letters, digits and dashes.
    public static func recoveryCodes(_ message: PortalMessage) -> [String]? {
        guard let list = message["recovery"] else { return nil }
        let codes = list.split(separator: ",").map(String.init)
        guard !codes.isEmpty, codes.count <= 100,
            codes.allSatisfy({ $0.utf8.count <= 64 && $0.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") } })
        else { return nil }
        return codes
    }

    /// The text file of `/recovery-codes.txt`: a title, a note, the date, then one code a line (CRLF,
    /// so that Windows' Notepad shows the lines too).
    public static func recoveryFile(codes: [String], account: String, date: String, language: Language) -> String {
        var lines = [
            Message(.recoveryFileTitle, ["account": account]).text(in: language),
            Message(.recoveryFileDate, ["date": date]).text(in: language),
            Message(.recoveryFileNote).text(in: language),
            "",
        ]
        lines += codes
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The times the helper may send (Unix seconds): 1970-01-01 to 9999-12-31 23:59:59 UTC. Anything
    /// else is refused as malformed, so that no date arithmetic can overflow.
    public static let timeRange: ClosedRange<Int64> = 0...253_402_300_799
    /// The UTC offsets a time zone may have (tm_gmtoff is within a day).
    public static let offsetRange: ClosedRange<Int64> = -86_400...86_400

    /// A time as the helper writes it (decimal Unix seconds within `timeRange`), or nil.
    public static func unixTime(_ text: String?) -> Int64? {
        guard let text, !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let seconds = Int64(text), timeRange.contains(seconds)
        else { return nil }
        return seconds
    }

    /// `2026-11-30 16:40 JST`: Unix seconds shown at a UTC offset (the server's time zone); `?` for
    /// a time outside `timeRange` or an offset outside `offsetRange`.
    public static func date(_ seconds: Int64, offset: Int64, zone: String) -> String {
        guard timeRange.contains(seconds), offsetRange.contains(offset) else { return "?" }
        // Both bounded: no arithmetic below can overflow.
        let local = seconds + offset
        let days = local >= 0 ? local / 86400 : (local - 86399) / 86400
        let secondOfDay = local - days * 86400
        let (year, month, day) = UTCTimestamp.civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text = "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60))"
        return zone.isEmpty ? text : text + " " + zone
    }
}

/// A remembered device of `STATUS`'s `devices=DEVICE@CREATED@EXPIRES,…`.
public struct RememberedDevice: Equatable, Sendable {
    /// `address:192.0.2.7` or `key:SHA256:…`, as FORGET takes it back.
    public var device: String
    public var created: Int64
    public var expires: Int64

    public init(device: String, created: Int64, expires: Int64) {
        self.device = device
        self.created = created
        self.expires = expires
    }

    /// The address of an `address:` device, or nil.
    public var address: String? { device.hasPrefix("address:") ? String(device.dropFirst(8)) : nil }
    /// The fingerprint of a `key:` device, or nil.
    public var keyFingerprint: String? { device.hasPrefix("key:") ? String(device.dropFirst(4)) : nil }

    /// Parses the list; nil if any entry is malformed (a time outside `Display.timeRange` too). The
    /// times are the last two `@` fields.
    public static func parseList(_ text: String) -> [RememberedDevice]? {
        var devices: [RememberedDevice] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count >= 3, let created = Display.unixTime(String(parts[parts.count - 2])),
                let expires = Display.unixTime(String(parts[parts.count - 1]))
            else { return nil }
            let device = parts.dropLast(2).joined(separator: "@")
            guard let checked = Input.device(device) else { return nil }
            devices.append(RememberedDevice(device: checked, created: created, expires: expires))
        }
        return devices
    }
}

/// The helper's `OK` answer to `STATUS`.
public struct PortalStatus: Equatable, Sendable {
    public var user: String
    public var enrolled: Bool
    public var type: String?
    public var algorithm: String?
    public var digits: Int?
    public var period: Int?
    public var created: Int64?
    public var recoveryLeft: Int?
    public var setupAllowed: Bool
    public var devices: [RememberedDevice]

    /// Nil when the answer is not a well-formed status.
    public init?(_ message: PortalMessage) {
        guard message.verb == "OK", let user = message["user"], Input.isSafeUserName(user) else { return nil }
        guard let enrolled = message["enrolled"], enrolled == "yes" || enrolled == "no" else { return nil }
        self.user = user
        self.enrolled = enrolled == "yes"
        type = message["type"].flatMap { ["totp", "hotp"].contains($0) ? $0 : nil }
        algorithm = message["algorithm"].flatMap { ["SHA1", "SHA256", "SHA512"].contains($0) ? $0 : nil }
        digits = message["digits"].flatMap { parseNumber($0) }
        period = message["period"].flatMap { parseNumber($0) }
        if let text = message["created"] {
            guard let time = Display.unixTime(text) else { return nil }
            created = time
        } else {
            created = nil
        }
        recoveryLeft = message["recovery-left"].flatMap { parseNumber($0) }
        setupAllowed = message["setup-allowed"] == "yes"
        guard let devices = RememberedDevice.parseList(message["devices"] ?? "") else { return nil }
        self.devices = devices
    }
}

/// Whether a login is recent enough for setup, delete and new recovery codes (`fresh_login`).
public func isFresh(loginAt: Int64, now: Int64, freshSeconds: Int) -> Bool {
    now >= loginAt && now - loginAt <= Int64(freshSeconds)
}
