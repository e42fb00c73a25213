/// Lower-case hexadecimal.
public enum Hex {
    // Computed: no heap-allocated globals in the module (see Base32.alphabet).
    private static var digits: [UInt8] { Array("0123456789abcdef".utf8) }

    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Self.digits
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lower-case hex of exactly `length` bytes, or nil.
    public static func decode(_ text: Substring, length: Int) -> [UInt8]? { decode(utf8: text.utf8, length: length) }

    /// `decode(_:length:)` of UTF-8 bytes (a value in a file, without making a String of it).
    public static func decode<Bytes: Collection<UInt8>>(utf8: Bytes, length: Int) -> [UInt8]? {
        guard utf8.count == length * 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        var high: UInt8?
        for c in utf8 {
            guard let nibble = value(c) else { return nil }
            if let first = high {
                out.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
