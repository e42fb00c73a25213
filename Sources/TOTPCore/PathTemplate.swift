/// Where a user's enrollment lives: `%u` is the user name, `%h` the home directory, `%%` a percent
/// sign, and a leading `~/` the home directory.
public enum PathTemplate {
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case notAbsolute
        case unknownEscape
        case unsafeUserName
        case badHome
        case sharedFile
        case emptyInList
        case tooManyInList

        public var description: String {
            switch self {
            case .notAbsolute: return "expected an absolute path, or one starting with ~/ or %h"
            case .unknownEscape: return "only %u, %h and %% may follow a percent sign"
            case .unsafeUserName: return "user name cannot be used in a path"
            case .badHome: return "home directory is not an absolute path"
            case .sharedFile:
                return "a location outside the home directory must contain %u, or every user would share one enrollment file"
            case .emptyInList: return "an empty location in the ':'-separated list"
            case .tooManyInList: return "at most \(maxTemplates) locations may be listed"
            }
        }
    }

    /// How many locations a `secret=` list may name.
    public static let maxTemplates = 4

    /// The locations in a `secret=` value, in the order they are looked at: one template, or several
    /// separated by `:` (the first that holds a user's enrollment is theirs).
    ///
    /// A template outside the home must contain `%u`: without it, every user would be given the same
    /// file, and the first user's enrollment would be everybody's.
    public static func list(_ text: String) throws(Problem) -> [String] {
        let templates = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard templates.count <= maxTemplates else { throw .tooManyInList }
        for template in templates {
            guard !template.isEmpty else { throw .emptyInList }
            try validate(template)
            if !usesHome(template) && !namesUser(template) { throw .sharedFile }
        }
        return templates
    }

    /// Whether the template contains `%u`.
    public static func namesUser(_ template: String) -> Bool { contains(escape: "u", in: template) }

    /// Whether the template names a file in the user's home (read and written with the user's privileges).
    public static func usesHome(_ template: String) -> Bool { template.hasPrefix("~/") || contains(escape: "h", in: template) }

    /// Whether `%` followed by `letter` stands in the template (`%%` is a literal percent sign).
    private static func contains(escape letter: Unicode.Scalar, in template: String) -> Bool {
        var escape = false
        for byte in template.utf8 {
            if escape {
                if byte == UInt8(ascii: letter) { return true }
                escape = false
            } else if byte == UInt8(ascii: "%") {
                escape = true
            }
        }
        return false
    }

    /// Checks the template's syntax.
    public static func validate(_ template: String) throws(Problem) {
        _ = try expand(template, user: "user", home: "/home/user")
    }

    /// The path for `user` whose home is `home`.
    public static func expand(_ template: String, user: String, home: String) throws(Problem) -> String {
        guard isSafeUserName(user) else { throw .unsafeUserName }
        if usesHome(template) {
            guard home.hasPrefix("/"), !home.utf8.contains(0) else { throw .badHome }
        }
        // Byte by byte: every escape is ASCII, and the rest is copied unchanged.
        var out: [UInt8] = []
        var rest = Array(template.utf8)[...]
        if template.hasPrefix("~/") {
            out = Array(home.utf8)
            if out.last == UInt8(ascii: "/") { out.removeLast() }
            rest = rest.dropFirst(1)
        }
        var escape = false
        for byte in rest {
            if escape {
                switch byte {
                case UInt8(ascii: "u"): out += user.utf8
                case UInt8(ascii: "h"): out += home.utf8
                case UInt8(ascii: "%"): out.append(byte)
                default: throw .unknownEscape
                }
                escape = false
            } else if byte == UInt8(ascii: "%") {
                escape = true
            } else {
                out.append(byte)
            }
        }
        guard !escape else { throw .unknownEscape }
        guard out.first == UInt8(ascii: "/") else { throw .notAbsolute }
        return String(decoding: out, as: UTF8.self)
    }

    /// A user name that can stand in a file name: printable ASCII, no slash, not "." or "..", not too long.
    public static func isSafeUserName(_ name: String) -> Bool {
        let utf8 = name.utf8
        return !utf8.isEmpty && utf8.count <= 256 && name != "." && name != ".."
            && utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }
    }
}
