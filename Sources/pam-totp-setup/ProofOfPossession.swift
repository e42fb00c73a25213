import Glibc
import TOTPCore

/// Asks for proof that the user has the app (a current code) or, if allowed, a recovery code.
/// As root, the answer is checked and recorded in the module's state like a login, so a code used
/// here cannot be used again; otherwise it is checked against the enrollment alone.
func proveHolding(_ target: Target, _ enrollment: Enrollment, allowRecovery: Bool, out: Output) throws {
    out.ask(allowRecovery ? "Current code from the app, or a recovery code: " : "Current code from the app: ")
    guard let line = out.answer(), !line.trimmingSpaces.isEmpty else {
        throw SetupError("no code was given; nothing was changed")
    }
    var typed = Array(line.utf8)
    var input = CodeInput.classify(Secret(taking: &typed), digits: enrollment.parameters.digits)
    if case .recovery = input, !allowRecovery { input = .malformed }
    let outcome = try decide(input, enrollment: enrollment, target: target, recorded: geteuid() == 0)
    guard outcome.isSuccess else {
        throw SetupError("the code does not match (\(outcome.reason)); nothing was changed")
    }
}

/// Decides `input` as a login decides an answer (`CodeCheck`, with the module's window, HOTP window
/// and throttling from the configuration), but makes no place familiar: a proof of possession is
/// not a login. With `recorded`, the module's state is read and written under the user's lock, so
/// that the code cannot be used again (root only); else the answer is judged against an empty state
/// (a user's own proof, or the first code of an enrollment not yet saved). `origin` is the source
/// throttling counts the answer against: "-" for the tool at a terminal, the browser's address for
/// the portal's helper, so that its failures and the module's are throttled together.
func decide(
    _ input: CodeInput, enrollment: Enrollment, target: Target, recorded: Bool, origin: LoginOrigin = LoginOrigin(source: "-")
) throws -> AttemptOutcome {
    // A recovery code is hashed here, before the lock is taken, as at login.
    let check = try CodeCheck(
        input, enrollment: enrollment, policy: AttemptPolicy(options: target.options, enrollment: enrollment),
        origin: origin, makesFamiliar: false)
    guard recorded else { return check.decide(enrollment: enrollment, state: UserState(), now: Int64(time(nil))).outcome }
    return try target.withState { locked in
        let decision = check.decide(enrollment: enrollment, state: try locked.read(), now: Int64(time(nil)))
        if let changed = decision.write { try withSignalsBlocked { try locked.write(changed) } }
        return decision.outcome
    }
}
