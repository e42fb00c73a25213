/// `/etc/pam-totp-web.conf`, read by both of the portal's processes (docs/PORTAL.md, "Configuration").
///
/// `key = value` lines; a line whose first non-blank character is `#` is a comment, and blank lines
/// are ignored. A `#` after a value is part of the value (a contact text may hold one). Unknown and
/// repeated keys are errors that name the line: a typo must not silently weaken anything.
public struct WebConfig: Equatable, Sendable {
    /// Where pam-totp-web serves HTTP to nginx.
    public enum Listen: Equatable, Sendable, CustomStringConvertible {
        /// A Unix socket (absolute path).
        case unix(String)
        /// A loopback address (an IPv4 address in 127.0.0.0/8, or `::1`) and a port.
        case loopback(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): return "unix:" + path
            case .loopback(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    public var listen: Listen = .unix("/run/pam-totp-web/http.sock")
    public var socketGroup = "www-data"
    public var helper = "/run/pam-totp-web-helper/helper.sock"
    public var webUser = "pam-totp-web"
    public var pamService = "pam-totp-web"
    /// The CIDR list as written (blank or comma separated); the helper decides with it.
    public var setupNetworks: [String] = []
    public var rememberDays = 30
    /// Lower-cased.
    public var domains: [String] = []
    public var contact: String?
    public var contactJa: String?
    public var sessionIdle = 600
    public var freshLogin = 300

    public init() {}

    /// Every key of docs/PORTAL.md; both processes accept them all, each uses its own.
    public static let keys = [
        "listen", "socket_group", "helper", "web_user", "pam_service", "setup_networks", "remember_days", "domains", "contact",
        "contact_ja", "session_idle", "fresh_login",
    ]

    /// The longest line accepted (a contact text fits comfortably).
    public static let maxLineLength = 4096

    /// Parses the file's text.
    public static func parse(_ text: String) throws(WebConfigError) -> WebConfig {
        var config = WebConfig()
        var seen: Set<String> = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard rawLine.utf8.count <= maxLineLength else { throw WebConfigError(line: lineNumber, problem: .tooLong) }
            guard !rawLine.unicodeScalars.contains(where: { isControl($0) && $0 != "\t" && $0 != "\r" }) else {
                throw WebConfigError(line: lineNumber, problem: .controlCharacter)
            }
            guard let equals = line.firstIndex(of: "=") else { throw WebConfigError(line: lineNumber, problem: .notKeyValue) }
            let key = String(trimmed(line[line.startIndex..<equals]))
            let value = String(trimmed(line[line.index(after: equals)...]))
            guard keys.contains(key) else { throw WebConfigError(line: lineNumber, problem: .unknownKey(key)) }
            guard !seen.contains(key) else { throw WebConfigError(line: lineNumber, problem: .repeatedKey(key)) }
            seen.insert(key)
            func bad(_ why: String) -> WebConfigError { WebConfigError(line: lineNumber, problem: .badValue(key: key, why: why)) }
            switch key {
            case "listen":
                guard let listen = parseListen(value) else {
                    throw bad("expected unix:/absolute/path, 127.0.0.1:PORT or [::1]:PORT (loopback only)")
                }
                config.listen = listen
            case "socket_group":
                guard isSafeName(value) else { throw bad("expected a group name") }
                config.socketGroup = value
            case "helper":
                guard isSocketPath(value) else { throw bad("expected an absolute path of at most 107 bytes") }
                config.helper = value
            case "web_user":
                guard isSafeName(value) else { throw bad("expected a user name") }
                config.webUser = value
            case "pam_service":
                guard isSafeName(value) else { throw bad("expected a PAM service name") }
                config.pamService = value
            case "setup_networks":
                let words = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
                guard words.allSatisfy({ $0.utf8.allSatisfy(isNetworkByte) }) else {
                    throw bad("expected CIDR networks separated by blanks or commas, or any")
                }
                config.setupNetworks = words
            case "remember_days":
                guard let days = parseNumber(value), (1...365).contains(days) else { throw bad("expected a number of days from 1 to 365") }
                config.rememberDays = days
            case "domains":
                let words = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map { asciiLowercased(String($0)) }
                guard words.allSatisfy(isDomain) else { throw bad("expected domain names separated by blanks or commas") }
                config.domains = words
            case "contact":
                config.contact = value.isEmpty ? nil : value
            case "contact_ja":
                config.contactJa = value.isEmpty ? nil : value
            case "session_idle":
                guard let seconds = parseNumber(value), (10...86400).contains(seconds) else {
                    throw bad("expected a number of seconds from 10 to 86400")
                }
                config.sessionIdle = seconds
            case "fresh_login":
                guard let seconds = parseNumber(value), (1...86400).contains(seconds) else {
                    throw bad("expected a number of seconds from 1 to 86400")
                }
                config.freshLogin = seconds
            default:
                throw WebConfigError(line: lineNumber, problem: .unknownKey(key))
            }
        }
        return config
    }

