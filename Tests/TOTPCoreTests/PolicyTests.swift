import Glibc
import TOTPCore
import XCTest

final class NetworkTests: XCTestCase {
    func testAddresses() {
        XCTAssertEqual(IPAddress("192.0.2.7")?.bytes, [192, 0, 2, 7])
        XCTAssertEqual(IPAddress("::ffff:192.0.2.7")?.bytes, [192, 0, 2, 7])
        XCTAssertEqual(IPAddress("::1")?.bytes, [UInt8](repeating: 0, count: 15) + [1])
        XCTAssertEqual(IPAddress("2001:db8::8:800:200c:417a")?.description, "2001:db8:0:0:8:800:200c:417a")
        XCTAssertEqual(IPAddress("1:2:3:4:5:6:7:8")?.bytes.count, 16)
        for bad in [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "example.org", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::",
            "fe80::1%eth0", "::ffff:1.2.3",
        ] {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }

    func testCIDR() throws {
        let net = try XCTUnwrap(CIDR("10.0.0.0/8"))
        XCTAssertTrue(net.contains(IPAddress("10.255.255.255")!))
        XCTAssertFalse(net.contains(IPAddress("11.0.0.0")!))
        XCTAssertFalse(net.contains(IPAddress("2001:db8::1")!))
        XCTAssertTrue(try XCTUnwrap(CIDR("192.168.7.0/24")).contains(IPAddress("::ffff:192.168.7.9")!))
        XCTAssertTrue(try XCTUnwrap(CIDR("::ffff:10.0.0.0/104")).contains(IPAddress("10.1.1.1")!))
        XCTAssertTrue(try XCTUnwrap(CIDR("2001:db8::/32")).contains(IPAddress("2001:db8:ffff::1")!))
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains(IPAddress("8.8.8.8")!))
        XCTAssertEqual(CIDR("127.0.0.2")?.description, "127.0.0.2/32")
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0.0/8/8", "2001:db8::/129", "x/8"] {
            XCTAssertNil(CIDR(Substring(bad)), bad)
        }
    }

    func testTrustedLists() throws {
        let list = try TrustedNetworks.parse("10.0.0.0/8,2001:db8::/32", isFile: false)
        XCTAssertEqual(list.match("10.1.2.3")?.description, "10.0.0.0/8")
        XCTAssertNil(list.match("host.example.org"))
        XCTAssertNil(list.match(nil))
        XCTAssertThrowsError(try TrustedNetworks.parse("10.0.0.0/8,", isFile: false))
        XCTAssertThrowsError(try TrustedNetworks.parse("", isFile: false))
        let file = try TrustedNetworks.parse("# campus\n10.0.0.0/8  # wired\n\n  192.168.0.0/16\n", isFile: true)
        XCTAssertEqual(file.networks.count, 2)
        XCTAssertThrowsError(try TrustedNetworks.parse("10.0.0.0/8\nbogus\n", isFile: true)) {
            XCTAssertEqual($0 as? TrustedNetworks.Problem, .malformed(entry: "bogus", line: 2))
        }
        XCTAssertThrowsError(try TrustedNetworks.parse("# nothing\n", isFile: true)) {
            XCTAssertEqual($0 as? TrustedNetworks.Problem, .empty)
        }
    }
}

final class DeviceTests: XCTestCase {
    func testDurations() {
        XCTAssertEqual(RememberDuration.parse("30d"), 2_592_000)
        XCTAssertEqual(RememberDuration.parse("12h"), 43_200)
        XCTAssertEqual(RememberDuration.parse("2w"), 1_209_600)
        XCTAssertEqual(RememberDuration.parse("90m"), 5400)
        XCTAssertEqual(RememberDuration.parse("3600"), 3600)
        // "100x" and "3600x": an unknown unit is refused, not read as seconds.
        for bad in ["", "d", "30x", "100x", "3600x", "90٣", "-1d", "59s", "401d", "1.5d", "99999999999d"] {
            XCTAssertNil(RememberDuration.parse(Substring(bad)), bad)
        }
        XCTAssertEqual(RememberDuration.describe(2_592_000), "30 days")
        XCTAssertEqual(RememberDuration.describe(3600), "1 hour")
    }

