/// Where a browser session stands: only the kinds the limits tell apart.
public enum SessionKind: Sendable, Equatable, CaseIterable {
    /// Has a CSRF token for the login form, nothing else.
    case anonymous
    /// Between the password and the end of the first login (the code, the remember question): holds
    /// a helper connection, so a root child of the helper.
    case loggingIn
    /// Logged in: holds a helper connection bound to the user (and a second one while it logs in
    /// again before an action that needs a fresh login).
    case loggedIn
}

/// How many sessions may exist, how many helper connections they may hold, and how long a session
/// lives without a request and a login waits for the user's answer.
///
/// The helper serves at most `max_sessions` connections (one root child each) and closes any
/// beyond; the web process opens no more than that in all, and keeps three quarters of them for
/// users who are logged in: a login in progress needs only an enrolled name and any password (the
/// stack asks for the code after a wrong password too), so logins in progress are capped at a
/// quarter of `max_sessions` (refused beyond) and at a few per browser address (that address's
/// login waiting longest for its user goes first).
public struct SessionLimits: Sendable, Equatable {
    public var idleSeconds: Int64
    public var maxAnonymous: Int
    /// Anonymous sessions of one browser address: a flood from one address evicts that address's
    /// own oldest first, not everyone's. Generous, for a classroom behind one NAT address.
    public var maxAnonymousPerSource: Int
    /// Helper connections in all (logins in progress and logged-in sessions): `max_sessions`.
    public var maxConnections: Int
    /// First logins in progress in all: a quarter of `maxConnections` (at least one).
    public var maxLoggingIn: Int
    /// First logins in progress of one browser address.
    public var maxLoggingInPerSource: Int
    /// Seconds a login waits for the user's answer (the code, the remember question) before its
    /// helper connection is closed: `answer_timeout`.
    public var answerSeconds: Int64

    public static let defaultMaxLoggingInPerSource = 4

    public init(
        idleSeconds: Int64, maxSessions: Int = 256, answerSeconds: Int64 = 120, maxAnonymous: Int = 4096, maxAnonymousPerSource: Int = 64,
        maxLoggingInPerSource: Int = defaultMaxLoggingInPerSource
    ) {
        self.idleSeconds = idleSeconds
        self.maxConnections = max(1, maxSessions)
        self.maxLoggingIn = max(1, self.maxConnections / 4)
        self.answerSeconds = max(1, answerSeconds)
        self.maxAnonymous = max(1, maxAnonymous)
        self.maxAnonymousPerSource = max(1, maxAnonymousPerSource)
        self.maxLoggingInPerSource = max(1, maxLoggingInPerSource)
    }
}

/// The sessions in memory, by token, with their idle timeout and the caps that keep a flood of
/// requests from exhausting memory or the helper's processes (`SessionLimits`): a new anonymous
/// session evicts the oldest anonymous one of the same address once that address has
/// `maxAnonymousPerSource`, then the oldest from anywhere once there are `maxAnonymous`; a login
/// that does not fit is refused or evicts its own address's (`beginLogin`), and one that waits
/// longer than `answerSeconds` for the user is dropped (`sweep`).
///
/// Pure: the caller passes the clock and the random generator, and closes what comes back as evicted,
/// expired or abandoned (their helper connections).
public struct SessionStore<Payload> {
    struct Entry {
        var token: String
        var payload: Payload
        var lastSeen: Int64
        /// The browser's address.
        var source: String
        /// Holds a helper connection bound to a user.
        var loggedIn = false
        /// Holds the helper connection of a login in progress.
        var loggingIn = false
        /// Since when that login waits for the user's answer; nil while the web process talks to the
        /// helper.
        var waitingSince: Int64?

        var kind: SessionKind { loggedIn ? .loggedIn : loggingIn ? .loggingIn : .anonymous }
        var connections: Int { (loggedIn ? 1 : 0) + (loggingIn ? 1 : 0) }
    }

    /// By the token's first 16 characters; the whole token is then compared in constant time, so the
    /// lookup's timing says nothing about the secret part.
    var entries: [String: Entry] = [:]
    var counts: [SessionKind: Int] = [:]
    /// Helper connections held, in all.
    public private(set) var connections = 0
    public let limits: SessionLimits

