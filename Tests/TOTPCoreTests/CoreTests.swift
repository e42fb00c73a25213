import XCTest

@testable import TOTPCore

final class Base32Tests: XCTestCase {
    func testAcceptsWhatPeoplePaste() throws {
        let expected = try Base32.decode("JBSWY3DPEHPK3PXP")
        XCTAssertEqual(try Base32.decode("jbsw y3dp ehpk 3pxp"), expected)
        XCTAssertEqual(try Base32.decode("JBSW-Y3DP-EHPK-3PXP"), expected)
        XCTAssertEqual(try Base32.decode("jbswY3dpehpk3pxp"), expected)
        XCTAssertEqual(try Base32.decode("MZXW6==="), Secret("foo"))
        XCTAssertEqual(try Base32.decode("MZXW6"), Secret("foo"))
    }

    func testRejectsOtherCharactersWithTheirPosition() {
        XCTAssertThrowsError(try Base32.decode("JBSW1Y3DP")) { XCTAssertEqual($0 as? Base32.DecodeError, .invalidCharacter(position: 5)) }
        XCTAssertThrowsError(try Base32.decode("JBSW Y3DP 0")) {
            XCTAssertEqual($0 as? Base32.DecodeError, .invalidCharacter(position: 11))
        }
        XCTAssertThrowsError(try Base32.decode("ABCDÉFGH")) { XCTAssertEqual($0 as? Base32.DecodeError, .invalidCharacter(position: 5)) }
        XCTAssertThrowsError(try Base32.decode("MZ=XW")) { XCTAssertEqual($0 as? Base32.DecodeError, .invalidCharacter(position: 4)) }
        XCTAssertThrowsError(try Base32.decode("A")) { XCTAssertEqual($0 as? Base32.DecodeError, .invalidLength(symbols: 1)) }
        XCTAssertThrowsError(try Base32.decode("ABC")) { XCTAssertEqual($0 as? Base32.DecodeError, .invalidLength(symbols: 3)) }
    }

    func testErrorsNeverContainTheInput() {
        XCTAssertThrowsError(try Base32.decode("SECRETSECRET!")) { XCTAssertFalse("\($0)".contains("SECRET")) }
    }

    func testRoundTripsEveryLength() throws {
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            XCTAssertEqual(try Base32.decode(Base32.encode(bytes)), Secret(bytes))
        }
    }
}

final class VerifierTests: XCTestCase {
    let secret = Secret("12345678901234567890")
    let parameters = OTPParameters.standard
    let now: Int64 = 1_111_111_111  // step 37037037

    func code(at time: Int64) throws -> Secret { OTP.totp(secret: secret, at: time, parameters: parameters) }

    func testAcceptsTheWindowAndSaysWhichStep() throws {
        let verifier = TOTPVerifier(parameters: parameters, window: 1)
        let step = parameters.step(at: now)
        XCTAssertEqual(try verifier.verify(code: code(at: now), secret: secret, now: now, lastAcceptedStep: nil), .accepted(step: step))
        XCTAssertEqual(
            try verifier.verify(code: code(at: now - 30), secret: secret, now: now, lastAcceptedStep: nil), .accepted(step: step - 1))
        XCTAssertEqual(
            try verifier.verify(code: code(at: now + 30), secret: secret, now: now, lastAcceptedStep: nil), .accepted(step: step + 1))
        XCTAssertEqual(try verifier.verify(code: code(at: now - 60), secret: secret, now: now, lastAcceptedStep: nil), .rejected)
        XCTAssertEqual(try verifier.verify(code: code(at: now + 60), secret: secret, now: now, lastAcceptedStep: nil), .rejected)
    }

    func testWindowZeroAndWider() throws {
        XCTAssertEqual(
            try TOTPVerifier(parameters: parameters, window: 0).verify(
                code: code(at: now - 30), secret: secret, now: now, lastAcceptedStep: nil), .rejected)
        let wide = TOTPVerifier(parameters: parameters, window: 3)
        XCTAssertEqual(
            try wide.verify(code: code(at: now - 90), secret: secret, now: now, lastAcceptedStep: nil),
            .accepted(step: parameters.step(at: now) - 3))
    }

