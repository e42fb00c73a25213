import TOTPCore
import XCTest

/// What ends a login before or without a verdict on the code: the configuration, the application,
/// the enrollment file, the state. Every such end fails closed, with its log line.
final class FailureTests: XCTestCase {
    var system = FakeSystem()

    override func setUpWithError() throws {
        system = FakeSystem()
        try system.enroll()
    }

    // MARK: - Configuration

    func testBadOptionsAreAConfigurationError() {
        let cases: [([String], String)] = [
            (["bogus"], "configuration error: unknown option 'bogus'; refusing login"),
            (["window=11"], "configuration error: option 'window=11': expected a number from 0 to 10; refusing login"),
            (["config=relative"], "configuration error: option 'config=relative': expected an absolute file path; refusing login"),
            (
                ["prompt=Password: "],
                "configuration error: option 'prompt=Password: ': a code prompt must not start with 'Password' (only a forward_pass prompt may); refusing login"
            ),
        ]
        for (arguments, line) in cases {
            XCTAssertEqual(system.login(arguments), .configurationError, "\(arguments)")
            XCTAssertEqual(system.log, [line])
            XCTAssertEqual(system.logged.first?.priority, .error)
            XCTAssertEqual(system.shown, [])
        }
        // A bad config= is refused before the file is read.
        system.login(["config=relative"])
        XCTAssertEqual(system.requests, [])
    }

    func testTheConfigurationFile() {
        system.configFiles["/etc/pam-totp.conf"] = "# site\nwindow=2\nretries=1\n"
        XCTAssertEqual(system.login(answers: [system.code(offset: 2)]), .success)
        // The pam.d line overrides it (three steps on: the code of two steps ahead was used).
        system.now += 90
        XCTAssertEqual(system.login(["window=0", "retries=2"], answers: [system.code(offset: 2), system.code()]), .success)
        XCTAssertEqual(system.logged.first?.fields["reason"], "wrong-code")
        system.configFiles["/etc/pam-totp.conf"] = "window=2\nretries=11\n"
        XCTAssertEqual(system.login(), .configurationError)
        XCTAssertEqual(
            system.log,
            [
                "configuration error: /etc/pam-totp.conf: configuration file line 2: option 'retries=11': expected a number from 1 to 10; refusing login"
            ])
        system.unreadableFiles["/etc/pam-totp.conf"] = "/etc/pam-totp.conf: owned by uid 1001, expected the user or root"
        XCTAssertEqual(system.login(), .configurationError)
        XCTAssertEqual(
            system.log, ["configuration error: /etc/pam-totp.conf: owned by uid 1001, expected the user or root; refusing login"])
    }

    func testAnotherConfigurationFile() {
        system.configFiles["/srv/totp.conf"] = "nullok\n"
        system.userName = "mallory"
        XCTAssertEqual(system.login(["config=/srv/totp.conf"]), .ignore)
        XCTAssertEqual(system.requests.first, .readConfiguration(path: "/srv/totp.conf", required: false))
    }

    // MARK: - The application

    func testNoUserName() {
        system.userName = nil
        XCTAssertEqual(system.login(), .conversationError)
        XCTAssertEqual(system.log, ["could not get the user name from the application"])
        XCTAssertEqual(system.logged.first?.priority, .error)
    }

    func testANameThatCannotBeAnAccountMeetsTheDecoy() {
        system.userName = "../etc/passwd"
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(system.log, ["failure user=../etc/passwd rhost=192.0.2.7 attempt=1/1 method=totp reason=unknown-user"])
        // Never looked up, and never used as a key.
        XCTAssertFalse(system.requests.contains { if case .lookUpAccount = $0 { true } else { false } })
        XCTAssertEqual(Set(system.locks), ["unknown 7"])
    }

    func testLogValuesCannotForgeALine() {
        system.userName = "eve\nsuccess user=alice"
        system.remoteHost = "evil host\""
        XCTAssertEqual(system.login(["retries=1"], answers: ["000000"]), .denied)
        XCTAssertEqual(
            system.log, ["failure user=\"eve?success user=alice\" rhost=\"evil host?\" attempt=1/1 method=totp reason=unknown-user"])
    }

    // MARK: - The enrollment

    func testRefusedEnrollments() {
        let path = "/home/alice/.pam_totp"
        let cases: [(EnrollmentRefusal, String)] = [
            (
                .unreadable("/home/alice/.pam_totp: mode 644 lets group or others access it; expected 600 or 400"),
                "refused user=alice rhost=192.0.2.7 reason=insecure-or-unreadable-enrollment error=\"/home/alice/.pam_totp: mode 644 lets group or others access it; expected 600 or 400\""
            ),
            (
                .malformed(LineFormat.ParseError(line: 3, problem: .unknownKey("colour"))),
                "refused user=alice rhost=192.0.2.7 reason=malformed-enrollment error=\"\(LineFormat.ParseError(line: 3, problem: .unknownKey("colour")))\" file=/home/alice/.pam_totp"
            ),
            (
                .account(.otherAccount("bob")),
                "refused user=alice rhost=192.0.2.7 reason=enrollment-account error=\"the enrollment is for account 'bob'\" file=/home/alice/.pam_totp"
            ),
            (
                .account(.missing),
                "refused user=alice rhost=192.0.2.7 reason=enrollment-account error=\"owned by root with no 'account' line to tie it to its user; re-enroll, or add 'account alice' (pam_totp(8))\" file=/home/alice/.pam_totp"
            ),
        ]
        for (refusal, line) in cases {
            system.refusedEnrollments[path] = refusal
            XCTAssertEqual(system.login(["nullok"]), .denied, "\(refusal)")
            XCTAssertEqual(system.log, [line])
            XCTAssertEqual(system.logged.first?.priority, .error)
            XCTAssertEqual(system.shown, [])
            XCTAssertEqual(system.locks, [])
        }
    }

