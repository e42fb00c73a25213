import TOTPCore
import XCTest

final class GoogleAuthenticatorFileTests: XCTestCase {
    // As google-authenticator -t -d -r 3 -R 30 -w 5 -S 60 -e 2 writes it.
    static let totpFile = """
        CCNVY4CM5TUYSV4DPPAHPBNJVU
        " RATE_LIMIT 3 30
        " WINDOW_SIZE 5
        " STEP_SIZE 60
        " DISALLOW_REUSE
        " TOTP_AUTH
        47434595
        66728846

        """

    func testParsesATOTPFile() throws {
        let file = try GoogleAuthenticatorFile.parse(Array(Self.totpFile.utf8))
        XCTAssertEqual(file.secret, try Base32.decode("CCNVY4CM5TUYSV4DPPAHPBNJVU"))
        XCTAssertEqual(file.stepSize, 60)
        XCTAssertEqual(file.windowSize, 5)
        XCTAssertEqual(file.window, 2)
        XCTAssertEqual(file.scratchCodes, ["47434595", "66728846"])
        XCTAssertEqual(file.parameters, OTPParameters(algorithm: .sha1, digits: 6, period: 60))
    }

    func testUsedStepsAreRead() throws {
        XCTAssertEqual(try GoogleAuthenticatorFile.parse(Array(Self.totpFile.utf8)).usedSteps, [])
        let text = "CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" DISALLOW_REUSE 58312345 58312346\n\" TOTP_AUTH\n"
        XCTAssertEqual(try GoogleAuthenticatorFile.parse(Array(text.utf8)).usedSteps, [58_312_345, 58_312_346])
        let bad = "CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" DISALLOW_REUSE 12x\n\" TOTP_AUTH\n"
        XCTAssertThrowsError(try GoogleAuthenticatorFile.parse(Array(bad.utf8)))
        // A step whose time overflows (the tool multiplies it by the step size) is refused.
        let huge = "CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" DISALLOW_REUSE 999999999999999999\n\" TOTP_AUTH\n"
        XCTAssertThrowsError(try GoogleAuthenticatorFile.parse(Array(huge.utf8)))
    }

    func testCounterBasedFilesBecomeHOTPEnrollments() throws {
        let file = try GoogleAuthenticatorFile.parse(Array("CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" HOTP_COUNTER 7\n12345678\n".utf8))
        XCTAssertEqual(file.hotpCounter, 7)
        let enrollment = file.enrollment(created: 1_700_000_000)
        XCTAssertEqual(enrollment.type, .hotp)
        XCTAssertEqual(enrollment.counter, 7)
        XCTAssertEqual(try Enrollment.parse(enrollment.serialized()), enrollment)
    }

    func testWindowsCoverWhatGoogleAuthenticatorAccepted() throws {
        for (size, window) in [(1, 0), (3, 1), (4, 2), (17, 8), (21, 10), (100, 10)] {
            let text = "CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" WINDOW_SIZE \(size)\n\" TOTP_AUTH\n"
            XCTAssertEqual(try GoogleAuthenticatorFile.parse(Array(text.utf8)).window, window, "WINDOW_SIZE \(size)")
        }
    }

    func testRefusals() {
        let cases: [(String, GoogleAuthenticatorFile.Problem)] = [
            ("CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" DISALLOW_REUSE\n", .notTOTP),
            ("", .badSecret("the file is empty")),
            ("CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" TOTP_AUTH\n1234\n", .badLine(3)),
            ("CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" STEP_SIZE 5\n\" TOTP_AUTH\n", .unsupportedStep(5)),
            ("CCNVY4CM5TUYSV4DPPAHPBNJVU\n\" WINDOW_SIZE x\n\" TOTP_AUTH\n", .badLine(2)),
        ]
        for (text, problem) in cases {
            XCTAssertThrowsError(try GoogleAuthenticatorFile.parse(Array(text.utf8)), text) {
                XCTAssertEqual($0 as? GoogleAuthenticatorFile.Problem, problem)
            }
        }
        XCTAssertThrowsError(try GoogleAuthenticatorFile.parse(Array("NOT!BASE32\n\" TOTP_AUTH\n".utf8)))
    }

    func testScratchCodesAreRecoveryShaped() {
        XCTAssertEqual(CodeInput.classify(Secret("4743 4595"), digits: 6), .recovery(Secret("47434595")))
        XCTAssertEqual(CodeInput.classify(Secret("47434595"), digits: 8), .otp(Secret("47434595")))
        XCTAssertEqual(CodeInput.classify(Secret("4743459"), digits: 6), .malformed)
    }
}

final class ConfigTests: XCTestCase {
    func testConfigLinesComeFirstAndTheLineOverrides() throws {
        let text = "# site\n\n  issuer=Example University  \nwindow=2\nsecret=/var/lib/pam-totp/users/%u\n"
        let arguments = try ModuleOptions.configArguments(Array(text.utf8))
        XCTAssertEqual(arguments, ["issuer=Example University", "window=2", "secret=/var/lib/pam-totp/users/%u"])
        let options = try ModuleOptions.parse(["window=3"], config: arguments)
        XCTAssertEqual(options.window, 3)
        XCTAssertEqual(options.issuer, "Example University")
        XCTAssertEqual(options.secret, "/var/lib/pam-totp/users/%u")
    }

    func testConfigPath() {
        XCTAssertEqual(ModuleOptions.configPath(in: []), "/etc/pam-totp.conf")
        XCTAssertEqual(ModuleOptions.configPath(in: ["nullok", "config=/srv/a.conf"]), "/srv/a.conf")
    }

    func testBadConfigFiles() {
        let cases: [(String, ModuleOptions.ParseError)] = [
            ("window=2\nbogus\n", .configLine(line: 2, problem: "unknown option 'bogus'")),
            ("config=/x\n", .configLine(line: 1, problem: "config= cannot be set in the configuration file")),
            ("a\u{0}b\n", .configLine(line: 0, problem: "not UTF-8 text")),
        ]
        for (text, error) in cases {
            XCTAssertThrowsError(try ModuleOptions.configArguments(Array(text.utf8))) {
                XCTAssertEqual($0 as? ModuleOptions.ParseError, error)
            }
        }
        XCTAssertThrowsError(try ModuleOptions.configArguments([0xff, 0x0a]))
        XCTAssertThrowsError(try ModuleOptions.parse(["issuer=a:b"]))
        XCTAssertThrowsError(try ModuleOptions.parse(["config=relative"]))
    }

    func testPercentDecoding() {
        XCTAssertEqual(OTPAuthURI.percentDecode("Universit%C3%A9%20VPN"), "Université VPN")
        XCTAssertEqual(OTPAuthURI.percentDecode(Substring(OTPAuthURI.percentEncode("a:b/ü 100%"))), "a:b/ü 100%")
        XCTAssertNil(OTPAuthURI.percentDecode("%"))
        XCTAssertNil(OTPAuthURI.percentDecode("%G1"))
        XCTAssertNil(OTPAuthURI.percentDecode("%C3"))
    }
}
