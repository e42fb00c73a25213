import Glibc
import TOTPCore

/// Asks for proof that the user has the app (a current code) or, if allowed, a recovery code.
/// As root, the answer is checked and recorded in the module's state like a login, so a code used
/// here cannot be used again; otherwise it is checked against the enrollment alone.
func proveHolding(_ target: Target, _ enrollment: Enrollment, allowRecovery: Bool, out: Output) throws {
    let input = try askProof(enrollment, allowRecovery: allowRecovery, out: out)
    let outcome = try decide(input, enrollment: enrollment, target: target, recorded: geteuid() == 0)
    guard outcome.isSuccess else {
        throw SetupError("the code does not match (\(outcome.reason)); nothing was changed")
    }
}

/// `proveHolding` and then `change`, together (root only, whose proofs are recorded): the code is
/// decided and the enrollment changed under the user's lock, and only if the enrollment is still
/// `enrollment` (`changeEnrollment`), so a portal session or another admin changing it meanwhile is
/// not overwritten. A user's own proof (not root) has no state to lock: `proveHolding`, then the change.
func proveHoldingAndChange(_ target: Target, _ enrollment: Enrollment, allowRecovery: Bool, out: Output, change: EnrollmentChange) throws {
    guard geteuid() == 0 else {
        try proveHolding(target, enrollment, allowRecovery: allowRecovery, out: out)
        switch change {
        case .replace(let renewed): try target.place.write(renewed)
        case .remove: try target.place.remove()
        case .create(let created, _): try target.place.write(created)
        }
        return
    }
    let input = try askProof(enrollment, allowRecovery: allowRecovery, out: out)
    let check = try codeCheck(input, enrollment: enrollment, target: target, origin: LoginOrigin(source: "-"))
    switch try changeEnrollment(target, expected: enrollment, check: check, change: change) {
    case .changed: return
    case .refused(let outcome): throw SetupError("the code does not match (\(outcome.reason)); nothing was changed")
    case .enrollmentChanged:
        throw SetupError("the enrollment of \(target.name) (\(target.place.path)) changed meanwhile; nothing was changed")
    }
}

/// Asks for the code (or recovery code) and classifies it.
private func askProof(_ enrollment: Enrollment, allowRecovery: Bool, out: Output) throws -> CodeInput {
    out.ask(allowRecovery ? "Current code from the app, or a recovery code: " : "Current code from the app: ")
    guard let line = out.answer(), !line.trimmingSpaces.isEmpty else {
        throw SetupError("no code was given; nothing was changed")
    }
    var typed = Array(line.utf8)
    var input = CodeInput.classify(Secret(taking: &typed), digits: enrollment.parameters.digits)
    if case .recovery = input, !allowRecovery { input = .malformed }
    return input
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
    let check = try codeCheck(input, enrollment: enrollment, target: target, origin: origin)
    guard recorded else { return decideAlone(check, enrollment: enrollment).outcome }
    return try target.withState { locked in try record(check, enrollment: enrollment, in: locked) }
}

/// The check of `input` as `decide` makes it; a recovery code is hashed here, before any lock is
/// taken, as at login. `changeEnrollment` decides it under the lock it holds for the change.
func codeCheck(_ input: CodeInput, enrollment: Enrollment, target: Target, origin: LoginOrigin) throws -> CodeCheck {
    try CodeCheck(
        input, enrollment: enrollment, policy: AttemptPolicy(options: target.options, enrollment: enrollment),
        origin: origin, makesFamiliar: false)
}

/// `check` judged against an empty state (an enrollment not yet saved): the outcome, and the state an
/// accepted code leaves (its step), to be recorded when the enrollment is saved.
func decideAlone(_ check: CodeCheck, enrollment: Enrollment) -> (outcome: AttemptOutcome, accepted: UserState?) {
    let decision = check.decide(enrollment: enrollment, state: UserState(), now: Int64(time(nil)))
    return (decision.outcome, decision.outcome.isSuccess ? decision.write : nil)
}
