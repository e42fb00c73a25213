import TOTPCrypto

/// The module's options, as written after `pam_totp.so` in a pam.d file (pam_totp(8)).
public struct ModuleOptions: Equatable, Sendable {
    public static let defaultSecret = "~/.pam_totp"
    public static let defaultState = "/var/lib/pam-totp"
    public static let defaultPrompt = "Verification code: "
    /// Site-wide defaults, read by the module and by pam-totp-setup; `config=` moves it.
    public static let defaultConfig = "/etc/pam-totp.conf"
    public static let retriesRange = 1...10
    public static let maxValueLength = 1024

    /// `secret=`: where enrollments live, one template or a `:`-separated list (`PathTemplate.list`).
    public private(set) var secret = defaultSecret
    /// The enrollment locations in `secret`, in the order they are looked at; the first holding a file wins.
    public private(set) var secretTemplates = [defaultSecret]
    public var stateDirectory = defaultState
    /// `store=FILE` and `store_timeout=`: enrollments and state in PostgreSQL instead of files.
    public var store: StoreSettings?
    /// `store_timeout=` as given, applied to `store` whichever comes first.
    public private(set) var storeTimeout = StoreSettings.defaultTimeout
    public var window = 1
    public var retries = 3
    public var prompt = defaultPrompt
    public var nullok = false
    public var debug = false
    /// The issuer authenticator apps show; used by pam-totp-setup, accepted and ignored by the module.
    public var issuer: String?
    /// Where the site-wide defaults were read from.
    public var config = defaultConfig
    /// `remember=`: how long a device may skip the code after a correct one, in seconds.
    public var remember: Int64?
    /// `remember_ask` (default) asks before remembering; `remember_always` does not ask.
    public var rememberAsk = true
    /// `trusted=CIDR,…`: clients from these networks need no code.
    public var trusted: TrustedNetworks?
    /// `trusted=@FILE`: the networks are in this file (read by the caller).
    public var trustedFile: String?
    /// `nullok_until=YYYY-MM-DD`, as days since 1970-01-01: before that day, unenrolled users pass.
    public var nullokUntil: Int64?
    public var nullokUntilText: String?
    /// `groups=`: only members need a code. `exempt_groups=`: members need none.
    public var groups: [String]?
    public var exemptGroups: [String]?
    /// `forward_pass`: one prompt for password and code; the password goes on as PAM_AUTHTOK.
    public var forwardPass = false
    /// `use_first_pass` / `try_first_pass`: take the input from an earlier module's PAM_AUTHTOK.
    public var firstPass: FirstPass = .no
    /// `hotp_window=`: how many counters ahead a hardware token's code is looked for.
    public var hotpWindow = 10
    /// `throttle_free=`, `throttle_delay=`, `throttle_max_delay=`, `max_failures=`.
    public var throttle = ThrottlePolicy()
    /// Whether `prompt=` was given (forward_pass has a different default).
    public var promptGiven = false
    /// `setup_hint=TEXT`: how users enroll at this site, shown with the `nullok_until` notice.
    public var setupHint: String?
    /// `message_prompt`: a refusal's message is followed by one prompt whose answer is ignored, for
    /// applications that show messages only together with a prompt (ocserv).
    public var messagePrompt = false

    public enum FirstPass: Equatable, Sendable { case no, tryFirst, useFirst }

    /// Where the PostgreSQL store is described (`store=`), and how long any wait for it may last.
    public struct StoreSettings: Equatable, Sendable {
        public static let defaultTimeout = 3
        public static let timeoutRange = 1...60
        /// The root-only file holding the libpq connection string.
        public var file: String
        /// Seconds: the bound on connecting (per host) and on each statement.
        public var timeout: Int

        public init(file: String, timeout: Int = defaultTimeout) {
            self.file = file
            self.timeout = timeout
        }
    }

    public static let defaultForwardPrompt = "Password & verification code: "

