import TOTPCore
import XCTest

/// The login policies of the README ("Login policies", "Throttling"): who needs a code, trusted
/// networks, nullok and nullok_until, decoys, remembered devices, forward_pass and message_prompt.
final class PolicyTests: XCTestCase {
    var system = FakeSystem()

    override func setUpWithError() throws {
        system = FakeSystem()
        try system.enroll()
    }

    // MARK: - Who needs a code

    func testGroups() {
        system.groups = ["staff": 50, "robots": 60, "other": 70]
        system.memberships = ["alice": [1001, 50]]
        XCTAssertEqual(system.login(["groups=other"]), .ignore)
        XCTAssertEqual(system.log, ["skipped user=alice rhost=192.0.2.7 reason=not-in-groups"])
        XCTAssertEqual(system.logged.first?.priority, .info)
        XCTAssertEqual(system.shown, [])
        XCTAssertEqual(system.login(["groups=other,staff"], answers: [system.code()]), .success)
        XCTAssertEqual(system.login(["exempt_groups=staff"]), .ignore)
        XCTAssertEqual(system.log, ["skipped user=alice rhost=192.0.2.7 reason=exempt-group"])
        system.now += 30
        XCTAssertEqual(system.login(["exempt_groups=robots"], answers: [system.code()]), .success)
        // In both lists: a code is needed.
        system.now += 30
        XCTAssertEqual(system.login(["groups=staff", "exempt_groups=staff"], answers: [system.code()]), .success)
    }

    func testAnUnknownGroupIsAConfigurationError() {
        system.groups = ["staff": 50]
        XCTAssertEqual(system.login(["groups=staff,nosuch"]), .configurationError)
        XCTAssertEqual(system.log, ["configuration error: option 'groups=nosuch': no such group; refusing login"])
        XCTAssertEqual(system.logged.first?.priority, .error)
        // Each list is looked at only until the user is found in it.
        system.memberships = ["alice": [50]]
        XCTAssertEqual(system.login(["groups=staff,nosuch"], answers: [system.code()]), .success)
        XCTAssertEqual(system.login(["exempt_groups=nosuch"]), .configurationError)
        XCTAssertEqual(system.log, ["configuration error: option 'groups=nosuch': no such group; refusing login"])
    }

