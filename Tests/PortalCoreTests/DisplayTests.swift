import PortalCore
import PortalProtocol
import XCTest

final class DisplayTests: XCTestCase {
    func testSecretInGroupsOfFour() {
        XCTAssertEqual(Display.groupSecret("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP")
        XCTAssertEqual(Display.groupSecret("JBSWY3DPEHPK3PXPAB"), "JBSW Y3DP EHPK 3PXP AB")
        XCTAssertEqual(Display.groupSecret("JBSW===="), "JBSW")
        XCTAssertEqual(Display.groupSecret(""), "")
    }

    func testRecoveryCodesAndTheirFile() throws {
        let codes = try XCTUnwrap(Display.recoveryCodes(PortalMessage("OK", [("recovery", "kf7q-m2xd-9pwa,abcd-efgh-jkmn")])))
        XCTAssertEqual(codes, ["kf7q-m2xd-9pwa", "abcd-efgh-jkmn"])
        XCTAssertNil(Display.recoveryCodes(PortalMessage("OK")))
        XCTAssertNil(Display.recoveryCodes(PortalMessage("OK", [("recovery", "")])))
        XCTAssertNil(Display.recoveryCodes(PortalMessage("OK", [("recovery", "a<b")])))
        let file = Display.recoveryFile(codes: codes, account: "taro", date: "2026-11-30 16:40 JST", language: .en)
        XCTAssertEqual(
            file,
            "Recovery codes for taro\r\nMade on 2026-11-30 16:40 JST\r\n"
                + "Each code works once, in place of the verification code. Keep this file somewhere safe.\r\n\r\n"
                + "kf7q-m2xd-9pwa\r\nabcd-efgh-jkmn\r\n")
        XCTAssertTrue(Display.recoveryFile(codes: codes, account: "taro", date: "d", language: .ja).hasPrefix("taro のリカバリーコード\r\n"))
    }

    func testDates() {
        XCTAssertEqual(Display.date(0, offset: 0, zone: "UTC"), "1970-01-01 00:00 UTC")
        XCTAssertEqual(Display.date(1_795_999_226, offset: 32400, zone: "JST"), "2026-11-30 09:40 JST")
        XCTAssertEqual(Display.date(951_825_600, offset: 0, zone: ""), "2000-02-29 12:00")
        XCTAssertEqual(Display.date(0, offset: -3600, zone: "X"), "1969-12-31 23:00 X", "a negative local time")
        XCTAssertEqual(Display.date(253_402_300_799, offset: 0, zone: "UTC"), "9999-12-31 23:59 UTC")
        XCTAssertEqual(Display.date(253_402_300_799, offset: 86400, zone: ""), "10000-01-01 23:59")
    }

    /// Times from the helper near Int64's ends: refused, never a trap.
    func testExtremeTimes() {
        for seconds in [Int64.min, Int64.min + 1, -1, 253_402_300_800, Int64.max] {
            XCTAssertEqual(Display.date(seconds, offset: 0, zone: "UTC"), "?", String(seconds))
            XCTAssertEqual(Display.date(seconds, offset: -86400, zone: "UTC"), "?", String(seconds))
        }
        XCTAssertEqual(Display.date(0, offset: Int64.min, zone: "UTC"), "?")
        XCTAssertEqual(Display.date(0, offset: Int64.max, zone: "UTC"), "?")
        XCTAssertEqual(Display.unixTime("1795999226"), 1_795_999_226)
        XCTAssertEqual(Display.unixTime("0"), 0)
        XCTAssertEqual(Display.unixTime("253402300799"), 253_402_300_799)
        for bad in [
            nil, "", "-1", "+1", "253402300800", "-9223372036854775808", "9223372036854775807", "99999999999999999999", " 1", "1e3",
        ] {
            XCTAssertNil(Display.unixTime(bad), bad ?? "nil")
        }
        let base: [(String, String)] = [("user", "taro"), ("enrolled", "yes"), ("setup-allowed", "no")]
        XCTAssertNil(PortalStatus(PortalMessage("OK", base + [("created", "-9223372036854775808"), ("devices", "")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", base + [("devices", "address:192.0.2.7@-9223372036854775808@1")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", base + [("devices", "address:192.0.2.7@1@9223372036854775807")])))
        XCTAssertNotNil(PortalStatus(PortalMessage("OK", base + [("created", "1"), ("devices", "address:192.0.2.7@1@2")])))
    }

    func testStatus() throws {
        let line = PortalMessage(
            "OK",
            [
                ("user", "taro"), ("enrolled", "yes"), ("type", "totp"), ("algorithm", "SHA1"), ("digits", "6"), ("period", "30"),
                ("created", "1795999226"), ("recovery-left", "9"), ("setup-allowed", "no"),
                ("devices", "address:192.0.2.7@1795999226@1798591226,key:SHA256:ab+/c@1@2,address:2001:db8::1@3@4"),
            ])
        let status = try XCTUnwrap(PortalStatus(line))
        XCTAssertEqual(status.user, "taro")
        XCTAssertTrue(status.enrolled)
        XCTAssertEqual(status.type, "totp")
        XCTAssertEqual(status.algorithm, "SHA1")
        XCTAssertEqual(status.digits, 6)
        XCTAssertEqual(status.period, 30)
        XCTAssertEqual(status.created, 1_795_999_226)
        XCTAssertEqual(status.recoveryLeft, 9)
        XCTAssertFalse(status.setupAllowed)
        XCTAssertEqual(
            status.devices,
            [
                RememberedDevice(device: "address:192.0.2.7", created: 1_795_999_226, expires: 1_798_591_226),
                RememberedDevice(device: "key:SHA256:ab+/c", created: 1, expires: 2),
                RememberedDevice(device: "address:2001:db8::1", created: 3, expires: 4),
            ])
        XCTAssertEqual(status.devices[0].address, "192.0.2.7")
        XCTAssertEqual(status.devices[1].keyFingerprint, "SHA256:ab+/c")

        let unenrolled = try XCTUnwrap(
            PortalStatus(PortalMessage("OK", [("user", "taro"), ("enrolled", "no"), ("setup-allowed", "yes"), ("devices", "")])))
        XCTAssertFalse(unenrolled.enrolled)
        XCTAssertTrue(unenrolled.setupAllowed)
        XCTAssertEqual(unenrolled.devices, [])
        XCTAssertNil(unenrolled.created)

        XCTAssertNil(PortalStatus(PortalMessage("ERR", [("reason", "x")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", [("user", "../x"), ("enrolled", "no")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", [("user", "a"), ("enrolled", "maybe")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", [("user", "a"), ("enrolled", "no"), ("devices", "address:1.2.3.4@x@2")])))
        XCTAssertNil(PortalStatus(PortalMessage("OK", [("user", "a"), ("enrolled", "no"), ("devices", "nothing@1@2")])))
    }
}
