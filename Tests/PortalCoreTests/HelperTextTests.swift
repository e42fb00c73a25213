import PortalCore
import PortalProtocol
import XCTest

final class HelperTextTests: XCTestCase {
    func testNotes() {
        let cases: [(PortalMessage, Message)] = [
            (PortalMessage("NOTE", [("kind", "wrong-code")]), Message(.noteWrongCode)),
            (PortalMessage("NOTE", [("kind", "no-code")]), Message(.noteNoCode)),
            (PortalMessage("NOTE", [("kind", "replayed")]), Message(.noteReplayed)),
            (PortalMessage("NOTE", [("kind", "password-as-code")]), Message(.notePasswordAsCode)),
            (PortalMessage("NOTE", [("kind", "locked")]), Message(.noteLocked)),
            (PortalMessage("NOTE", [("kind", "throttled"), ("seconds", "42")]), Message(.noteThrottled, ["seconds": "42"])),
            (PortalMessage("NOTE", [("kind", "throttled"), ("seconds", "<b>")]), Message(.errLoginThrottledLater)),
            (
                PortalMessage("NOTE", [("kind", "recovery-accepted"), ("remaining", "7")]),
                Message(.noteRecoveryAccepted, ["remaining": "7"])
            ),
            (PortalMessage("NOTE", [("kind", "recovery-accepted"), ("remaining", "1")]), Message(.noteRecoveryAcceptedOne)),
            (PortalMessage("NOTE", [("kind", "recovery-accepted")]), Message(.noteOther)),
            (PortalMessage("NOTE", [("kind", "other")]), Message(.noteOther)),
            (PortalMessage("NOTE", [("kind", "something-new")]), Message(.noteOther)),
            (PortalMessage("NOTE"), Message(.noteOther)),
        ]
        for (line, expected) in cases { XCTAssertEqual(HelperText.note(line), expected, line.encoded()) }
        XCTAssertEqual(
            HelperText.note(PortalMessage("NOTE", [("kind", "recovery-accepted"), ("remaining", "3")])).text(in: .ja),
            "リカバリーコードを受け付けました。残りは3個です。なくなる前に再発行してください。")
    }

    func testLoginFailuresDoNotTellPasswordFromCode() {
        let cases: [(PortalMessage, Message)] = [
            (PortalMessage("DONE", [("result", "fail"), ("reason", "auth")]), Message(.errLoginFailed)),
            (
                PortalMessage("DONE", [("result", "fail"), ("reason", "throttled"), ("seconds", "60")]),
                Message(.errLoginThrottled, ["seconds": "60"])
            ),
            (PortalMessage("DONE", [("result", "fail"), ("reason", "throttled")]), Message(.errLoginThrottledLater)),
            (PortalMessage("DONE", [("result", "fail"), ("reason", "locked")]), Message(.errLocked)),
            (PortalMessage("DONE", [("result", "fail"), ("reason", "account")]), Message(.errAccountRefused)),
            (PortalMessage("DONE", [("result", "fail"), ("reason", "unavailable")]), Message(.errUnavailable)),
            (PortalMessage("DONE", [("result", "fail")]), Message(.errUnavailable)),
        ]
        for (line, expected) in cases { XCTAssertEqual(HelperText.loginFailure(line), expected, line.encoded()) }
    }

    func testErrors() {
        let cases: [(String, MessageKey)] = [
            ("bad-request", .errBadRequest), ("not-logged-in", .errSessionExpired), ("not-fresh", .errSessionExpired),
            ("not-enrolled", .errNotEnrolled), ("already-enrolled", .errAlreadyEnrolled), ("network", .errNetwork),
            ("no-pending", .errNoPending),
            ("mismatch", .errMismatch), ("throttled", .errLoginThrottledLater), ("locked", .errLocked),
            ("no-such-device", .errNoSuchDevice),
            ("unavailable", .errUnavailable), ("whatever", .errUnavailable),
        ]
        for (reason, key) in cases { XCTAssertEqual(HelperText.error(PortalMessage("ERR", [("reason", reason)])).key, key, reason) }
        XCTAssertEqual(
            HelperText.error(PortalMessage("ERR", [("reason", "throttled"), ("seconds", "5")])), Message(.noteThrottled, ["seconds": "5"]))
        XCTAssertEqual(
            HelperText.error(PortalMessage("ERR", [("reason", "mismatch")])).text(in: .en), "The verification code does not match.")
    }
}
