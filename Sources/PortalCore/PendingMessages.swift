/// The errors (or notices) a session keeps for its next page: the newest few, none twice, so that
/// requests that never show a page (a script posting forms again and again) cannot pile them up.
public struct PendingMessages: Sendable, Equatable {
    /// The most a page shows at once.
    public static let limit = 3

    public private(set) var items: [Message] = []

    public init() {}

    public var isEmpty: Bool { items.isEmpty }

    /// Adds `message` as the newest; the same message already waiting moves up, and the oldest
    /// beyond `limit` goes.
    public mutating func add(_ message: Message) {
        items.removeAll { $0 == message }
        items.append(message)
        if items.count > Self.limit { items.removeFirst(items.count - Self.limit) }
    }

    public mutating func add(_ messages: [Message]) {
        for message in messages { add(message) }
    }

    /// The messages, oldest first, leaving none.
    public mutating func take() -> [Message] {
        defer { items = [] }
        return items
    }

    public static func += (list: inout PendingMessages, messages: [Message]) {
        list.add(messages)
    }
}
