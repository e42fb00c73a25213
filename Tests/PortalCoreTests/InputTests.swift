import PortalCore
import XCTest

final class InputTests: XCTestCase {
    func failure<T>(_ result: Result<T, Message>) -> MessageKey? {
        if case .failure(let message) = result { return message.key }
        return nil
    }

    func testAccountWithAConfiguredDomain() {
        let domains = ["example.ac.jp"]
        XCTAssertEqual(try Input.account("taro", domains: domains).get(), "taro")
        XCTAssertEqual(try Input.account("  taro.yamada \t", domains: domains).get(), "taro.yamada")
        XCTAssertEqual(try Input.account("taro@example.ac.jp", domains: domains).get(), "taro")
        XCTAssertEqual(try Input.account("taro@EXAMPLE.AC.JP", domains: domains).get(), "taro")
        XCTAssertEqual(failure(Input.account("taro@example.com", domains: domains)), .errAccountDomain)
        XCTAssertEqual(failure(Input.account("taro@mail.example.ac.jp", domains: domains)), .errAccountDomain)
        XCTAssertEqual(failure(Input.account("taro@example.ac.jp", domains: [])), .errAccountDomain)
        XCTAssertEqual(failure(Input.account("@example.ac.jp", domains: domains)), .errAccountEmpty)
        XCTAssertEqual(failure(Input.account("a@b@example.ac.jp", domains: domains)), .errAccountDomain)
    }

    func testAccountRefusesUnsafeNames() {
        XCTAssertEqual(failure(Input.account("", domains: [])), .errAccountEmpty)
        XCTAssertEqual(failure(Input.account("   ", domains: [])), .errAccountEmpty)
        XCTAssertEqual(failure(Input.account(String(repeating: "a", count: 300), domains: [])), .errAccountTooLong)
        for bad in [
            "-root", ".hidden", "a b", "a/b", "../etc", "root\u{0}", "a\nb", "tarō", "a;b", "$(id)", "1000",
            String(repeating: "a", count: 65),
            "a\u{85}b", "a\u{7f}",
        ] {
            XCTAssertEqual(failure(Input.account(bad, domains: [])), .errAccountCharacters, bad)
        }
        XCTAssertTrue(Input.isSafeUserName("a1000"))
        XCTAssertTrue(Input.isSafeUserName("taro_y-2.x"))
    }

    func testPassword() {
        XCTAssertEqual(try Input.password(" pass word ").get(), " pass word ")
        XCTAssertEqual(try Input.password("パスワード").get(), "パスワード")
        XCTAssertEqual(failure(Input.password("")), .errPasswordEmpty)
        XCTAssertEqual(failure(Input.password(String(repeating: "x", count: 1025))), .errPasswordTooLong)
        XCTAssertEqual(failure(Input.password("a\u{0}b")), .errPasswordCharacters)
        XCTAssertEqual(failure(Input.password("a\r\nb")), .errPasswordCharacters)
    }

    func testCodes() {
        XCTAssertEqual(try Input.code(" 123 456 ").get(), "123456")
        XCTAssertEqual(try Input.code("12345678").get(), "12345678")
        XCTAssertEqual(failure(Input.code("")), .errCodeEmpty)
        XCTAssertEqual(failure(Input.code("12345")), .errCodeDigits)
        XCTAssertEqual(failure(Input.code("１２３４５６")), .errCodeDigits)
        XCTAssertEqual(failure(Input.code("kf7q-m2xd-9pwa")), .errCodeDigits)
        XCTAssertEqual(failure(Input.code(String(repeating: "1", count: 100))), .errCodeDigits)

        XCTAssertEqual(try Input.codeOrRecovery(" kf7q-m2xd-9pwa ").get(), "kf7q-m2xd-9pwa")
        XCTAssertEqual(try Input.codeOrRecovery("123456").get(), "123456")
        XCTAssertEqual(failure(Input.codeOrRecovery("  ")), .errCodeEmpty)
        XCTAssertEqual(failure(Input.codeOrRecovery("12345\u{0}")), .errCodeFormat)
        XCTAssertEqual(failure(Input.codeOrRecovery("<script>")), .errCodeFormat)
        XCTAssertEqual(failure(Input.codeOrRecovery(String(repeating: "a", count: 65))), .errCodeFormat)
    }

    func testDevice() {
        XCTAssertEqual(Input.device("address:192.0.2.7"), "address:192.0.2.7")
        XCTAssertEqual(Input.device("key:SHA256:abc+/"), "key:SHA256:abc+/")
        XCTAssertNil(Input.device("192.0.2.7"))
        XCTAssertNil(Input.device("address:1 2"))
        XCTAssertNil(Input.device(""))
        XCTAssertNil(Input.device("address:" + String(repeating: "1", count: 200)))
    }
}