    public init(limits: SessionLimits) {
        self.limits = limits
    }

    public enum Lookup {
        case found(Payload)
        /// Idle too long: removed now; close it.
        case expired(Payload)
        case unknown
    }

    /// Whether a login may start.
    public enum LoginAdmission: Equatable, Sendable {
        case admitted
        /// Too many helper connections or logins in progress: "busy, try again in a minute".
        case busy
        /// The token is no longer the session's.
        case gone
    }

    /// What `sweep` removed or dropped.
    public struct Swept {
        /// Idle too long: removed; close them.
        public var expired: [Payload] = []
        /// Their login waited longer than `answerSeconds`: no longer counted; close its connection.
        public var loginsAbandoned: [Payload] = []
    }

    public var count: Int { entries.count }

    public func count(of kind: SessionKind) -> Int { counts[kind] ?? 0 }

    /// Every session (for periodic clean-up).
    public var payloads: [Payload] { entries.values.map(\.payload) }

    static func key(_ token: String) -> String { String(token.prefix(16)) }

    /// Adds an anonymous session for a browser at `source` and returns its token, with what had to be
    /// evicted for it.
    public mutating func create<G: RandomNumberGenerator>(_ payload: Payload, source: String = "", now: Int64, using generator: inout G)
        -> (token: String, evicted: [Payload])
    {
        let evicted = makeRoom(source: source)
        let token = freshToken(using: &generator)
        entries[Self.key(token)] = Entry(token: token, payload: payload, lastSeen: now, source: source)
        counts[.anonymous, default: 0] += 1
        return (token, evicted)
    }

    /// The session of a cookie's token; an idle one is removed and returned as expired.
    public mutating func lookup(_ token: String, now: Int64) -> Lookup {
        guard let entry = entry(token) else { return .unknown }
        if isIdle(entry, now: now) {
            _ = remove(token)
            return .expired(entry.payload)
        }
        entries[Self.key(token)]?.lastSeen = now
        return .found(entry.payload)
    }

    /// Whether `token` is still a session's token (not rotated at a login, nor removed).
    public func isCurrent(_ token: String) -> Bool {
        entry(token) != nil
    }

    /// Counts a new login's helper connection before it is opened: refused when it would pass
    /// `maxConnections` or, for a first login (not a login again while logged in), `maxLoggingIn`.
    /// When the browser's address already has `maxLoggingInPerSource` first logins in progress, the
    /// one of them that has waited longest for its user's answer is dropped for it (`evicted`: close
    /// its connection), as a flood from one address must cost only that address; when none of them
    /// waits for its user (all are talking to the helper), the login is refused. A login already in
    /// progress on the session is replaced (the caller has closed its connection).
    public mutating func beginLogin(_ token: String, now: Int64, evicted: inout [Payload]) -> LoginAdmission {
        guard let entry = entry(token) else { return .gone }
        if !entry.loggingIn {
            guard connections < limits.maxConnections else { return .busy }
            if !entry.loggedIn {
                let fromSource = entries.values.filter { $0.kind == .loggingIn && $0.source == entry.source }
                if fromSource.count >= limits.maxLoggingInPerSource {
                    let waiting = fromSource.filter { $0.waitingSince != nil }
                    guard let oldest = waiting.min(by: { ($0.waitingSince ?? 0) < ($1.waitingSince ?? 0) }) else { return .busy }
                    modify(oldest.token) {
                        $0.loggingIn = false
                        $0.waitingSince = nil
                    }
                    evicted.append(oldest.payload)
                }
                guard count(of: .loggingIn) < limits.maxLoggingIn else { return .busy }
            }
        }
        modify(token) {
            $0.loggingIn = true
            $0.waitingSince = nil
        }
        return .admitted
    }

    /// `beginLogin` for a caller that has nothing to close (tests).
    public mutating func beginLogin(_ token: String, now: Int64) -> LoginAdmission {
        var evicted: [Payload] = []
        return beginLogin(token, now: now, evicted: &evicted)
    }

    /// The helper asked a question: the login now waits for the user, at most `answerSeconds`.
    /// False when the session has no login in progress.
    public mutating func loginWaits(_ token: String, now: Int64) -> Bool {
        guard let entry = entry(token), entry.loggingIn else { return false }
        entries[Self.key(token)]?.waitingSince = now
        return true
    }

