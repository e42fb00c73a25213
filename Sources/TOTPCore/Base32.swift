/// Base32 as defined by RFC 4648, section 6, tolerant of the ways people paste TOTP secrets.
public enum Base32 {
    /// Why a string is not Base32. Positions count characters from 1 and never echo the character,
    /// since the text may be a secret.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case invalidCharacter(position: Int)
        case invalidLength(symbols: Int)

        public var description: String {
            switch self {
            case .invalidCharacter(let position): return "invalid Base32 character at position \(position)"
            case .invalidLength(let symbols): return "\(symbols) Base32 characters cannot encode whole bytes"
            }
        }
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// Encodes `bytes` in upper case; with `padded`, adds "=" to a multiple of 8 characters.
    public static func encode(_ bytes: [UInt8], padded: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5 + 8)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)])
        }
        if padded {
            while out.count % 8 != 0 { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes Base32, accepting lower case, spaces, dashes and missing or present padding.
    /// - Throws: `DecodeError` naming the position of the first character that is none of those.
    public static func decode(_ text: String) throws(DecodeError) -> [UInt8] {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var sawPadding = false
        var position = 0
        for scalar in text.unicodeScalars {
            position += 1
            switch scalar {
            case " ", "-", "\t":
                continue
            case "=":
                sawPadding = true
                continue
            default:
                break
            }
            // Data after padding is not something a person pasted by accident; refuse it.
            guard !sawPadding, let value = symbolValue(scalar) else {
                throw .invalidCharacter(position: position)
            }
            values.append(value)
        }
        switch values.count % 8 {
        case 0, 2, 4, 5, 7: break
        default: throw .invalidLength(symbols: values.count)
        }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for value in values {
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits - 8)))
                bits -= 8
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        for index in values.indices { values[index] = 0 }
        return out
    }

    private static func symbolValue(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x41...0x5A: return UInt8(scalar.value - 0x41)  // A-Z
        case 0x61...0x7A: return UInt8(scalar.value - 0x61)  // a-z
        case 0x32...0x37: return UInt8(scalar.value - 0x32 + 26)  // 2-7
        default: return nil
        }
    }
}
