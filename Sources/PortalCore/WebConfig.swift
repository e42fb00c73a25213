import PortalProtocol

/// What pam-totp-web takes from `/etc/pam-totp-web.conf` (docs/PORTAL.md, "Configuration").
///
/// Both processes parse the file with PortalProtocol's `PortalConfig` (unknown or repeated keys and
/// values out of range are errors naming the line); this adds what only the web process checks:
/// `listen` must be a Unix socket or a loopback address, and `domains` must be domain names.
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

    /// The file as both processes read it.
    public var portal: PortalConfig
    public var listen: Listen
    /// Lower-cased.
    public var domains: [String]

    public var socketGroup: String { portal.socketGroup }
    public var helper: String { portal.helper }
    public var rememberDays: Int { portal.rememberDays }
    public var contact: String? { portal.contact.flatMap { $0.isEmpty ? nil : $0 } }
    public var contactJa: String? { portal.contactJa.flatMap { $0.isEmpty ? nil : $0 } }
    public var sessionIdle: Int { portal.sessionIdle }
    public var freshLogin: Int { portal.freshLogin }
    /// `max_sessions`: the most helper connections at once.
    public var maxSessions: Int { portal.maxSessions }
    /// `answer_timeout`: seconds a login waits for the user's answer.
    public var answerTimeout: Int { portal.answerTimeout }

    /// The defaults (no configuration file).
    public init() {
        portal = PortalConfig()
        listen = .unix("/run/pam-totp-web/http.sock")
        domains = []
    }

    /// Checks what only the web process uses.
    public init(_ portal: PortalConfig) throws(WebConfigError) {
        guard let listen = Self.parseListen(portal.listen) else {
            throw WebConfigError(
                "listen: \(quoted(portal.listen)) is not unix:/absolute/path, 127.0.0.1:PORT or [::1]:PORT (loopback only)")
        }
        let domains = portal.domains.map(asciiLowercased)
        for domain in domains where !Self.isDomain(domain) {
            throw WebConfigError("domains: \(quoted(domain)) is not a domain name")
        }
        self.portal = portal
        self.listen = listen
        self.domains = domains
    }

    /// Parses the file's bytes.
    public static func parse(_ bytes: [UInt8]) throws(WebConfigError) -> WebConfig {
        let portal: PortalConfig
        do {
            portal = try PortalConfig.parse(bytes)
        } catch {
            throw WebConfigError(error.description)
        }
        return try WebConfig(portal)
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

/// Why `/etc/pam-totp-web.conf` was refused (PortalConfig's reasons name the line).
public struct WebConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
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
