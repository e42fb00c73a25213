import XCTest

@testable import PortalCore

/// A fixed sequence of "random" numbers, so tokens are reproducible.
struct CountingGenerator: RandomNumberGenerator {
    var state: UInt64 = 0x1234_5678
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}

final class TokenTests: XCTestCase {
    func testShapeAndRandomness() {
        var generator = CountingGenerator()
        let a = Token.make(using: &generator)
        let b = Token.make(using: &generator)
        XCTAssertEqual(a.utf8.count, 43)
        XCTAssertTrue(Token.isWellFormed(a))
        XCTAssertNotEqual(a, b)
        let system = Token.make()
        XCTAssertTrue(Token.isWellFormed(system))
        XCTAssertNotEqual(system, Token.make())
        XCTAssertFalse(Token.isWellFormed(a + "A"))
        XCTAssertFalse(Token.isWellFormed(String(a.dropLast()) + "="))
        XCTAssertFalse(Token.isWellFormed(""))
    }

    func testBase64url() {
        // RFC 4648, section 10, without padding, and the two url-safe symbols.
        XCTAssertEqual(Token.base64url(Array("foobar".utf8)), "Zm9vYmFy")
        XCTAssertEqual(Token.base64url(Array("fooba".utf8)), "Zm9vYmE")
        XCTAssertEqual(Token.base64url(Array("f".utf8)), "Zg")
        XCTAssertEqual(Token.base64url([0xfb, 0xff]), "-_8")
    }

    func testEqual() {
        XCTAssertTrue(Token.equal("abc", "abc"))
        XCTAssertFalse(Token.equal("abc", "abd"))
        XCTAssertFalse(Token.equal("abc", "abcd"))
        XCTAssertTrue(Token.equal("", ""))
    }
}

final class SessionStoreTests: XCTestCase {
    var generator = CountingGenerator()