    func testBase64AndIdentity() throws {
        XCTAssertEqual(Base64.encode(Array("foobar".utf8)), "Zm9vYmFy")
        XCTAssertEqual(Base64.encode(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(Base64.encode(Array("f".utf8), padded: false), "Zg")
        XCTAssertEqual(Base64.decode("Zm9vYg=="), Array("foob".utf8))
        XCTAssertNil(Base64.decode("Zm9v!"))
        // RFC 4648, section 10, and every length from 0 to 40 back and forth.
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")] {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(Substring(encoded)), Array(plain.utf8))
        }
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }
            XCTAssertEqual(Base64.decode(Substring(Base64.encode(bytes))), bytes)
            XCTAssertEqual(Base64.decode(Substring(Base64.encode(bytes, padded: false))), bytes)
            XCTAssertEqual(try Base32.decode(Base32.encode(bytes)), Secret(bytes))
        }
        // The fingerprint ssh-keygen -lf prints for this key.
        let info = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        XCTAssertEqual(
            DeviceIdentity.find(authInfo: info, remoteHost: "192.0.2.1"),
            .key(fingerprint: "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"))
        XCTAssertEqual(DeviceIdentity.find(authInfo: nil, remoteHost: "::ffff:192.0.2.1"), .address("192.0.2.1"))
        XCTAssertNil(DeviceIdentity.find(authInfo: "password\n", remoteHost: "host.example.org"))
        XCTAssertNil(DeviceIdentity.find(authInfo: nil, remoteHost: nil))
        XCTAssertEqual(DeviceIdentity("address:192.0.2.1"), .address("192.0.2.1"))
        XCTAssertNil(DeviceIdentity("address:banana"))
    }

    func testRememberedDevicesAndStateRoundTrip() throws {
        var state = UserState()
        state.remember(.address("192.0.2.1"), enrollment: "00112233aabbccdd", now: 1000, duration: 100)
        XCTAssertNotNil(state.remembered(.address("192.0.2.1"), enrollment: "00112233aabbccdd", now: 1099))
        XCTAssertNil(state.remembered(.address("192.0.2.1"), enrollment: "00112233aabbccdd", now: 1100), "expired")
        XCTAssertNil(state.remembered(.address("192.0.2.1"), enrollment: "ffffffffffffffff", now: 1050), "another enrollment")
        for index in 0..<25 { state.remember(.address("192.0.2.\(index)"), enrollment: "00112233aabbccdd", now: 1000, duration: 100) }
        XCTAssertEqual(state.devices.count, UserState.maxDevices)
        state.hotpNext = ("00112233aabbccdd", 42)
        state.hotpResync = ("00112233aabbccdd", 90, 1000)
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
        XCTAssertThrowsError(try UserState.parse(Array("version 1\ndevice 0011 1 2 address:1.2.3.4\nend\n".utf8)))
    }
}

final class CombinedInputTests: XCTestCase {
    func testSplitsTheCodeOffTheEnd() {
        let digits = CombinedInput.split(Secret("hunter123456789"), digits: 6)
        XCTAssertEqual(digits?.password, Secret("hunter123"))
        XCTAssertEqual(digits?.code, .otp(Secret("456789")))
        let recovery = CombinedInput.split(Secret("pass word-1kf7q-m2xd-9pwa"), digits: 6)
        XCTAssertEqual(recovery?.password, Secret("pass word-1"))
        XCTAssertEqual(recovery?.code, .recovery(Secret("kf7qm2xd9pwa")))
        XCTAssertEqual(CombinedInput.split(Secret("123456"), digits: 6)?.password, [])
        XCTAssertNil(CombinedInput.split(Secret("password"), digits: 6))
        XCTAssertNil(CombinedInput.split(Secret("12345"), digits: 6))
    }
}

final class HOTPTests: XCTestCase {
    let secret = Secret("12345678901234567890")

