public import TOTPCrypto

/// What the user typed at the prompt, sorted by shape before anything expensive happens.
public enum CodeInput: Equatable, Sendable {
    /// Longer than anything worth looking at; refused without being examined.
    public static let maxLength = 512

    case otp([UInt8])
    case recovery([UInt8])
    case malformed

    /// Sorts `raw`: spaces, tabs and dashes are ignored; exactly `digits` ASCII digits are a TOTP code;
    /// twelve recovery-code symbols are a recovery code; anything else is malformed.
    public static func classify(_ raw: [UInt8], digits: Int) -> CodeInput {
        guard raw.count <= maxLength else { return .malformed }
        let compact = raw.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "-") }
        if compact.count == digits && compact.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return .otp(compact)
        }
        if let normalized = RecoveryCode.normalize(raw) { return .recovery(normalized) }
        return .malformed
    }

    /// The method the input's shape asks for, as the log names it: "totp", "recovery" or "none".
    public var method: String {
        switch self {
        case .otp: return "totp"
        case .recovery: return "recovery"
        case .malformed: return "none"
        }
    }
}

/// One login attempt's outcome, decided from the enrollment, the state and the clock.
public enum AttemptOutcome: Equatable, Sendable {
    case acceptedTOTP(step: UInt64)
    case acceptedHOTP(counter: UInt64)
    case acceptedRecovery(remaining: Int)
    /// A token code far ahead of the counter: the user is asked for the next one to confirm it.
    case hotpResyncStarted
    case replayedTOTP
    case usedRecoveryCode
    /// Refused unchecked: this source must wait this many seconds.
    case throttled(retryAfter: Int64)
    /// Refused unchecked: the account's codes are locked (recovery codes still work).
    case locked
    case wrongCode
    case malformedInput

    public var isSuccess: Bool {
        switch self {
        case .acceptedTOTP, .acceptedHOTP, .acceptedRecovery: return true
        default: return false
        }
    }

    /// The reason word the log uses for a refusal.
    public var reason: String {
        switch self {
        case .acceptedTOTP, .acceptedHOTP, .acceptedRecovery: return "ok"
        case .hotpResyncStarted: return "hotp-resync-started"
        case .throttled: return "throttled"
        case .locked: return "locked"
        case .replayedTOTP: return "replayed-code"
        case .usedRecoveryCode: return "used-recovery-code"
        case .wrongCode: return "wrong-code"
        case .malformedInput: return "malformed-input"
        }
    }
}

/// Decides one attempt and returns the state to record. Pure: the caller holds the lock and writes.
/// - Parameters:
///   - window: TOTP steps either side of now.
///   - hotpWindow: HOTP counters looked ahead.
///   - source: where the attempt comes from (PAM_RHOST, or "-"), for throttling.
public func decideAttempt(
    input: CodeInput, enrollment: Enrollment, state: UserState, now: Int64, window: Int, hotpWindow: Int = 10,
    source: String = "-", throttle: ThrottlePolicy = ThrottlePolicy()
) throws(CryptoError) -> (outcome: AttemptOutcome, state: UserState) {
    let isRecovery = if case .recovery = input { true } else { false }
    switch state.throttle(source: source, now: now, policy: throttle, recoveryCode: isRecovery) {
    case .throttled(let retryAfter): return (.throttled(retryAfter: retryAfter), state)
    case .locked: return (.locked, state)
    case .allowed: break
    }
    var next = state
    let outcome: AttemptOutcome
    switch input {
    case .otp(let code) where enrollment.type == .hotp:
        let id = enrollment.identifier
        let recorded = state.hotpNext.flatMap { $0.enrollment == id ? $0.counter : nil } ?? 0
        let pending = state.hotpResync.flatMap { $0.enrollment == id && now - $0.at <= UserState.resyncTimeout ? $0.counter : nil }
        let verifier = HOTPVerifier(algorithm: enrollment.parameters.algorithm, digits: enrollment.parameters.digits, window: hotpWindow)
        switch verifier.verify(code: code, secret: enrollment.secret, next: max(recorded, enrollment.counter), pendingResync: pending) {
        case .accepted(let counter):
            next.hotpNext = (id, counter + 1)
            next.hotpResync = nil
            outcome = .acceptedHOTP(counter: counter)
        case .resyncStarted(let counter):
            next.hotpResync = (id, counter, now)
            outcome = .hotpResyncStarted
        case .rejected:
            outcome = .wrongCode
        }
    case .otp(let code):
        let verifier = TOTPVerifier(parameters: enrollment.parameters, window: window)
        switch verifier.verify(code: code, secret: enrollment.secret, now: now, lastAcceptedStep: state.lastStep) {
        case .accepted(let step):
            next.lastStep = step
            outcome = .acceptedTOTP(step: step)
        case .replayed: outcome = .replayedTOTP
        case .rejected: outcome = .wrongCode
        }
    case .recovery(let normalized):
        if let set = enrollment.recovery, let index = try set.match(normalized: normalized) {
            let id = RecoverySet.identifier(of: set.hashes[index])
            if state.usedRecovery.contains(id) {
                outcome = .usedRecoveryCode
            } else {
                // Keep only identifiers of codes in the current set, so the list stays bounded.
                let current = Set(set.hashes.map(RecoverySet.identifier(of:)))
                next.usedRecovery = state.usedRecovery.filter { current.contains($0) } + [id]
                outcome = .acceptedRecovery(remaining: set.hashes.count - next.usedRecovery.count)
            }
        } else {
            outcome = .wrongCode
        }
    case .malformed:
        outcome = .malformedInput
    }
    if outcome.isSuccess {
        next.recordSuccess(source: source)
    } else {
        next.recordFailure(source: source, now: now)
    }
    return (outcome, next)
}
