/// The portal's configuration file, /etc/pam-totp-web.conf (docs/PORTAL.md, "Configuration"): the
/// same `key = value` lines for both processes, each of which uses the keys it needs and accepts the
/// others. An unknown key, a key given twice or a value out of range refuses the whole file, so that
/// a typo never silently weakens anything.
///
/// Pure: the caller reads the file (with its trust checks) and hands over the bytes.
public struct PortalConfig: Equatable, Sendable {
    /// `listen`: `unix:PATH` or `127.0.0.1:PORT` (the web process checks it).
    public var listen = "unix:/run/pam-totp-web/http.sock"
    /// `socket_group`: the group of the HTTP socket.
    public var socketGroup = "www-data"
    /// `helper`: the helper's socket, an absolute path.
    public var helper = "/run/pam-totp-web-helper/helper.sock"
    /// `web_user`: the only non-root user allowed to connect to the helper.
    public var webUser = "pam-totp-web"
    /// `pam_service`: the PAM service of the login.
    public var pamService = "pam-totp-web"
    /// `setup_networks`: the entries as written (CIDR notation, checked by the helper with TOTPCore's
    /// `CIDR`), each with its line; empty means setup is allowed from nowhere.
    public var setupNetworks: [NetworkEntry] = []
    /// `setup_networks = any`: setup is allowed from every address.
    public var setupFromAnywhere = false
    /// `remember_days`: how long "Skip the code on this device" lasts after setup (1–365).
    public var rememberDays = 30
    /// `domains`: the domains accepted after `@` in an account name.
    public var domains: [String] = []
    /// `contact` / `contact_ja`: whom to contact without phone and recovery codes (nil: the generic text).
    public var contact: String?
    public var contactJa: String?
    /// `session_idle`: seconds a session lives without a request.
    public var sessionIdle = 600
    /// `fresh_login`: seconds after login during which setup, delete and new recovery codes are allowed.
    public var freshLogin = 300
    /// `answer_timeout`: seconds the helper waits for the `ANSWER` to a prompt during a login, so that
    /// logins parked at the code prompt do not hold the helper's sessions for long.
    public var answerTimeout = 120
    /// `max_sessions`: the most helper sessions (children, and the web process's helper connections) at once.
    public var maxSessions = 256

    /// One `setup_networks` entry and the line it is on, for error messages.
    public struct NetworkEntry: Equatable, Sendable {
        public var text: String
        public var line: Int
        public init(_ text: String, line: Int) {
            self.text = text
            self.line = line
        }
    }

    public static let defaultPath = "/etc/pam-totp-web.conf"
    public static let rememberDaysRange = 1...365
    public static let sessionIdleRange = 5...86_400
    public static let freshLoginRange = 1...86_400
    public static let answerTimeoutRange = 10...600
    public static let maxSessionsRange = 1...4096

    /// Why a configuration file is refused.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownKey(String, line: Int)
        case duplicateKey(String, line: Int)
        case notKeyValue(line: Int)
        case badValue(key: String, line: Int, reason: String)

        public var description: String {
            switch self {
            case .unknownKey(let key, let line): return "line \(line): unknown key '\(key)'"
            case .duplicateKey(let key, let line): return "line \(line): '\(key)' is given twice"
            case .notKeyValue(let line): return "line \(line): not a 'key = value' line"
            case .badValue(let key, let line, let reason): return "line \(line): \(key): \(reason)"
            }
        }
    }

    public init() {}

    /// Parses the file's text: `key = value` lines, `#` starting a comment line, blank lines ignored.
    public static func parse(_ bytes: [UInt8]) throws(Problem) -> PortalConfig {
        var config = PortalConfig()
        var seen: [String] = []
        // Split on bytes: as Characters, "\r\n" would be one grapheme and never match "\n".
        for (index, rawLine) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = trimmed(Substring(String(decoding: rawLine, as: UTF8.self)))
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .notKeyValue(line: number) }
            let key = String(trimmed(line[line.startIndex..<equals]))
            let value = String(trimmed(line[line.index(after: equals)...]))
            guard !key.isEmpty else { throw .notKeyValue(line: number) }
            let shownKey = String(key.prefix(40))
            guard keys.contains(key) else { throw .unknownKey(shownKey, line: number) }
            guard !seen.contains(key) else { throw .duplicateKey(shownKey, line: number) }
            seen.append(key)
            func bad(_ reason: String) -> Problem { .badValue(key: key, line: number, reason: reason) }
            func whole(in range: ClosedRange<Int>) throws(Problem) -> Int {
                guard !value.isEmpty, value.utf8.count <= 6, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value),
                    range.contains(n)
                else { throw bad("must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
                return n
            }
            switch key {
            case "listen":
                guard !value.isEmpty else { throw bad("must not be empty") }
                config.listen = value
            case "socket_group":
                guard isName(value) else { throw bad("'\(value.prefix(40))' is not a group name") }
                config.socketGroup = value
            case "helper":
                guard value.hasPrefix("/"), value.utf8.count < 108, !value.contains(" ") else {
                    throw bad("must be an absolute path of at most 107 bytes")
                }
                config.helper = value
            case "web_user":
                guard isName(value) else { throw bad("'\(value.prefix(40))' is not a user name") }
                config.webUser = value
            case "pam_service":
                guard isName(value) else { throw bad("'\(value.prefix(40))' is not a PAM service name") }
                config.pamService = value
            case "setup_networks":
                let entries = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
                if entries == ["any"] {
                    config.setupFromAnywhere = true
                } else {
                    guard !entries.contains("any") else { throw bad("'any' cannot be combined with networks") }
                    config.setupNetworks = entries.map { NetworkEntry($0, line: number) }
                }
            case "remember_days": config.rememberDays = try whole(in: rememberDaysRange)
            case "domains":
                config.domains = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map { String($0) }
            case "contact": config.contact = value
            case "contact_ja": config.contactJa = value
            case "session_idle": config.sessionIdle = try whole(in: sessionIdleRange)
            case "fresh_login": config.freshLogin = try whole(in: freshLoginRange)
            case "answer_timeout": config.answerTimeout = try whole(in: answerTimeoutRange)
            case "max_sessions": config.maxSessions = try whole(in: maxSessionsRange)
            default: throw .unknownKey(shownKey, line: number)
            }
        }
        return config
    }

    /// Every key docs/PORTAL.md defines.
    public static let keys = [
        "listen", "socket_group", "helper", "web_user", "pam_service", "setup_networks", "remember_days", "domains", "contact",
        "contact_ja", "session_idle", "fresh_login", "answer_timeout", "max_sessions",
    ]

    /// A user, group or service name: letters, digits, `._-`, not starting with `-`, at most 64 bytes.
    static func isName(_ text: String) -> Bool {
        guard let first = text.utf8.first, first != UInt8(ascii: "-"), text.utf8.count <= 64 else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
            default: return false
            }
        }
    }

    static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }
}
