/// Where a browser session stands: only the kinds the limits tell apart.
public enum SessionKind: Sendable, Equatable, CaseIterable {
    /// Has a CSRF token for the login form, nothing else.
    case anonymous
    /// Between the password and the end of the login (the code, the remember question): holds a
    /// helper connection, so a root child of the helper.
    case loggingIn
    /// Logged in: holds a helper connection bound to the user.
    case loggedIn
}

/// How many sessions of each kind may exist, and how long one lives without a request.
public struct SessionLimits: Sendable, Equatable {
    public var idleSeconds: Int64
    public var maxAnonymous: Int
    public var maxLoggingIn: Int
    public var maxLoggedIn: Int
    /// Anonymous sessions and logins in progress of one browser address: a flood from one address
    /// evicts its own oldest first, not everyone's. Generous, for a classroom behind one NAT address.
    public var maxPerSource: Int

    public init(idleSeconds: Int64, maxAnonymous: Int = 4096, maxLoggingIn: Int = 256, maxLoggedIn: Int = 1024, maxPerSource: Int = 64) {
        self.idleSeconds = idleSeconds
        self.maxAnonymous = max(1, maxAnonymous)
        self.maxLoggingIn = max(1, maxLoggingIn)
        self.maxLoggedIn = max(1, maxLoggedIn)
        self.maxPerSource = max(1, maxPerSource)
    }
}

/// The sessions in memory, by token, with their idle timeout and the caps that keep a flood of
/// requests from exhausting memory or the helper's processes: a new anonymous session or a new login
/// in progress evicts the oldest of its kind from the same address once that address has
/// `maxPerSource`, then the oldest of its kind from anywhere once there are that many; a new
/// logged-in session beyond the cap is refused.
///
/// Pure: the caller passes the clock and the random generator, and closes what comes back as evicted
/// or expired (their helper connections).
public struct SessionStore<Payload> {
    struct Entry {
        var token: String
        var payload: Payload
        var kind: SessionKind
        var lastSeen: Int64
        /// The browser's address.
        var source: String
    }

    /// By the token's first 16 characters; the whole token is then compared in constant time, so the
    /// lookup's timing says nothing about the secret part.
    var entries: [String: Entry] = [:]
    var counts: [SessionKind: Int] = [:]
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

    public var count: Int { entries.count }

    public func count(of kind: SessionKind) -> Int { counts[kind] ?? 0 }

    static func key(_ token: String) -> String { String(token.prefix(16)) }

    /// Adds an anonymous session for a browser at `source` and returns its token, with what had to be
    /// evicted for it.
    public mutating func create<G: RandomNumberGenerator>(_ payload: Payload, source: String = "", now: Int64, using generator: inout G)
        -> (token: String, evicted: [Payload])
    {
        let evicted = makeRoom(for: .anonymous, source: source, except: nil)
        let token = freshToken(using: &generator)
        entries[Self.key(token)] = Entry(token: token, payload: payload, kind: .anonymous, lastSeen: now, source: source)
        counts[.anonymous, default: 0] += 1
        return (token, evicted)
    }

    /// The session of a cookie's token; an idle one is removed and returned as expired.
    public mutating func lookup(_ token: String, now: Int64) -> Lookup {
        guard Token.isWellFormed(token), let entry = entries[Self.key(token)], Token.equal(entry.token, token) else { return .unknown }
        if now - entry.lastSeen > limits.idleSeconds || now < entry.lastSeen - 60 {
            _ = remove(token)
            return .expired(entry.payload)
        }
        entries[Self.key(token)]?.lastSeen = now
        return .found(entry.payload)
    }

    /// Moves a session to `kind`. Returns nil when `kind` is `.loggedIn` and that many users are
    /// already logged in (the caller refuses the login); otherwise what was evicted to make room.
    public mutating func setKind(_ token: String, _ kind: SessionKind) -> [Payload]? {
        guard let entry = entries[Self.key(token)], Token.equal(entry.token, token) else { return [] }
        guard entry.kind != kind else { return [] }
        var evicted: [Payload] = []
        switch kind {
        case .loggedIn:
            guard count(of: .loggedIn) < limits.maxLoggedIn else { return nil }
        case .loggingIn:
            evicted = makeRoom(for: .loggingIn, source: entry.source, except: token)
        case .anonymous:
            break
        }
        counts[entry.kind, default: 0] -= 1
        counts[kind, default: 0] += 1
        entries[Self.key(token)]?.kind = kind
        return evicted
    }

    /// Gives a session a new token (at login: the token an attacker may have planted before is dead).
    public mutating func rotate<G: RandomNumberGenerator>(_ token: String, using generator: inout G) -> String? {
        guard let entry = entries[Self.key(token)], Token.equal(entry.token, token) else { return nil }
        entries[Self.key(token)] = nil
        let newToken = freshToken(using: &generator)
        var moved = entry
        moved.token = newToken
        entries[Self.key(newToken)] = moved
        return newToken
    }

    /// Removes a session (logout).
    public mutating func remove(_ token: String) -> Payload? {
        guard let entry = entries[Self.key(token)], Token.equal(entry.token, token) else { return nil }
        entries[Self.key(token)] = nil
        counts[entry.kind, default: 0] -= 1
        return entry.payload
    }

    /// Removes every session idle longer than the limit.
    public mutating func sweep(now: Int64) -> [Payload] {
        let idle = entries.values.filter { now - $0.lastSeen > limits.idleSeconds || now < $0.lastSeen - 60 }
        return idle.compactMap { remove($0.token) }
    }

    /// Evicts the oldest sessions of `kind`, first of `source`, until one more fits.
    mutating func makeRoom(for kind: SessionKind, source: String, except: String?) -> [Payload] {
        var evicted: [Payload] = []
        while entries.values.count(where: { $0.kind == kind && $0.source == source && $0.token != except }) >= limits.maxPerSource,
            let oldest = oldest(of: kind, source: source, except: except)
        {
            if let removed = remove(oldest) { evicted.append(removed) }
        }
        let cap = kind == .anonymous ? limits.maxAnonymous : limits.maxLoggingIn
        while count(of: kind) >= cap, let oldest = oldest(of: kind, except: except) {
            if let removed = remove(oldest) { evicted.append(removed) }
        }
        return evicted
    }

    func oldest(of kind: SessionKind, source: String? = nil, except: String? = nil) -> String? {
        var best: Entry?
        for entry in entries.values where entry.kind == kind && entry.token != except && (source == nil || entry.source == source) {
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
