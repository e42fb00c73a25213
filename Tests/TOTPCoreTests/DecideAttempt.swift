import TOTPCore

/// Decides one attempt from its raw input: prepared, then decided, with the policy given piecemeal,
/// as a proof of possession (no place becomes familiar). The module and the tool go through
/// `CodeCheck`, which makes the same two calls; this shorthand keeps the core's tests short.
func decideAttempt(
    input: CodeInput, enrollment: Enrollment, state: UserState, now: Int64, window: Int, hotpWindow: Int = 10,
    source: String = "-", throttle: ThrottlePolicy = ThrottlePolicy()
) throws(CryptoError) -> (outcome: AttemptOutcome, state: UserState) {
    decideAttempt(
        input: try PreparedInput(input, enrollment: enrollment), enrollment: enrollment, state: state, now: now,
        policy: AttemptPolicy(window: window, hotpWindow: hotpWindow, throttle: throttle), origin: LoginOrigin(source: source),
        makesFamiliar: false)
}
