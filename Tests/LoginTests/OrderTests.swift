import TOTPCore
import XCTest

/// The order of a login's requests, which carries the lock discipline: the state is read once, under
/// the lock, before the first prompt; the lock is never held while the user types; an answer is
/// sorted (and a recovery code hashed) before the lock is taken for its decision.
final class OrderTests: XCTestCase {
    func testASuccessfulLogin() throws {
        let system = FakeSystem()
        let recovery = try system.enroll().recovery
        XCTAssertEqual(system.login(answers: [system.code()]), .success)
        let account = system.accounts[0]
        var written = UserState()
        written.lastStep = UInt64(system.now / 30)
        written.recentSteps = [UInt64(system.now / 30)]
        written.markFamiliar(LoginOrigin(source: "192.0.2.7"), now: system.now)
        XCTAssertEqual(
            system.requests,
            [
                .readConfiguration(path: "/etc/pam-totp.conf", required: false),
                .getUser,
                .lookUpAccount(name: "alice"),
                .readEnrollment(path: "/home/alice/.pam_totp", account: account, inHome: true),
                .openState(directory: "/var/lib/pam-totp", store: nil, name: "alice"),
                .lockState(key: "alice", recovery: recovery),
                .releaseState(write: nil),
                .prompt("Verification code: "),
                // Whether the answer is the password an earlier module read.
                .readAuthToken,
                .lockState(key: "alice", recovery: recovery),
                .releaseState(write: written),
            ])
    }

    /// A name that is no account walks the enrollment locations as a real account's login does
    /// (for a stand-in without an enrollment), so that both take as long before the first prompt;
    /// whatever is found there is never used.
    func testAnUnknownNameLooksWhereAnAccountWouldAndUsesNothing() throws {
        let system = FakeSystem()
        let planted = try system.enroll()
        system.enrollments["/nonexistent/.pam_totp"] = planted
        system.userName = "mallory"
        XCTAssertEqual(system.login(["retries=1"], answers: [system.code()]), .denied)
        XCTAssertEqual(
            Array(system.requests.prefix(4)),
            [
                .readConfiguration(path: "/etc/pam-totp.conf", required: false),
                .getUser,
                .lookUpAccount(name: "mallory"),
                .readEnrollment(
                    path: "/nonexistent/.pam_totp", account: Account(name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent"),
                    inHome: true),
            ])
    }

    func testARecoveryCodeIsDecidedInOneLockedSection() throws {
        let system = FakeSystem()
        let recovery = try system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa"]).recovery
        XCTAssertEqual(system.login(answers: ["kf7q-m2xd-9pwa"]), .success)
        // The hash was made between the answer and the lock: nothing but the lock comes between.
        XCTAssertEqual(Array(system.requests.suffix(3).prefix(2)), [.readAuthToken, .lockState(key: "alice", recovery: recovery)])
        guard case .releaseState(let written?) = system.requests.last else { return XCTFail("\(system.requests)") }
        XCTAssertEqual(written.usedRecovery.count, 1)
    }
}

/// `CodeCheck` as `pam-totp-setup`'s proofs of possession use it.
final class CodeCheckTests: XCTestCase {
    func testAProofOfPossessionMakesNoPlaceFamiliar() throws {
        let system = FakeSystem()
        let enrollment = try system.enroll()
        let input = CodeInput.classify(Secret(Array(system.code().utf8)), digits: 6)
        let policy = AttemptPolicy(options: ModuleOptions(), enrollment: enrollment)
        let proof = try CodeCheck(input, enrollment: enrollment, policy: policy, origin: LoginOrigin(source: "-"), makesFamiliar: false)
        XCTAssertEqual(proof.method, "totp")
        let decided = proof.decide(enrollment: enrollment, state: UserState(), now: system.now)
        XCTAssertEqual(decided.outcome, .acceptedTOTP(step: UInt64(system.now / 30)))
        XCTAssertEqual(decided.write?.familiar, [])
        // Decided again against what was written: a replay, and nothing to write.
        let again = proof.decide(enrollment: enrollment, state: try XCTUnwrap(decided.write), now: system.now)
        XCTAssertEqual(again.outcome, .replayedTOTP)
        XCTAssertNotNil(again.write)  // the failure is recorded
        let login = try CodeCheck(input, enrollment: enrollment, policy: policy, origin: LoginOrigin(source: "-"))
        XCTAssertEqual(login.decide(enrollment: enrollment, state: UserState(), now: system.now).write?.familiar.map(\.id), ["-"])
    }

    func testTheWindowIsTheEnrollmentsOrTheOptions() {
        var options = ModuleOptions()
        options.window = 3
        options.hotpWindow = 20
        var enrollment = Enrollment(parameters: .standard, secret: FakeSystem.secret)
        XCTAssertEqual(AttemptPolicy(options: options, enrollment: enrollment), AttemptPolicy(window: 3, hotpWindow: 20))
        enrollment.window = 0
        XCTAssertEqual(AttemptPolicy(options: options, enrollment: enrollment).window, 0)
    }

    func testAnUnchangedStateIsNotWritten() throws {
        let system = FakeSystem()
        let enrollment = try system.enroll()
        var locked = UserState()
        locked.unfamiliarFailures = 100
        let check = try CodeCheck(
            .otp(Secret(Array("123456".utf8))), enrollment: enrollment, policy: AttemptPolicy(window: 1), origin: LoginOrigin(source: "-"))
        let decided = check.decide(enrollment: enrollment, state: locked, now: system.now)
        XCTAssertEqual(decided.outcome, .locked)
        XCTAssertNil(decided.write)
    }
}