    func testNeverTheSameOrAnEarlierStepTwice() throws {
        let verifier = TOTPVerifier(parameters: parameters, window: 1)
        let step = parameters.step(at: now)
        XCTAssertEqual(try verifier.verify(code: code(at: now), secret: secret, now: now, lastAcceptedStep: step), .replayed(step: step))
        XCTAssertEqual(
            try verifier.verify(code: code(at: now - 30), secret: secret, now: now, lastAcceptedStep: step), .replayed(step: step - 1))
        XCTAssertEqual(
            try verifier.verify(code: code(at: now + 30), secret: secret, now: now, lastAcceptedStep: step), .accepted(step: step + 1))
        // The clock jumping back an hour must not make an old code new again.
        XCTAssertEqual(
            try verifier.verify(code: code(at: now - 3600), secret: secret, now: now - 3600, lastAcceptedStep: step),
            .replayed(step: step - 120))
    }

    func testWrongLengthAndEarlyTimes() throws {
        let verifier = TOTPVerifier(parameters: parameters, window: 1)
        XCTAssertEqual(verifier.verify(code: Secret("12345"), secret: secret, now: now, lastAcceptedStep: nil), .rejected)
        XCTAssertEqual(verifier.verify(code: [], secret: secret, now: now, lastAcceptedStep: nil), .rejected)
        XCTAssertEqual(try verifier.verify(code: code(at: 0), secret: secret, now: -5, lastAcceptedStep: nil), .accepted(step: 0))
        XCTAssertEqual(
            try verifier.verify(code: code(at: Int64.max), secret: secret, now: Int64.max, lastAcceptedStep: nil),
            .accepted(step: UInt64(Int64.max) / 30))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(constantTimeEqual([], []))
    }
}

final class RecoveryCodeTests: XCTestCase {
    func testShapeAndEntropy() throws {
        let codes = try RecoveryCode.generate(count: 200)
        XCTAssertEqual(Set(codes).count, 200)
        for code in codes {
            XCTAssertEqual(code.count, 14)
            XCTAssertEqual(code.split(separator: "-").map(\.count), [4, 4, 4])
            XCTAssertNotNil(RecoveryCode.normalize(Secret(Array(code.utf8))))
            XCTAssertNil(code.first { "ilou".contains($0) })
        }
        // 12 symbols of 5 bits: every bit of the 60 that are used reaches the code.
        XCTAssertEqual(RecoveryCode.make(from: [0, 0, 0, 0, 0, 0, 0, 0]), "0000-0000-0000")
        XCTAssertEqual(RecoveryCode.make(from: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0]), "zzzz-zzzz-zzzz")
        XCTAssertEqual(RecoveryCode.make(from: [0, 0, 0, 0, 0, 0, 0, 0x10]), "0000-0000-0001")
    }

    func testNormalizeAcceptsTypingVariants() {
        let expected = Secret("kf7qm2xd9pwa")
        for typed in ["kf7q-m2xd-9pwa", "KF7Q M2XD 9PWA", "kf7qm2xd9pwa", " kf7q-m2xd-9pwa "] {
            XCTAssertEqual(RecoveryCode.normalize(Secret(typed)), expected, typed)
        }
        XCTAssertEqual(RecoveryCode.normalize(Secret("0o1i-1lab-cdef")), Secret("001111abcdef"))
        XCTAssertNil(RecoveryCode.normalize(Secret("kf7q-m2xd-9pw")))
        XCTAssertNil(RecoveryCode.normalize(Secret("kf7q-m2xd-9pwau")))
        XCTAssertNil(RecoveryCode.normalize(Secret("kf7q-m2xd-9pw!")))
    }

    func testSetHashesOnceAndMatchesAnyCode() throws {
        let codes = try RecoveryCode.generate(count: 10)
        let set = try RecoverySet.make(codes: codes, iterations: 1000)
        XCTAssertEqual(set.hashes.count, 10)
        for (index, code) in codes.enumerated() {
            XCTAssertEqual(try set.match(normalized: RecoveryCode.normalize(Secret(Array(code.uppercased().utf8)))!), index)
        }
        XCTAssertNil(try set.match(normalized: Secret("000000000000")))
    }
}

