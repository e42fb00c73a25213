import PortalCore
import XCTest

final class HTTPInputTests: XCTestCase {
    func testForm() throws {
        XCTAssertEqual(
            try HTTPInput.parseForm(Array("account=taro&password=p%40ss+w%C3%B6rd%26%3D&csrf=x&empty=&flag".utf8)),
            ["account": "taro", "password": "p@ss wörd&=", "csrf": "x", "empty": "", "flag": ""])
        XCTAssertEqual(try HTTPInput.parseForm([]), [:])
        XCTAssertEqual(try HTTPInput.parseForm(Array("a=1&&b=2".utf8)), ["a": "1", "b": "2"])
        XCTAssertEqual(try HTTPInput.parseForm(Array("a=%00".utf8)), ["a": "\u{0}"], "control characters are refused by the field's check")
    }

    func testHostileForms() {
        let cases: [(String, HTTPInput.FormError)] = [
            ("a=%", .malformed), ("a=%4", .malformed), ("a=%zz", .malformed), ("a=%FF", .malformed), ("=x", .malformed),
            ("a=1&a=2", .repeatedField), (String(repeating: "x", count: 9000), .tooLarge),
            ((0..<20).map { "f\($0)=1" }.joined(separator: "&"), .tooLarge),
        ]
        for (body, expected) in cases {
            XCTAssertThrowsError(try HTTPInput.parseForm(Array(body.utf8)), body) { XCTAssertEqual($0 as? HTTPInput.FormError, expected) }
        }
    }

    func testSameOrigin() {
        XCTAssertTrue(HTTPInput.isSameOrigin(origin: nil, secFetchSite: nil, host: "portal.example"))
        XCTAssertTrue(HTTPInput.isSameOrigin(origin: "https://portal.example", secFetchSite: "same-origin", host: "portal.example"))
        XCTAssertTrue(HTTPInput.isSameOrigin(origin: "https://127.0.0.1:20443", secFetchSite: nil, host: "127.0.0.1:20443"))
        XCTAssertTrue(HTTPInput.isSameOrigin(origin: nil, secFetchSite: "none", host: nil))
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "https://evil.example", secFetchSite: nil, host: "portal.example"))
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "https://portal.example", secFetchSite: "cross-site", host: "portal.example"))
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: nil, secFetchSite: "same-site", host: "portal.example"))
        XCTAssertTrue(
            HTTPInput.isSameOrigin(origin: "null", secFetchSite: "same-origin", host: "portal.example"),
            "Chrome's same-origin form under Referrer-Policy: no-referrer")
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "null", secFetchSite: "cross-site", host: "portal.example"))
        XCTAssertFalse(
            HTTPInput.isSameOrigin(origin: "https://portal.example", secFetchSite: "same-site", host: "portal.example"),
            "Sec-Fetch-Site decides")
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "https://portal.example", secFetchSite: nil, host: nil))
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "https://portal.example.evil", secFetchSite: nil, host: "portal.example"))
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "https://portal.example:444", secFetchSite: nil, host: "portal.example"))
        XCTAssertFalse(
            HTTPInput.isSameOrigin(origin: "http://portal.example", secFetchSite: nil, host: "portal.example"),
            "TLS only: http is another origin")
        XCTAssertFalse(HTTPInput.isSameOrigin(origin: "http://portal.example", secFetchSite: "same-origin", host: "portal.example"))
    }

    func testIPAddresses() {
        for good in [
            "127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::", "2001:db8::1", "fe80::1:2:3:4", "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8",
            "1::8",
        ] {
            XCTAssertTrue(HTTPInput.isIPAddress(good), good)
        }
        for bad in [
            "", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "::1%eth0",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3", "12345::", "g::1", ":::", "1.2.3.4:80", "[::1]", "1:2:3:4:5:6:7::8:9",
        ] {
            XCTAssertFalse(HTTPInput.isIPAddress(bad), bad)
        }
    }
}
