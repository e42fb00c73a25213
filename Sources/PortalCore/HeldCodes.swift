/// Recovery codes just made, held for their page and its download only: "shown once". They go when
/// any other page is shown, and after `lifetimeSeconds` whatever happens.
public struct HeldCodes: Sendable, Equatable {
    /// Ten minutes: time enough to copy, print or download them.
    public static let lifetimeSeconds: Int64 = 600
    /// The templates that show the codes (`/setup/done`, `/recovery-codes`): rendering any other
    /// page drops them.
    public static let pages: Set<String> = ["recovery"]

    public let codes: [String]
    /// When they were made, on the monotonic clock.
    public let since: Int64

    public init(_ codes: [String], now: Int64) {
        self.codes = codes
        since = now
    }

    /// Whether they may still be shown or downloaded at `now`.
    public func isLive(now: Int64) -> Bool {
        guard now >= since else { return false }
        let (age, overflow) = now.subtractingReportingOverflow(since)
        return !overflow && age <= Self.lifetimeSeconds
    }

    /// Whether rendering `template` keeps them.
    public static func survive(rendering template: String) -> Bool {
        pages.contains(template)
    }
}
