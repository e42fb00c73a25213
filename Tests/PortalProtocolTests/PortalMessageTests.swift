import PortalProtocol
import XCTest

final class PortalMessageTests: XCTestCase {
    func testRoundTripsEveryByteOfAValue() throws {
        let hostile = "p a%s=s\nw\r\u{0}ö日本💥&<>\"'"
        let message = PortalMessage("LOGIN", [("user", "alice"), ("password", hostile), ("empty", "")])
        let line = message.encoded()
        XCTAssertFalse(line.contains("\n") || line.contains("\r") || line.contains("\u{0}"))
        XCTAssertEqual(line.split(separator: " ").count, 4)
        let decoded = try PortalMessage.decode(Substring(line))
        XCTAssertEqual(decoded, message)
        XCTAssertEqual(decoded["password"], hostile)
        XCTAssertEqual(decoded["empty"], "")
        XCTAssertNil(decoded["missing"])
    }

    func testPlainBytesStayReadable() {
        XCTAssertEqual(
            PortalMessage("OK", [("uri", "otpauth://totp/A:b@c?x=1")]).encoded(), "OK uri=otpauth://totp/A:b@c%3Fx%3D1")
    }

    func testRefusesWhatEncodedNeverWrites() {
        let bad: [(String, PortalProtocolError)] = [
            ("", .badVerb), ("login", .badVerb), ("OK  a=b", .badField), ("OK a", .badField), ("OK =b", .badField),
            ("OK A=b", .badField), ("OK a=b a=c", .duplicateKey), ("OK a=%4", .badEscape), ("OK a=%zz", .badEscape),
            ("OK a=%41", .badEscape), ("OK a=%e6", .badEscape), ("OK a=b c", .badField), ("OK a=?", .badField),
            ("OK a=%FF", .notUTF8), ("OK a=b ", .badField),
        ]
        for (line, expected) in bad {
            XCTAssertThrowsError(try PortalMessage.decode(Substring(line)), line) { error in
                XCTAssertEqual(error as? PortalProtocolError, expected, line)
            }
        }
        XCTAssertThrowsError(try PortalMessage.decode(Substring("OK a=" + String(repeating: "x", count: PortalMessage.maxLineLength))))
    }
}
