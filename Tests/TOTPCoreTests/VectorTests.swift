import TOTPCore
import XCTest

/// Published test vectors, copied from ../shared/vectors/ with their sources.
final class VectorTests: XCTestCase {
    // RFC 4226, Appendix D: secret "12345678901234567890", HMAC-SHA-1, 6 digits.
    static let hotpVectors: [(UInt64, String)] = [
        (0, "755224"), (1, "287082"), (2, "359152"), (3, "969429"), (4, "338314"),
        (5, "254676"), (6, "287922"), (7, "162583"), (8, "399871"), (9, "520489"),
    ]

    // RFC 6238, Appendix B: T0 = 0, X = 30 s, 8 digits; seeds are the ASCII strings below.
    static let totpVectors: [(Int64, String, String, String)] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ]
    static let sha1Seed = Array("12345678901234567890".utf8)
    static let sha256Seed = Array("12345678901234567890123456789012".utf8)
    static let sha512Seed = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)

    // RFC 4648, section 10.
    static let base32Vectors: [(String, String)] = [
        ("", ""), ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======"),
    ]

    func testHOTPMatchesRFC4226AppendixD() throws {
        for (counter, expected) in Self.hotpVectors {
            let code = OTP.hotp(secret: Secret(Self.sha1Seed), counter: counter, algorithm: .sha1, digits: 6)
            XCTAssertEqual(code.text, expected, "counter \(counter)")
        }
    }

    func testTOTPMatchesRFC6238AppendixB() throws {
        for (time, sha1, sha256, sha512) in Self.totpVectors {
            for (algorithm, seed, expected) in [
                (HashAlgorithm.sha1, Self.sha1Seed, sha1), (.sha256, Self.sha256Seed, sha256), (.sha512, Self.sha512Seed, sha512),
            ] {
                let code = OTP.totp(secret: Secret(seed), at: time, parameters: OTPParameters(algorithm: algorithm, digits: 8, period: 30))
                XCTAssertEqual(code.text, expected, "\(algorithm) at \(time)")
            }
        }
    }

    func testSevenDigitsAreTheLastSevenOfEight() throws {
        // Truncation is modulo 10^digits, so the 7-digit code is the 8-digit one without its first digit.
        for (time, sha1, _, _) in Self.totpVectors {
            let code = OTP.totp(secret: Secret(Self.sha1Seed), at: time, parameters: OTPParameters(algorithm: .sha1, digits: 7, period: 30))
            XCTAssertEqual(code.text, String(sha1.dropFirst()))
        }
    }

    func testBase32MatchesRFC4648Section10() throws {
        for (plain, encoded) in Self.base32Vectors {
            XCTAssertEqual(Base32.encode(Array(plain.utf8), padded: true), encoded)
            XCTAssertEqual(Base32.encode(Array(plain.utf8)), String(encoded.filter { $0 != "=" }))
            XCTAssertEqual(try Base32.decode(encoded), Secret(Array(plain.utf8)))
            XCTAssertEqual(try Base32.decode(String(encoded.filter { $0 != "=" })), Secret(Array(plain.utf8)))
        }
    }
}
