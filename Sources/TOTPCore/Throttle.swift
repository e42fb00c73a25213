/// Brute-force throttling that an attacker cannot easily turn against the user (pam_totp(8), "Throttling").
///
/// Consecutive failures are counted per (user, source), where the source is PAM_RHOST (or "-"): after
/// `free` of them, that source must wait `baseDelay` seconds, doubling with each further failure up to
/// `maxDelay`, and its attempts are refused without being checked while it waits. A correct code
/// from another source still works. Across all sources, `maxFailures` consecutive failures lock the
/// account's TOTP/HOTP codes (NIST SP 800-63B allows at most 100) until a recovery code is used or an
/// administrator unlocks it.
public struct ThrottlePolicy: Equatable, Sendable {
    public var free = 3
    public var baseDelay: Int64 = 30
    public var maxDelay: Int64 = 3600
    public var maxFailures = 100

    public static let freeRange = 0...20
    public static let delayRange: ClosedRange<Int64> = 1...86_400
    public static let maxFailuresRange = 1...100

    public init() {}

    /// The wait imposed after `failures` consecutive failures from one source.
    public func delay(afterFailures failures: Int) -> Int64 {
        guard failures >= free else { return 0 }
        let doublings = failures - free
        if doublings >= 40 { return maxDelay }
        return min(baseDelay << Int64(doublings), maxDelay)
    }

    /// The most attempts one source can make in `seconds`, starting unthrottled: the figure the
    /// documentation quotes.
    public func worstCaseAttempts(from seconds: Int64) -> Int {
        var time: Int64 = 0
        var attempts = 0
        while attempts < 1_000_000 {
            time += delay(afterFailures: attempts)
            if time > seconds { break }
            attempts += 1
        }
        return attempts
    }
}

/// The key a source is counted under: an IP address in canonical form (so `::ffff:10.1.2.3` and
/// `10.1.2.3` are one source), `-` for none, and anything else percent-encoded and shortened, so that
/// no PAM_RHOST can put a space or a line break into the state file.
public func throttleSource(_ remoteHost: String?) -> String {
    guard let remoteHost, !remoteHost.isEmpty else { return "-" }
    if let address = IPAddress(remoteHost) { return address.description }
    return "host:" + OTPAuthURI.percentEncode(String(remoteHost.prefix(100)))
}

/// One source's consecutive failures for a user.
public struct SourceFailures: Equatable, Sendable {
    public var source: String
    public var failures: Int
    public var last: Int64

    public init(source: String, failures: Int, last: Int64) {
        self.source = source
        self.failures = failures
        self.last = last
    }
}

/// Whether an attempt may be checked at all.
public enum ThrottleDecision: Equatable, Sendable {
    case allowed
    /// This source must wait this many more seconds.
    case throttled(retryAfter: Int64)
    /// The account's codes are locked; only a recovery code is checked.
    case locked
}

extension UserState {
    public static let maxSources = 64

    /// How `source` stands at `now`. A recovery code is checked even when the account is locked.
    public func throttle(source: String, now: Int64, policy: ThrottlePolicy, recoveryCode: Bool) -> ThrottleDecision {
        if let record = sources.first(where: { $0.source == source }) {
            let until = record.last + policy.delay(afterFailures: record.failures)
            if now < until { return .throttled(retryAfter: until - now) }
        }
        if failures >= policy.maxFailures && !recoveryCode { return .locked }
        return .allowed
    }

    /// Records a failure from `source`, keeping the newest `maxSources` records.
    public mutating func recordFailure(source: String, now: Int64) {
        failures = min(failures, Int(Int32.max)) + 1
        lastFailure = now
        var record = sources.first { $0.source == source } ?? SourceFailures(source: source, failures: 0, last: now)
        record.failures = min(record.failures, 1_000_000) + 1
        record.last = now
        sources = Array((sources.filter { $0.source != source } + [record]).suffix(Self.maxSources))
    }

    /// Records a success from `source`: the account's count and this source's record are cleared;
    /// other sources stay throttled.
    public mutating func recordSuccess(source: String) {
        failures = 0
        sources.removeAll { $0.source == source }
    }
}
