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
        var out = regroupBits(bytes, from: 8, to: 5, keepPartial: true).map { alphabet[Int($0)] }
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
        let out = regroupBits(values, from: 5, to: 8, keepPartial: false)
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

/// RFC 4648's bit order, shared by Base32 and Base64: reads `values` as a stream of `inWidth`-bit
/// groups, most significant bit first, and cuts it into `outWidth`-bit groups. Bits left over at the
/// end make one more group, zero-padded on the right, with `keepPartial` (encoding); otherwise they
/// are dropped (decoding, where they are the padding). Widths are 5, 6 or 8.
func regroupBits(_ values: [UInt8], from inWidth: Int, to outWidth: Int, keepPartial: Bool) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(values.count * inWidth / outWidth + 1)
    let mask: UInt32 = (1 << UInt32(outWidth)) - 1
    var buffer: UInt32 = 0
    var bits = 0
    for value in values {
        buffer = (buffer << UInt32(inWidth)) | UInt32(value)
        bits += inWidth
        while bits >= outWidth {
            bits -= outWidth
            out.append(UInt8(truncatingIfNeeded: (buffer >> UInt32(bits)) & mask))
        }
        // Only the bits not yet emitted stay, so the buffer never overflows.
        buffer &= (1 << UInt32(bits)) - 1
    }
    if keepPartial && bits > 0 { out.append(UInt8(truncatingIfNeeded: (buffer << UInt32(outWidth - bits)) & mask)) }
    return out
}