    /// `unix:/path`, `127.x.y.z:PORT` or `[::1]:PORT`.
    public static func parseListen(_ value: String) -> Listen? {
        if value.hasPrefix("unix:") {
            let path = String(value.dropFirst(5))
            return isSocketPath(path) ? .unix(path) : nil
        }
        guard let colon = value.lastIndex(of: ":"), let port = parseNumber(value[value.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        let host = value[value.startIndex..<colon]
        if host == "[::1]" { return .loopback(host: "::1", port: port) }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return nil }
        for octet in octets {
            guard octet.count <= 3, octet == "0" || !octet.hasPrefix("0"), let number = parseNumber(octet), number <= 255 else {
                return nil
            }
        }
        return .loopback(host: String(host), port: port)
    }

    static func isSocketPath(_ path: String) -> Bool {
        // sockaddr_un's sun_path holds 108 bytes with the terminating zero.
        path.hasPrefix("/") && path.utf8.count <= 107 && !path.unicodeScalars.contains { isControl($0) || $0 == " " }
    }

    /// A user, group or service name: letters, digits, `._-`, not starting with `-` or `.`.
    static func isSafeName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "."), name.utf8.count <= 64 else {
            return false
        }
        return name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    static func isNetworkByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "/")
    }

    /// Labels of letters, digits and `-`, separated by dots; at least two labels.
    static func isDomain(_ domain: String) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.utf8.count <= 253 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }
}

/// Why `/etc/pam-totp-web.conf` was refused, and on which line.
public struct WebConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case notKeyValue
        case unknownKey(String)
        case repeatedKey(String)
        case badValue(key: String, why: String)
        case tooLong
        case controlCharacter
    }

    public var line: Int
    public var problem: Problem

    public init(line: Int, problem: Problem) {
        self.line = line
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .notKeyValue: return "line \(line): expected key = value"
        case .unknownKey(let key): return "line \(line): unknown key \(quoted(key))"
        case .repeatedKey(let key): return "line \(line): \(key) is set twice"
        case .badValue(let key, let why): return "line \(line): \(key): \(why)"
        case .tooLong: return "line \(line): longer than \(WebConfig.maxLineLength) bytes"
        case .controlCharacter: return "line \(line): contains a control character"
        }
    }
}

// MARK: - Small text helpers shared by PortalCore (no Foundation)

func trimmed<S: StringProtocol>(_ text: S) -> Substring {
    let substring = Substring(text)
    let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
    guard let start = substring.firstIndex(where: { !isBlank($0) }), let end = substring.lastIndex(where: { !isBlank($0) }) else {
        return substring[substring.endIndex...]
    }
    return substring[start...end]
}

/// A decimal number of at most 9 digits, no sign, no blanks.
func parseNumber<S: StringProtocol>(_ text: S) -> Int? {
    guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return nil
    }
    return Int(text)
}

func isAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}

/// C0 and C1 control characters and DEL.
func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
}

func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
}

/// For error messages: the text in quotes, with control characters shown as `?`, at most 40 characters.
func quoted(_ text: String) -> String {
    let safe = String(String.UnicodeScalarView(text.unicodeScalars.prefix(40).map { isControl($0) ? "?" : $0 }))
    return "\"" + safe + "\""
}
