import Glibc
import TOTPCrypto
import XCTest

/// The Swift SHA-1/SHA-256/SHA-512 and HMAC (TOTPCrypto/SHA.swift) against published vectors and
/// against libcrypto. (The RFC 4226 and RFC 6238 vectors in VectorTests exercise them too.)
final class DigestTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
    private func hex(_ secret: Secret) -> String { secret.withUnsafeBytes { hex(Array($0)) } }
    private func hmacHex(_ algorithm: HashAlgorithm, _ key: [UInt8], _ message: String) -> String {
        hex(Crypto.hmac(algorithm, key: Secret(key), message: Array(message.utf8)))
    }

    // NIST's examples for FIPS 180-4 (SHA-1, SHA-256: "abc" and the 448-bit message; SHA-512: "abc"
    // and the 896-bit message), the empty message, and a million "a" (FIPS 180-2, appendices A.3/B.3).
    func testSHA256AndFriendsMatchTheFIPSExamples() {
        let two56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        let two112 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let cases: [(HashAlgorithm, [UInt8], String)] = [
            (.sha1, Array("abc".utf8), "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (.sha1, Array(two56.utf8), "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
            (.sha1, [], "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (.sha1, million, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
            (.sha256, Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (.sha256, Array(two56.utf8), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (.sha256, [], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (.sha256, million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
            (
                .sha512, Array("abc".utf8),
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            ),
            (
                .sha512, Array(two112.utf8),
                "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
            ),
        ]
        for (algorithm, message, expected) in cases {
            XCTAssertEqual(hex(Crypto.digest(algorithm, message)), expected, "\(algorithm), \(message.count) bytes")
        }
        XCTAssertEqual(Crypto.sha256(Array("abc".utf8)), Crypto.digest(.sha256, Array("abc".utf8)))
    }

    // RFC 2202, section 3 (HMAC-SHA-1), test cases 1, 2 and 6; RFC 4231, section 4 (HMAC-SHA-256 and
    // HMAC-SHA-512), test cases 1, 2 and 6. Case 6 has a key longer than a block, hashed first.
    func testHMACMatchesRFC2202AndRFC4231() {
        let long = "Test Using Larger Than Block-Size Key - Hash Key First"
        let jefe = "what do ya want for nothing?"
        let b20 = [UInt8](repeating: 0x0b, count: 20)
        XCTAssertEqual(hmacHex(.sha1, b20, "Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00")
        XCTAssertEqual(hmacHex(.sha1, Array("Jefe".utf8), jefe), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        XCTAssertEqual(hmacHex(.sha1, [UInt8](repeating: 0xaa, count: 80), long), "aa4ae5e15272d00e95705637ce8a3b55ed402112")
        XCTAssertEqual(hmacHex(.sha256, b20, "Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(hmacHex(.sha256, Array("Jefe".utf8), jefe), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(
            hmacHex(.sha256, [UInt8](repeating: 0xaa, count: 131), long), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        )
        XCTAssertEqual(
            hmacHex(.sha512, b20, "Hi There"),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        )
        XCTAssertEqual(
            hmacHex(.sha512, Array("Jefe".utf8), jefe),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
        XCTAssertEqual(
            hmacHex(.sha512, [UInt8](repeating: 0xaa, count: 131), long),
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        )
    }

    /// libcrypto's HMAC() and EVP_sha*(), looked up at run time like the module's own libcrypto use.
    private struct LibCrypto {
        typealias HMACFunction =
            @convention(c) (
                OpaquePointer?, UnsafeRawPointer?, Int32, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UInt8>?,
                UnsafeMutablePointer<UInt32>?
            ) -> UnsafeMutablePointer<UInt8>?
        typealias MDFunction = @convention(c) () -> OpaquePointer?
        let hmac: HMACFunction
        let md: [HashAlgorithm: MDFunction]

        init() throws {
            let handle = try XCTUnwrap(dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL))
            func symbol<T>(_ name: String, as: T.Type) throws -> T { unsafeBitCast(try XCTUnwrap(dlsym(handle, name)), to: T.self) }
            hmac = try symbol("HMAC", as: HMACFunction.self)
            md = [
                .sha1: try symbol("EVP_sha1", as: MDFunction.self), .sha256: try symbol("EVP_sha256", as: MDFunction.self),
                .sha512: try symbol("EVP_sha512", as: MDFunction.self),
            ]
        }

        func hmac(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 64)
            var length: UInt32 = 0
            _ = hmac(md[algorithm]!(), key, Int32(key.count), message, message.count, &out, &length)
            return Array(out.prefix(Int(length)))
        }
    }

    // Every key and message length around the block and padding boundaries (55/56/63/64 bytes for
    // SHA-1 and SHA-256, 111/112/127/128 for SHA-512), with random contents.
    func testHMACAgreesWithLibcrypto() throws {
        let libcrypto = try LibCrypto()
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        for algorithm in HashAlgorithm.allCases {
            for length in Array(0...140) + [200, 255, 256, 257, 1000] {
                let key = random(length)
                let message = random((length * 7) % 300)
                XCTAssertEqual(
                    Crypto.hmac(algorithm, key: Secret(key), message: message),
                    Secret(libcrypto.hmac(algorithm, key: key, message: message)),
                    "\(algorithm): key \(key.count) bytes, message \(message.count) bytes")
                let longMessage = random(length)
                XCTAssertEqual(
                    Crypto.hmac(algorithm, key: Secret(message), message: longMessage),
                    Secret(libcrypto.hmac(algorithm, key: message, message: longMessage)), "\(algorithm): message \(length) bytes")
            }
        }
    }

    // RFC 7914, section 11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1, dkLen = 64. Goes through
    // the libcrypto that CLibCrypto loads on first use.
    func testPBKDF2MatchesRFC7914() throws {
        let derived = try Crypto.pbkdf2SHA256(password: Secret("passwd"), salt: Array("salt".utf8), iterations: 1, length: 64)
        XCTAssertEqual(
            hex(derived),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        )
        XCTAssertEqual(try Crypto.randomBytes(32).count, 32)
        XCTAssertThrowsError(try Crypto.pbkdf2SHA256(password: [], salt: [], iterations: 0, length: 32))
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
