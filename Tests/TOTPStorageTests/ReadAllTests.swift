import Glibc
import XCTest

@testable import TOTPStorage

/// `Sys.readAll` reads into a buffer sized from the caller's `fstat`; these check the paths where
/// that size is wrong (the file grew or shrank after `fstat`) and the limit.
final class ReadAllTests: XCTestCase {
    func read(_ text: [UInt8], limit: Int, expectedSize: Int) throws -> [UInt8]? {
        let scratch = Scratch()
        let path = scratch.file("f", String(decoding: text, as: UTF8.self))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return try Sys.readAll(fd, limit: limit, expectedSize: expectedSize).map { $0.withUnsafeBytes { Array($0) } }
    }

    func testReadsWhateverTheExpectedSize() throws {
        let text = (0..<10_000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        for expected in [0, 1, 100, 4096, 9_999, 10_000, 10_001, 70_000] {
            XCTAssertEqual(try read(text, limit: 64 * 1024, expectedSize: expected), text, "expected size \(expected)")
        }
        XCTAssertEqual(try read([], limit: 10, expectedSize: 0), [])
    }

    func testRefusesMoreThanTheLimit() throws {
        let text = [UInt8](repeating: UInt8(ascii: "x"), count: 5_000)
        XCTAssertEqual(try read(text, limit: 5_000, expectedSize: 10), text)
        XCTAssertNil(try read(text, limit: 4_999, expectedSize: 10))
        XCTAssertNil(try read(text, limit: 4_999, expectedSize: 5_000))
    }
}
