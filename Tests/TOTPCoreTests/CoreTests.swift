import TOTPCore
import XCTest

final class Base32Tests: XCTestCase {
    func testAcceptsWhatPeoplePaste() throws {
        let expected = try Base32.decode("JBSWY3DPEHPK3PXP")
        XCTAssertEqual(try Base32.decode("jbsw y3dp ehpk 3pxp"), expected)
        XCTAssertEqual(try Base32.decode("JBSW-Y3DP-EHPK-3PXP"), expected)
        XCTAssertEqual(try Base32.decode("jbswY3dpehpk3pxp"), expected)
        XCTAssertEqual(try Base32.decode("MZXW6==="), Array("foo".utf8))
        XCTAssertEqual(try Base32.decode("MZXW6"), Array("foo".utf8))
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
            XCTAssertEqual(try Base32.decode(Base32.encode(bytes)), bytes)
        }
    }
}

final class VerifierTests: XCTestCase {
    let secret = Array("12345678901234567890".utf8)
    let parameters = OTPParameters.standard
    let now: Int64 = 1_111_111_111  // step 37037037

    func code(at time: Int64) throws -> [UInt8] { OTP.totp(secret: secret, at: time, parameters: parameters) }

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
        XCTAssertEqual(verifier.verify(code: Array("12345".utf8), secret: secret, now: now, lastAcceptedStep: nil), .rejected)
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
            XCTAssertNotNil(RecoveryCode.normalize(Array(code.utf8)))
            XCTAssertNil(code.first { "ilou".contains($0) })
        }
        // 12 symbols of 5 bits: every bit of the 60 that are used reaches the code.
        XCTAssertEqual(RecoveryCode.make(from: [0, 0, 0, 0, 0, 0, 0, 0]), "0000-0000-0000")
        XCTAssertEqual(RecoveryCode.make(from: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0]), "zzzz-zzzz-zzzz")
        XCTAssertEqual(RecoveryCode.make(from: [0, 0, 0, 0, 0, 0, 0, 0x10]), "0000-0000-0001")
    }

    func testNormalizeAcceptsTypingVariants() {
        let expected = Array("kf7qm2xd9pwa".utf8)
        for typed in ["kf7q-m2xd-9pwa", "KF7Q M2XD 9PWA", "kf7qm2xd9pwa", " kf7q-m2xd-9pwa "] {
            XCTAssertEqual(RecoveryCode.normalize(Array(typed.utf8)), expected, typed)
        }
        XCTAssertEqual(RecoveryCode.normalize(Array("0o1i-1lab-cdef".utf8)), Array("001111abcdef".utf8))
        XCTAssertNil(RecoveryCode.normalize(Array("kf7q-m2xd-9pw".utf8)))
        XCTAssertNil(RecoveryCode.normalize(Array("kf7q-m2xd-9pwau".utf8)))
        XCTAssertNil(RecoveryCode.normalize(Array("kf7q-m2xd-9pw!".utf8)))
    }

    func testSetHashesOnceAndMatchesAnyCode() throws {
        let codes = try RecoveryCode.generate(count: 10)
        let set = try RecoverySet.make(codes: codes, iterations: 1000)
        XCTAssertEqual(set.hashes.count, 10)
        for (index, code) in codes.enumerated() {
            XCTAssertEqual(try set.match(normalized: RecoveryCode.normalize(Array(code.uppercased().utf8))!), index)
        }
        XCTAssertNil(try set.match(normalized: Array("000000000000".utf8)))
    }
}

final class InputTests: XCTestCase {
    func testClassify() {
        XCTAssertEqual(CodeInput.classify(Array("123456".utf8), digits: 6), .otp(Array("123456".utf8)))
        XCTAssertEqual(CodeInput.classify(Array(" 123 456 ".utf8), digits: 6), .otp(Array("123456".utf8)))
        XCTAssertEqual(CodeInput.classify(Array("123-456".utf8), digits: 6), .otp(Array("123456".utf8)))
        XCTAssertEqual(CodeInput.classify(Array("12345678".utf8), digits: 8), .otp(Array("12345678".utf8)))
        XCTAssertEqual(CodeInput.classify(Array("12345".utf8), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Array("1234567".utf8), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify([], digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Array("12a456".utf8), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify(Array("١٢٣٤٥٦".utf8), digits: 6), .malformed)  // Arabic-Indic digits
        XCTAssertEqual(CodeInput.classify(Array("kf7q-m2xd-9pwa".utf8), digits: 6), .recovery(Array("kf7qm2xd9pwa".utf8)))
        XCTAssertEqual(CodeInput.classify([UInt8](repeating: 0x31, count: 1 << 20), digits: 6), .malformed)
        XCTAssertEqual(CodeInput.classify([0x31, 0, 0x32], digits: 6), .malformed)
    }
}

final class AttemptTests: XCTestCase {
    let secret = Array("12345678901234567890".utf8)
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
        let input = CodeInput.classify(Array(codes[1].utf8), digits: 6)
        let first = try decideAttempt(input: input, enrollment: e, state: UserState(), now: now, window: 1)
        XCTAssertEqual(first.outcome, .acceptedRecovery(remaining: 2))
        XCTAssertEqual(first.state.usedRecovery.count, 1)
        let second = try decideAttempt(input: input, enrollment: e, state: first.state, now: now, window: 1)
        XCTAssertEqual(second.outcome, .usedRecoveryCode)
        let other = try decideAttempt(
            input: CodeInput.classify(Array(codes[2].utf8), digits: 6), enrollment: e, state: second.state, now: now, window: 1)
        XCTAssertEqual(other.outcome, .acceptedRecovery(remaining: 1))
        XCTAssertEqual(other.state.failures, 0)
    }

    func testUsedIdentifiersOfReplacedCodesAreDropped() throws {
        var state = UserState()
        state.usedRecovery = ["0011223344556677"]
        let codes = try RecoveryCode.generate(count: 2)
        let result = try decideAttempt(
            input: CodeInput.classify(Array(codes[0].utf8), digits: 6), enrollment: enrollment(codes: codes), state: state, now: now,
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
            try decideAttempt(input: .recovery(Array("000000000000".utf8)), enrollment: e, state: UserState(), now: now, window: 1).outcome,
            .wrongCode)
        let noRecovery = Enrollment(parameters: .standard, secret: secret)
        XCTAssertEqual(
            try decideAttempt(input: .recovery(Array("000000000000".utf8)), enrollment: noRecovery, state: UserState(), now: now, window: 1)
                .outcome, .wrongCode)
    }
}

final class URIAndTimeTests: XCTestCase {
    func testURICarriesEveryParameterAndEncodesLabels() {
        let uri = OTPAuthURI.totp(
            issuer: "Uni VPN", account: "jörg@example.org", secret: Array("12345678901234567890".utf8),
            parameters: OTPParameters(algorithm: .sha256, digits: 8, period: 60))
        XCTAssertEqual(
            uri,
            "otpauth://totp/Uni%20VPN:j%C3%B6rg%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Uni%20VPN&algorithm=SHA256&digits=8&period=60"
        )
        XCTAssertEqual(OTPAuthURI.percentEncode("a:b/c?d&e=f"), "a%3Ab%2Fc%3Fd%26e%3Df")
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
