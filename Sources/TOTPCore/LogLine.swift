/// How urgent a log line is; the driver maps it to syslog's priorities (`LOG_ERR` …).
public enum LogPriority: Equatable, Sendable {
    case error, warning, notice, info, debug
}

/// One line the module logs (README, "Log lines"): an event with the user, the remote host and
/// fields, or, for the few lines written before there is a user (configuration errors), plain text.
public struct LogLine: Equatable, Sendable {
    public var priority: LogPriority
    /// The event (`success`, `failure`, `skipped`, …), or the whole text of a plain line.
    public var event: String
    /// The user, as the line names it; nil for a plain line, which has no fields.
    public var user: String?
    /// `PAM_RHOST`, or `-`.
    public var remoteHost: String
    public var fields: [String: String]

    /// An event line (`user` set), or a plain one (`user` nil: `event` is the whole text).
    public init(_ priority: LogPriority, _ event: String, user: String?, remoteHost: String = "-", fields: [String: String] = [:]) {
        self.priority = priority
        self.event = event
        self.user = user
        self.remoteHost = remoteHost
        self.fields = fields
    }

    /// What is written to the log.
    public var text: String {
        guard let user else { return event }
        return LogValue.line(event, user: user, remoteHost: remoteHost, fields: fields)
    }
}

/// The text of an event line, made safe and short enough for syslog.
public enum LogValue {
    /// The longest line the module logs. Syslog receivers cut longer ones: RFC 3164 allows 1024 bytes
    /// for the whole packet, and the header and the `pam_totp(SERVICE:auth): ` prefix come on top.
    public static let maxLineLength = 800
    /// The longest value; a longer one loses its middle.
    public static let maxValueLength = 200
    /// Stands for the bytes cut from the middle of a value.
    static var cutMarker: [UInt8] { Array("...".utf8) }
    /// Free text, which goes after the short fields of fixed vocabulary (`reason`, `method`, …), so
    /// those come first in the line.
    static func isFreeText(_ key: String) -> Bool { key == "error" || key == "file" }

    /// One log line: `event user=U rhost=H`, the other fields in alphabetical order, then the free
    /// text (`error`, `file`). User and remote host stay first, where fail2ban filters look for them.
    /// The line fits in `maxLineLength` bytes whatever the values: the longest values are cut in the
    /// middle to the same length, as little as needed, so the short ones (an IP address, the reason)
    /// are never cut, and a cut value keeps its beginning and its end (an error's cause).
    public static func line(_ event: String, user: String, remoteHost: String, fields: [String: String]) -> String {
        let keys = fields.keys.sorted { (isFreeText($0) ? 1 : 0, $0) < (isFreeText($1) ? 1 : 0, $1) }
        let pairs = [("user", user), ("rhost", remoteHost)] + keys.map { ($0, fields[$0] ?? "") }
        var values = pairs.map { printable($0.1) }
        // Everything but the values' text: the event, " key=" and the quotes.
        let fixed = event.utf8.count + pairs.reduce(0) { $0 + 2 + $1.0.utf8.count } + values.reduce(0) { $0 + ($1.quoted ? 2 : 0) }
        let limit = cutLength(values.map { $0.text.count }, room: maxLineLength - fixed)
        var line = Array(event.utf8)
        for (index, (key, _)) in pairs.enumerated() {
            values[index].text = cut(values[index].text, to: limit)
            line += Array(" \(key)=".utf8)
            if values[index].quoted { line.append(UInt8(ascii: "\"")) }
            line += values[index].text
            if values[index].quoted { line.append(UInt8(ascii: "\"")) }
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Printable ASCII without quotes or backslashes; anything else becomes `?`. A value with spaces
    /// is to be quoted, an empty one is `""`. Only the first and last `maxValueLength` characters are
    /// kept, as `cut` keeps no more of a longer value.
    static func printable(_ value: String) -> (text: [UInt8], quoted: Bool) {
        let scalars = value.unicodeScalars
        let kept =
            scalars.count > 2 * maxValueLength
            ? Array(scalars.prefix(maxValueLength)) + Array(scalars.suffix(maxValueLength)) : Array(scalars)
        var text: [UInt8] = []
        text.reserveCapacity(kept.count)
        var quoted = false
        for scalar in kept {
            switch scalar.value {
            case 0x21...0x7e where scalar != "\"" && scalar != "\\": text.append(UInt8(scalar.value))
            case 0x20:
                quoted = true
                text.append(0x20)
            default: text.append(UInt8(ascii: "?"))
            }
        }
        return (text, quoted || text.isEmpty)
    }

    /// The largest length, at most `maxValueLength`, to which the values longer than it can be cut so
    /// that all of them together take at most `room` bytes ("water-filling": the longest are cut first).
    static func cutLength(_ lengths: [Int], room: Int) -> Int {
        let minimum = cutMarker.count + 2
        var limit = maxValueLength
        while limit > minimum, lengths.reduce(0, { $0 + min($1, limit) }) > room { limit -= 1 }
        return limit
    }

    /// `text` if it is at most `length` bytes, else its beginning and end around `cutMarker`.
    static func cut(_ text: [UInt8], to length: Int) -> [UInt8] {
        guard text.count > length else { return text }
        let kept = max(length - cutMarker.count, 2)
        return Array(text.prefix((kept + 1) / 2)) + cutMarker + Array(text.suffix(kept / 2))
    }
}
