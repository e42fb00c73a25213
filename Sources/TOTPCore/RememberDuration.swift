/// How long a remembered device is remembered: `30d`, `12h`, `90m`, `2w`, or seconds.
public enum RememberDuration {
    public static let range: ClosedRange<Int64> = 60...(400 * 86_400)

    public static func parse(_ text: Substring) -> Int64? {
        guard let unit = text.last else { return nil }
        let multiplier: Int64
        var digits = text.dropLast()
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        case "w": multiplier = 604_800
        case "0"..."9":
            // A bare number is seconds; any other last character is an unknown unit.
            multiplier = 1
            digits = text
        default: return nil
        }
        guard let value = LineFormat.decimal(digits), value <= 1_000_000_000 else { return nil }
        let seconds = Int64(value) * multiplier
        return range.contains(seconds) ? seconds : nil
    }

    /// `2592000` → `30 days`, `43200` → `12 hours`.
    public static func describe(_ seconds: Int64) -> String {
        func plural(_ n: Int64, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if seconds % 86_400 == 0 { return plural(seconds / 86_400, "day") }
        if seconds % 3600 == 0 { return plural(seconds / 3600, "hour") }
        if seconds % 60 == 0 { return plural(seconds / 60, "minute") }
        return plural(seconds, "second")
    }
}