    /// RFC 4226 Appendix D's value for counters 0-9, computed beyond.
    func code(_ counter: UInt64) -> Secret {
        if counter < 10 { return Secret(VectorTests.hotpVectors[Int(counter)].1) }
        return OTP.hotp(secret: secret, counter: counter, algorithm: .sha1, digits: 6)
    }

    func testLookAheadAndResynchronisationWithRFC4226Vectors() throws {
        let verifier = HOTPVerifier(algorithm: .sha1, digits: 6, window: 3)
        XCTAssertEqual(verifier.verify(code: code(2), secret: secret, next: 0, pendingResync: nil), .accepted(counter: 2))
        XCTAssertEqual(verifier.verify(code: code(2), secret: secret, next: 3, pendingResync: nil), .rejected, "counters are used once")
        XCTAssertEqual(verifier.verify(code: code(7), secret: secret, next: 3, pendingResync: nil), .resyncStarted(counter: 7))
        XCTAssertEqual(verifier.verify(code: code(8), secret: secret, next: 3, pendingResync: 7), .accepted(counter: 8))
        XCTAssertEqual(verifier.verify(code: code(9), secret: secret, next: 3, pendingResync: 7), .resyncStarted(counter: 9))
    }

    func testDecideAttemptKeepsTheCounterInTheState() throws {
        var enrollment = Enrollment(parameters: .standard, secret: secret, created: 1)
        enrollment.type = .hotp
        enrollment.counter = 1
        let first = try decideAttempt(input: .otp(code(4)), enrollment: enrollment, state: UserState(), now: 100, window: 1, hotpWindow: 5)
        XCTAssertEqual(first.outcome, .acceptedHOTP(counter: 4))
        XCTAssertEqual(first.state.hotpNext?.counter, 5)
        let replay = try decideAttempt(input: .otp(code(4)), enrollment: enrollment, state: first.state, now: 100, window: 1, hotpWindow: 5)
        XCTAssertEqual(replay.outcome, .wrongCode)
        // A resynchronisation waits only so long for its second code.
        var far = try decideAttempt(input: .otp(code(9)), enrollment: enrollment, state: UserState(), now: 100, window: 1, hotpWindow: 2)
        XCTAssertEqual(far.outcome, .hotpResyncStarted)
        let late = try decideAttempt(
            input: .otp(code(10)), enrollment: enrollment, state: far.state, now: 100 + 301, window: 1, hotpWindow: 2)
        XCTAssertNotEqual(late.outcome, .acceptedHOTP(counter: 10))
        far = try decideAttempt(input: .otp(code(10)), enrollment: enrollment, state: far.state, now: 160, window: 1, hotpWindow: 2)
        XCTAssertEqual(far.outcome, .acceptedHOTP(counter: 10))
    }
}

final class ThrottleTests: XCTestCase {
    func testDelaysAndTheFiguresTheDocumentationQuotes() {
        let policy = ThrottlePolicy()
        XCTAssertEqual((0...10).map { policy.delay(afterFailures: $0) }, [0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600])
        XCTAssertEqual(policy.delay(afterFailures: 1000), 3600)
        // Worst case for one source (README, pam_totp(8), docs/SECURITY-TESTING.md).
        XCTAssertEqual(policy.worstCaseAttempts(from: 3600), 9)
        XCTAssertEqual(policy.worstCaseAttempts(from: 86_400), 32)
    }

    func testSourcesAreCountedApartAndTheCeilingLocks() {
        var policy = ThrottlePolicy()
        policy.maxFailures = 4
        var state = UserState()
        for _ in 0..<3 { state.recordFailure(source: "203.0.113.5", now: 100) }
        XCTAssertEqual(state.throttle(source: "203.0.113.5", now: 110, policy: policy, recoveryCode: false), .throttled(retryAfter: 20))
        XCTAssertEqual(state.throttle(source: "203.0.113.5", now: 130, policy: policy, recoveryCode: false), .allowed)
        XCTAssertEqual(state.throttle(source: "198.51.100.1", now: 110, policy: policy, recoveryCode: false), .allowed)
        state.recordFailure(source: "198.51.100.1", now: 110)
        XCTAssertEqual(state.throttle(source: "192.0.2.1", now: 110, policy: policy, recoveryCode: false), .locked)
        XCTAssertEqual(state.throttle(source: "192.0.2.1", now: 110, policy: policy, recoveryCode: true), .allowed)
        state.recordSuccess(source: "192.0.2.1")
        XCTAssertEqual(state.failures, 0)
        XCTAssertEqual(state.throttle(source: "203.0.113.5", now: 110, policy: policy, recoveryCode: false), .throttled(retryAfter: 20))
        XCTAssertEqual(try UserState.parse(state.serialized()), state)
    }

