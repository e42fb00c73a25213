public import TOTPCrypto

/// What the user typed at the prompt, sorted by shape before anything expensive happens.
public enum CodeInput: Equatable, Sendable {
    /// Longer than anything worth looking at; refused without being examined.
    public static let maxLength = 512

    case otp(Secret)
    case recovery(Secret)
    case malformed

    /// Sorts `raw`: spaces, tabs and dashes are ignored; exactly `digits` ASCII digits are a TOTP code;
    /// twelve recovery-code symbols are a recovery code; anything else is malformed.
    public static func classify(_ raw: Secret, digits: Int) -> CodeInput {
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
    /// The clock was corrected since the last accepted code (it lies in the future): this code is
    /// unused and later than every step used before, and the next code confirms it.
    case clockResyncStarted
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
        // For the log it is a replay: a step not later than the last accepted one.
        case .clockResyncStarted: return "replayed-code"
        case .throttled: return "throttled"
        case .locked: return "locked"
        case .replayedTOTP: return "replayed-code"
        case .usedRecoveryCode: return "used-recovery-code"
        case .wrongCode: return "wrong-code"
        case .malformedInput: return "malformed-input"
        }
    }
}

/// What the user typed, with the expensive part done: a recovery-shaped input hashed (PBKDF2) and
/// compared with the stored set. Made before the user's lock is taken, so no input makes the module
/// spend more than one hash's time while holding it.
public enum PreparedInput: Equatable, Sendable {
    case otp(Secret)
    /// The index of the stored code it matched, if any. `strong` for a 12-symbol code (60 bits);
    /// imported 8-digit scratch codes (26.6 bits) are weak and throttled and locked like TOTP codes.
    case recovery(match: Int?, strong: Bool)
    case malformed

    public init(_ input: CodeInput, enrollment: Enrollment) throws(CryptoError) {
        switch input {
        case .otp(let code): self = .otp(code)
        case .malformed: self = .malformed
        case .recovery(let normalized):
            // An enrollment without recovery codes hashes the input all the same, so the time taken
            // does not tell whether it has any.
            let match = try (enrollment.recovery ?? RecoverySet.decoy).match(normalized: normalized)
            self = .recovery(match: enrollment.recovery == nil ? nil : match, strong: normalized.count == RecoveryCode.symbols)
        }
    }
}

/// The options an attempt is decided under.
public struct AttemptPolicy: Equatable, Sendable {
    public var window: Int
    public var hotpWindow: Int
    public var throttle: ThrottlePolicy

    public init(window: Int, hotpWindow: Int = 10, throttle: ThrottlePolicy = ThrottlePolicy()) {
        self.window = window
        self.hotpWindow = hotpWindow
        self.throttle = throttle
    }

    /// The policy for `enrollment` under the module's `options`: its own window if it carries one
    /// (kept from an imported file), else `window=`; `hotp_window=` and the throttling options.
    public init(options: ModuleOptions, enrollment: Enrollment) {
        self.init(window: enrollment.window ?? options.window, hotpWindow: options.hotpWindow, throttle: options.throttle)
    }
}

