import PortalCore
import XCTest

final class PendingMessagesTests: XCTestCase {
    func testTheNewestFewWithoutDuplicates() {
        var list = PendingMessages()
        XCTAssertTrue(list.isEmpty)
        for _ in 0..<3000 { list.add(Message(.errAccountCharacters)) }
        XCTAssertEqual(list.items, [Message(.errAccountCharacters)], "the same error a thousand times is shown once")
        list.add(Message(.errCSRF))
        list += [Message(.noteThrottled, ["seconds": "30"]), Message(.noteThrottled, ["seconds": "20"])]
        XCTAssertEqual(
            list.items, [Message(.errCSRF), Message(.noteThrottled, ["seconds": "30"]), Message(.noteThrottled, ["seconds": "20"])],
            "at most three, the oldest dropped; other values are another message")
        list.add(Message(.errCSRF))
        XCTAssertEqual(list.items.last, Message(.errCSRF), "a repeated message moves up")
        XCTAssertEqual(list.items.count, 3)
        XCTAssertEqual(list.take().count, 3)
        XCTAssertTrue(list.isEmpty)
        XCTAssertEqual(list.take(), [])
    }
}
