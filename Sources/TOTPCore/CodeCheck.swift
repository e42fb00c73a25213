/// One answer to a code prompt, checked the same way wherever it was typed: at a login (`Login`)
/// and in `pam-totp-setup`'s proofs of possession.
///
/// The check has two steps around the user's lock: `init` sorts and prepares the input before the
/// lock is taken (a recovery-shaped input is hashed there, so no input makes the module spend more
/// than one decision's time while holding the lock), and `decide` judges it against the state read
/// under the lock (`decideAttempt`), saying what to write back.
public struct CodeCheck {
    /// The method the input's shape asks for, as the log names it (`CodeInput.method`).
    public let method: String
    private let input: PreparedInput
    private let policy: AttemptPolicy
    private let origin: LoginOrigin
    private let decoy: Bool
    private let makesFamiliar: Bool

    /// Prepares `input` for a check against `enrollment`.
    /// - Parameters:
    ///   - origin: where the answer comes from, for throttling.
    ///   - decoy: `enrollment` stands in for one the user does not have: nothing is ever accepted.
    ///   - makesFamiliar: whether an accepted code makes `origin` familiar (a login's does; a proof
    ///     of possession with the tool does not).
    /// - Throws: `CryptoError` if a recovery code could not be hashed (libcrypto missing).
    public init(
        _ input: CodeInput, enrollment: Enrollment, policy: AttemptPolicy, origin: LoginOrigin, decoy: Bool = false,
        makesFamiliar: Bool = true
    ) throws(CryptoError) {
        method = input.method
        self.input = try PreparedInput(input, enrollment: enrollment)
        self.policy = policy
        self.origin = origin
        self.decoy = decoy
        self.makesFamiliar = makesFamiliar
    }

    /// Decides the answer against `state`, read under the user's lock at `now`.
    /// - Returns: the outcome, and the state to write before the lock is released, or nil if nothing
    ///   changed.
    public func decide(enrollment: Enrollment, state: UserState, now: Int64) -> (outcome: AttemptOutcome, write: UserState?) {
        let decision = decideAttempt(
            input: input, enrollment: enrollment, state: state, now: now, policy: policy, origin: origin, decoy: decoy,
            makesFamiliar: makesFamiliar)
        return (decision.outcome, decision.state == state ? nil : decision.state)
    }
}
