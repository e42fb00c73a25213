import TOTPCore
import XCTest

final class EnrollmentFormatTests: XCTestCase {
    static let good = """
        # comment
        version 1
        type totp
        algorithm SHA256
        digits 8
        period 60
        secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
        created 2026-11-23T12:00:00Z
        recovery-kdf pbkdf2-sha256 100000 000102030405060708090a0b0c0d0e0f
        recovery 0000000000000000000000000000000000000000000000000000000000000000
        recovery 1111111111111111111111111111111111111111111111111111111111111111
        end

        """

    func parse(_ text: String) throws -> Enrollment { try Enrollment.parse(Array(text.utf8)) }

    func problem(_ text: String) -> LineFormat.Problem? {
        do {
            _ = try parse(text)
            return nil
        } catch let error as LineFormat.ParseError {
            return error.problem
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testParsesTheDocumentedExample() throws {
        let e = try parse(Self.good)
        XCTAssertEqual(e.parameters, OTPParameters(algorithm: .sha256, digits: 8, period: 60))
        XCTAssertEqual(e.secret, Secret("12345678901234567890"))
        XCTAssertEqual(e.created, 1_795_435_200)
        XCTAssertEqual(e.recovery?.iterations, 100_000)
        XCTAssertEqual(e.recovery?.hashes.count, 2)
    }

    func testRoundTrip() throws {
        let set = try RecoverySet.make(codes: RecoveryCode.generate(count: 10), iterations: 1000)
        for recovery in [nil, set] {
            let e = Enrollment(
                parameters: OTPParameters(algorithm: .sha512, digits: 7, period: 15), secret: Secret(Array(0..<64)), created: 1_700_000_000,
                recovery: recovery)
            XCTAssertEqual(try Enrollment.parse(e.serialized()), e)
        }
    }

    func testTheAccountLineRoundTripsAndIsChecked() throws {
        var e = try parse(Self.good)
        XCTAssertNil(e.account)
        e.account = "alice"
        let text = String(decoding: e.serialized(), as: UTF8.self)
        XCTAssertTrue(text.contains("\nversion 1\naccount alice\n"), text)
        XCTAssertEqual(try Enrollment.parse(e.serialized()), e)
        XCTAssertNoThrow(try e.checkAccount("alice", lineRequired: true))
        XCTAssertThrowsError(try e.checkAccount("Alice", lineRequired: false)) {
            XCTAssertEqual($0 as? Enrollment.AccountProblem, .otherAccount("alice"))
        }
        e.account = nil
        XCTAssertNoThrow(try e.checkAccount("bob", lineRequired: false))
        XCTAssertThrowsError(try e.checkAccount("bob", lineRequired: true)) { XCTAssertEqual($0 as? Enrollment.AccountProblem, .missing) }
        func replacing(_ old: String, _ new: String) -> String { Self.good.replacingOccurrences(old, new) }
        for bad in ["al ice", "a/b", "..", String(repeating: "a", count: 257)] {
            XCTAssertEqual(problem(replacing("type totp", "account \(bad)\ntype totp")), .invalidValue(key: "account"), bad)
        }
        XCTAssertEqual(problem(replacing("type totp", "account a\naccount b\ntype totp")), .duplicateKey("account"))
    }

    func testEveryTruncationIsRefused() {
        let bytes = Array(Self.good.utf8)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try Enrollment.parse(Array(bytes[0..<length])), "truncated to \(length) bytes")
        }
    }

