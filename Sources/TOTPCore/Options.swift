/// The module's options, as written after `pam_totp.so` in a pam.d file (pam_totp(8)).
public struct ModuleOptions: Equatable, Sendable {
    public static let defaultSecret = "~/.pam_totp"
    public static let defaultState = "/var/lib/pam-totp"
    public static let defaultPrompt = "Verification code: "
    /// Site-wide defaults, read by the module and by pam-totp-setup; `config=` moves it.
    public static let defaultConfig = "/etc/pam-totp.conf"
    public static let retriesRange = 1...10
    public static let maxValueLength = 1024

    public var secret = defaultSecret
    public var stateDirectory = defaultState
    public var window = 1
    public var retries = 3
    public var prompt = defaultPrompt
    public var nullok = false
    public var debug = false
    /// The issuer authenticator apps show; used by pam-totp-setup, accepted and ignored by the module.
    public var issuer: String?
    /// Where the site-wide defaults were read from.
    public var config = defaultConfig

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
                do { try PathTemplate.validate(text) } catch {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: error.description)
                }
                options.secret = text
            case "state":
                let text = try required()
                guard text.hasPrefix("/"), !text.contains("%") else {
                    throw .invalidValue(option: shortName, value: String(text.prefix(80)), expected: "expected an absolute directory path")
                }
                options.stateDirectory = text
            case "window":
                options.window = try integer(TOTPVerifier.windowRange)
            case "retries":
                options.retries = try integer(retriesRange)
            case "prompt":
                let text = try required()
                // ocserv rewrites prompts that start with "Password" into its password field.
                guard !text.lowercased().hasPrefix("password"), text.utf8.count <= 200,
                    text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
                else {
                    throw .invalidValue(
                        option: shortName, value: String(text.prefix(40)),
                        expected: "a prompt must not start with 'Password' and must be printable, at most 200 bytes")
                }
                options.prompt = text
            case "nullok":
                try flag()
                options.nullok = true
            case "debug":
                try flag()
                options.debug = true
            case "issuer":
                let text = try required()
                guard !text.contains(":"), text.utf8.count <= 200, text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
                else {
                    throw .invalidValue(
                        option: shortName, value: String(text.prefix(40)),
                        expected: "an issuer is printable text without ':', at most 200 bytes")
                }
                options.issuer = text
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
        return options
    }
}
