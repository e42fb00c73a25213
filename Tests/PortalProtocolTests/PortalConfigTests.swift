import PortalProtocol
import XCTest

final class PortalConfigTests: XCTestCase {
    private func parse(_ text: String) throws -> PortalConfig { try PortalConfig.parse(Array(text.utf8)) }

    private func problem(_ text: String) -> PortalConfig.Problem? {
        do {
            _ = try parse(text)
            return nil
        } catch let problem as PortalConfig.Problem {
            return problem
        } catch {
            return nil
        }
    }

    func testAnEmptyFileIsAllDefaults() throws {
        let config = try parse("# nothing\n\n")
        XCTAssertEqual(config, PortalConfig())
        XCTAssertEqual(config.helper, "/run/pam-totp-web-helper/helper.sock")
        XCTAssertEqual(config.webUser, "pam-totp-web")
        XCTAssertEqual(config.pamService, "pam-totp-web")
        XCTAssertEqual(config.setupNetworks, [])
        XCTAssertFalse(config.setupFromAnywhere)
        XCTAssertEqual([config.rememberDays, config.sessionIdle, config.freshLogin], [30, 600, 300])
        XCTAssertEqual([config.answerTimeout, config.maxSessions], [120, 256])
    }

    func testEveryKey() throws {
        let config = try parse(
            """
            listen = 127.0.0.1:28080
            socket_group = nginx
            helper = /run/h/helper.sock
            web_user = portal
            pam_service = portal-login
            setup_networks = 10.0.0.0/8, 192.0.2.0/24 2001:db8::/32
            remember_days = 7
            domains = example.ac.jp, example.jp
            contact = Call the help desk, ext. 1234
            contact_ja = ヘルプデスク (内線 1234)
            session_idle = 900
            fresh_login = 120\r
            answer_timeout = 45
            max_sessions = 4096

            """)
        XCTAssertEqual(config.listen, "127.0.0.1:28080")
        XCTAssertEqual(config.socketGroup, "nginx")
        XCTAssertEqual(config.helper, "/run/h/helper.sock")
        XCTAssertEqual(config.webUser, "portal")
        XCTAssertEqual(config.pamService, "portal-login")
        XCTAssertEqual(
            config.setupNetworks,
            [.init("10.0.0.0/8", line: 6), .init("192.0.2.0/24", line: 6), .init("2001:db8::/32", line: 6)])
        XCTAssertEqual(config.rememberDays, 7)
        XCTAssertEqual(config.domains, ["example.ac.jp", "example.jp"])
        XCTAssertEqual(config.contact, "Call the help desk, ext. 1234")
        XCTAssertEqual(config.contactJa, "ヘルプデスク (内線 1234)")
        XCTAssertEqual(config.sessionIdle, 900)
        XCTAssertEqual(config.freshLogin, 120)
        XCTAssertEqual(config.answerTimeout, 45)
        XCTAssertEqual(config.maxSessions, 4096)
    }

    func testAnswerTimeoutAndMaxSessionsRanges() throws {
        XCTAssertEqual(try parse("answer_timeout = 10\nmax_sessions = 1").answerTimeout, 10)
        XCTAssertEqual(try parse("answer_timeout = 600").answerTimeout, 600)
        XCTAssertEqual(try parse("max_sessions = 1").maxSessions, 1)
        XCTAssertEqual(problem("answer_timeout = 9")?.description, "line 1: answer_timeout: must be a whole number from 10 to 600")
        XCTAssertEqual(
            problem("answer_timeout = 601"), .badValue(key: "answer_timeout", line: 1, reason: "must be a whole number from 10 to 600"))
        XCTAssertEqual(problem("\nmax_sessions = 0")?.description, "line 2: max_sessions: must be a whole number from 1 to 4096")
        XCTAssertEqual(problem("max_sessions = 4097")?.description, "line 1: max_sessions: must be a whole number from 1 to 4096")
        XCTAssertEqual(problem("max_sessions = 1\nmax_sessions = 2"), .duplicateKey("max_sessions", line: 2))
    }

    func testAnyAllowsEveryAddress() throws {
        XCTAssertTrue(try parse("setup_networks = any").setupFromAnywhere)
        XCTAssertEqual(problem("setup_networks = any, 10.0.0.0/8")?.description.contains("'any'"), true)
    }

    func testRefusalsNameTheKeyAndLine() {
        XCTAssertEqual(problem("# a\nsetup_network = any\n"), .unknownKey("setup_network", line: 2))
        XCTAssertEqual(problem("fresh_login = 60\nfresh_login = 30\n"), .duplicateKey("fresh_login", line: 2))
        XCTAssertEqual(problem("just words"), .notKeyValue(line: 1))
        XCTAssertEqual(problem(" = 3"), .notKeyValue(line: 1))
        XCTAssertEqual(problem("unknown key = 1")?.description, "line 1: unknown key 'unknown key'")
        for bad in [
            "remember_days = 0", "remember_days = 366", "session_idle = 4", "remember_days = 30d", "fresh_login = -1",
            "fresh_login = 99999999999999999999", "fresh_login =", "helper = relative.sock", "helper = /a b",
            "web_user = -rf", "web_user = a/b", "pam_service = ../x", "socket_group = ", "listen =",
        ] {
            guard case .badValue = problem(bad) else {
                XCTFail("accepted: \(bad)")
                continue
            }
        }
        XCTAssertEqual(problem("remember_days = 400")?.description, "line 1: remember_days: must be a whole number from 1 to 365")
    }

    func testHostileBytesAreRefusedNotTrapped() {
        XCTAssertNotNil(problem(String(repeating: "k", count: 100_000) + " = 1"))
        XCTAssertNil(try? PortalConfig.parse([0xff, 0xfe, 0x3d, 0x0a]))
        XCTAssertNotNil(try? PortalConfig.parse(Array("contact = \u{0}\n".utf8)))
    }
}
