import TOTPCore
import XCTest

/// Logins with `store=`: the enrollment and the state come from the PostgreSQL store instead of the
/// files, and a store that cannot be used refuses the login (pam_totp(8), "Several servers").
final class StoreTests: XCTestCase {
    let storeFile = "/etc/pam-totp/store.conf"
    var settings: ModuleOptions.StoreSettings { ModuleOptions.StoreSettings(file: storeFile, timeout: 3) }

    private func enrollInStore(_ system: FakeSystem) throws {
        let enrollment = try system.enroll()
        system.enrollments["/home/alice/.pam_totp"] = nil
        system.enrollments["store:alice"] = enrollment
    }

    func testALoginReadsTheEnrollmentAndTheStateFromTheStore() throws {
        let system = FakeSystem()
        try enrollInStore(system)
        XCTAssertEqual(system.login(["store=" + storeFile], answers: [system.code()]), .success)
        XCTAssertTrue(system.requests.contains(.readStoredEnrollment(store: settings, account: system.accounts[0])))
        XCTAssertTrue(system.requests.contains(.openState(directory: "/var/lib/pam-totp", store: settings, name: "alice")))
        XCTAssertFalse(system.requests.contains { if case .readEnrollment = $0 { true } else { false } })
        XCTAssertEqual(system.states["alice"]?.lastStep, UInt64(system.now / 30))
    }

    func testAStoreThatCannotBeReachedRefusesEvenWithNullok() throws {
        let system = FakeSystem()
        system.storeError = "store /etc/pam-totp/store.conf: no answer from the store within 3 s"
        XCTAssertEqual(system.login(["store=" + storeFile, "nullok"]), .systemError)
        XCTAssertTrue(system.log.contains { $0.hasPrefix("store error user=alice") && $0.contains("no answer") }, "\(system.log)")
        XCTAssertTrue(system.prompts.isEmpty)
    }

    func testTrustedNetworksAndExemptGroupsNeedNoStore() throws {
        let system = FakeSystem()
        system.storeError = "down"
        XCTAssertEqual(system.login(["store=" + storeFile, "trusted=192.0.2.0/24"]), .success)
        system.groups["admins"] = 1001
        XCTAssertEqual(system.login(["store=" + storeFile, "exempt_groups=admins"]), .ignore)
        XCTAssertFalse(system.requests.contains { if case .readStoredEnrollment = $0 { true } else { false } })
    }

    /// As with files: an unknown name's login asks the store for the stand-in's enrollment, and
    /// uses nothing it finds.
    func testAnUnknownNameAsksTheStoreForTheStandIn() throws {
        let system = FakeSystem()
        let planted = try system.enroll()
        system.enrollments["store:nobody"] = planted
        system.userName = "mallory"
        XCTAssertEqual(system.login(["store=" + storeFile, "retries=1"], answers: [system.code()]), .denied)
        XCTAssertTrue(
            system.requests.contains(
                .readStoredEnrollment(store: settings, account: Account(name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent"))))
        XCTAssertEqual(system.locks, ["unknown 7", "unknown 7"])
    }

    func testAnUnenrolledUserOfTheStoreGetsTheDecoyOrNullok() throws {
        let system = FakeSystem()
        XCTAssertEqual(system.login(["store=" + storeFile, "nullok"]), .ignore)
        XCTAssertEqual(system.login(["store=" + storeFile, "retries=1"], answers: ["123456"]), .denied)
        XCTAssertTrue(system.log.contains { $0.contains("reason=not-enrolled") }, "\(system.log)")
    }

    func testAReplayedCodeIsRefusedThroughTheStoreState() throws {
        let system = FakeSystem()
        try enrollInStore(system)
        let code = system.code()
        XCTAssertEqual(system.login(["store=" + storeFile], answers: [code]), .success)
        XCTAssertEqual(system.login(["store=" + storeFile, "retries=1"], answers: [code]), .denied)
    }

    func testStoreOptions() throws {
        XCTAssertEqual(try ModuleOptions.parse(["store=/etc/s.conf"]).store, .init(file: "/etc/s.conf", timeout: 3))
        XCTAssertEqual(try ModuleOptions.parse(["store_timeout=7", "store=/etc/s.conf"]).store?.timeout, 7)
        XCTAssertEqual(try ModuleOptions.parse(["store=/etc/s.conf", "store_timeout=9"]).store?.timeout, 9)
        XCTAssertEqual(try ModuleOptions.parse(["store=/etc/s.conf"], config: ["store_timeout=2"]).store?.timeout, 2)
        XCTAssertNil(try ModuleOptions.parse([]).store)
        XCTAssertThrowsError(try ModuleOptions.parse(["store=relative.conf"]))
        XCTAssertThrowsError(try ModuleOptions.parse(["store="]))
        XCTAssertThrowsError(try ModuleOptions.parse(["store_timeout=0"]))
        XCTAssertThrowsError(try ModuleOptions.parse(["store_timeout=61"]))
    }
}
