import TOTPCrypto

// Test vectors written as text or byte lists, where the API takes a `Secret`.
extension Secret: ExpressibleByArrayLiteral {
    public convenience init(arrayLiteral elements: UInt8...) { self.init(elements) }
}

extension Secret {
    convenience init(_ text: String) { self.init(Array(text.utf8)) }
}

extension Secret {
    /// The bytes as text, to compare a computed code with a vector.
    var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
