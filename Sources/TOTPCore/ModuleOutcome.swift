/// What the module decided, before the driver makes it a PAM return code (`pamCode(for:)` in
/// PAMTOTP, the one place that maps it).
public enum ModuleOutcome: Equatable, Sendable {
    /// The user proved possession of the second factor, or needs none here (a trusted network, a
    /// remembered device).
    case success
    /// The module has no opinion (not enrolled, with `nullok`; spared by `groups=`); the rest of
    /// the stack decides.
    case ignore
    /// Wrong, replayed or missing code, unknown user, or a refused file.
    case denied
    /// The pam.d line is wrong; fixed only by an admin.
    case configurationError
    /// The application's conversation failed; nothing was verified.
    case conversationError
    /// Something on the system failed (state directory, user database, crypto); fail closed.
    case systemError
}
