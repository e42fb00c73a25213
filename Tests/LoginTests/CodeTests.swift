import TOTPCore
import XCTest

/// The code itself: TOTP, replay, the clock, HOTP, recovery codes, and how answers are read.
final class CodeTests: XCTestCase {
    var system = FakeSystem()

    override func setUpWithError() throws {
        system = FakeSystem()
        try system.enroll()
    }

    func testACorrectCodeSucceedsAndIsRecorded() {
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        XCTAssertEqual(system.log, ["success user=alice rhost=192.0.2.7 method=totp scope=code"])
        XCTAssertEqual(system.logged.map(\.priority), [.notice])
        XCTAssertEqual(system.shown, [.prompt("Verification code: ")])
        XCTAssertEqual(system.states["alice"]?.lastStep, UInt64(system.now / 30))
        XCTAssertEqual(system.failDelays, 0)
        // The state was read once before the prompt, and written once after the answer.
        XCTAssertEqual(system.locks, ["alice", "alice"])
        XCTAssertEqual(system.writes, 1)
    }

    func testCodesMayHaveSpacesOrDashes() {
        let code = system.code()
        let spaced = String(code.prefix(3)) + " " + String(code.suffix(3))
        XCTAssertEqual(system.login(answers: [spaced]), .success)
        system.now += 30
        let dashed = String(system.code().prefix(3)) + "-" + String(system.code().suffix(3))
        XCTAssertEqual(system.login(answers: [dashed]), .success)
    }

    func testWrongCodesAreRefusedRetriesTimes() {
        XCTAssertEqual(system.login(answers: ["000000", "111111", "222222"]), .denied)
        XCTAssertEqual(
            system.log,
            (1...3).map { "failure user=alice rhost=192.0.2.7 attempt=\($0)/3 method=totp reason=wrong-code" })
        XCTAssertEqual(system.logged.map(\.priority), [.warning, .warning, .warning])
        XCTAssertEqual(system.errors, Array(repeating: "The verification code does not match.", count: 3))
        XCTAssertEqual(system.prompts.count, 3)
        XCTAssertEqual(system.failDelays, 3)
        XCTAssertEqual(system.states["alice"]?.failures, 3)
    }

    func testRetriesAndTheLastRightAnswer() {
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=totp reason=wrong-code"])
        XCTAssertEqual(system.login(["retries=2"], answers: ["000000", system.code()]), .success)
        XCTAssertEqual(system.log.last, "success user=alice rhost=192.0.2.7 method=totp scope=code")
    }

    func testEmptyAndMalformedAnswers() {
        XCTAssertEqual(system.login(answers: ["", "12345", "abcdef"]), .denied)
        XCTAssertEqual(
            system.log,
            (1...3).map { "failure user=alice rhost=192.0.2.7 attempt=\($0)/3 method=none reason=malformed-input" })
        XCTAssertEqual(
            system.errors, ["No code was given.", "The verification code does not match.", "The verification code does not match."])
    }

