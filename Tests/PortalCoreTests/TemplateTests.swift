import PortalCore
import XCTest

/// The templates of web/templates use only texts the catalog has, in both languages.
final class TemplateTests: XCTestCase {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("web/templates")

    func templateTexts() throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.templates.path).filter { $0.hasSuffix(".mustache") }
        XCTAssertGreaterThanOrEqual(names.count, 10, "web/templates is missing")
        var texts: [String: String] = [:]
        for name in names {
            texts[name] = try String(contentsOf: Self.templates.appendingPathComponent(name), encoding: .utf8)
        }
        return texts
    }

    func testEveryCatalogKeyATemplateUsesExists() throws {
        var used = 0
        for (name, text) in try templateTexts() {
            for key in keys(in: text) {
                used += 1
                XCTAssertNotNil(Catalog.table(.en)[key], "\(name): t.\(key) is not in the English catalog")
                XCTAssertNotNil(Catalog.table(.ja)[key], "\(name): t.\(key) is not in the Japanese catalog")
            }
        }
        XCTAssertGreaterThan(used, 50)
    }

    /// No triple braces or `{{&`: everything a template shows is HTML-escaped. No inline style or
    /// script either: the Content-Security-Policy allows neither.
    func testTemplatesEscapeEverythingAndHaveNoInlineStyleOrScript() throws {
        for (name, text) in try templateTexts() {
            XCTAssertFalse(text.contains("{{{"), name)
            XCTAssertFalse(text.contains("{{&"), name)
            XCTAssertFalse(text.contains("style="), name)
            XCTAssertFalse(text.contains("<style"), name)
            XCTAssertFalse(text.contains(" on") && text.range(of: #" on[a-z]+="#, options: .regularExpression) != nil, name)
            for script in text.components(separatedBy: "<script").dropFirst() {
                XCTAssertTrue(script.hasPrefix(" src=\"/static/"), "\(name): inline script")
            }
        }
    }

    /// The element ids docs/PORTAL.md promises to the browser tests.
    func testTheContractsIdsAreThere() throws {
        let all = try templateTexts().values.joined(separator: "\n")
        for id in [
            "login", "lost-phone", "code-form", "contact", "begin-setup", "qr", "secret", "issuer", "account", "next", "verify-form",
            "verify",
            "recovery-codes", "recovery-text", "download", "remember-form", "continue", "new-codes", "delete", "devices", "logout",
            "status",
            "authenticator", "error", "notice", "lang-en", "lang-ja",
        ] {
            XCTAssertTrue(all.contains("id=\"\(id)\""), "id \(id) is missing")
        }
        XCTAssertTrue(all.contains("class=\"recovery-code\""))
        XCTAssertTrue(all.contains("<html lang=\"{{lang}}\">"))
    }

    func keys(in text: String) -> [String] {
        var keys: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{t.") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            keys.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return keys
    }
}
