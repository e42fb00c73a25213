import PortalProtocol

/// What the page says for the helper's `NOTE`, `DONE result=fail` and `ERR` lines (docs/PORTAL.md):
/// the portal's own English or Japanese text for each kind, never the module's text.
public enum HelperText {
    /// A `NOTE kind=K [seconds=N] [remaining=N]`.
    public static func note(_ message: PortalMessage) -> Message {
        switch message["kind"] {
        case "wrong-code": return Message(.noteWrongCode)
        case "no-code": return Message(.noteNoCode)
        case "replayed": return Message(.noteReplayed)
        case "password-as-code": return Message(.notePasswordAsCode)
        case "locked": return Message(.noteLocked)
        case "throttled":
            guard let seconds = count(message["seconds"]) else { return Message(.errLoginThrottledLater) }
            return Message(.noteThrottled, ["seconds": seconds])
        case "recovery-accepted":
            guard let remaining = count(message["remaining"]) else { return Message(.noteOther) }
            return remaining == "1" ? Message(.noteRecoveryAcceptedOne) : Message(.noteRecoveryAccepted, ["remaining": remaining])
        default: return Message(.noteOther)
        }
    }

    /// A `DONE result=fail reason=R [seconds=N]`: one message for every wrong password, wrong code
    /// and unknown user, so the page does not tell them apart.
    public static func loginFailure(_ message: PortalMessage) -> Message {
        switch message["reason"] {
        case "auth": return Message(.errLoginFailed)
        case "throttled":
            guard let seconds = count(message["seconds"]) else { return Message(.errLoginThrottledLater) }
            return Message(.errLoginThrottled, ["seconds": seconds])
        case "locked": return Message(.errLocked)
        case "account": return Message(.errAccountRefused)
        default: return Message(.errUnavailable)
        }
    }

    /// An `ERR reason=R` (`not-fresh` and `not-logged-in` are handled by the caller, which asks for a
    /// login; they read as "session expired" here).
    public static func error(_ message: PortalMessage) -> Message {
        switch message["reason"] {
        case "not-logged-in", "not-fresh": return Message(.errSessionExpired)
        case "not-enrolled": return Message(.errNotEnrolled)
        case "already-enrolled": return Message(.errAlreadyEnrolled)
        case "network": return Message(.errNetwork)
        case "no-pending": return Message(.errNoPending)
        case "mismatch": return Message(.errMismatch)
        case "throttled":
            guard let seconds = count(message["seconds"]) else { return Message(.errLoginThrottledLater) }
            return Message(.noteThrottled, ["seconds": seconds])
        case "locked": return Message(.errLocked)
        case "no-such-device": return Message(.errNoSuchDevice)
        case "bad-request": return Message(.errBadRequest)
        default: return Message(.errUnavailable)
        }
    }

    /// A count as the helper writes it (decimal, at most 9 digits), or nil.
    static func count(_ text: String?) -> String? {
        guard let text, let number = parseNumber(text) else { return nil }
        return String(number)
    }
}
