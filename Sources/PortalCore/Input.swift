/// What a user typed into a form field, checked before anything is sent to the helper. Every refusal
/// is a catalog message, shown in the page's language; nothing here traps on any input.
public enum Input {
    /// Longest account accepted, in bytes (as typed, domain included).
    public static let maxAccountBytes = 256
    /// Longest user name sent to the helper.
    public static let maxUserBytes = 64
    /// Longest password accepted, in bytes.
    public static let maxPasswordBytes = 1024
    /// Longest code or recovery code accepted, in bytes (a recovery code with dashes and blanks fits).
    public static let maxCodeBytes = 64

    /// The user name to log in as: `account` without blanks around it, and without `@domain` when the
    /// domain is one of `domains` (compared without case). Any other `@` is refused with a message
    /// that says to leave the domain out, as the university guides warn.
    public static func account(_ raw: String, domains: [String]) -> Result<String, Message> {
        guard raw.utf8.count <= maxAccountBytes else { return .failure(Message(.errAccountTooLong)) }
        var name = String(trimmed(raw))
        guard !name.unicodeScalars.contains(where: isControl) else { return .failure(Message(.errAccountCharacters)) }
        guard !name.isEmpty else { return .failure(Message(.errAccountEmpty)) }
        if let at = name.firstIndex(of: "@") {
            let domain = asciiLowercased(String(name[name.index(after: at)...]))
            guard domains.contains(domain) else { return .failure(Message(.errAccountDomain)) }
            name = String(name[name.startIndex..<at])
            guard !name.isEmpty else { return .failure(Message(.errAccountEmpty)) }
        }
        guard isSafeUserName(name) else { return .failure(Message(.errAccountCharacters)) }
        return .success(name)
    }

    /// A name safe to hand to PAM and to log: ASCII letters, digits, `._-`, at most 64 bytes, not
    /// starting with `-` or `.` (no option, no hidden or relative path), and not all digits (a
    /// number would be read as a uid by some tools).
    public static func isSafeUserName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maxUserBytes, first != UInt8(ascii: "-"), first != UInt8(ascii: ".")
        else { return false }
        guard name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return false }
        return !name.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The password as typed (blanks are part of it): not empty, not too long, no control character.
    public static func password(_ raw: String) -> Result<String, Message> {
        guard !raw.isEmpty else { return .failure(Message(.errPasswordEmpty)) }
        guard raw.utf8.count <= maxPasswordBytes else { return .failure(Message(.errPasswordTooLong)) }
        guard !raw.unicodeScalars.contains(where: isControl) else { return .failure(Message(.errPasswordCharacters)) }
        return .success(raw)
    }

    /// A verification code or a recovery code, as the module reads them: letters, digits, blanks and
    /// dashes (the module ignores blanks and dashes). Blanks around it are dropped.
    public static func codeOrRecovery(_ raw: String) -> Result<String, Message> {
        guard raw.utf8.count <= maxCodeBytes else { return .failure(Message(.errCodeFormat)) }
        let code = String(trimmed(raw))
        guard !code.isEmpty else { return .failure(Message(.errCodeEmpty)) }
        guard code.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") }) else {
            return .failure(Message(.errCodeFormat))
        }
        return .success(code)
    }

    /// A current verification code only (setup, new recovery codes): 6 to 8 digits once blanks are
    /// dropped.
    public static func code(_ raw: String) -> Result<String, Message> {
        guard raw.utf8.count <= maxCodeBytes else { return .failure(Message(.errCodeDigits)) }
        let digits = raw.filter { $0 != " " && $0 != "\t" }
        guard !digits.isEmpty else { return .failure(Message(.errCodeEmpty)) }
        guard (6...8).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .failure(Message(.errCodeDigits))
        }
        return .success(digits)
    }

    /// A remembered device as the helper listed it (`address:…` or `key:SHA256:…`).
    public static func device(_ raw: String) -> String? {
        guard (1...128).contains(raw.utf8.count), raw.hasPrefix("address:") || raw.hasPrefix("key:") else { return nil }
        guard raw.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return raw
    }
}
