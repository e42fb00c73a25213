/// A message or prompt of the module's login, recognised by its exact text (`LoginMessage`), for a
/// program that drives the module through PAM and shows its own words instead of the module's (the
/// portal's helper, docs/PORTAL.md). Only the tool uses this; the module itself never classifies.
public enum LoginNotice: Equatable, Sendable {
    case wrongCode, noCode, replayed, passwordAsCode, locked
    case throttled(seconds: Int64)
    case recoveryAccepted(remaining: Int)
    case other

    /// The kind of a PAM_ERROR_MSG or PAM_TEXT_INFO text.
    public init(message text: String) {
        switch text {
        case LoginMessage.wrongCode: self = .wrongCode
        case LoginMessage.noCode: self = .noCode
        case LoginMessage.replayed: self = .replayed
        case LoginMessage.passwordAsCode: self = .passwordAsCode
        case LoginMessage.locked: self = .locked
        default:
            if let seconds = Self.number(in: text, between: "Too many wrong codes from here. Try again in ", and: " seconds."),
                LoginMessage.throttled(seconds) == text
            {
                self = .throttled(seconds: seconds)
            } else if let left = Self.number(in: text, between: "Recovery code accepted. ", and: " recovery code"),
                left <= 1000, LoginMessage.recoveryAccepted(remaining: Int(left)) == text
            {
                self = .recoveryAccepted(remaining: Int(left))
            } else {
                self = .other
            }
        }
    }

    /// The remembering period (seconds) an echo-on prompt asks about, if it is the module's
    /// `remember_ask` question (`LoginMessage.rememberQuestion`), word for word.
    public static func rememberQuestion(_ text: String) -> Int64? {
        let prefix = "Skip the code on this device for "
        let suffix = "? [y/N] "
        guard text.hasPrefix(prefix), text.hasSuffix(suffix), text.utf8.count < 120 else { return nil }
        let middle = text.dropFirst(prefix.count).dropLast(suffix.count).split(separator: " ")
        guard middle.count == 2, let n = LineFormat.decimal(middle[0]), n <= 1_000_000 else { return nil }
        let unit: Int64
        switch middle[1] {
        case "day", "days": unit = 86_400
        case "hour", "hours": unit = 3600
        case "minute", "minutes": unit = 60
        case "second", "seconds": unit = 1
        default: return nil
        }
        let seconds = Int64(n) * unit
        return LoginMessage.rememberQuestion(seconds) == text ? seconds : nil
    }

    /// The decimal number right after `prefix` at the start of `text`, ended by `suffix`'s start.
    private static func number(in text: String, between prefix: String, and suffix: String) -> Int64? {
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        let digits = rest.prefix { $0 >= "0" && $0 <= "9" }
        guard !digits.isEmpty, digits.count <= 9, rest.dropFirst(digits.count).hasPrefix(suffix) else { return nil }
        return LineFormat.decimal(digits).map(Int64.init)
    }
}
