import PortalCore
import XCTest

final class HeldCodesTests: XCTestCase {
    func testTheyExpireAfterTenMinutes() {
        let held = HeldCodes(["abcd-efgh-jkmn"], now: 1000)
        XCTAssertTrue(held.isLive(now: 1000))
        XCTAssertTrue(held.isLive(now: 1600))
        XCTAssertFalse(held.isLive(now: 1601))
        XCTAssertFalse(held.isLive(now: 999), "a clock that went back proves nothing")
        XCTAssertFalse(HeldCodes([], now: Int64.max).isLive(now: Int64.min), "no overflow")
        XCTAssertFalse(HeldCodes([], now: Int64.min).isLive(now: Int64.max), "no overflow")
    }

    func testOnlyTheirOwnPageKeepsThem() {
        XCTAssertTrue(HeldCodes.survive(rendering: "recovery"))
        for other in ["dashboard", "login", "lost", "setup", "verify", "code", "remember", "message"] {
            XCTAssertFalse(HeldCodes.survive(rendering: other), other)
        }
    }
}