    func testTheFirstLocationWithAFileIsTheUsers() throws {
        let central = "/etc/pam-totp/alice"
        let secret = "secret=/etc/pam-totp/%u:~/.pam_totp"
        // Nothing centrally: the file in the home is used, and with debug the search is logged.
        XCTAssertEqual(system.login([secret, "debug"], answers: [system.code()]), .success)
        XCTAssertEqual(
            system.log,
            [
                "no enrollment user=alice rhost=192.0.2.7 file=/etc/pam-totp/alice",
                "success user=alice rhost=192.0.2.7 method=totp scope=code",
            ])
        XCTAssertEqual(system.logged.first?.priority, .debug)
        // A refused central file ends the search: the user's own file cannot stand in for it.
        system.refusedEnrollments[central] = .unreadable("/etc/pam-totp: writable by others")
        system.now += 30
        XCTAssertEqual(system.login([secret], answers: []), .denied)
        XCTAssertEqual(system.log.first?.hasPrefix("refused user=alice rhost=192.0.2.7 reason=insecure-or-unreadable-enrollment"), true)
        XCTAssertFalse(system.requests.contains(.readEnrollment(path: "/home/alice/.pam_totp", account: system.accounts[0], inHome: true)))
    }

    func testAnAccountWithoutAHome() throws {
        system.accounts = [Account(name: "vpn", uid: 1005, gid: 1005, home: "")]
        system.userName = "vpn"
        // With one location, the path cannot be made: the login fails closed.
        XCTAssertEqual(system.login(), .systemError)
        XCTAssertEqual(system.log.count, 1)
        XCTAssertTrue(system.log[0].hasPrefix("refused user=vpn rhost=192.0.2.7 reason=enrollment-path error="), system.log[0])
        // With several, that location is skipped.
        system.enrollments = ["/etc/pam-totp/vpn": try system.enroll("vpn")]
        XCTAssertEqual(system.login(["secret=~/.pam_totp:/etc/pam-totp/%u", "debug"], answers: [system.code()]), .success)
        XCTAssertEqual(system.logged.first?.event, "no enrollment")
        XCTAssertEqual(system.logged.first?.fields["file"], "~/.pam_totp")
        XCTAssertEqual(system.requests.filter { if case .readEnrollment = $0 { true } else { false } }.count, 1)
    }

    // MARK: - The state

    func testStateErrorsFailClosed() {
        system.openStateError = "/var/lib/pam-totp: writable by group or others"
        XCTAssertEqual(system.login(), .systemError)
        XCTAssertEqual(system.log, ["state error user=alice rhost=192.0.2.7 error=\"/var/lib/pam-totp: writable by group or others\""])
        XCTAssertEqual(system.shown, [])
        system.openStateError = nil
        system.lockError = "/var/lib/pam-totp/alice.state: malformed: line 2: unknown key 'x'"
        XCTAssertEqual(system.login(), .systemError)
        XCTAssertEqual(system.logged.first?.event, "state error")
        XCTAssertEqual(system.shown, [])
        // Failing after the answer: nothing is accepted.
        system.lockError = nil
        system.writeError = "/var/lib/pam-totp/alice.state: rename failed: Read-only file system"
        XCTAssertEqual(system.login(answers: [system.code()]), .systemError)
        XCTAssertEqual(
            system.log,
            ["state error user=alice rhost=192.0.2.7 error=\"/var/lib/pam-totp/alice.state: rename failed: Read-only file system\""])
    }

    func testAWrongAnswerFromTheDriverFailsClosed() {
        var login = Login(arguments: [])
        XCTAssertEqual(login.start().request, .readConfiguration(path: "/etc/pam-totp.conf", required: false))
        let step = login.resume(.released)
        XCTAssertEqual(step.request, .finish(.systemError))
        XCTAssertEqual(step.effects, [.log(LogLine(.error, "internal error: unexpected answer; refusing login", user: nil))])
        XCTAssertEqual(login.resume(.file(nil)).request, .finish(.systemError))
    }

    func testEveryOutcome() {
        var seen: [ModuleOutcome] = []
        seen.append(system.login(answers: [system.code()]))
        seen.append(system.login(["retries=1"], answers: ["000000"]))
        seen.append(system.login(["bogus"]))
        seen.append(system.login(answers: [nil]))
        system.userName = "mallory"
        seen.append(system.login(["nullok"]))
        system.openStateError = "gone"
        seen.append(system.login())
        XCTAssertEqual(seen, [.success, .denied, .configurationError, .conversationError, .ignore, .systemError])
    }
}
