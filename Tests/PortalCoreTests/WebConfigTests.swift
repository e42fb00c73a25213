import PortalCore
import PortalProtocol
import XCTest

final class WebConfigTests: XCTestCase {
    func parse(_ text: String) throws -> WebConfig { try WebConfig.parse(Array(text.utf8)) }

    func testDefaults() throws {
        for config in [WebConfig(), try parse("")] {
            XCTAssertEqual(config.listen, .unix("/run/pam-totp-web/http.sock"))
            XCTAssertEqual(config.socketGroup, "www-data")
            XCTAssertEqual(config.helper, "/run/pam-totp-web-helper/helper.sock")
            XCTAssertEqual(config.rememberDays, 30)
            XCTAssertEqual(config.domains, [])
            XCTAssertNil(config.contact)
            XCTAssertNil(config.contactJa)
            XCTAssertEqual(config.sessionIdle, 600)
            XCTAssertEqual(config.freshLogin, 300)
            XCTAssertEqual(config.maxSessions, 256)
            XCTAssertEqual(config.answerTimeout, 120)
        }
    }

    /// The session caps follow the helper's max_sessions, and a waiting login its answer_timeout.
    func testTheHelpersCapacity() throws {
        let config = try parse("max_sessions = 40\nanswer_timeout = 30\n")
        XCTAssertEqual(config.maxSessions, 40)
        XCTAssertEqual(config.answerTimeout, 30)
        let limits = SessionLimits(idleSeconds: 600, maxSessions: config.maxSessions, answerSeconds: Int64(config.answerTimeout))
        XCTAssertEqual(limits.maxConnections, 40)
        XCTAssertEqual(limits.maxLoggingIn, 10)
        XCTAssertEqual(limits.answerSeconds, 30)
    }

    func testWhatTheWebProcessUses() throws {
        let config = try parse(
            """
            # The portal
            listen = 127.0.0.1:20080
            socket_group=nginx
            helper = /run/h/helper.sock
            remember_days = 7
            domains = Example.AC.jp, mail.example.ac.jp
            contact = Call the help desk at #1234 (ext. 5678) = quickly
            contact_ja = ヘルプデスク（内線1234）へ
            session_idle = 900
            fresh_login = 120\r
            """)
        XCTAssertEqual(config.listen, .loopback(host: "127.0.0.1", port: 20080))
        XCTAssertEqual(config.socketGroup, "nginx")
        XCTAssertEqual(config.helper, "/run/h/helper.sock")
        XCTAssertEqual(config.rememberDays, 7)
        XCTAssertEqual(config.domains, ["example.ac.jp", "mail.example.ac.jp"])
        XCTAssertEqual(config.contact, "Call the help desk at #1234 (ext. 5678) = quickly")
        XCTAssertEqual(config.contactJa, "ヘルプデスク（内線1234）へ")
        XCTAssertEqual(config.sessionIdle, 900)
        XCTAssertEqual(config.freshLogin, 120)
        XCTAssertNil(try parse("contact =").contact, "an empty contact is the generic text")
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

    func testRefusals() {
        let cases: [(String, String)] = [
            ("listen = unix:/a\nlisen = unix:/b", "line 2"),
            ("# c\n\nsession_idle = 600\nsession_idle = 601", "line 4"),
            ("just words", "line 1"),
            ("remember_days = 366", "remember_days"),
            ("listen = 0.0.0.0:80", "listen"),
            ("listen = unix:relative", "listen"),
            ("domains = localhost", "domains"),
            ("domains = a..b", "domains"),
            ("domains = -a.b", "domains"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                let description = (error as? WebConfigError)?.description ?? ""
                XCTAssertTrue(description.contains(expected), "\(text): \(description)")
            }
        }
    }
}
