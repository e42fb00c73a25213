import TOTPCore
import XCTest

/// The log line format (README, "Log lines").
final class LogLineTests: XCTestCase {
    func testFieldsInTheirOrder() {
        let line = LogLine(
            .warning, "failure", user: "alice", remoteHost: "-",
            fields: ["reason": "wrong-code", "attempt": "1/3", "error": "x y", "file": "/f"])
        XCTAssertEqual(line.text, "failure user=alice rhost=- attempt=1/3 reason=wrong-code error=\"x y\" file=/f")
        XCTAssertEqual(LogLine(.error, "configuration error: x; refusing login", user: nil).text, "configuration error: x; refusing login")
    }

    func testValuesArePrintableAndEmptyOnesQuoted() {
        let line = LogLine(.error, "state error", user: "a\u{7f}b", remoteHost: "ü", fields: ["error": "", "reason": "tab\there"])
        XCTAssertEqual(line.text, "state error user=a?b rhost=? reason=tab?here error=\"\"")
    }

    func testLongValuesAreCutInTheMiddleAndTheLineFits() {
        let long = String(repeating: "a", count: 300) + "END"
        let line = LogLine(.error, "refused", user: "alice", remoteHost: "192.0.2.7", fields: ["error": long]).text
        XCTAssertTrue(line.hasPrefix("refused user=alice rhost=192.0.2.7 error=aaa"), line)
        XCTAssertTrue(line.hasSuffix("aEND"), line)
        XCTAssertTrue(line.contains("..."))
        XCTAssertEqual(line.utf8.count, "refused user=alice rhost=192.0.2.7 error=".utf8.count + LogValue.maxValueLength)
        // Many long values: the line stays within its limit, and the short ones are kept whole.
        var fields: [String: String] = ["reason": "wrong-code"]
        for key in ["error", "file", "device", "until", "network"] { fields[key] = String(repeating: key, count: 100) }
        let crowded = LogLine(.error, "failure", user: String(repeating: "u", count: 250), remoteHost: "2001:db8::1", fields: fields).text
        XCTAssertLessThanOrEqual(crowded.utf8.count, LogValue.maxLineLength)
        XCTAssertTrue(crowded.contains(" rhost=2001:db8::1 "))
        XCTAssertTrue(crowded.contains(" reason=wrong-code "))
    }
}
