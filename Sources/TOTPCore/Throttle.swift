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

    /// How many more seconds this source must wait at `now` before its next attempt is checked
    /// (`ThrottlePolicy.delay` after its failures, from the last one); 0 if it need not wait.
    public func retryAfter(now: Int64, policy: ThrottlePolicy) -> Int64 {
        max(0, last + policy.delay(afterFailures: failures) - now)
    }
}

/// Where an attempt comes from: the throttling source (`throttleSource`) and, when sshd authenticated
/// the connection with a public key first, that key (`key:SHA256:…`).
public struct LoginOrigin: Equatable, Sendable {
    public var source: String
    public var key: String?

    public init(source: String, key: String? = nil) {
        self.source = source
        self.key = key
    }

    /// The origin of a PAM login: `PAM_RHOST` and sshd's `SSH_AUTH_INFO_0`.
    public init(remoteHost: String?, authInfo: String?) {
        source = throttleSource(remoteHost)
        if case .key(let fingerprint) = DeviceIdentity.find(authInfo: authInfo, remoteHost: nil) {
            key = "key:" + fingerprint
        } else {
            key = nil
        }
    }

    /// The origin of a login under a name that is no account, whose attempts are recorded in a state
    /// file shared with other such names (TOTPStorage's `UnknownNames`): `tag` keeps this name's
    /// sources apart from theirs.
    public init(unknownName tag: String, source: String) {
        self.init(source: tag + "|" + source)
    }
}

/// A source or SSH key the user logged in from with a code (`familiar ID TIME` in the state file).
public struct FamiliarOrigin: Equatable, Sendable {
    public var id: String
    public var last: Int64

    public init(id: String, last: Int64) {
        self.id = id
        self.last = last
    }
}

/// Whether an attempt may be checked at all.
public enum ThrottleDecision: Equatable, Sendable {
    case allowed
    /// This source must wait this many more seconds.
    case throttled(retryAfter: Int64)
    /// The account's codes are locked for this kind of origin; only a recovery code is checked.
    case locked
}

extension UserState {
    /// Source records kept, besides those of familiar sources; older ones are merged into `overflow`.
    public static let maxSources = 64
    /// Familiar origins kept (the most recent).
    public static let maxFamiliar = 20
    /// How long a successful login keeps its source and key familiar.
    public static let familiarPeriod: Int64 = 30 * 86_400

    /// Whether the user logged in with a code from this source, or with this SSH key, within
    /// `familiarPeriod` (pam_totp(8), "Throttling"): failures from elsewhere never lock such an origin out.
    public func isFamiliar(_ origin: LoginOrigin, now: Int64) -> Bool {
        currentFamiliar(now: now).contains { $0.id == origin.source || $0.id == origin.key }
    }

    /// The familiar origins that still count at `now`: a login with a code within `familiarPeriod`
    /// (and not in the future, beyond a clock's wobble).
    public func currentFamiliar(now: Int64) -> [FamiliarOrigin] {
        familiar.filter { now - $0.last <= Self.familiarPeriod && $0.last <= now + 300 }
    }

    /// How `source` stands at `now`. A source with no record of its own is judged by `overflow` (the
    /// merged records of sources pushed out), unless it is familiar. Familiar and unfamiliar origins
    /// have separate ceilings; a strong recovery code is checked even when the ceiling is reached.
    public func throttle(source: String, familiar: Bool = false, now: Int64, policy: ThrottlePolicy, recoveryCode: Bool)
        -> ThrottleDecision
    {
        if let record = sources.first(where: { $0.source == source }) ?? (familiar ? nil : overflow) {
            let wait = record.retryAfter(now: now, policy: policy)
            if wait > 0 { return .throttled(retryAfter: wait) }
        }
        if isLocked(familiar: familiar, policy: policy) && !recoveryCode { return .locked }
        return .allowed
    }

    /// Whether codes from familiar (or unfamiliar) origins are locked.
    public func isLocked(familiar: Bool, policy: ThrottlePolicy) -> Bool {
        (familiar ? familiarFailures : unfamiliarFailures) >= policy.maxFailures
    }

    /// The sources that must wait at `now`, with how long.
    public func throttledSources(now: Int64, policy: ThrottlePolicy) -> [(source: String, failures: Int, retryAfter: Int64)] {
        (sources + (overflow.map { [$0] } ?? [])).compactMap { record in
            let wait = record.retryAfter(now: now, policy: policy)
            return wait > 0 ? (record.source, record.failures, wait) : nil
        }
    }

    /// Records a failure from `source`. A new source starts from the overflow's count, so pushing a
    /// source out with others' failures never clears it; at most `maxSources` records of sources that
    /// are not currently familiar are kept, the oldest merged into `overflow`, so there are never more
    /// than `maxSources + maxFamiliar` records (what `parse` accepts).
    public mutating func recordFailure(source: String, familiar: Bool = false, now: Int64) {
        failures = min(failures, Int(Int32.max)) + 1
        if familiar {
            familiarFailures = min(familiarFailures, Int(Int32.max)) + 1
        } else {
            unfamiliarFailures = min(unfamiliarFailures, Int(Int32.max)) + 1
        }
        lastFailure = now
        var record =
            sources.first { $0.source == source }
            ?? SourceFailures(source: source, failures: familiar ? 0 : overflow?.failures ?? 0, last: now)
        record.failures = min(record.failures, 1_000_000) + 1
        record.last = now
        sources = sources.filter { $0.source != source } + [record]
        let familiarIDs = Set(currentFamiliar(now: now).map { $0.id })
        var evictable = sources.filter { !familiarIDs.contains($0.source) }.count
        while evictable > Self.maxSources, let oldest = sources.firstIndex(where: { !familiarIDs.contains($0.source) }) {
            evictable -= 1
            let evicted = sources.remove(at: oldest)
            overflow = SourceFailures(
                source: "*", failures: max(overflow?.failures ?? 0, evicted.failures), last: max(overflow?.last ?? 0, evicted.last))
        }
    }

    /// Records a success from `source`: its own record is cleared, and the consecutive failures of its
    /// kind (familiar or not); other sources stay throttled, and failures from unfamiliar origins still
    /// count after a success from a familiar one. A success from an unfamiliar source also clears the
    /// overflow.
    public mutating func recordSuccess(source: String, familiar: Bool = false) {
        failures = 0
        sources.removeAll { $0.source == source }
        if familiar {
            familiarFailures = 0
        } else {
            unfamiliarFailures = 0
            overflow = nil
        }
    }

    /// Makes `origin` familiar from `now` on.
    public mutating func markFamiliar(_ origin: LoginOrigin, now: Int64) {
        let ids = [origin.source] + (origin.key.map { [$0] } ?? [])
        let kept = currentFamiliar(now: now).filter { !ids.contains($0.id) }
        familiar = Array((kept + ids.map { FamiliarOrigin(id: $0, last: now) }).suffix(Self.maxFamiliar))
    }

    /// Clears every failure count and throttled source (`pam-totp-setup unlock`, or a recovery code).
    /// - Returns: how many failures were cleared.
    @discardableResult
    public mutating func unlock() -> Int {
        let cleared = max(failures, unfamiliarFailures + familiarFailures)
        failures = 0
        unfamiliarFailures = 0
        familiarFailures = 0
        sources = []
        overflow = nil
        return cleared
    }
}
