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

    func testLoginsInProgressEvictTheOldestAndLoggedInSessionsAreCapped() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxAnonymous: 100, maxLoggingIn: 2, maxLoggedIn: 1))
        var tokens: [String] = []
        for index in 0..<4 { tokens.append(store.create(index, now: Int64(index), using: &generator).token) }
        XCTAssertEqual(store.setKind(tokens[0], .loggingIn), [])
        XCTAssertEqual(store.setKind(tokens[1], .loggingIn), [])
        XCTAssertEqual(store.setKind(tokens[2], .loggingIn), [0])
        XCTAssertEqual(store.count(of: .loggingIn), 2)
        XCTAssertEqual(store.setKind(tokens[1], .loggedIn), [])
        XCTAssertNil(store.setKind(tokens[2], .loggedIn), "one logged-in session at most")
        XCTAssertEqual(store.count(of: .loggingIn), 1)
        XCTAssertEqual(store.setKind(tokens[2], .anonymous), [])
        XCTAssertEqual(store.count(of: .anonymous), 2)
        XCTAssertEqual(store.count(of: .loggedIn), 1)
        XCTAssertEqual(store.setKind("unknown", .loggedIn), [])
    }

    func testAFloodFromOneAddressEvictsItsOwnSessionsFirst() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 600, maxAnonymous: 100, maxLoggingIn: 100, maxPerSource: 2))
        let (victim, _) = store.create(0, source: "192.0.2.1", now: 0, using: &generator)
        var flood: [String] = []
        for index in 1...5 { flood.append(store.create(index, source: "198.51.100.9", now: Int64(index), using: &generator).token) }
        XCTAssertEqual(store.count, 3, "the victim and the flood's last two")
        guard case .found(0) = store.lookup(victim, now: 10) else { return XCTFail("another address's session survives") }
        // Logins in progress too.
        XCTAssertEqual(store.setKind(flood[3], .loggingIn), [])
        XCTAssertEqual(store.setKind(flood[4], .loggingIn), [])
        let (third, _) = store.create(6, source: "198.51.100.9", now: 11, using: &generator)
        XCTAssertEqual(store.setKind(third, .loggingIn), [4], "the address's oldest login in progress goes")
        XCTAssertEqual(store.setKind(victim, .loggingIn), [])
        XCTAssertEqual(store.count(of: .loggingIn), 3)
    }

    func testSweep() {
        var store = SessionStore<Int>(limits: SessionLimits(idleSeconds: 100))
        let (a, _) = store.create(1, now: 0, using: &generator)
        _ = store.create(2, now: 50, using: &generator)
        _ = store.setKind(a, .loggedIn)
        XCTAssertEqual(store.sweep(now: 120), [1])
        XCTAssertEqual(store.count, 1)
        XCTAssertEqual(store.count(of: .loggedIn), 0)
        XCTAssertEqual(store.sweep(now: 151), [2])
    }

    func testFreshness() {
        XCTAssertTrue(isFresh(loginAt: 100, now: 400, freshSeconds: 300))
        XCTAssertFalse(isFresh(loginAt: 100, now: 401, freshSeconds: 300))
        XCTAssertFalse(isFresh(loginAt: 100, now: 99, freshSeconds: 300))
    }
}
