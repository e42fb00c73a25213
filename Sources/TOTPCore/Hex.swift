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
    public static func decode(_ text: Substring, length: Int) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == length * 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
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
