/// The module's options, as written after `pam_totp.so` in a pam.d file (pam_totp(8)).
public struct ModuleOptions: Equatable, Sendable {
    public static let defaultSecret = "~/.pam_totp"
    public static let defaultState = "/var/lib/pam-totp"
    public static let defaultPrompt = "Verification code: "
    public static let retriesRange = 1...10
    public static let maxValueLength = 1024

    public var secret = defaultSecret
    public var stateDirectory = defaultState
    public var window = 1
    public var retries = 3
    public var prompt = defaultPrompt
    public var nullok = false
    public var debug = false

    public init() {}

    /// Why an option list was refused. Values are the admin's configuration, not secrets, and are
    /// shortened for the log.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case unknown(String)
        case missingValue(String)
        case unexpectedValue(String)
        case invalidValue(option: String, value: String, expected: String)

        public var description: String {
            switch self {
            case .unknown(let name): return "unknown option '\(name)'"
            case .missingValue(let name): return "option '\(name)' needs a value"
            case .unexpectedValue(let name): return "option '\(name)' takes no value"
            case .invalidValue(let option, let value, let expected): return "option '\(option)=\(value)': \(expected)"
            }
        }
    }

    /// Parses the module arguments. Unknown or malformed options are an error, never ignored.
    public static func parse(_ arguments: [String]) throws(ParseError) -> ModuleOptions {
        var options = ModuleOptions()
        for argument in arguments {
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
            default:
                throw .unknown(shortName)
            }
        }
        return options
    }
}