    func testGroupsDoNotSpareNamesThatAreNoAccount() {
        system.userName = "mallory"
        XCTAssertEqual(system.login(["exempt_groups=staff"], answers: ["1", "2", "3"]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "unknown-user")
    }

    func testAUserDatabaseFailureFailsClosed() {
        system.userDatabaseError = "Connection refused"
        XCTAssertEqual(system.login(), .systemError)
        XCTAssertEqual(system.log, ["user database error user=alice rhost=192.0.2.7 error=\"Connection refused\""])
        XCTAssertEqual(system.logged.first?.priority, .error)
    }

    // MARK: - Trusted networks

    func testTrustedNetworksNeedNoCode() {
        XCTAssertEqual(system.login(["trusted=10.0.0.0/8,192.0.2.0/24"]), .success)
        XCTAssertEqual(system.log, ["code skipped: trusted network user=alice rhost=192.0.2.7 network=192.0.2.0/24"])
        XCTAssertEqual(system.logged.first?.priority, .notice)
        XCTAssertEqual(system.shown, [])
        XCTAssertEqual(system.locks, [])
        // An IPv4-mapped address counts as IPv4; a host name or no address never matches.
        system.remoteHost = "::ffff:10.1.2.3"
        XCTAssertEqual(system.login(["trusted=10.0.0.0/8"]), .success)
        for host in ["host.example.org", nil] {
            system.remoteHost = host
            system.now += 30
            XCTAssertEqual(system.login(["trusted=10.0.0.0/8"], answers: [system.code()]), .success)
            XCTAssertEqual(system.logged.first?.event, "success")
        }
    }

    func testTrustedNetworksFromAFile() {
        system.configFiles["/etc/pam-totp.trusted"] = "# the office\n192.0.2.0/24\n"
        XCTAssertEqual(system.login(["trusted=@/etc/pam-totp.trusted"]), .success)
        XCTAssertEqual(system.logged.first?.fields["network"], "192.0.2.0/24")
        system.configFiles["/etc/pam-totp.trusted"] = "192.0.2.1/24\n"
        XCTAssertEqual(system.login(["trusted=@/etc/pam-totp.trusted"]), .configurationError)
        XCTAssertEqual(system.log.count, 1)
        XCTAssertTrue(system.log[0].hasPrefix("configuration error: option 'trusted=@/etc/pam-totp.trusted': "), system.log[0])
        XCTAssertTrue(system.log[0].hasSuffix("; refusing login"))
        system.configFiles = [:]
        XCTAssertEqual(system.login(["trusted=@/etc/pam-totp.trusted"]), .configurationError)
        XCTAssertEqual(system.log, ["configuration error: /etc/pam-totp.trusted: no such file; refusing login"])
    }

    // MARK: - Users without an enrollment

    func testUnknownAndUnenrolledUsersMeetADecoy() {
        // The same prompts and messages as an enrolled user; the decoy accepts nothing, not even
        // the code of its own all-zero secret.
        let decoyCode = FakeSystem.text(
            OTP.hotp(secret: Secret(count: 20), counter: UInt64(system.now / 30), algorithm: .sha1, digits: 6))
        system.userName = "mallory"
        XCTAssertEqual(system.login(answers: [decoyCode, "", "kf7q-m2xd-9pwa"]), .denied)
        XCTAssertEqual(
            system.log,
            [
                "failure user=mallory rhost=192.0.2.7 attempt=1/3 method=totp reason=unknown-user",
                "failure user=mallory rhost=192.0.2.7 attempt=2/3 method=none reason=unknown-user",
                "failure user=mallory rhost=192.0.2.7 attempt=3/3 method=recovery reason=unknown-user",
            ])
        XCTAssertEqual(
            system.errors, ["The verification code does not match.", "No code was given.", "The verification code does not match."])
        XCTAssertEqual(system.prompts, Array(repeating: "Verification code: ", count: 3))
        // A name that is no account is throttled in a shared file, under its own sources.
        XCTAssertEqual(Set(system.locks), ["unknown 7"])
        XCTAssertEqual(system.states["unknown 7"]?.sources.map(\.source), ["0011223344556677|192.0.2.7"])
        XCTAssertEqual(system.login(), .denied)
        XCTAssertEqual(system.log, ["failure user=mallory rhost=192.0.2.7 reason=throttled retry-after=30"])

        system.accounts.append(Account(name: "bob", uid: 1002, gid: 1002, home: "/home/bob"))
        system.userName = "bob"
        XCTAssertEqual(system.login(answers: ["000000", "000000", system.code()]), .denied)
        XCTAssertEqual(system.logged.map { $0.fields["reason"] }, ["not-enrolled", "not-enrolled", "not-enrolled"])
        XCTAssertEqual(system.states["bob"]?.failures, 3)
    }

    func testADecoyTellsAReplayFromNothing() {
        system.userName = "mallory"
        XCTAssertEqual(system.login(["retries=1"], answers: [system.code()]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "unknown-user")
        XCTAssertEqual(system.errors, ["The verification code does not match."])
    }

    func testNullok() {
        system.userName = "mallory"
        XCTAssertEqual(system.login(["nullok"]), .ignore)
        XCTAssertEqual(system.log, ["skipped user=mallory rhost=192.0.2.7 nullok=yes reason=unknown-user"])
        system.accounts.append(Account(name: "bob", uid: 1002, gid: 1002, home: "/home/bob"))
        system.userName = "bob"
        XCTAssertEqual(system.login(["nullok"]), .ignore)
        XCTAssertEqual(system.log, ["skipped user=bob rhost=192.0.2.7 nullok=yes reason=not-enrolled"])
        XCTAssertEqual(system.shown, [])
        // An enrolled user still needs the code.
        system.userName = "alice"
        XCTAssertEqual(system.login(["nullok"], answers: [system.code()]), .success)
    }

    func testNullokUntil() {
        system.accounts.append(Account(name: "bob", uid: 1002, gid: 1002, home: "/home/bob"))
        system.userName = "bob"
        let day = CivilDate.days(year: 2027, month: 3, day: 1)
        system.now = (day - 1) * 86_400 + 3600
        XCTAssertEqual(system.login(["nullok_until=2027-03-01"]), .ignore)
        XCTAssertEqual(system.log, ["skipped user=bob rhost=192.0.2.7 nullok-until=2027-03-01 reason=not-enrolled"])
        XCTAssertEqual(
            system.shown,
            [
                .info(
                    "Two-factor authentication will be required from 2027-03-01. Set it up before then, as your site's instructions describe."
                )
            ])
        XCTAssertEqual(system.login(["nullok_until=2027-03-01", "setup_hint=Visit https://example.org/2fa"]), .ignore)
        XCTAssertEqual(system.infos, ["Two-factor authentication will be required from 2027-03-01. Visit https://example.org/2fa"])
        // From that day on, the code is required.
        system.now = day * 86_400
        XCTAssertEqual(system.login(["nullok_until=2027-03-01"], answers: ["1", "2", "3"]), .denied)
        XCTAssertEqual(system.logged.first?.fields["reason"], "not-enrolled")
        XCTAssertEqual(system.infos, [])
    }

    // MARK: - Remembered devices

    func testRememberingAnSSHKey() throws {
        system.authInfo = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        let device = try XCTUnwrap(DeviceIdentity.find(authInfo: system.authInfo, remoteHost: nil)).description
        XCTAssertTrue(device.hasPrefix("key:SHA256:"))
        XCTAssertEqual(system.login(["remember=30d"], answers: [system.code()], replies: ["Y"]), .success)
        XCTAssertEqual(system.shown, [.prompt("Verification code: "), .question("Skip the code on this device for 30 days? [y/N] ")])
        let until = UTCTimestamp.format(system.now + 30 * 86_400)
        XCTAssertEqual(
            system.log,
            [
                "success user=alice rhost=192.0.2.7 method=totp scope=code",
                "remembered device user=alice rhost=192.0.2.7 device=\(device) until=\(until)",
            ])
        // The next login from the key needs no code, from another address too.
        system.remoteHost = "198.51.100.4"
        system.now += 86_400
        XCTAssertEqual(system.login(["remember=30d"]), .success)
        XCTAssertEqual(system.log, ["code skipped: remembered device user=alice rhost=198.51.100.4 device=\(device) until=\(until)"])
        XCTAssertEqual(system.logged.first?.priority, .notice)
        XCTAssertEqual(system.shown, [])
        // Until it expires.
        system.now += 30 * 86_400
        XCTAssertEqual(system.login(["remember=30d", "remember_always"], answers: [system.code()]), .success)
        XCTAssertEqual(
            system.log.last,
            "remembered device user=alice rhost=198.51.100.4 device=\(device) until=\(UTCTimestamp.format(system.now + 30 * 86_400))")
        // Re-enrolling forgets every device.
        try system.enroll(id: "fedcba9876543210")
        system.now += 30
        XCTAssertEqual(system.login(["remember=30d"], answers: [system.code()], replies: ["no"]), .success)
        XCTAssertEqual(system.log, ["success user=alice rhost=198.51.100.4 method=totp scope=code"])
    }

    func testRememberingAnAddressAndSayingNo() {
        XCTAssertEqual(system.login(["remember=12h"], answers: [system.code()], replies: [" n "]), .success)
        XCTAssertEqual(system.shown.last, .question("Skip the code on this device for 12 hours? [y/N] "))
        XCTAssertEqual(system.log.count, 1)
        system.now += 30
        XCTAssertEqual(system.login(["remember=12h"], answers: [system.code()], replies: [nil]), .success)
        system.now += 30
        XCTAssertEqual(system.login(["remember=12h"], answers: [system.code()], replies: ["yes"]), .success)
        XCTAssertEqual(system.log.last?.hasPrefix("remembered device user=alice rhost=192.0.2.7 device=address:192.0.2.7 until="), true)
        XCTAssertEqual(system.login(["remember=12h"]), .success)
        XCTAssertEqual(system.logged.first?.event, "code skipped: remembered device")
    }

    func testNothingIsRememberedWithoutADeviceOrAfterARecoveryCode() throws {
        system.remoteHost = nil
        XCTAssertEqual(system.login(["remember=30d"], answers: [system.code()]), .success)
        XCTAssertEqual(system.log, ["success user=alice rhost=- method=totp scope=code"])
        // A host name is no device: DNS could be made to say anything.
        system.remoteHost = "host.example.org"
        system.now += 30
        XCTAssertEqual(system.login(["remember=30d"], answers: [system.code()]), .success)
        try system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa"])
        system.remoteHost = "192.0.2.7"
        XCTAssertEqual(system.login(["remember=30d", "remember_always"], answers: ["kf7q-m2xd-9pwa"]), .success)
        XCTAssertEqual(system.shown.filter { if case .question = $0 { true } else { false } }, [])
        XCTAssertEqual(system.states["alice"]?.devices, [])
    }

    func testAStateErrorWhileRememberingKeepsTheLogin() {
        // The code's own state cannot be written: the login fails closed.
        system.writeError = "/var/lib/pam-totp/alice.state: write failed: No space left on device"
        XCTAssertEqual(system.login(["remember=30d", "remember_always"], answers: [system.code()]), .systemError)
        XCTAssertEqual(
            system.log,
            [
                "state error user=alice rhost=192.0.2.7 error=\"/var/lib/pam-totp/alice.state: write failed: No space left on device\""
            ])
        // Only the device cannot be remembered: the code was right, and the login succeeds.
        system.writesBeforeError = 1
        XCTAssertEqual(system.login(["remember=30d", "remember_always"], answers: [system.code()]), .success)
        XCTAssertEqual(system.log.count, 2)
        XCTAssertEqual(system.logged.last?.event, "state error")
        XCTAssertEqual(system.states["alice"]?.devices, [])
    }

    // MARK: - forward_pass

    func testForwardPassSplitsPasswordAndCode() throws {
        XCTAssertEqual(system.login(["forward_pass"], answers: ["hunter2 42" + system.code()]), .success)
        XCTAssertEqual(system.prompts, ["Password & verification code: "])
        XCTAssertEqual(system.passedOn, ["hunter2 42"])
        // Without a code at the end, all of it goes on, and the attempt fails as malformed.
        XCTAssertEqual(system.login(["forward_pass", "retries=1"], answers: ["hunter2"]), .denied)
        XCTAssertEqual(system.passedOn, ["hunter2"])
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=none reason=malformed-input"])
        // A recovery code with its dashes.
        try system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa"])
        XCTAssertEqual(system.login(["forward_pass", "prompt=Password+code: "], answers: ["pw123456kf7q-m2xd-9pwa"]), .success)
        XCTAssertEqual(system.passedOn, ["pw123456"])
        XCTAssertEqual(system.prompts, ["Password+code: "])
        XCTAssertEqual(system.logged.first?.fields["method"], "recovery")
    }

    func testForwardPassWithoutACodeStillAsksForThePassword() {
        XCTAssertEqual(system.login(["forward_pass", "trusted=192.0.2.0/24"], answers: ["hunter2 123456"]), .success)
        XCTAssertEqual(system.passedOn, ["hunter2 123456"])
        XCTAssertEqual(system.login(["forward_pass", "trusted=192.0.2.0/24"], answers: [nil]), .conversationError)
        XCTAssertEqual(system.passedOn, [])
        // The password at the prompt is not checked for with forward_pass: it is what is typed there.
        system.authToken = "hunter2"
        system.now += 30
        XCTAssertEqual(system.login(["forward_pass"], answers: ["hunter2" + system.code()]), .success)
    }

    func testForwardPassWhenThrottledPassesThePasswordOn() {
        XCTAssertEqual(system.login(answers: ["000000", "000000", "000000"]), .denied)
        XCTAssertEqual(system.login(["forward_pass"], answers: ["hunter2"]), .denied)
        XCTAssertEqual(system.passedOn, ["hunter2"])
        XCTAssertEqual(system.errors, ["Too many wrong codes from here. Try again in 30 seconds."])
    }

    // MARK: - message_prompt

    func testMessagePromptPutsMessagesIntoTheNextPrompt() {
        XCTAssertEqual(system.login(["message_prompt"], answers: ["000000", "", "000000", ""]), .denied)
        XCTAssertEqual(
            system.prompts,
            [
                "Verification code: ",
                "The verification code does not match. Verification code: ",
                "No code was given. Verification code: ",
                "The verification code does not match. Press Enter to continue.",
            ])
        XCTAssertEqual(system.errors, [])
        system.states = [:]
        XCTAssertEqual(system.login(["message_prompt", "retries=2"], answers: ["000000", system.code()]), .success)
        XCTAssertEqual(system.prompts.count, 2)
    }

    func testMessagePromptWhenThrottledAndAfterThePassword() {
        XCTAssertEqual(system.login(answers: ["000000", "000000", "000000"]), .denied)
        XCTAssertEqual(system.login(["message_prompt"], answers: [""]), .denied)
        XCTAssertEqual(system.prompts, ["Too many wrong codes from here. Try again in 30 seconds. Press Enter to continue."])
        system.now += 30
        system.authToken = "hunter2"
        XCTAssertEqual(system.login(["message_prompt"], answers: ["hunter2", ""]), .denied)
        XCTAssertEqual(
            system.prompts,
            [
                "Verification code: ",
                "The code prompt was answered with the password. Enter the code from the app. Press Enter to continue.",
            ])
        // Informational messages are not held back.
        _ = try? system.enroll(recoveryCodes: ["kf7q-m2xd-9pwa"])
        XCTAssertEqual(system.login(["message_prompt"], answers: ["kf7q-m2xd-9pwa"]), .success)
        XCTAssertEqual(system.infos.count, 1)
    }

    func testTheCanonicalNameKeysTheState() {
        system.userName = "ALICE"
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(system.log, ["failure user=alice rhost=192.0.2.7 attempt=1/1 method=totp reason=wrong-code"])
        XCTAssertEqual(system.locks, ["alice", "alice"])
        XCTAssertEqual(
            system.requests.first { if case .openState = $0 { true } else { false } },
            .openState(directory: "/var/lib/pam-totp", store: nil, name: "ALICE"))
    }
}
