import Glibc
import TOTPCore

/// Asks for proof that the user has the app (a current code) or, if allowed, a recovery code.
/// As root, the answer is checked and recorded in the module's state like a login, so a code used
/// here cannot be used again; otherwise it is checked against the enrollment alone.
func proveHolding(_ target: Target, _ enrollment: Enrollment, allowRecovery: Bool, out: Output) throws {
    out.ask(allowRecovery ? "Current code from the app, or a recovery code: " : "Current code from the app: ")
    guard var answer = out.answer().map({ Array($0.utf8) }), !String(decoding: answer, as: UTF8.self).trimmingSpaces.isEmpty else {
        throw SetupError("no code was given; nothing was changed")
    }
    var input = CodeInput.classify(answer, digits: enrollment.parameters.digits)
    Crypto.cleanse(&answer)
    if case .recovery = input, !allowRecovery { input = .malformed }
    let window = enrollment.window ?? target.options.window
    let now = Int64(time(nil))
    let outcome: AttemptOutcome
    if geteuid() == 0 {
        outcome = try target.withState { locked in
            let state = try locked.read()
            let decision = try decideAttempt(
                input: input, enrollment: enrollment, state: state, now: now, window: window,
                hotpWindow: target.options.hotpWindow, throttle: target.options.throttle)
            if decision.state != state { try withSignalsBlocked { try locked.write(decision.state) } }
            return decision.outcome
        }
    } else {
        outcome = try decideAttempt(
            input: input, enrollment: enrollment, state: UserState(), now: now, window: window, hotpWindow: target.options.hotpWindow
        ).outcome
    }
    guard outcome.isSuccess else {
        throw SetupError("the code does not match (\(outcome.reason)); nothing was changed")
    }
}