    func testLookupAndIdleTimeout() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600))
        let (token, evicted) = store.create(1, now: 1000, using: &generator)
        XCTAssertTrue(evicted.isEmpty)
        guard case .found(1) = store.lookup(token, now: 1500) else { return XCTFail() }
        guard case .found(1) = store.lookup(token, now: 2100) else { return XCTFail("a request keeps it alive") }
        guard case .expired(1) = store.lookup(token, now: 2701) else { return XCTFail() }
        guard case .unknown = store.lookup(token, now: 2702) else { return XCTFail("gone once expired") }
        XCTAssertEqual(store.count, 0)
    }

    func testAWrongTokenWithTheSameLookupKeyIsUnknown() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600))
        let (token, _) = store.create(1, now: 0, using: &generator)
        let forged = String(token.prefix(16)) + String(repeating: "A", count: 27)
        guard case .unknown = store.lookup(forged, now: 1) else { return XCTFail() }
        guard case .unknown = store.lookup("short", now: 1) else { return XCTFail() }
        guard case .unknown = store.lookup(token + "x", now: 1) else { return XCTFail() }
        XCTAssertNil(store.remove(forged))
        XCTAssertNil(store.rotate(forged, using: &generator))
        guard case .found(1) = store.lookup(token, now: 1) else { return XCTFail() }
    }

    func testRotateKillsTheOldToken() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600))
        let (token, _) = store.create(7, now: 0, using: &generator)
        guard let newToken = store.rotate(token, using: &generator) else { return XCTFail() }
        XCTAssertNotEqual(token, newToken)
        guard case .unknown = store.lookup(token, now: 1) else { return XCTFail() }
        guard case .found(7) = store.lookup(newToken, now: 1) else { return XCTFail() }
        XCTAssertEqual(store.remove(newToken), 7)
        XCTAssertEqual(store.count, 0)
    }

    func testAFloodOfAnonymousSessionsEvictsTheOldest() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxAnonymous: 3))
        var tokens: [String] = []
        for index in 0..<3 { tokens.append(store.create(index, now: Int64(index), using: &generator).token) }
        _ = store.lookup(tokens[0], now: 10)  // used again: now the newest
        let (_, evicted) = store.create(3, now: 11, using: &generator)
        XCTAssertEqual(evicted, [1])
        XCTAssertEqual(store.count, 3)
        guard case .found(0) = store.lookup(tokens[0], now: 12) else { return XCTFail() }
    }

    func testLimitsFollowMaxSessions() {
        let limits = SessionLimits(idleSeconds: 600)
        XCTAssertEqual(limits.maxConnections, 256)
        XCTAssertEqual(limits.maxLoggingIn, 64, "a quarter of max_sessions")
        XCTAssertEqual(limits.maxLoggingInPerSource, 4)
        XCTAssertEqual(limits.answerSeconds, 120)
        XCTAssertEqual(SessionLimits(idleSeconds: 600, maxSessions: 1).maxLoggingIn, 1)
        XCTAssertEqual(SessionLimits(idleSeconds: 600, maxSessions: 0).maxConnections, 1)
    }

    /// A login with an enrolled name and any password parks a helper child at the code prompt: at
    /// most 4 from one address, a quarter of max_sessions in all, and never more connections than
    /// max_sessions; beyond, "busy" (nothing is evicted).
    func testLoginsInProgressAreCappedPerAddressAndInAll() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxSessions: 24))
        XCTAssertEqual(store.limits.maxLoggingIn, 6)
        var flood: [String] = []
        for index in 0..<6 { flood.append(store.create(index, source: "198.51.100.9", now: 0, using: &generator).token) }
        for token in flood.prefix(4) { XCTAssertEqual(store.beginLogin(token, now: 1), .admitted) }
        XCTAssertEqual(store.beginLogin(flood[4], now: 1), .busy, "4 per address, none waiting for its user")
        XCTAssertEqual(store.beginLogin(flood[0], now: 2), .admitted, "the same session's login again replaces its own")
        XCTAssertEqual(store.count(of: .loggingIn), 4)
        XCTAssertEqual(store.connections, 4)
        var others: [String] = []
        for index in 0..<4 { others.append(store.create(10 + index, source: "192.0.2.\(index)", now: 3, using: &generator).token) }
        XCTAssertEqual(store.beginLogin(others[0], now: 3), .admitted)
        XCTAssertEqual(store.beginLogin(others[1], now: 3), .admitted)
        XCTAssertEqual(store.beginLogin(others[2], now: 3), .busy, "a quarter of max_sessions in all")
        // One login succeeds: its connection is now a logged-in one, and a login may start again.
        store.endLogin(others[0], loggedIn: true)
        XCTAssertEqual(store.count(of: .loggedIn), 1)
        XCTAssertEqual(store.connections, 6)
        XCTAssertEqual(store.beginLogin(others[2], now: 4), .admitted)
        // A failed login frees its place.
        store.endLogin(flood[1], loggedIn: false)
        XCTAssertEqual(store.count(of: .loggingIn), 5)
        XCTAssertEqual(store.beginLogin(flood[4], now: 5), .admitted)
        XCTAssertEqual(store.connections, 7)
        XCTAssertEqual(store.beginLogin("unknown", now: 5), .gone)
        XCTAssertEqual(store.remove(flood[4]), 4)
        XCTAssertEqual(store.connections, 6)
    }

    /// A fifth login from one address drops that address's login waiting longest for its user, never
    /// another address's.
    func testAFifthLoginFromOneAddressEvictsItsOldestWaitingOne() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxSessions: 256))
        let (victim, _) = store.create(100, source: "192.0.2.1", now: 0, using: &generator)
        XCTAssertEqual(store.beginLogin(victim, now: 0), .admitted)
        XCTAssertTrue(store.loginWaits(victim, now: 0))
        var flood: [String] = []
        for index in 0..<6 { flood.append(store.create(index, source: "198.51.100.9", now: 0, using: &generator).token) }
        for (index, token) in flood.prefix(4).enumerated() {
            XCTAssertEqual(store.beginLogin(token, now: 1), .admitted)
            XCTAssertTrue(store.loginWaits(token, now: 7 + Int64(index)))
        }
        var evicted: [Int] = []
        XCTAssertEqual(store.beginLogin(flood[4], now: 20, evicted: &evicted), .admitted)
        XCTAssertEqual(evicted, [0], "the one waiting since 7")
        XCTAssertFalse(store.loginAnswered(flood[0]), "its answer finds it gone")
        XCTAssertEqual(store.count(of: .loggingIn), 5)
        XCTAssertEqual(store.connections, 5)
        evicted = []
        XCTAssertEqual(store.beginLogin(flood[5], now: 21, evicted: &evicted), .admitted)
        XCTAssertEqual(evicted, [1], "the oldest waiting (since 8); flood[4], talking to the helper, is never evicted")
        XCTAssertTrue(store.loginAnswered(victim), "another address's login is untouched")
        XCTAssertEqual(store.connections, 5)
    }

    func testHelperConnectionsNeverPassMaxSessions() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxSessions: 4))
        var tokens: [String] = []
        for index in 0..<6 { tokens.append(store.create(index, source: "192.0.2.\(index)", now: 0, using: &generator).token) }
        for token in tokens.prefix(4) {
            XCTAssertEqual(store.beginLogin(token, now: 1), .admitted)
            store.endLogin(token, loggedIn: true)
        }
        XCTAssertEqual(store.connections, 4)
        XCTAssertEqual(store.beginLogin(tokens[4], now: 2), .busy, "every connection is a logged-in user's")
        XCTAssertEqual(store.beginLogin(tokens[0], now: 2), .busy, "a login again needs a second connection too")
        store.logOut(tokens[1])
        XCTAssertEqual(store.connections, 3)
        XCTAssertEqual(store.beginLogin(tokens[0], now: 3), .admitted, "a login again of a logged-in user")
        XCTAssertEqual(store.connections, 4)
        XCTAssertEqual(store.count(of: .loggedIn), 3, "still logged in while it logs in again")
        store.endLogin(tokens[0], loggedIn: true)
        XCTAssertEqual(store.connections, 3, "the old connection is replaced")
    }

    func testALoginWaitingTooLongForTheUserIsDropped() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxSessions: 8, answerSeconds: 120))
        let (a, _) = store.create(1, now: 0, using: &generator)
        let (b, _) = store.create(2, now: 0, using: &generator)
        XCTAssertFalse(store.loginWaits(a, now: 0), "no login in progress")
        XCTAssertEqual(store.beginLogin(a, now: 0), .admitted)
        XCTAssertEqual(store.beginLogin(b, now: 0), .admitted)
        XCTAssertTrue(store.loginWaits(a, now: 10))
        XCTAssertTrue(store.loginWaits(b, now: 100))
        _ = store.lookup(a, now: 129)  // a request that is not the answer does not extend the wait
        let early = store.sweep(now: 129)
        XCTAssertTrue(early.loginsAbandoned.isEmpty)
        let swept = store.sweep(now: 130)
        XCTAssertEqual(swept.loginsAbandoned, [1])
        XCTAssertEqual(swept.expired, [])
        XCTAssertFalse(store.loginAnswered(a), "the answer comes too late")
        XCTAssertEqual(store.count(of: .anonymous), 1)
        XCTAssertEqual(store.connections, 1)
        // b answers in time: while the web process talks to the helper, the sweeper leaves it alone.
        XCTAssertTrue(store.loginAnswered(b))
        XCTAssertTrue(store.sweep(now: 500).loginsAbandoned.isEmpty)
    }

    func testAFloodFromOneAddressEvictsItsOwnSessionsFirst() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxAnonymous: 100, maxAnonymousPerSource: 2))
        let (victim, _) = store.create(0, source: "192.0.2.1", now: 0, using: &generator)
        var flood: [String] = []
        for index in 1...5 { flood.append(store.create(index, source: "198.51.100.9", now: Int64(index), using: &generator).token) }
        XCTAssertEqual(store.count, 3, "the victim and the flood's last two")
        guard case .found(0) = store.lookup(victim, now: 10) else { return XCTFail("another address's session survives") }
        // A login in progress is no longer anonymous: never evicted.
        XCTAssertEqual(store.beginLogin(flood[3], now: 11), .admitted)
        _ = store.create(6, source: "198.51.100.9", now: 12, using: &generator)
        _ = store.create(7, source: "198.51.100.9", now: 13, using: &generator)
        guard case .found(4) = store.lookup(flood[3], now: 14) else { return XCTFail("the login in progress survives") }
        XCTAssertEqual(store.count, 4)
    }

    func testATokenRotatedAtLoginIsNoLongerCurrent() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600))
        let (token, _) = store.create(1, now: 0, using: &generator)
        XCTAssertTrue(store.isCurrent(token))
        guard let newToken = store.rotate(token, using: &generator) else { return XCTFail() }
        XCTAssertFalse(store.isCurrent(token), "a request queued with the old cookie finds it dead")
        XCTAssertTrue(store.isCurrent(newToken))
        _ = store.remove(newToken)
        XCTAssertFalse(store.isCurrent(newToken))
    }

    func testSweep() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 100))
        let (a, _) = store.create(1, now: 0, using: &generator)
        _ = store.create(2, now: 50, using: &generator)
        XCTAssertEqual(store.beginLogin(a, now: 0), .admitted)
        store.endLogin(a, loggedIn: true)
        XCTAssertEqual(store.sweep(now: 120).expired, [1])
        XCTAssertEqual(store.count, 1)
        XCTAssertEqual(store.count(of: .loggedIn), 0)
        XCTAssertEqual(store.connections, 0)
        XCTAssertEqual(store.sweep(now: 151).expired, [2])
    }

    func testFreshness() {
        XCTAssertTrue(isFresh(loginAt: 100, now: 400, freshSeconds: 300))
        XCTAssertFalse(isFresh(loginAt: 100, now: 401, freshSeconds: 300))
        XCTAssertFalse(isFresh(loginAt: 100, now: 99, freshSeconds: 300))
    }
}