    func testBrokenFiles() {
        func replacing(_ old: String, _ new: String) -> String { Self.good.replacingOccurrences(old, new) }
        XCTAssertEqual(problem(replacing("version 1", "version 2")), .unsupportedVersion("2"))
        XCTAssertEqual(problem(replacing("version 1\ntype totp", "type totp\nversion 1")), .firstLineNotVersion)
        XCTAssertEqual(problem(replacing("type totp", "type motp")), .invalidValue(key: "type"))
        XCTAssertEqual(problem(replacing("type totp", "type hotp")), .unknownKey("period"))
        XCTAssertEqual(problem(replacing("SHA256", "MD5")), .invalidValue(key: "algorithm"))
        XCTAssertEqual(problem(replacing("digits 8", "digits 9")), .invalidValue(key: "digits"))
        XCTAssertEqual(problem(replacing("digits 8", "digits 08")), .invalidValue(key: "digits"))
        XCTAssertEqual(problem(replacing("digits 8", "digits -6")), .invalidValue(key: "digits"))
        XCTAssertEqual(problem(replacing("period 60", "period 14")), .invalidValue(key: "period"))
        XCTAssertEqual(problem(replacing("period 60", "period 301")), .invalidValue(key: "period"))
        XCTAssertEqual(
            problem(replacing("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1")), .invalidValue(key: "secret"))
        XCTAssertEqual(
            problem(replacing("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "gezdgnbvgy3tqojqgezdgnbvgy3tqojq")), .invalidValue(key: "secret"))
        XCTAssertEqual(problem(replacing("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBV")), .invalidValue(key: "secret"))
        XCTAssertEqual(problem(replacing("period 60", "period 60\nperiod 30")), .duplicateKey("period"))
        XCTAssertEqual(problem(replacing("period 60\n", "")), .missingKey("period"))
        XCTAssertEqual(problem(replacing("secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", "")), .missingKey("secret"))
        XCTAssertEqual(problem(replacing("period 60", "period  60")), .invalidValue(key: "period"))
        XCTAssertEqual(problem(replacing("period 60", "period")), .noValue(key: "period"))
        XCTAssertEqual(problem(replacing("period 60", "colour blue")), .unknownKey("colour"))
        XCTAssertEqual(
            problem(replacing("recovery-kdf pbkdf2-sha256 100000 000102030405060708090a0b0c0d0e0f\n", "")), .missingKey("recovery-kdf"))
        XCTAssertEqual(problem(replacing("pbkdf2-sha256 100000", "pbkdf2-sha256 10")), .invalidValue(key: "recovery-kdf"))
        XCTAssertEqual(problem(replacing("recovery 0000", "recovery 000")), .invalidValue(key: "recovery"))
        XCTAssertEqual(problem(replacing("\n", "\r\n")), .carriageReturn)
        XCTAssertEqual(problem(replacing("type totp", "type\u{0}totp")), .nulByte)
        XCTAssertEqual(problem(replacing("# comment", "# commént")), .notPrintableASCII)
        XCTAssertEqual(problem(replacing("end\n", "end\nperiod 30\n")), .contentAfterEnd)
        XCTAssertEqual(problem(replacing("end\n", "")), .missingEnd)
        XCTAssertEqual(problem(""), .missingEnd)
        XCTAssertEqual(problem(Self.good + String(repeating: "#", count: 70_000) + "\n"), .tooLarge)
        XCTAssertEqual(problem(replacing("period 60", "period 60\nissuer Bad%ZZ")), .invalidValue(key: "issuer"))
        XCTAssertEqual(problem(replacing("period 60", "period 60\nissuer %C3")), .invalidValue(key: "issuer"))
        XCTAssertEqual(problem(replacing("period 60", "period 60\nwindow 11")), .invalidValue(key: "window"))
    }
}

final class StateFormatTests: XCTestCase {
    func testRoundTripAndDefaults() throws {
        var state = UserState()
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
        state.lastStep = 59_000_000
        state.usedRecovery = ["0011223344556677", "8899aabbccddeeff"]
        state.failures = 4
        state.lastFailure = 1_700_000_000
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
    }

    /// Equality decides whether a login writes the state, so it must see every field the file holds:
    /// a state that lacks any one line of a full state is a different state.
    func testEqualityCoversEveryPersistedField() throws {
        var full = UserState()
        full.lastStep = 59_000_000
        full.recentSteps = [58_999_999, 59_000_000]
        full.forgottenStep = 58_000_000
        full.aheadSteps = [59_002_880]
        full.totpResync = (59_000_001, 1_700_000_030)
        full.usedRecovery = ["0011223344556677"]
        full.failures = 4
        full.unfamiliarFailures = 3
        full.familiarFailures = 1
        full.lastFailure = 1_700_000_000
        full.sources = [SourceFailures(source: "192.0.2.1", failures: 2, last: 1_700_000_000)]
        full.overflow = SourceFailures(source: "*", failures: 5, last: 1_700_000_001)
        full.familiar = [FamiliarOrigin(id: "192.0.2.9", last: 1_699_000_000)]
        full.devices = [
            RememberedDevice(enrollment: "00112233aabbccdd", device: .address("192.0.2.9"), created: 1_699_000_000, expires: 1_800_000_000)
        ]
        full.hotpNext = ("00112233aabbccdd", 42)
        full.hotpResync = ("00112233aabbccdd", 90, 1000)
        let lines = String(decoding: full.serialized(), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(try UserState.parse(full.serialized()), full)
        for (index, line) in lines.enumerated()
        where !["version", "failures", "unfamiliar-failures", "end"].contains(line.split(separator: " ")[0]) && !line.hasPrefix("#") {
            let without = lines.enumerated().filter { $0.offset != index }.map(\.element).joined(separator: "\n") + "\n"
            XCTAssertNotEqual(try UserState.parse(Array(without.utf8)), full, String(line))
        }
    }

    func testBrokenStateIsRefused() {
        let good = Array(UserState().serialized())
        for length in 0..<good.count { XCTAssertThrowsError(try UserState.parse(Array(good[0..<length]))) }
        for bad in [
            "version 1\nlast-step -1\nend\n", "version 1\nused-recovery xyz\nend\n", "version 1\nfailures 1\nfailures 2\nend\n",
            "version 2\nend\n", "version 1\nlast-step 99999999999999999999\nend\n",
        ] {
            XCTAssertThrowsError(try UserState.parse(Array(bad.utf8)), bad)
        }
    }
}

final class OptionsTests: XCTestCase {
    func testDefaults() throws {
        let options = try ModuleOptions.parse([])
        XCTAssertEqual(options.secret, "~/.pam_totp")
        XCTAssertEqual(options.stateDirectory, "/var/lib/pam-totp")
        XCTAssertEqual(options.window, 1)
        XCTAssertEqual(options.retries, 3)
        XCTAssertEqual(options.prompt, "Verification code: ")
        XCTAssertFalse(options.nullok)
        XCTAssertFalse(options.debug)
    }

    func testEveryOption() throws {
        let options = try ModuleOptions.parse([
            "secret=/var/lib/pam-totp/users/%u", "state=/run/totp", "window=3", "retries=1", "prompt=Code: ", "nullok", "debug",
        ])
        XCTAssertEqual(options.secret, "/var/lib/pam-totp/users/%u")
        XCTAssertEqual(options.stateDirectory, "/run/totp")
        XCTAssertEqual(options.window, 3)
        XCTAssertEqual(options.retries, 1)
        XCTAssertEqual(options.prompt, "Code: ")
        XCTAssertTrue(options.nullok)
        XCTAssertTrue(options.debug)
    }

    func testMessageOptions() throws {
        let options = try ModuleOptions.parse(["setup_hint=Enroll at https://vpn.example.org/2fa.", "message_prompt"])
        XCTAssertEqual(options.setupHint, "Enroll at https://vpn.example.org/2fa.")
        XCTAssertTrue(options.messagePrompt)
        XCTAssertNil(try ModuleOptions.parse([]).setupHint)
        XCTAssertFalse(try ModuleOptions.parse([]).messagePrompt)
        for arguments in [
            ["setup_hint="], ["setup_hint=a\u{7}b"], ["setup_hint=" + String(repeating: "a", count: 201)], ["message_prompt=yes"],
        ] {
            XCTAssertThrowsError(try ModuleOptions.parse(arguments), "\(arguments)")
        }
    }

    func testRefusals() {
        let cases: [([String], ModuleOptions.ParseError)] = [
            (["nulok"], .unknown("nulok")),
            (["secret"], .missingValue("secret")),
            (["secret="], .missingValue("secret")),
            (["nullok=yes"], .unexpectedValue("nullok")),
            (["window=11"], .invalidValue(option: "window", value: "11", expected: "expected a number from 0 to 10")),
            (["window=-1"], .invalidValue(option: "window", value: "-1", expected: "expected a number from 0 to 10")),
            (["window=1x"], .invalidValue(option: "window", value: "1x", expected: "expected a number from 0 to 10")),
            (["retries=0"], .invalidValue(option: "retries", value: "0", expected: "expected a number from 1 to 10")),
            (
                ["retries=99999999999999999999999"],
                .invalidValue(option: "retries", value: "99999999999999999999999", expected: "expected a number from 1 to 10")
            ),
        ]
        for (arguments, expected) in cases {
            XCTAssertThrowsError(try ModuleOptions.parse(arguments), "\(arguments)") {
                XCTAssertEqual($0 as? ModuleOptions.ParseError, expected)
            }
        }
        for arguments in [
            ["secret=relative/path"], ["secret=/x/%q"], ["state=relative"], ["prompt=Password: "], ["prompt=password and code"],
            ["prompt=a\u{1}b"], ["secret=/" + String(repeating: "a", count: 5000)],
        ] {
            XCTAssertThrowsError(try ModuleOptions.parse(arguments), "\(arguments)")
        }
    }
}

final class PathTemplateTests: XCTestCase {
    /// Issue 12, items 4 and 13: an ordered list, and no file shared by all users.
    func testListsAndSharedFiles() throws {
        XCTAssertEqual(try PathTemplate.list("/var/lib/pam-totp/users/%u:~/.pam_totp"), ["/var/lib/pam-totp/users/%u", "~/.pam_totp"])
        XCTAssertEqual(try PathTemplate.list("%h/.totp"), ["%h/.totp"])
        XCTAssertThrowsError(try PathTemplate.list("/var/lib/pam-totp/shared")) { XCTAssertEqual($0 as? PathTemplate.Problem, .sharedFile) }
        XCTAssertThrowsError(try PathTemplate.list("/c/%u::~/.t")) { XCTAssertEqual($0 as? PathTemplate.Problem, .emptyInList) }
        XCTAssertThrowsError(try PathTemplate.list("/a/%u:/b/%u:/c/%u:/d/%u:/e/%u")) {
            XCTAssertEqual($0 as? PathTemplate.Problem, .tooManyInList)
        }
        let options = try ModuleOptions.parse(["secret=/var/lib/pam-totp/users/%u:~/.pam_totp"])
        XCTAssertEqual(options.secretTemplates, ["/var/lib/pam-totp/users/%u", "~/.pam_totp"])
        XCTAssertThrowsError(try ModuleOptions.parse(["secret=/srv/one-file"]))
    }

    func testExpansion() throws {
        XCTAssertEqual(try PathTemplate.expand("~/.pam_totp", user: "alice", home: "/home/alice"), "/home/alice/.pam_totp")
        XCTAssertEqual(try PathTemplate.expand("~/.pam_totp", user: "alice", home: "/home/alice/"), "/home/alice/.pam_totp")
        XCTAssertEqual(try PathTemplate.expand("%h/.config/totp", user: "alice", home: "/h/a"), "/h/a/.config/totp")
        XCTAssertEqual(try PathTemplate.expand("/var/lib/pam-totp/users/%u", user: "alice", home: ""), "/var/lib/pam-totp/users/alice")
        XCTAssertEqual(try PathTemplate.expand("/x/100%%/%u", user: "a.b-c", home: "/"), "/x/100%/a.b-c")
        XCTAssertTrue(PathTemplate.usesHome("~/.pam_totp"))
        XCTAssertFalse(PathTemplate.usesHome("/var/lib/pam-totp/users/%u"))
        XCTAssertTrue(PathTemplate.usesHome("/srv/%%/%h/totp"))
        // "%%h" is a percent sign and an h, not the home directory.
        XCTAssertFalse(PathTemplate.usesHome("/srv/%%h/%u"))
        XCTAssertEqual(try PathTemplate.expand("/srv/%%h/%u", user: "alice", home: ""), "/srv/%h/alice")
        XCTAssertEqual(try PathTemplate.expand("/srv/é/%u", user: "alice", home: "/"), "/srv/é/alice")
    }

    func testRefusals() {
        XCTAssertThrowsError(try PathTemplate.expand("/u/%u", user: "../root", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("/u/%u", user: "..", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("/u/%u", user: "", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("/u/%u", user: "a b", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("/u/%u", user: "a\nb", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("~/.pam_totp", user: "alice", home: ""))
        XCTAssertThrowsError(try PathTemplate.expand("~/.pam_totp", user: "alice", home: "relative"))
        XCTAssertThrowsError(try PathTemplate.expand("/u/%", user: "alice", home: "/"))
        XCTAssertThrowsError(try PathTemplate.expand("%u/x", user: "alice", home: "/"))
    }
}

extension String {
    func replacingOccurrences(_ old: String, _ new: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: old) {
            result += rest[..<range.lowerBound] + new
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
