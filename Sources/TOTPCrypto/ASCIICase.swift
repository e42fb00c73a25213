extension String {
    /// The string with its ASCII letters in lower case and every other byte as it is. For matching
    /// ASCII keywords (`yes`, `password`, `SHA1`): Unicode's case mapping (`lowercased()`) would
    /// bring its tables, about 17 kB, into the module, and would let non-ASCII letters match ASCII
    /// ones (`ſ` upper-cases to `S`).
    public var asciiLowercased: String { mapASCII(from: 0x41...0x5A, offset: 0x20) }

    /// The string with its ASCII letters in upper case (`asciiLowercased`).
    public var asciiUppercased: String { mapASCII(from: 0x61...0x7A, offset: -0x20) }

    private func mapASCII(from letters: ClosedRange<UInt8>, offset: Int) -> String {
        String(decoding: utf8.map { letters.contains($0) ? UInt8(Int($0) + offset) : $0 }, as: UTF8.self)
    }
}