    /// The user answered: the login no longer waits. False when it was dropped meanwhile (it waited
    /// too long, or the session is gone): its connection is closed, and the login is over.
    public mutating func loginAnswered(_ token: String) -> Bool {
        guard let entry = entry(token), entry.loggingIn else { return false }
        entries[Self.key(token)]?.waitingSince = nil
        return true
    }

    /// The login in progress ended: its connection is closed, or, when `loggedIn`, it is now the
    /// session's logged-in connection (replacing the old one of a login again).
    public mutating func endLogin(_ token: String, loggedIn: Bool) {
        modify(token) {
            $0.loggingIn = false
            $0.waitingSince = nil
            if loggedIn { $0.loggedIn = true }
        }
    }

    /// The session holds no helper connection any more (its login was lost).
    public mutating func logOut(_ token: String) {
        modify(token) {
            $0.loggedIn = false
            $0.loggingIn = false
            $0.waitingSince = nil
        }
    }

    /// Gives a session a new token (at login: the token an attacker may have planted before is dead).
    public mutating func rotate<G: RandomNumberGenerator>(_ token: String, using generator: inout G) -> String? {
        guard let entry = entry(token) else { return nil }
        entries[Self.key(token)] = nil
        let newToken = freshToken(using: &generator)
        var moved = entry
        moved.token = newToken
        entries[Self.key(newToken)] = moved
        return newToken
    }

    /// Removes a session (logout).
    public mutating func remove(_ token: String) -> Payload? {
        guard let entry = entry(token) else { return nil }
        entries[Self.key(token)] = nil
        counts[entry.kind, default: 0] -= 1
        connections -= entry.connections
        return entry.payload
    }

    /// Removes every session idle longer than the limit, and drops every login that has waited
    /// longer than `answerSeconds` for the user.
    public mutating func sweep(now: Int64) -> Swept {
        var swept = Swept()
        let idle = entries.values.filter { isIdle($0, now: now) }
        swept.expired = idle.compactMap { remove($0.token) }
        let stale = entries.values.filter { entry in
            guard let since = entry.waitingSince else { return false }
            return now < since || now - since >= limits.answerSeconds
        }
        for entry in stale {
            modify(entry.token) {
                $0.loggingIn = false
                $0.waitingSince = nil
            }
            swept.loginsAbandoned.append(entry.payload)
        }
        return swept
    }

    func entry(_ token: String) -> Entry? {
        guard Token.isWellFormed(token), let entry = entries[Self.key(token)], Token.equal(entry.token, token) else { return nil }
        return entry
    }

    func isIdle(_ entry: Entry, now: Int64) -> Bool {
        now - entry.lastSeen > limits.idleSeconds || now < entry.lastSeen - 60
    }

    /// Changes an entry, keeping the counts by kind and of connections.
    mutating func modify(_ token: String, _ change: (inout Entry) -> Void) {
        guard var entry = entry(token) else { return }
        counts[entry.kind, default: 0] -= 1
        connections -= entry.connections
        change(&entry)
        counts[entry.kind, default: 0] += 1
        connections += entry.connections
        entries[Self.key(token)] = entry
    }

    /// Evicts the oldest anonymous sessions, first of `source`, until one more fits.
    mutating func makeRoom(source: String) -> [Payload] {
        var evicted: [Payload] = []
        while entries.values.count(where: { $0.kind == .anonymous && $0.source == source }) >= limits.maxAnonymousPerSource,
            let oldest = oldestAnonymous(source: source)
        {
            if let removed = remove(oldest) { evicted.append(removed) }
        }
        while count(of: .anonymous) >= limits.maxAnonymous, let oldest = oldestAnonymous(source: nil) {
            if let removed = remove(oldest) { evicted.append(removed) }
        }
        return evicted
    }

    func oldestAnonymous(source: String?) -> String? {
        var best: Entry?
        for entry in entries.values where entry.kind == .anonymous && (source == nil || entry.source == source) {
            if best == nil || entry.lastSeen < best?.lastSeen ?? 0 { best = entry }
        }
        return best?.token
    }

    func freshToken<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var token = Token.make(using: &generator)
        while entries[Self.key(token)] != nil { token = Token.make(using: &generator) }
        return token
    }
}
