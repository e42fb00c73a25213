/// Calendar dates as days since 1970-01-01, for `nullok_until=`.
public enum CivilDate {
    /// `2027-01-31` → days since the epoch; nil unless it is a real date written as YYYY-MM-DD.
    public static func days(_ text: Substring) -> Int64? {
        guard text.utf8.count == 10, let seconds = UTCTimestamp.parse(Substring(text + "T00:00:00Z")) else { return nil }
        return seconds / 86_400
    }

    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 { UTCTimestamp.days(fromCivil: year, month, day) }
}