    /// Sets `secret` and its locations, if the value is a valid list.
    public mutating func setSecret(_ text: String) throws(PathTemplate.Problem) {
        secretTemplates = try PathTemplate.list(text)
        secret = text
    }

    /// The prompt actually shown.
    public var effectivePrompt: String { forwardPass && !promptGiven ? Self.defaultForwardPrompt : prompt }

    public init() {}

    /// Why an option list was refused. Values are the admin's configuration, not secrets, and are
    /// shortened for the log.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case unknown(String)
        case missingValue(String)
        case unexpectedValue(String)
        case invalidValue(option: String, value: String, expected: String)
        case configLine(line: Int, problem: String)

        public var description: String {
            switch self {
            case .unknown(let name): return "unknown option '\(name)'"
            case .missingValue(let name): return "option '\(name)' needs a value"
            case .unexpectedValue(let name): return "option '\(name)' takes no value"
            case .invalidValue(let option, let value, let expected): return "option '\(option)=\(value)': \(expected)"
            case .configLine(let line, let problem): return "configuration file line \(line): \(problem)"
            }
        }
    }

    /// The configuration file the arguments name with `config=`, or the default.
    public static func configPath(in arguments: [String]) -> String {
        arguments.last { $0.hasPrefix("config=") }.map { String($0.dropFirst("config=".count)) } ?? defaultConfig
    }

    /// The options in a configuration file: one per line, written as on a pam.d line (`window=2`,
    /// `issuer=Example University`); `#` comments and blank lines are ignored.
    public static func configArguments(_ bytes: [UInt8]) throws(ParseError) -> [String] {
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            throw .configLine(line: 0, problem: "not UTF-8 text")
        }
        var arguments: [String] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()
            let text = String(line)
            if text.isEmpty || text.hasPrefix("#") { continue }
            if text.hasPrefix("config=") { throw .configLine(line: index + 1, problem: "config= cannot be set in the configuration file") }
            do { _ = try parse([text]) } catch { throw .configLine(line: index + 1, problem: error.description) }
            arguments.append(text)
        }
        return arguments
    }

    /// Parses the module arguments, after the configuration file's (`config`), so that the pam.d
    /// line overrides the site-wide defaults. Unknown or malformed options are an error, never ignored.
    public static func parse(_ arguments: [String], config: [String] = []) throws(ParseError) -> ModuleOptions {
        var options = ModuleOptions()
        for argument in config + arguments {
            let name: String
            let value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
                value = nil
            }
            let shortName = String(name.prefix(40))
            func required() throws(ParseError) -> String {
                guard let value, !value.isEmpty else { throw .missingValue(shortName) }
                guard value.utf8.count <= maxValueLength, !value.utf8.contains(0) else {
                    throw .invalidValue(option: shortName, value: String(value.prefix(40)) + "…", expected: "value too long")
                }
                return value
            }
            func flag() throws(ParseError) {
                guard value == nil else { throw .unexpectedValue(shortName) }
            }
            /// Text a user is shown: printable, at most 200 bytes, and without the `forbidden` characters.
            func printable(_ what: String, forbidden: Set<Unicode.Scalar> = []) throws(ParseError) -> String {
                let text = try required()
                guard text.utf8.count <= 200,
                    text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f && !forbidden.contains($0) })
                else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(40)), expected: what)
                }
                return text
            }
            func integer(_ range: ClosedRange<Int>) throws(ParseError) -> Int {
                let text = try required()
                guard let number = LineFormat.decimal(Substring(text)), range.contains(number) else {
                    throw .invalidValue(
                        option: shortName, value: String(text.prefix(40)),
                        expected: "expected a number from \(range.lowerBound) to \(range.upperBound)")
                }
                return number
            }
            switch name {
            case "secret":
                let text = try required()
                do { try options.setSecret(text) } catch {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: error.description)
                }
            case "state":
                let text = try required()
                guard text.hasPrefix("/"), !text.contains("%") else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: "expected an absolute directory path")
                }
                options.stateDirectory = text
            case "store":
                let text = try required()
                guard text.hasPrefix("/") else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: "expected an absolute file path")
                }
                options.store = StoreSettings(file: text, timeout: options.storeTimeout)
            case "store_timeout":
                options.storeTimeout = try integer(StoreSettings.timeoutRange)
                options.store?.timeout = options.storeTimeout
            case "window":
                options.window = try integer(TOTPVerifier.windowRange)
            case "retries":
                options.retries = try integer(retriesRange)
            case "prompt":
                options.prompt = try printable("a prompt must be printable, at most 200 bytes")
                options.promptGiven = true
            case "remember":
                let text = try required()
                guard let seconds = RememberDuration.parse(Substring(text)) else {
                    throw .invalidValue(
                        option: shortName, value: String(text.prefix(40)), expected: "expected a duration from 1m to 400d, like 30d or 12h")
                }
                options.remember = seconds
            case "remember_ask":
                try flag()
                options.rememberAsk = true
            case "remember_always":
                try flag()
                options.rememberAsk = false
            case "trusted":
                let text = try required()
                if text.hasPrefix("@") {
                    guard text.dropFirst().hasPrefix("/") else {
                        throw .invalidValue(
                            option: shortName, value: String(text.prefix(80)), expected: "expected @ and an absolute file path")
                    }
                    options.trustedFile = String(text.dropFirst())
                    options.trusted = nil
                } else {
                    do { options.trusted = try TrustedNetworks.parse(text, isFile: false) } catch {
                        throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: error.description)
                    }
                    options.trustedFile = nil
                }
            case "nullok_until":
                let text = try required()
                guard let days = CivilDate.days(Substring(text)) else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(40)), expected: "expected a date as YYYY-MM-DD")
                }
                options.nullokUntil = days
                options.nullokUntilText = text
            case "groups", "exempt_groups":
                let text = try required()
                let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard names.allSatisfy({ PathTemplate.isSafeUserName($0) }) else {
                    throw .invalidValue(
                        option: shortName, value: String(text.prefix(80)), expected: "expected group names separated by commas")
                }
                if name == "groups" { options.groups = names } else { options.exemptGroups = names }
            case "forward_pass":
                try flag()
                options.forwardPass = true
            case "use_first_pass":
                try flag()
                options.firstPass = .useFirst
            case "try_first_pass":
                try flag()
                options.firstPass = .tryFirst
            case "hotp_window":
                options.hotpWindow = try integer(HOTPVerifier.windowRange)
            case "throttle_free":
                options.throttle.free = try integer(ThrottlePolicy.freeRange)
            case "throttle_delay":
                options.throttle.baseDelay = Int64(try integer(1...86_400))
            case "throttle_max_delay":
                options.throttle.maxDelay = Int64(try integer(1...86_400))
            case "max_failures":
                options.throttle.maxFailures = try integer(ThrottlePolicy.maxFailuresRange)
            case "nullok":
                try flag()
                options.nullok = true
            case "debug":
                try flag()
                options.debug = true
            case "issuer":
                options.issuer = try printable("an issuer is printable text without ':', at most 200 bytes", forbidden: [":"])
            case "setup_hint":
                options.setupHint = try printable("a hint must be printable, at most 200 bytes")
            case "message_prompt":
                try flag()
                options.messagePrompt = true
            case "config":
                let text = try required()
                guard text.hasPrefix("/") else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: "expected an absolute file path")
                }
                options.config = text
            default:
                throw .unknown(shortName)
            }
        }
        // ocserv treats a prompt that starts with "Password" as its password field: right for the one
        // field of forward_pass, wrong for a code prompt of its own.
        if !options.forwardPass && options.prompt.asciiLowercased.hasPrefix("password") {
            throw .invalidValue(
                option: "prompt", value: String(options.prompt.prefix(40)),
                expected: "a code prompt must not start with 'Password' (only a forward_pass prompt may)")
        }
        return options
    }
}
