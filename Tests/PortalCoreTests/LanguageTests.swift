import PortalCore
import XCTest

final class LanguageTests: XCTestCase {
    func testNegotiation() {
        XCTAssertEqual(Language.negotiate(nil), .en)
        XCTAssertEqual(Language.negotiate(""), .en)
        XCTAssertEqual(Language.negotiate("ja"), .ja)
        XCTAssertEqual(Language.negotiate("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7"), .ja)
        XCTAssertEqual(Language.negotiate("en-US,en;q=0.9,ja;q=0.8"), .en)
        XCTAssertEqual(Language.negotiate("fr-FR,fr;q=0.9,ja;q=0.5,en;q=0.4"), .ja)
        XCTAssertEqual(Language.negotiate("en;q=0.5, ja;q=0.8"), .ja)
        XCTAssertEqual(Language.negotiate("ja;q=0, en"), .en)
        XCTAssertEqual(Language.negotiate("ja;q=0.000"), .en)
        XCTAssertEqual(Language.negotiate("JA-jp"), .ja)
        XCTAssertEqual(Language.negotiate("fr, de"), .en)
        XCTAssertEqual(Language.negotiate("*;q=0.1, ja;q=0.2"), .ja)
        XCTAssertEqual(Language.negotiate("ja;q=2, en;q=0.1"), .en, "a malformed q-value drops the item")
        XCTAssertEqual(Language.negotiate("ja;q=1.5"), .en)
        XCTAssertEqual(Language.negotiate("ja;q=abc"), .en)
        XCTAssertEqual(Language.negotiate("en;q=0.8, ja;q=0.8"), .en, "the first wins a tie")
        XCTAssertEqual(Language.negotiate("jav, ja;q=0.1"), .ja, "jav is not ja")
        XCTAssertEqual(Language.negotiate(String(repeating: "ja,", count: 1000)), .en)
        XCTAssertEqual(Language.negotiate(";;;,,,=;q="), .en)
    }

    func testChoice() {
        XCTAssertEqual(Language.choose(query: "ja", cookie: "en", acceptLanguage: "en"), .ja)
        XCTAssertEqual(Language.choose(query: "xx", cookie: "ja", acceptLanguage: "en"), .ja)
        XCTAssertEqual(Language.choose(query: nil, cookie: "EN", acceptLanguage: "ja"), .ja)
        XCTAssertEqual(Language.choose(query: nil, cookie: nil, acceptLanguage: nil), .en)
        XCTAssertNil(Language(code: "JA"))
    }
}