    func testAnAnswerTooLongIsMalformed() {
        XCTAssertEqual(system.login(["retries=1"], answers: [String(repeating: "1", count: 600)]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "malformed-input")
    }

    // MARK: - Replay and the clock

    func testACodeIsAcceptedOnce() {
        let code = system.code()
        XCTAssertEqual(system.login(answers: [code]), .success)
        XCTAssertEqual(system.login(["retries=1"], answers: [code]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=totp reason=replayed-code"])
        XCTAssertEqual(system.errors, ["That code was already used. Wait for the next code from the app."])
    }

    func testReplayAcrossAStepBoundary() {
        // Accepted in the last second of its step ...
        system.now = 1_800_000_029
        let code = system.code()
        XCTAssertEqual(system.login(answers: [code]), .success)
        // ... it is still inside the window one second later, in the next step, and refused there;
        // the new step's code is accepted.
        system.now = 1_800_000_030
        XCTAssertEqual(system.login(["retries=1"], answers: [code]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=totp reason=replayed-code"])
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        // A code of the step after now (the window's end) is accepted, and then the current one,
        // older than it, is not.
        XCTAssertEqual(system.login(answers: [system.code(offset: 1)]), .success)
        XCTAssertEqual(system.login(["retries=1"], answers: [system.code()]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "replayed-code")
    }

    func testTheWindow() {
        XCTAssertEqual(system.login(["retries=2"], answers: [system.code(offset: -2), system.code(offset: 2)]), .denied)
        XCTAssertEqual(system.logged.map { $0.fields["reason"] }, ["wrong-code", "wrong-code"])
        XCTAssertEqual(system.login(["window=2"], answers: [system.code(offset: 2)]), .success)
        // An enrollment's own window (kept from an imported file) overrides window=.
        _ = try? system.enroll(window: 0)
        system.states = [:]
        XCTAssertEqual(system.login(["window=3", "retries=1"], answers: [system.code(offset: 1)]), .denied)
    }

    func testTheClockGoingBackNeedsTwoCodes() {
        // A code accepted while the server's clock was 5 steps ahead ...
        let right = system.now
        system.now = right + 150
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        // ... then the clock is corrected: the current code is older than the last one used, and the
        // next one confirms it.
        system.now = right
        XCTAssertEqual(system.login(["retries=2"], answers: [system.code(), system.code(offset: 1)]), .success)
        XCTAssertEqual(
            system.log,
            [
                "failure user=alice rhost=192.0.2.7 attempt=1/2 method=totp reason=replayed-code",
                "success user=alice rhost=192.0.2.7 method=totp scope=code",
            ])
        XCTAssertEqual(
            system.errors,
            [
                "That code is older than the last one used here; the clock may have been changed. Enter the next code from the app to confirm."
            ])
        // The step used while the clock was ahead stays used.
        system.now = right + 150
        XCTAssertEqual(system.login(["retries=1"], answers: [system.code()]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "replayed-code")
    }

    // MARK: - Throttling

    func testASourceIsThrottledAfterItsFreeFailuresAndTheWaitDoubles() {
        XCTAssertEqual(system.login(answers: ["000000", "000000", "000000"]), .denied)
        // The fourth attempt, in a new login: refused before any prompt, nothing checked.
        XCTAssertEqual(system.login(), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 reason=throttled retry-after=30"])
        XCTAssertEqual(system.shown, [.error("Too many wrong codes from here. Try again in 30 seconds.")])
        XCTAssertEqual(system.writes, 0)
        // 20 seconds later, 10 are left.
        system.now += 20
        XCTAssertEqual(system.login(), .denied)
        XCTAssertEqual(system.logged.first?.fields["retry-after"], "10")
        // When the wait is over, one more attempt is checked; a wrong one doubles the wait.
        system.now += 10
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(system.login(), .denied)
        XCTAssertEqual(system.logged.first?.fields["retry-after"], "60")
        // A right code after the wait opens the source again.
        system.now += 60
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "wrong-code")
    }

    func testThrottledInTheMiddleOfALogin() {
        XCTAssertEqual(
            system.login(["retries=5", "throttle_free=2", "throttle_delay=45"], answers: ["000000", "000000", "000000"]), .denied)
        XCTAssertEqual(
            system.log,
            [
                "failure user=alice rhost=192.0.2.7 attempt=1/5 method=totp reason=wrong-code",
                "failure user=alice rhost=192.0.2.7 attempt=2/5 method=totp reason=wrong-code",
                "failure user=alice rhost=192.0.2.7 attempt=3/5 method=totp reason=throttled retry-after=45",
            ])
        XCTAssertEqual(system.errors.last, "Too many wrong codes from here. Try again in 45 seconds.")
        XCTAssertEqual(system.prompts.count, 3)
    }

    func testAnotherSourceIsNotThrottled() {
        XCTAssertEqual(system.login(answers: ["000000", "000000", "000000"]), .denied)
        system.remoteHost = "198.51.100.1"
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        // Nor is a right code from elsewhere a reason to forgive the first source.
        system.remoteHost = "192.0.2.7"
        XCTAssertEqual(system.login(), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "throttled")
    }

    func testTheLockAndTheFamiliarPlaces() throws {
        try system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa", "0123-4567-89ab"])
        let options = ["max_failures=3", "throttle_free=20"]
        // alice logs in from home: home is familiar from now on.
        XCTAssertEqual(system.login(options, answers: [system.code()]), .success)
        // Three failures from elsewhere lock the codes of unfamiliar places ...
        system.remoteHost = "203.0.113.9"
        XCTAssertEqual(system.login(options, answers: ["000000", "000000", "000000"]), .denied)
        system.now += 30
        XCTAssertEqual(system.login(options + ["retries=1"], answers: [system.code()]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=203.0.113.9 attempt=1/1 method=totp reason=locked"])
        XCTAssertEqual(
            system.errors, ["Too many wrong codes: this account's codes are locked. Use a recovery code, or ask an administrator."])
        // ... not of home.
        system.remoteHost = "192.0.2.7"
        XCTAssertEqual(system.login(options, answers: [system.code()]), .success)
        // A recovery code is checked even there, and opens the lock.
        system.remoteHost = "203.0.113.9"
        system.now += 30
        XCTAssertEqual(system.login(options, answers: ["kf7q-m2xd-9pwa"]), .success)
        system.now += 30
        XCTAssertEqual(system.login(options, answers: [system.code()]), .success)
    }

    func testImportedScratchCodesAreThrottledLikeCodes() throws {
        try system.enroll(recoveryCodes: ["12345678"])
        let options = ["max_failures=2", "throttle_free=20", "retries=2"]
        XCTAssertEqual(system.login(options, answers: ["000000", "000000"]), .denied)
        XCTAssertEqual(system.login(options + ["retries=1"], answers: ["12345678"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=recovery reason=locked"])
    }

    // MARK: - Recovery codes

    func testARecoveryCodeWorksOnceAndSaysHowManyAreLeft() throws {
        try system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa", "0123-4567-89ab"])
        XCTAssertEqual(system.login(answers: ["KF7Q M2XD 9PWA"]), .success)
        XCTAssertEqual(system.log, ["success user=alice rhost=192.0.2.7 method=recovery recovery-codes-left=1 scope=code"])
        XCTAssertEqual(
            system.shown,
            [.prompt("Verification code: "), .info("Recovery code accepted. 1 recovery code left; get new ones before they run out.")])
        XCTAssertEqual(system.login(["retries=1"], answers: ["kf7q-m2xd-9pwa"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=recovery reason=used-recovery-code"])
        XCTAssertEqual(system.login(answers: ["0123-4567-89ab"]), .success)
        XCTAssertEqual(system.infos, ["Recovery code accepted. 0 recovery codes left; get new ones before they run out."])
        XCTAssertEqual(system.login(["retries=1"], answers: ["zzzz-zzzz-zzzz"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=recovery reason=wrong-code"])
    }

    func testAnEnrollmentWithoutRecoveryCodesRefusesThem() {
        XCTAssertEqual(system.login(["retries=1"], answers: ["kf7q-m2xd-9pwa"]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "wrong-code")
    }

    // MARK: - HOTP

    func testHOTPCountersAreUsedOnce() throws {
        try system.enroll(type: .hotp, counter: 5)
        XCTAssertEqual(system.login(["retries=1"], answers: [system.hotp(4)]), .denied)
        XCTAssertEqual(system.login(answers: [system.hotp(7)]), .success)
        XCTAssertEqual(system.log, ["success user=alice rhost=192.0.2.7 method=totp scope=code"])
        XCTAssertEqual(system.login(["retries=2"], answers: [system.hotp(7), system.hotp(6)]), .denied)
        XCTAssertEqual(system.logged.map { $0.fields["reason"] }, ["wrong-code", "wrong-code"])
        XCTAssertEqual(system.login(answers: [system.hotp(8)]), .success)
    }

    func testHOTPResynchronisation() throws {
        try system.enroll(type: .hotp)
        XCTAssertEqual(system.login(["hotp_window=3"], answers: [system.hotp(50), system.hotp(51)]), .success)
        XCTAssertEqual(
            system.log,
            [
                "failure user=alice rhost=192.0.2.7 attempt=1/3 method=totp reason=hotp-resync-started",
                "success user=alice rhost=192.0.2.7 method=totp scope=code",
            ])
        XCTAssertEqual(system.errors, ["That code is far ahead of your token's counter. Enter the next code to resynchronise."])
        XCTAssertEqual(system.login(["hotp_window=3"], answers: [system.hotp(52)]), .success)
        // A resynchronisation waits five minutes for its second code.
        XCTAssertEqual(system.login(["hotp_window=3", "retries=1"], answers: [system.hotp(100)]), .denied)
        system.now += 301
        XCTAssertEqual(system.login(["hotp_window=3", "retries=1"], answers: [system.hotp(101)]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "hotp-resync-started")
    }

    // MARK: - Where the answer comes from

    func testThePasswordAtTheCodePromptIsNoAttempt() {
        system.authToken = "hunter2 hunter2"
        XCTAssertEqual(system.login(answers: ["hunter2 hunter2"]), .denied)
        XCTAssertEqual(
            system.log,
            [
                "refused user=alice rhost=192.0.2.7 reason=password-as-code error=\"the application answered the code prompt with the password; for sshd set KbdInteractiveAuthentication yes and AuthenticationMethods with keyboard-interactive (README)\""
            ])
        XCTAssertEqual(system.logged.first?.priority, .error)
        XCTAssertEqual(system.errors, ["The code prompt was answered with the password. Enter the code from the app."])
        XCTAssertEqual(system.failDelays, 1)
        // Not counted, and the state was not even locked for it.
        XCTAssertEqual(system.locks, ["alice"])
        XCTAssertNil(system.states["alice"])
        // Any other answer is checked as a code.
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
    }

    func testUseFirstPassTakesTheCodeFromTheEarlierModule() {
        system.authToken = system.code()
        XCTAssertEqual(system.login(["use_first_pass"]), .success)
        XCTAssertEqual(system.prompts, [])
        system.authToken = nil
        XCTAssertEqual(system.login(["use_first_pass"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 reason=no-authtok"])
        system.authToken = "000000"
        XCTAssertEqual(system.login(["use_first_pass"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=totp reason=wrong-code"])
    }

    func testTryFirstPassPromptsAfterAWrongOne() {
        system.authToken = "000000"
        XCTAssertEqual(system.login(["try_first_pass"], answers: [system.code()]), .success)
        XCTAssertEqual(system.prompts, ["Verification code: "])
        XCTAssertEqual(system.logged.first?.fields["attempt"], "1/3")
        system.authToken = nil
        system.now += 30
        XCTAssertEqual(system.login(["try_first_pass"], answers: [system.code()]), .success)
        XCTAssertEqual(system.prompts, ["Verification code: "])
    }

    func testAFailedConversation() {
        XCTAssertEqual(system.login(answers: [nil]), .conversationError)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 reason=conversation-failed"])
        XCTAssertEqual(system.logged.first?.priority, .error)
        XCTAssertEqual(system.login(answers: ["000000", nil]), .conversationError)
        XCTAssertEqual(system.log.last, "failure user=alice rhost=192.0.2.7 reason=conversation-failed")
    }

    func testThePrompt() {
        XCTAssertEqual(system.login(["prompt=Your code: "], answers: [system.code()]), .success)
        XCTAssertEqual(system.prompts, ["Your code: "])
    }
}
