import PortalCore
import XCTest

final class WebConfigTests: XCTestCase {
    func testDefaultsWithoutAFile() throws {
        let config = try WebConfig.parse("")
        XCTAssertEqual(config.listen, .unix("/run/pam-totp-web/http.sock"))
        XCTAssertEqual(config.socketGroup, "www-data")
        XCTAssertEqual(config.helper, "/run/pam-totp-web-helper/helper.sock")
        XCTAssertEqual(config.webUser, "pam-totp-web")
        XCTAssertEqual(config.pamService, "pam-totp-web")
        XCTAssertEqual(config.setupNetworks, [])
        XCTAssertEqual(config.rememberDays, 30)
        XCTAssertEqual(config.domains, [])
        XCTAssertNil(config.contact)
        XCTAssertNil(config.contactJa)
        XCTAssertEqual(config.sessionIdle, 600)
        XCTAssertEqual(config.freshLogin, 300)
    }

    func testEveryKey() throws {
        let text = """
            # The portal
              # indented comment

            listen = 127.0.0.1:20080
            socket_group=nginx
            helper = /run/h/helper.sock
            web_user = portal
            pam_service = portal-login
            setup_networks = 10.0.0.0/8, 192.0.2.0/24 2001:db8::/32
            remember_days = 7
            domains = Example.AC.jp, mail.example.ac.jp
            contact = Call the help desk at #1234 (ext. 5678) = quickly
            contact_ja = ヘルプデスク（内線1234）へ
            session_idle = 900
            fresh_login = 120\r
            """
        let config = try WebConfig.parse(text)
        XCTAssertEqual(config.listen, .loopback(host: "127.0.0.1", port: 20080))
        XCTAssertEqual(config.socketGroup, "nginx")
        XCTAssertEqual(config.helper, "/run/h/helper.sock")
        XCTAssertEqual(config.webUser, "portal")
        XCTAssertEqual(config.pamService, "portal-login")
        XCTAssertEqual(config.setupNetworks, ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"])
        XCTAssertEqual(config.rememberDays, 7)
        XCTAssertEqual(config.domains, ["example.ac.jp", "mail.example.ac.jp"])
        XCTAssertEqual(config.contact, "Call the help desk at #1234 (ext. 5678) = quickly")
        XCTAssertEqual(config.contactJa, "ヘルプデスク（内線1234）へ")
        XCTAssertEqual(config.sessionIdle, 900)
        XCTAssertEqual(config.freshLogin, 120)
    }

    func testListenForms() {
        XCTAssertEqual(WebConfig.parseListen("unix:/run/x.sock"), .unix("/run/x.sock"))
        XCTAssertEqual(WebConfig.parseListen("[::1]:20001"), .loopback(host: "::1", port: 20001))
        XCTAssertEqual(WebConfig.parseListen("127.1.2.3:65535"), .loopback(host: "127.1.2.3", port: 65535))
        for bad in [
            "unix:relative.sock", "unix:", "0.0.0.0:80", "192.0.2.1:80", "[::]:80", "[2001:db8::1]:80", "localhost:80", "127.0.0.1",
            "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.01:80", "127.0.0.256:80", "127.0.0:80", ":80",
            "unix:/" + String(repeating: "a", count: 107),
        ] {
            XCTAssertNil(WebConfig.parseListen(bad), bad)
        }
        XCTAssertEqual(WebConfig.Listen.loopback(host: "::1", port: 1).description, "[::1]:1")
        XCTAssertEqual(WebConfig.Listen.unix("/a").description, "unix:/a")
    }

    func testErrorsNameTheLine() {
        let cases: [(String, WebConfigError)] = [
            ("listen = unix:/a\nlisen = unix:/b", WebConfigError(line: 2, problem: .unknownKey("lisen"))),
            ("# c\n\nsession_idle = 600\nsession_idle = 601", WebConfigError(line: 4, problem: .repeatedKey("session_idle"))),
            ("just words", WebConfigError(line: 1, problem: .notKeyValue)),
            ("contact = a\u{1}b", WebConfigError(line: 1, problem: .controlCharacter)),
            ("contact = " + String(repeating: "x", count: 5000), WebConfigError(line: 1, problem: .tooLong)),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try WebConfig.parse(text)) { XCTAssertEqual($0 as? WebConfigError, expected) }
        }
        XCTAssertEqual(WebConfigError(line: 2, problem: .unknownKey("lisen")).description, "line 2: unknown key \"lisen\"")
    }

    func testBadValues() {
        let bad = [
            "listen = 0.0.0.0:80", "socket_group = -x", "socket_group = a b", "helper = relative", "web_user = ", "pam_service = ../x",
            "setup_networks = 10.0.0.0/8;rm", "remember_days = 0", "remember_days = 366", "remember_days = 1d", "domains = localhost",
            "domains = a..b", "domains = -a.b", "session_idle = 9", "fresh_login = 0", "session_idle = 9999999999", "fresh_login = -5",
            "fresh_login = ",
        ]
        for line in bad {
            XCTAssertThrowsError(try WebConfig.parse(line), line) { error in
                guard case .badValue = (error as? WebConfigError)?.problem else { return XCTFail("\(line): \(error)") }
                XCTAssertEqual((error as? WebConfigError)?.line, 1)
            }
        }
    }

    func testEmptyContactFallsBackToTheDefault() throws {
        XCTAssertNil(try WebConfig.parse("contact =").contact)
        XCTAssertEqual(try WebConfig.parse("setup_networks = any").setupNetworks, ["any"])
    }
}