/// Decides one attempt whose input is already prepared, and returns the state to record. Pure: the
/// caller holds the lock and writes.
/// - Parameters:
///   - origin: where the attempt comes from; whether it is familiar decides which ceiling applies.
///   - decoy: the enrollment stands in for an account that has none (or for a name that is no
///     account): everything is computed and recorded as for a real one, so that a client cannot tell
///     them apart, and nothing is ever accepted.
///   - makesFamiliar: whether a code accepted makes `origin` familiar (a login's does).
public func decideAttempt(
    input: PreparedInput, enrollment: Enrollment, state: UserState, now: Int64, policy: AttemptPolicy, origin: LoginOrigin,
    decoy: Bool = false, makesFamiliar: Bool = true
) -> (outcome: AttemptOutcome, state: UserState) {
    let strongRecovery = if case .recovery(_, true) = input { true } else { false }
    let familiar = state.isFamiliar(origin, now: now)
    switch state.throttle(source: origin.source, familiar: familiar, now: now, policy: policy.throttle, recoveryCode: strongRecovery) {
    case .throttled(let retryAfter): return (.throttled(retryAfter: retryAfter), state)
    case .locked: return (.locked, state)
    case .allowed: break
    }
    var next = state
    var outcome: AttemptOutcome
    switch input {
    case .otp(let code) where enrollment.type == .hotp:
        let id = enrollment.identifier
        let recorded = state.hotpNext.flatMap { $0.enrollment == id ? $0.counter : nil } ?? 0
        let pending = state.hotpResync.flatMap { $0.enrollment == id && now - $0.at <= UserState.resyncTimeout ? $0.counter : nil }
        let verifier = HOTPVerifier(
            algorithm: enrollment.parameters.algorithm, digits: enrollment.parameters.digits, window: policy.hotpWindow)
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
        let verifier = TOTPVerifier(parameters: enrollment.parameters, window: policy.window)
        let steps = verifier.matchingSteps(code: code, secret: enrollment.secret, now: now)
        outcome = next.decideTOTP(matching: steps, windowEnd: verifier.stepRange(now: now).high, now: now)
    case .recovery(let match, _):
        if let set = enrollment.recovery, let index = match, set.hashes.indices.contains(index) {
            let id = RecoverySet.identifier(of: set.hashes[index])
            if state.usedRecovery.contains(id) {
                outcome = .usedRecoveryCode
            } else {
                // Keep only identifiers of codes in the current set, so the list stays bounded.
                next.usedRecovery = state.usedRecoveryCodes(of: set) + [id]
                outcome = .acceptedRecovery(remaining: next.recoveryCodesLeft(of: set))
            }
        } else {
            outcome = .wrongCode
        }
    case .malformed:
        outcome = .malformedInput
    }
    if decoy && outcome != .malformedInput {
        // Whatever matched (the decoy's secret is nobody's), the attempt failed.
        next = state
        outcome = .wrongCode
    }
    if outcome.isSuccess {
        next.recordSuccess(source: origin.source, familiar: familiar)
        if case .acceptedRecovery = outcome {
            // A recovery code is the user's way out of a lock (README, "Throttling"); other
            // sources stay throttled.
            next.unfamiliarFailures = 0
            next.familiarFailures = 0
            next.overflow = nil
        } else if makesFamiliar {
            next.markFamiliar(origin, now: now)
        }
    } else {
        next.recordFailure(source: origin.source, familiar: familiar, now: now)
    }
    return (outcome, next)
}

extension UserState {
    /// Decides a TOTP code that matched `steps` (ascending) in the window ending at `windowEnd`, and
    /// records an accepted step. A step is accepted once, and never one before the last accepted,
    /// even if the clock goes back. When the last accepted step lies beyond the window (the clock was
    /// ahead when it was accepted, or has gone back since), a step later than every step used at or
    /// before the window, and not itself used, starts a resynchronisation that the next code confirms
    /// (two consecutive codes prove the app, where one observed code could be a replay).
    mutating func decideTOTP(matching steps: [UInt64], windowEnd: UInt64, now: Int64) -> AttemptOutcome {
        if let step = steps.first(where: { step in lastStep.map { step > $0 } ?? true }), !aheadSteps.contains(step) {
            acceptStep(step)
            return .acceptedTOTP(step: step)
        }
        guard let last = lastStep, last > windowEnd else { return steps.isEmpty ? .wrongCode : .replayedTOTP }
        let usedBefore = (recentSteps + aheadSteps + [last]).filter { $0 <= windowEnd }.max()
        let floor = max(usedBefore ?? 0, forgottenStep ?? 0)
        let fresh = steps.filter { step in
            (usedBefore == nil && forgottenStep == nil || step > floor) && !recentSteps.contains(step) && !aheadSteps.contains(step)
        }
        guard let step = fresh.last else { return steps.isEmpty ? .wrongCode : .replayedTOTP }
        if let pending = totpResync, now - pending.at <= UserState.resyncTimeout, now >= pending.at, step > pending.step {
            // Confirmed: the steps used while the clock was ahead stay refused, one by one. Should there
            // be more than the state keeps, none is dropped: the resynchronisation is refused instead.
            let ahead = Set(recentSteps + aheadSteps + [last]).filter { $0 > step }.sorted()
            guard ahead.count <= UserState.maxRecentSteps else { return .replayedTOTP }
            aheadSteps = ahead
            lastStep = nil
            acceptStep(step)
            return .acceptedTOTP(step: step)
        }
        totpResync = (step, now)
        return .clockResyncStarted
    }

    /// Records `step` as accepted.
    private mutating func acceptStep(_ step: UInt64) {
        lastStep = step
        totpResync = nil
        aheadSteps.removeAll { $0 <= step }
        recentSteps.append(step)
        if recentSteps.count > UserState.maxRecentSteps {
            let dropped = recentSteps.removeFirst()
            forgottenStep = max(forgottenStep ?? 0, dropped)
        }
    }
}
