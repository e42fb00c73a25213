import PortalProtocol

/// What one line of the helper means during a login (docs/PORTAL.md, "Logging in"), decided here so
/// that the web process only carries it out.
public enum LoginEvent: Equatable, Sendable {
    /// A `NOTE` to show as a notice (a recovery code was accepted).
    case notice(Message)
    /// A `NOTE` to show as an error (a wrong code, throttling…).
    case error(Message)
    /// `PROMPT kind=code`: the code page.
    case askCode
    /// `PROMPT kind=remember`: the remember question, for this many days.
    case askRemember(days: Int)
    /// `PROMPT kind=other`: answered with an empty `ANSWER`, and the login goes on.
    case answerEmpty
    /// `DONE result=ok`.
    case succeeded
    /// `DONE result=fail` or an `ERR`: the login is over, with this message.
    case failed(Message)

    /// The meaning of `message`; `rememberDays` when a remember prompt has no usable `days`.
    public static func from(_ message: PortalMessage, rememberDays: Int) -> LoginEvent {
        switch message.verb {
        case "NOTE":
            let text = HelperText.note(message)
            return message["kind"] == "recovery-accepted" ? .notice(text) : .error(text)
        case "PROMPT":
            switch message["kind"] {
            case "code": return .askCode
            case "remember":
                let days = message["days"].flatMap { parseNumber($0) }.flatMap { (1...3650).contains($0) ? $0 : nil }
                return .askRemember(days: days ?? rememberDays)
            default: return .answerEmpty
            }
        case "DONE":
            return message["result"] == "ok" ? .succeeded : .failed(HelperText.loginFailure(message))
        case "ERR":
            return .failed(HelperText.error(message))
        default:
            return .failed(Message(.errUnavailable))
        }
    }
}

extension LoginEvent {
    /// What a failed login's page shows: the module's notes, then the reason, last (a page keeps only
    /// the newest few). Throttling and a lockout are said once, by the reason, not again by the
    /// module's note that says the same.
    public static func failureMessages(errors: [Message], notices: [Message], reason: Message) -> [Message] {
        let repeated: [MessageKey]
        switch reason.key {
        case .errLoginThrottled, .errLoginThrottledLater: repeated = [.noteThrottled, .errLoginThrottledLater]
        case .errLocked: repeated = [.noteLocked]
        default: repeated = []
        }
        return errors.filter { !repeated.contains($0.key) } + notices + [reason]
    }
}

/// What a refused action (an `ERR`, or anything but `OK`) leads to.
public enum ActionRefusal: Equatable, Sendable {
    /// `not-fresh`: the password (and code) again, then the action.
    case loginAgain
    /// `not-logged-in`: the helper's session is gone; log in anew.
    case loginLost
    /// Anything else: this error on the start page.
    case show(Message)

    public init(_ answer: PortalMessage) {
        guard answer.verb == "ERR" else {
            self = .show(Message(.errUnavailable))
            return
        }
        switch answer["reason"] {
        case "not-fresh": self = .loginAgain
        case "not-logged-in": self = .loginLost
        default: self = .show(HelperText.error(answer))
        }
    }
}
