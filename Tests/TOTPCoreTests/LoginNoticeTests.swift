import XCTest

@testable import TOTPCore

/// The portal's helper tells the module's messages apart by their exact text (docs/PORTAL.md).
final class LoginNoticeTests: XCTestCase {
    func testEveryMessageTheModuleShowsIsRecognised() {
        XCTAssertEqual(LoginNotice(message: LoginMessage.wrongCode), .wrongCode)
        XCTAssertEqual(LoginNotice(message: LoginMessage.noCode), .noCode)
        XCTAssertEqual(LoginNotice(message: LoginMessage.replayed), .replayed)
        XCTAssertEqual(LoginNotice(message: LoginMessage.passwordAsCode), .passwordAsCode)
        XCTAssertEqual(LoginNotice(message: LoginMessage.locked), .locked)
        XCTAssertEqual(LoginNotice(message: LoginMessage.throttled(30)), .throttled(seconds: 30))
        XCTAssertEqual(LoginNotice(message: LoginMessage.throttled(3600)), .throttled(seconds: 3600))
        XCTAssertEqual(LoginNotice(message: LoginMessage.recoveryAccepted(remaining: 9)), .recoveryAccepted(remaining: 9))
        XCTAssertEqual(LoginNotice(message: LoginMessage.recoveryAccepted(remaining: 1)), .recoveryAccepted(remaining: 1))
        XCTAssertEqual(LoginNotice(message: LoginMessage.recoveryAccepted(remaining: 0)), .recoveryAccepted(remaining: 0))
        XCTAssertEqual(LoginNotice(message: LoginMessage.hotpResync), .other)
        XCTAssertEqual(LoginNotice(message: LoginMessage.nullokUntil("2027-04-01", hint: nil)), .other)
    }

    func testNearMissesAreOther() {
        for text in [
            "", "The verification code does not match", "Too many wrong codes from here. Try again in  seconds.",
            "Too many wrong codes from here. Try again in 30 seconds", "Too many wrong codes from here. Try again in 99999999999 seconds.",
            "Recovery code accepted. 1 recovery codes left; get new ones before they run out.",
            "Recovery code accepted. 01 recovery codes left; get new ones before they run out.",
        ] {
            XCTAssertEqual(LoginNotice(message: text), .other, text)
        }
    }

    func testTheRememberQuestion() {
        XCTAssertEqual(LoginNotice.rememberQuestion(LoginMessage.rememberQuestion(30 * 86_400)), 30 * 86_400)
        XCTAssertEqual(LoginNotice.rememberQuestion(LoginMessage.rememberQuestion(86_400)), 86_400)
        XCTAssertEqual(LoginNotice.rememberQuestion(LoginMessage.rememberQuestion(12 * 3600)), 12 * 3600)
        XCTAssertNil(LoginNotice.rememberQuestion("Skip the code on this device for 30 days?"))
        XCTAssertNil(LoginNotice.rememberQuestion("Skip the code on this device for 1 days? [y/N] "))
        XCTAssertNil(LoginNotice.rememberQuestion("Password: "))
        XCTAssertNil(LoginNotice.rememberQuestion("Skip the code on this device for 99999999999999 days? [y/N] "))
    }
}
