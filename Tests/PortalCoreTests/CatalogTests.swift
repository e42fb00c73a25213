import XCTest

@testable import PortalCore

final class CatalogTests: XCTestCase {
    func testBothLanguagesHaveExactlyTheSameKeys() {
        XCTAssertEqual(Set(Catalog.english.map(\.0)), Set(Catalog.japanese.map(\.0)))
        XCTAssertEqual(Catalog.english.count, Set(Catalog.english.map(\.0)).count, "a key is repeated in English")
        XCTAssertEqual(Catalog.japanese.count, Set(Catalog.japanese.map(\.0)).count, "a key is repeated in Japanese")
    }

    func testEveryKeySwiftNamesExists() {
        for key in MessageKey.allCases {
            XCTAssertNotNil(Catalog.table(.en)[key.rawValue], key.rawValue)
            XCTAssertNotNil(Catalog.table(.ja)[key.rawValue], key.rawValue)
        }
    }

    func testPlaceholdersMatch() {
        for (key, english) in Catalog.englishTable {
            XCTAssertEqual(placeholders(english), placeholders(Catalog.japaneseTable[key] ?? ""), key)
        }
    }

    func testJapaneseIsTranslated() {
        let same: Set = ["lang_en", "lang_ja"]
        for (key, english) in Catalog.englishTable where !same.contains(key) {
            let japanese = Catalog.japaneseTable[key] ?? ""
            XCTAssertFalse(japanese.isEmpty, key)
            XCTAssertFalse(english.isEmpty, key)
            XCTAssertNotEqual(japanese, english, key)
            XCTAssertTrue(japanese.unicodeScalars.contains { $0.value >= 0x3000 }, "\(key) has no Japanese text")
        }
    }

    func testTheWordsOfTheGuides() {
        XCTAssertEqual(Catalog.text("err_mismatch", .en), "The verification code does not match.")
        XCTAssertTrue(Catalog.text("err_mismatch", .ja).contains("確認コード"))
        XCTAssertTrue(Catalog.text("recovery_title", .ja).contains("リカバリーコード"))
        XCTAssertTrue(Catalog.text("app_title", .ja).contains("二段階認証"))
        XCTAssertTrue(Catalog.text("remember_hint", .en).contains("Choose No if this device is not your own"))
        XCTAssertEqual(Catalog.text("no_such_key", .ja), "no_such_key")
    }

    func testFill() {
        XCTAssertEqual(Message(.noteThrottled, ["seconds": "30"]).text(in: .en), "Too many wrong codes from here. Try again in 30 seconds.")
        XCTAssertEqual(Message(.noteThrottled, ["seconds": "30"]).text(in: .ja), "この接続元からの確認コードの誤りが多すぎます。30秒後にもう一度お試しください。")
        XCTAssertEqual(Message.fill("{a}{b} {c} {", ["a": "{b}", "b": "x"]), "{b}x {c} {")
        XCTAssertEqual(Message.fill("}{a", ["a": "1"]), "}{a")
    }

    func placeholders(_ text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names.sorted()
    }
}
