/// The plain-text format shared by enrollment and state files (docs/FILEFORMAT.md): one `key value`
/// per line, keys and value separated by exactly one space, `#` comments and blank lines allowed,
/// LF line ends, printable ASCII only, and a final `end` line so that a truncated file never parses.
public enum LineFormat {
    /// Why a file does not parse. `line` counts from 1.
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        case tooLarge
        case nulByte
        case carriageReturn
        case notPrintableASCII
        case missingFinalNewline
        case missingEnd
        case contentAfterEnd
        case noValue(key: String)
        case unknownKey(String)
        case duplicateKey(String)
        case missingKey(String)
        case firstLineNotVersion
        case unsupportedVersion(String)
        case invalidValue(key: String)

        public var description: String {
            switch self {
            case .tooLarge: return "file too large"
            case .nulByte: return "NUL byte"
            case .carriageReturn: return "carriage return (CRLF line end)"
            case .notPrintableASCII: return "character that is not printable ASCII"
            case .missingFinalNewline: return "last line does not end with a newline (truncated?)"
            case .missingEnd: return "no 'end' line (truncated?)"
            case .contentAfterEnd: return "content after 'end'"
            case .noValue(let key): return "'\(key)' has no value"
            case .unknownKey(let key): return "unknown key '\(key)'"
            case .duplicateKey(let key): return "'\(key)' appears twice"
            case .missingKey(let key): return "'\(key)' is missing"
            case .firstLineNotVersion: return "first entry is not 'version'"
            case .unsupportedVersion(let version): return "unsupported version '\(version)'"
            case .invalidValue(let key): return "invalid value for '\(key)'"
            }
        }
    }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let problem: Problem
        public init(line: Int, problem: Problem) {
            self.line = line
            self.problem = problem
        }
        public var description: String { line > 0 ? "line \(line): \(problem)" : "\(problem)" }
    }

    public struct Entry: Equatable, Sendable {
        public let line: Int
        public let key: Substring
        /// The value's bytes: a slice of the file's own bytes, not a copy, so a secret value exists
        /// only where the caller will zero it.
        public let bytes: ArraySlice<UInt8>

        /// The value as text. Every use makes a String copy, which nothing zeroes: use `bytes` for a
        /// secret.
        public var value: Substring { Substring(String(decoding: bytes, as: UTF8.self)) }
    }

    public static let maxSize = 64 * 1024

    /// Splits `bytes` into entries, after checking the version line and the `end` line.
    /// - Parameter keys: the keys allowed; `repeatable` may appear more than once.
    public static func entries(_ bytes: [UInt8], version: Int, keys: Set<String>, repeatable: Set<String> = []) throws(ParseError)
        -> [Entry]
    {
        guard bytes.count <= maxSize else { throw ParseError(line: 0, problem: .tooLarge) }
        var line = 1
        for byte in bytes {
            switch byte {
            case 0: throw ParseError(line: line, problem: .nulByte)
            case UInt8(ascii: "\r"): throw ParseError(line: line, problem: .carriageReturn)
            case UInt8(ascii: "\n"): line += 1
            case 0x20...0x7e: break
            default: throw ParseError(line: line, problem: .notPrintableASCII)
            }
        }
        guard let last = bytes.last, last == UInt8(ascii: "\n") else {
            throw ParseError(line: line, problem: bytes.isEmpty ? .missingEnd : .missingFinalNewline)
        }
        // Split as bytes, not as a String of the whole file: that copy would hold the secret in memory
        // nobody zeroes. Only keys, and values read through `Entry.value`, become Strings.
        var result: [Entry] = []
        var seen: Set<Substring> = []
        var sawVersion = false
        var sawEnd = false
        for (index, raw) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = index + 1
            if raw.isEmpty || raw.first == UInt8(ascii: "#") { continue }
            if sawEnd { throw ParseError(line: number, problem: .contentAfterEnd) }
            if raw.elementsEqual("end".utf8) {
                sawEnd = true
                continue
            }
            guard let space = raw.firstIndex(of: UInt8(ascii: " ")) else {
                let name = String(decoding: raw.prefix(40), as: UTF8.self)
                throw ParseError(
                    line: number, problem: keys.contains(name) || name == "version" ? .noValue(key: name) : .unknownKey(name))
            }
            let key = Substring(String(decoding: raw[raw.startIndex..<space], as: UTF8.self))
            let value = raw[raw.index(after: space)...]
            if !sawVersion {
                guard key == "version" else { throw ParseError(line: number, problem: .firstLineNotVersion) }
                guard value.elementsEqual(String(version).utf8) else {
                    throw ParseError(line: number, problem: .unsupportedVersion(String(decoding: value.prefix(20), as: UTF8.self)))
                }
                sawVersion = true
                continue
            }
            guard keys.contains(String(key)) else { throw ParseError(line: number, problem: .unknownKey(String(key.prefix(40)))) }
            guard !value.isEmpty else { throw ParseError(line: number, problem: .noValue(key: String(key))) }
            if !repeatable.contains(String(key)) {
                guard seen.insert(key).inserted else { throw ParseError(line: number, problem: .duplicateKey(String(key))) }
            }
            result.append(Entry(line: number, key: key, bytes: value))
        }
        guard sawVersion else { throw ParseError(line: 0, problem: .missingKey("version")) }
        guard sawEnd else { throw ParseError(line: 0, problem: .missingEnd) }
        return result
    }

    /// Parses a decimal integer within `range`, refusing signs, spaces and leading zeros.
    public static func integer<R: RangeExpression>(_ entry: Entry, in range: R) throws(ParseError) -> Int where R.Bound == Int {
        guard let value = decimal(entry.value), range.contains(value) else {
            throw ParseError(line: entry.line, problem: .invalidValue(key: String(entry.key)))
        }
        return value
    }

    /// A strictly written non-negative decimal number, or nil.
    public static func decimal(_ text: Substring) -> Int? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 18, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if utf8.count > 1 && utf8.first == 0x30 { return nil }
        return Int(text)
    }
}