    func testSourceKeysCannotInjectLines() {
        XCTAssertEqual(throttleSource(nil), "-")
        XCTAssertEqual(throttleSource("::ffff:10.1.2.3"), "10.1.2.3")
        XCTAssertEqual(throttleSource("a b\nend"), "host:a%20b%0Aend")
    }
}

/// The fuzzers' seeds and any input a fuzzer once crashed on (Fuzz/corpus, Fuzz/regressions), run
/// through every parser on every test run.
final class FuzzRegressionTests: XCTestCase {
    func testEveryCorpusFileParsesOrIsRefusedAndRoundTrips() throws {
        let root = String(#filePath.dropLast("Tests/TOTPCoreTests/PolicyTests.swift".count)) + "Fuzz/"
        var count = 0
        for directory in ["corpus", "regressions"] {
            for target in ["enrollment", "state", "options", "base32", "input"] {
                guard let listing = opendir(root + directory + "/" + target) else { continue }
                defer { closedir(listing) }
                while let entry = readdir(listing) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    guard !name.hasPrefix("."), let file = fopen(root + directory + "/" + target + "/" + name, "rb") else { continue }
                    var bytes: [UInt8] = []
                    var c = fgetc(file)
                    while c != EOF { bytes.append(UInt8(c)); c = fgetc(file) }
                    fclose(file)
                    count += 1
                    if let e = try? Enrollment.parse(bytes) { XCTAssertEqual(try Enrollment.parse(e.serialized()), e, name) }
                    if let s = try? UserState.parse(bytes) { XCTAssertEqual(try UserState.parse(s.serialized()), s, name) }
                    _ = try? ModuleOptions.configArguments(bytes)
                    _ = try? GoogleAuthenticatorFile.parse(bytes)
                    let text = String(decoding: bytes, as: UTF8.self)
                    _ = try? TrustedNetworks.parse(text, isFile: true)
                    if let d = try? Base32.decode(text) { XCTAssertEqual(try Base32.decode(Base32.encode(d)), d) }
                    _ = CodeInput.classify(Secret(bytes), digits: 6)
                    _ = CombinedInput.split(Secret(bytes), digits: 6)
                }
            }
        }
        XCTAssertGreaterThan(count, 5)
    }
}

/// Issue 13, durability: which state changes a write must fsync (docs/DESIGN.md, "Durability").
final class DurabilityTests: XCTestCase {
    func testOnlyWhatWouldLetACodeWorkAgainMustOutliveACrash() {
        let old = UserState()
        var totp = old
        totp.lastStep = 42
        totp.recentSteps = [42]
        totp.failures = 3
        totp.devices = []
        XCTAssertFalse(totp.mustOutliveACrash(comparedTo: old), "a TOTP step, counters: no fsync")
        var recovery = old
        recovery.usedRecovery = ["0011223344556677"]
        XCTAssertTrue(recovery.mustOutliveACrash(comparedTo: old))
        var hotp = old
        hotp.hotpNext = ("0011223344556677", 5)
        XCTAssertTrue(hotp.mustOutliveACrash(comparedTo: old))
        var next = hotp
        next.hotpNext = ("0011223344556677", 6)
        XCTAssertTrue(next.mustOutliveACrash(comparedTo: hotp))
        var resynchronised = old
        resynchronised.aheadSteps = [7, 8]
        XCTAssertTrue(resynchronised.mustOutliveACrash(comparedTo: old))
        XCTAssertFalse(recovery.mustOutliveACrash(comparedTo: recovery))
    }
}
