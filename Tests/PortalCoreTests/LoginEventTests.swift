import PortalCore
import PortalProtocol
import XCTest

final class LoginEventTests: XCTestCase {
    func event(_ verb: String, _ fields: [(String, String)] = []) -> LoginEvent {
        LoginEvent.from(PortalMessage(verb, fields), rememberDays: 30)
    }

    func testEveryLineOfALogin() {
        XCTAssertEqual(event("NOTE", [("kind", "wrong-code")]), .error(Message(.noteWrongCode)))
        XCTAssertEqual(
            event("NOTE", [("kind", "recovery-accepted"), ("remaining", "4")]), .notice(Message(.noteRecoveryAccepted, ["remaining": "4"])))
        XCTAssertEqual(event("PROMPT", [("kind", "code")]), .askCode)
        XCTAssertEqual(event("PROMPT", [("kind", "remember"), ("days", "7")]), .askRemember(days: 7))
        XCTAssertEqual(event("PROMPT", [("kind", "remember")]), .askRemember(days: 30))
        XCTAssertEqual(event("PROMPT", [("kind", "remember"), ("days", "0")]), .askRemember(days: 30))
        XCTAssertEqual(event("PROMPT", [("kind", "remember"), ("days", "99999999999")]), .askRemember(days: 30))
        XCTAssertEqual(event("PROMPT", [("kind", "other")]), .answerEmpty)
        XCTAssertEqual(event("PROMPT"), .answerEmpty)
        XCTAssertEqual(event("DONE", [("result", "ok"), ("enrolled", "yes"), ("code", "yes")]), .succeeded)
        XCTAssertEqual(event("DONE", [("result", "fail"), ("reason", "auth")]), .failed(Message(.errLoginFailed)))
        XCTAssertEqual(event("DONE", [("result", "maybe")]), .failed(Message(.errUnavailable)))
        XCTAssertEqual(event("ERR", [("reason", "bad-request")]), .failed(Message(.errBadRequest)))
        XCTAssertEqual(event("OK"), .failed(Message(.errUnavailable)))
    }

    func testThrottlingAndLockoutAreSaidOnceWhenALoginFails() {
        let throttled = Message(.noteThrottled, ["seconds": "30"])
        let wrong = Message(.noteWrongCode)
        let recovery = Message(.noteRecoveryAcceptedOne)
        XCTAssertEqual(
            LoginEvent.failureMessages(
                errors: [wrong, throttled], notices: [recovery], reason: Message(.errLoginThrottled, ["seconds": "30"])),
            [wrong, recovery, Message(.errLoginThrottled, ["seconds": "30"])])
        XCTAssertEqual(
            LoginEvent.failureMessages(errors: [Message(.noteLocked)], notices: [], reason: Message(.errLocked)), [Message(.errLocked)])
        XCTAssertEqual(
            LoginEvent.failureMessages(errors: [wrong], notices: [], reason: Message(.errLoginFailed)), [wrong, Message(.errLoginFailed)])
    }

    func testRefusedActions() {
        XCTAssertEqual(ActionRefusal(PortalMessage("ERR", [("reason", "not-fresh")])), .loginAgain)
        XCTAssertEqual(ActionRefusal(PortalMessage("ERR", [("reason", "not-logged-in")])), .loginLost)
        XCTAssertEqual(ActionRefusal(PortalMessage("ERR", [("reason", "network")])), .show(Message(.errNetwork)))
        XCTAssertEqual(ActionRefusal(PortalMessage("ERR", [("reason", "mismatch")])), .show(Message(.errMismatch)))
        XCTAssertEqual(ActionRefusal(PortalMessage("DONE", [("result", "ok")])), .show(Message(.errUnavailable)))
    }
}
