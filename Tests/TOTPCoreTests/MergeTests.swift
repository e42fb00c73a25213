import TOTPCore
import XCTest

/// `UserState.merged(with:)`, which `pam-totp-setup store import` uses when another host's record of
/// the same enrollment meets the store's: nothing either refuses may be let in.
final class MergeTests: XCTestCase {
    func testEveryUsedStepAndCodeStaysUsed() {
        var store = UserState()
        store.lastStep = 100
        store.recentSteps = [98, 100]
        store.usedRecovery = ["0011223344556677"]
        store.failures = 2
        var host = UserState()
        host.lastStep = 120
        host.recentSteps = [99, 120]
        host.usedRecovery = ["0011223344556677", "8899aabbccddeeff"]
        host.failures = 7
        let merged = store.merged(with: host)
        XCTAssertEqual(merged.lastStep, 120)
        XCTAssertEqual(merged.recentSteps, [98, 99, 100, 120])
        XCTAssertEqual(merged.usedRecovery, ["0011223344556677", "8899aabbccddeeff"])
        // The store's own counters stay.
        XCTAssertEqual(merged.failures, 2)
        // Merging is idempotent: a second import changes nothing.
        XCTAssertEqual(merged.merged(with: host), merged)
    }

    func testStepsDroppedFromTheRecentListRaiseTheForgottenStep() {
        var store = UserState()
        store.recentSteps = Array(1...16)
        store.lastStep = 16
        var host = UserState()
        host.recentSteps = Array(10...25)
        host.lastStep = 25
        host.forgottenStep = 3
        let merged = store.merged(with: host)
        XCTAssertEqual(merged.recentSteps, Array(10...25))
        XCTAssertEqual(merged.forgottenStep, 9)
        XCTAssertEqual(merged.lastStep, 25)
    }

    func testAheadStepsAboveTheLastStepStayRefused() {
        var store = UserState()
        store.lastStep = 50
        store.aheadSteps = [70, 80]
        var host = UserState()
        host.lastStep = 75
        host.aheadSteps = [90]
        let merged = store.merged(with: host)
        XCTAssertEqual(merged.lastStep, 75)
        XCTAssertEqual(merged.aheadSteps, [80, 90])
    }

    func testTheFurtherHOTPCounterOfTheSameEnrollmentWins() {
        var store = UserState()
        store.hotpNext = ("0123456789abcdef", 10)
        var host = UserState()
        host.hotpNext = ("0123456789abcdef", 25)
        XCTAssertEqual(store.merged(with: host).hotpNext?.counter, 25)
        XCTAssertEqual(host.merged(with: store).hotpNext?.counter, 25)
        // Another enrollment's counter says nothing about this one's.
        host.hotpNext = ("fedcba9876543210", 99)
        XCTAssertEqual(store.merged(with: host).hotpNext?.counter, 10)
        XCTAssertEqual(UserState().merged(with: host).hotpNext?.counter, 99)
    }
}