final class InputTests: XCTestCase {
    func testClassify() {
        XCTAssertEqual(CodeInput.classify(Secret("123456"), digits: 6), .otp(Secret("123456")))
        XCTAssertEqual(CodeInput.classify(Secret(" 123 456 "), digits: 6), .otp(Secret("123456")))
        XCTAssertEqual(CodeInput.classify(Secret("123-456"), digits: 6), .otp(Secret("123456")))
        XCTAssertEqual(CodeInput.classify(Secret("12345678"), digits: 8), .otp(Secret("12345678")))
        XCTAssertEqual(CodeInput.classify(Secret("12345"), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Secret("1234567"), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify([], digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Secret("12a456"), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Secret("١٢٣٤٥٦"), digits: 6), .malformed)  // Arabic-Indic digits
        XCTAssertEqual(CodeInput.classify(Secret("kf7q-m2xd-9pwa"), digits: 6), .recovery(Secret("kf7qm2xd9pwa")))
        XCTAssertEqual(CodeInput.classify(Secret([UInt8](repeating: 0x31, count: 1 << 20)), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify([0x31, 0, 0x32], digits: 6), .malformed)
    }
}

final class AttemptTests: XCTestCase {
    let secret = Secret("12345678901234567890")
    let now: Int64 = 1_700_000_000

    func enrollment(codes: [String]) throws -> Enrollment {
        Enrollment(parameters: .standard, secret: secret, recovery: try RecoverySet.make(codes: codes, iterations: 1000))
    }

    func testTOTPIsRecordedAndNotReplayed() throws {
        let e = try enrollment(codes: [])
        let input = CodeInput.otp(OTP.totp(secret: secret, at: now, parameters: .standard))
        let first = try decideAttempt(input: input, enrollment: e, state: UserState(), now: now, window: 1)
        XCTAssertEqual(first.outcome, .acceptedTOTP(step: UInt64(now / 30)))
        XCTAssertEqual(first.state.lastStep, UInt64(now / 30))
        let second = try decideAttempt(input: input, enrollment: e, state: first.state, now: now, window: 1)
        XCTAssertEqual(second.outcome, .replayedTOTP)
        XCTAssertEqual(second.state.failures, 1)
        XCTAssertEqual(second.state.lastFailure, now)
    }

    func testRecoveryCodeWorksOnce() throws {
        let codes = try RecoveryCode.generate(count: 3)
        let e = try enrollment(codes: codes)
        let input = CodeInput.classify(Secret(Array(codes[1].utf8)), digits: 6)
        let first = try decideAttempt(input: input, enrollment: e, state: UserState(), now: now, window: 1)
        XCTAssertEqual(first.outcome, .acceptedRecovery(remaining: 2))
        XCTAssertEqual(first.state.usedRecovery.count, 1)
        let second = try decideAttempt(input: input, enrollment: e, state: first.state, now: now, window: 1)
        XCTAssertEqual(second.outcome, .usedRecoveryCode)
        let other = try decideAttempt(
            input: CodeInput.classify(Secret(Array(codes[2].utf8)), digits: 6), enrollment: e, state: second.state, now: now, window: 1)
        XCTAssertEqual(other.outcome, .acceptedRecovery(remaining: 1))
        XCTAssertEqual(other.state.failures, 0)
    }

    func testUsedIdentifiersOfReplacedCodesAreDropped() throws {
        var state = UserState()
        state.usedRecovery = ["0011223344556677"]
        let codes = try RecoveryCode.generate(count: 2)
        let result = try decideAttempt(
            input: CodeInput.classify(Secret(Array(codes[0].utf8)), digits: 6), enrollment: enrollment(codes: codes), state: state,
            now: now,
            window: 1)
        XCTAssertEqual(result.state.usedRecovery.count, 1)
        XCTAssertFalse(result.state.usedRecovery.contains("0011223344556677"))
    }

    func testWrongAndMalformedCountAsFailures() throws {
        let e = try enrollment(codes: [])
        // A code from an hour away (fixed secret and time, so this is deterministic).
        let stale = OTP.totp(secret: secret, at: now + 3600, parameters: .standard)
        let wrong = try decideAttempt(input: .otp(stale), enrollment: e, state: UserState(), now: now, window: 1)
        XCTAssertEqual(wrong.outcome, .wrongCode)
        XCTAssertEqual(wrong.state.failures, 1)
        XCTAssertEqual(
            try decideAttempt(input: .malformed, enrollment: e, state: UserState(), now: now, window: 1).outcome, .malformedInput)
        XCTAssertEqual(
            try decideAttempt(input: .recovery(Secret("000000000000")), enrollment: e, state: UserState(), now: now, window: 1).outcome,
            .wrongCode)
        let noRecovery = Enrollment(parameters: .standard, secret: secret)
        XCTAssertEqual(
            try decideAttempt(input: .recovery(Secret("000000000000")), enrollment: noRecovery, state: UserState(), now: now, window: 1)
                .outcome, .wrongCode)
    }
}

final class URIAndTimeTests: XCTestCase {
    func testURICarriesEveryParameterAndEncodesLabels() {
        let uri = OTPAuthURI.totp(
            issuer: "Uni VPN", account: "jörg@example.org", secret: Secret("12345678901234567890"),
            parameters: OTPParameters(algorithm: .sha256, digits: 8, period: 60))
        XCTAssertEqual(
            uri,
            "otpauth://totp/Uni%20VPN:j%C3%B6rg%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Uni%20VPN&algorithm=SHA256&digits=8&period=60"
        )
        XCTAssertEqual(OTPAuthURI.percentEncode("a:b/c?d&e=f"), "a%3Ab%2Fc%3Fd%26e%3Df")
    }

    /// SHA1, 6 digits and 30 s are the Key URI Format's defaults: left out, 34 bytes that would make
    /// the terminal QR code a version larger (issue 12, item 8).
    func testDefaultParametersAreLeftOut() {
        let uri = OTPAuthURI.totp(
            issuer: "Example University", account: "alice", secret: Secret("12345678901234567890"),
            parameters: OTPParameters(algorithm: .sha1, digits: 6, period: 30))
        XCTAssertEqual(
            uri, "otpauth://totp/Example%20University:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20University")
    }

    func testTimestamps() {
        XCTAssertEqual(UTCTimestamp.format(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTimestamp.format(1_111_111_111), "2005-03-18T01:58:31Z")
        XCTAssertEqual(UTCTimestamp.format(951_782_400), "2000-02-29T00:00:00Z")
        for t: Int64 in [0, 59, 951_782_400, 1_234_567_890, 4_102_444_800] {
            XCTAssertEqual(UTCTimestamp.parse(Substring(UTCTimestamp.format(t))), t)
        }
        for bad in ["2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-01-01 00:00:00Z", "2023-01-01T00:00:00", "1969-12-31T23:59:59Z"] {
            XCTAssertNil(UTCTimestamp.parse(Substring(bad)), bad)
        }
    }
}

/// Issue 11: familiar origins, the overflow of pushed-out sources, weak recovery codes, decoys and
/// recovery from a clock that was ahead, decided by the pure core with a fixed clock.
final class HardeningTests: XCTestCase {
    let secret = Secret("12345678901234567890")
    let now: Int64 = 1_700_000_000
    let home = LoginOrigin(source: "192.0.2.10")
    let policy = AttemptPolicy(window: 1)

    func code(at time: Int64) -> PreparedInput { .otp(OTP.totp(secret: secret, at: time, parameters: .standard)) }
    var enrollment: Enrollment { Enrollment(parameters: .standard, secret: secret) }

    func decide(_ input: PreparedInput, _ state: UserState, at time: Int64, from origin: LoginOrigin, decoy: Bool = false)
        -> (outcome: AttemptOutcome, state: UserState)
    {
        decideAttempt(input: input, enrollment: enrollment, state: state, now: time, policy: policy, origin: origin, decoy: decoy)
    }

    func testFailuresFromElsewhereDoNotLockAFamiliarOrigin() {
        var state = decide(code(at: now), UserState(), at: now, from: home).state
        XCTAssertTrue(state.isFamiliar(home, now: now + 86_400))
        for index in 0..<100 { state.recordFailure(source: "203.0.113.\(index)", now: now + 10) }
        XCTAssertEqual(decide(code(at: now + 60), state, at: now + 60, from: LoginOrigin(source: "198.51.100.1")).outcome, .locked)
        XCTAssertEqual(decide(code(at: now + 60), state, at: now + 60, from: home).outcome, .acceptedTOTP(step: UInt64((now + 60) / 30)))
        // A familiar origin stays so for 30 days.
        XCTAssertFalse(state.isFamiliar(home, now: now + UserState.familiarPeriod + 1))
        // The key the user logged in with is familiar from any address.
        let keyed = LoginOrigin(source: "192.0.2.11", key: "key:SHA256:abc")
        state = decide(code(at: now + 90), UserState(), at: now + 90, from: keyed).state
        XCTAssertTrue(state.isFamiliar(LoginOrigin(source: "203.0.113.9", key: "key:SHA256:abc"), now: now + 100))
        XCTAssertFalse(state.isFamiliar(LoginOrigin(source: "203.0.113.9", key: "key:SHA256:xyz"), now: now + 100))
    }

    func testASourcePushedOutIsStillThrottled() {
        var state = UserState()
        for _ in 0..<3 { state.recordFailure(source: "203.0.113.200", now: now) }
        for index in 0..<UserState.maxSources { state.recordFailure(source: "198.51.100.\(index)", now: now + 1) }
        XCTAssertEqual(state.sources.count, UserState.maxSources)
        XCTAssertNil(state.sources.first { $0.source == "203.0.113.200" })
        let policy = ThrottlePolicy()
        XCTAssertEqual(
            state.throttle(source: "203.0.113.200", now: now + 5, policy: policy, recoveryCode: false), .throttled(retryAfter: 25))
        // A familiar source is judged by its own record only.
        XCTAssertEqual(state.throttle(source: "192.0.2.10", familiar: true, now: now + 5, policy: policy, recoveryCode: false), .allowed)
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
    }

    /// A review found that familiar sources' records were kept beyond the 64 the parser accepted, so
    /// failures from 64 addresses made the state unreadable and refused every login of the user.
    func testFailuresFromManySourcesNeverMakeTheStateUnreadable() throws {
        var state = UserState()
        for index in 0..<UserState.maxFamiliar { state.markFamiliar(LoginOrigin(source: "192.0.2.\(index)"), now: now) }
        for index in 0..<UserState.maxFamiliar { state.recordFailure(source: "192.0.2.\(index)", familiar: true, now: now + 1) }
        for index in 0..<200 { state.recordFailure(source: "198.51.100.\(index)", now: now + 2) }
        XCTAssertEqual(state.sources.count, UserState.maxSources + UserState.maxFamiliar)
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
        // Once those places are no longer familiar, their records are evictable like any other.
        let later = now + UserState.familiarPeriod + 10
        state.recordFailure(source: "203.0.113.1", now: later)
        XCTAssertEqual(state.sources.count, UserState.maxSources)
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
    }

    func testWeakRecoveryCodesAreLockedAndHashedOnce() throws {
        var e = enrollment
        e.recovery = try RecoverySet.make(codes: ["12345678", "kf7q-m2xd-9pwa"], iterations: 1000)
        var state = UserState()
        state.unfamiliarFailures = 100
        let weak = try PreparedInput(.recovery(Secret("12345678")), enrollment: e)
        XCTAssertEqual(weak, .recovery(match: 0, strong: false))
        XCTAssertEqual(decideAttempt(input: weak, enrollment: e, state: state, now: now, policy: policy, origin: home).outcome, .locked)
        let strong = try PreparedInput(.recovery(Secret("kf7qm2xd9pwa")), enrollment: e)
        let opened = decideAttempt(input: strong, enrollment: e, state: state, now: now, policy: policy, origin: home)
        XCTAssertEqual(opened.outcome, .acceptedRecovery(remaining: 1))
        XCTAssertEqual(opened.state.unfamiliarFailures, 0)
    }

    func testADecoyDoesTheSameWorkAndNeverAccepts() throws {
        var model = Enrollment(parameters: .standard, secret: Secret(count: 20), created: 0, recovery: .decoy)
        model.id = "0000000000000000"
        model.issuer = "pam-totp"
        model.account = "decoy"
        XCTAssertEqual(String(decoding: Enrollment.decoyText, as: UTF8.self), String(decoding: model.serialized(), as: UTF8.self))
        let decoy = Enrollment.decoy
        XCTAssertEqual(decoy.id, "0000000000000000", "the decoy is parsed from its text, as a real enrollment is")
        let right = PreparedInput.otp(OTP.totp(secret: decoy.secret, at: now, parameters: .standard))
        let result = decideAttempt(input: right, enrollment: decoy, state: UserState(), now: now, policy: policy, origin: home, decoy: true)
        XCTAssertEqual(result.outcome, .wrongCode)
        XCTAssertEqual(result.state.failures, 1)
        XCTAssertNil(result.state.lastStep)
        XCTAssertEqual(try PreparedInput(.recovery(Secret("kf7qm2xd9pwa")), enrollment: decoy), .recovery(match: nil, strong: true))
    }

    func testAClockThatWasAheadIsRecoveredFromWithTwoCodes() {
        let day: Int64 = 86_400
        var state = decide(code(at: now), UserState(), at: now, from: home).state
        state = decide(code(at: now + day), state, at: now + day, from: home).state
        // Back to the right time: the code used before the jump is a replay; a fresh one needs the next.
        XCTAssertEqual(decide(code(at: now), state, at: now + 5, from: home).outcome, .replayedTOTP)
        let started = decide(code(at: now + 30), state, at: now + 31, from: home)
        XCTAssertEqual(started.outcome, .clockResyncStarted)
        // The same code again does not confirm it; the next one does.
        XCTAssertEqual(decide(code(at: now + 30), started.state, at: now + 32, from: home).outcome, .clockResyncStarted)
        let confirmed = decide(code(at: now + 60), started.state, at: now + 61, from: home)
        XCTAssertEqual(confirmed.outcome, .acceptedTOTP(step: UInt64((now + 60) / 30)))
        // Later codes work as usual; the step used while the clock was ahead stays refused.
        XCTAssertEqual(
            decide(code(at: now + 90), confirmed.state, at: now + 91, from: home).outcome, .acceptedTOTP(step: UInt64((now + 90) / 30)))
        XCTAssertEqual(decide(code(at: now + day), confirmed.state, at: now + day, from: home).outcome, .replayedTOTP)
        XCTAssertEqual(try UserState.parse(confirmed.state.serialized()), confirmed.state)
        // A confirmation that comes too late starts over.
        let late = now + 31 + UserState.resyncTimeout + 30
        XCTAssertEqual(decide(code(at: late), started.state, at: late, from: home).outcome, .clockResyncStarted)
    }
}
