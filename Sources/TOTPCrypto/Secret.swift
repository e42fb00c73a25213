internal import CTOTPSystem

/// Bytes that must not outlive their use: an OTP key, what a user typed (a code, a recovery code, a
/// password), a code computed to compare with it, a file or key that holds such bytes.
///
/// The bytes live in one buffer that the API lends rather than hands out, and the buffer zeroes itself
/// (`explicit_bzero`) when the last reference goes, on every path, including a thrown error or an
/// early return: no caller places a cleanse call. It is a class rather than a `~Copyable` struct on
/// purpose: the values that hold a secret (an `Enrollment`, a `CodeInput`) are copied and compared by
/// the decision code and its tests, which a non-copyable member would forbid (Swift's `Equatable`
/// requires copyable types); copies of such a value share this one buffer instead of duplicating it.
public final class Secret: Equatable, @unchecked Sendable {
    /// At least one byte, so that even an empty secret has an address.
    private let storage: UnsafeMutableRawBufferPointer
    public let count: Int

    /// `count` bytes, zero until `fill` writes them in place.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void = { _ in }) {
        let count = max(count, 0)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        self.count = count
        fill(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { $0.copyMemory(from: bytes) }
    }

    /// A copy of `bytes`; for bytes that are no secret yet (a literal, a test vector).
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
    }

    /// Takes over the bytes of an array that a C or standard-library API returned, zeroing the array.
    public convenience init(taking bytes: inout [UInt8]) {
        self.init(bytes)
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
    }

    deinit {
        if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
        storage.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// Lends the bytes to `body`, which must not keep or copy them.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Lends the bytes to `body` to write in place (a `read(2)` into the buffer).
    public func withUnsafeMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result {
        body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Lends a temporary array of the bytes to `body`, for a parser that takes an array, and zeroes
    /// that array's storage when `body` returns, in place, even if `body` kept a reference to it.
    public func withBytesArray<Result, Failure: Error>(_ body: ([UInt8]) throws(Failure) -> Result) throws(Failure) -> Result {
        let bytes = withUnsafeBytes { Array($0) }
        defer {
            bytes.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { explicit_bzero(UnsafeMutableRawPointer(mutating: base), buffer.count) }
            }
        }
        return try body(bytes)
    }

    /// The bytes in `range` (clamped to the secret) as a secret of their own.
    public func slice(_ range: Range<Int>) -> Secret {
        let low = min(max(range.lowerBound, 0), count)
        let high = min(max(range.upperBound, low), count)
        return Secret(count: high - low) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[low..<high])) }
    }

    /// The bytes that `keep` accepts, in order, as a secret of their own.
    public func filter(_ keep: (UInt8) -> Bool) -> Secret {
        var kept = 0
        let all = Secret(count: count) { target in
            for byte in UnsafeRawBufferPointer(rebasing: storage[0..<count]) where keep(byte) {
                target[kept] = byte
                kept += 1
            }
        }
        return all.slice(0..<kept)
    }

    /// Whether every byte satisfies `predicate`.
    public func allSatisfy(_ predicate: (UInt8) -> Bool) -> Bool { withUnsafeBytes { $0.allSatisfy(predicate) } }

    /// Equal in time that depends only on the lengths.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count { difference |= a[index] ^ b[index] }
    return difference == 0
}
