public import TOTPCrypto

/// Checks a TOTP code against a secret at a given time, with a window and replay protection.
public struct TOTPVerifier: Sendable {
    public static let windowRange = 0...10

    public enum Result: Equatable, Sendable {
        /// The code matched this time step, which is later than the last accepted one.
        case accepted(step: UInt64)
        /// The code matched only time steps at or before the last accepted one.
        case replayed(step: UInt64)
        /// The code matched no step in the window.
        case rejected
    }

    public let parameters: OTPParameters
    public let window: Int

    public init(parameters: OTPParameters, window: Int = 1) {
        self.parameters = parameters
        self.window = min(max(window, Self.windowRange.lowerBound), Self.windowRange.upperBound)
    }

    /// Verifies `code` (ASCII digits) at `now` (unix seconds).
    /// - Parameter lastAcceptedStep: the step recorded at the last successful login, if any; a code
    ///   is never accepted for that step or an earlier one, even if the clock went backwards.
    /// - Returns: which step matched, so the caller can record it.
    public func verify(code: Secret, secret: Secret, now: Int64, lastAcceptedStep: UInt64?) -> Result {
        let steps = matchingSteps(code: code, secret: secret, now: now)
        if let accepted = steps.first(where: { step in lastAcceptedStep.map { step > $0 } ?? true }) { return .accepted(step: accepted) }
        if let replayed = steps.first { return .replayed(step: replayed) }
        return .rejected
    }

    /// The steps in the window around `now` whose code is `code`, in ascending order. Every step in the
    /// window is computed and compared, so timing says nothing about which matched.
    public func matchingSteps(code: Secret, secret: Secret, now: Int64) -> [UInt64] {
        guard code.count == parameters.digits else { return [] }
        let (low, high) = stepRange(now: now)
        var steps: [UInt64] = []
        var step = low
        while true {
            if OTP.hotp(secret: secret, counter: step, algorithm: parameters.algorithm, digits: parameters.digits) == code {
                steps.append(step)
            }
            if step == high { break }
            step += 1
        }
        return steps
    }

    /// The first and last step of the window around `now`.
    public func stepRange(now: Int64) -> (low: UInt64, high: UInt64) {
        let current = parameters.step(at: now)
        let low = current >= UInt64(window) ? current - UInt64(window) : 0
        let high = current &+ UInt64(window) < current ? UInt64.max : current + UInt64(window)
        return (low, high)
    }
}

/// Checks a counter-based (HOTP, RFC 4226) code from a hardware token.
public struct HOTPVerifier: Sendable {
    public static let windowRange = 1...100
    /// How far beyond the look-ahead window a code may be and still start a resynchronisation.
    public static let resyncRange: UInt64 = 1000

    public enum Result: Equatable, Sendable {
        /// The code matched this counter, at or after the next expected one.
        case accepted(counter: UInt64)
        /// The code matched a counter beyond the window; the next consecutive code confirms it.
        case resyncStarted(counter: UInt64)
        case rejected
    }

    public let algorithm: HashAlgorithm
    public let digits: Int
    public let window: Int

    public init(algorithm: HashAlgorithm, digits: Int, window: Int = 10) {
        self.algorithm = algorithm
        self.digits = digits
        self.window = min(max(window, Self.windowRange.lowerBound), Self.windowRange.upperBound)
    }

    /// Verifies `code` against counters `next ..< next + window`. If a resynchronisation is pending at
    /// `pendingResync` (a code matched that counter beyond the window), the code for the counter after
    /// it is accepted too (RFC 4226, section 7.4). Counters are never accepted twice: the caller
    /// records `counter + 1` as the next expected value.
    public func verify(code: Secret, secret: Secret, next: UInt64, pendingResync: UInt64?) -> Result {
        guard code.count == digits else { return .rejected }
        func matches(_ counter: UInt64) -> Bool { OTP.hotp(secret: secret, counter: counter, algorithm: algorithm, digits: digits) == code }
        var counter = next
        while counter < next &+ UInt64(window) && counter >= next {
            if matches(counter) { return .accepted(counter: counter) }
            counter += 1
        }
        if let pendingResync, pendingResync >= next, pendingResync < UInt64.max, matches(pendingResync + 1) {
            return .accepted(counter: pendingResync + 1)
        }
        let end = next &+ UInt64(window) &+ Self.resyncRange
        counter = next &+ UInt64(window)
        while counter < end && counter >= next {
            if matches(counter) { return .resyncStarted(counter: counter) }
            counter += 1
        }
        return .rejected
    }
}
