internal import TOTPCrypto

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

    // Computed, not stored: the module keeps no heap-allocated global, which would be allocated anew
    // by every load of the module and lost when libpam unloads it (docs/DESIGN.md).
    private static var alphabet: [UInt8] { Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8) }

    /// Encodes `bytes` in upper case; with `padded`, adds "=" to a multiple of 8 characters.
    public static func encode(_ bytes: [UInt8], padded: Bool = false) -> String {
        let alphabet = Self.alphabet
        var out = regroupBits(bytes, from: 8, to: 5, keepPartial: true).map { alphabet[Int($0)] }
        if padded {
            while out.count % 8 != 0 { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The Base32 text of a secret (to show or store it).
    public static func encode(_ secret: Secret) -> String {
        let alphabet = Self.alphabet
        var out: [UInt8] = []
        secret.withUnsafeBytes { bytes in
            regroupBits(bytes, from: 8, to: 5, keepPartial: true) { out.append(alphabet[Int($0)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes Base32, accepting lower case, spaces, dashes and missing or present padding.
    /// - Throws: `DecodeError` naming the position of the first character that is none of those.
    public static func decode(_ text: String) throws(DecodeError) -> Secret {
        try decode(utf8: text.utf8)
    }

    /// `decode(_:)` of the UTF-8 bytes `utf8`, for text that must never become a String (a secret
    /// read from a file). The symbols' values are held in a `Secret` too.
    public static func decode<Bytes: Collection<UInt8>>(utf8: Bytes) throws(DecodeError) -> Secret {
        var problem: DecodeError?
        var count = 0
        let values = Secret(count: utf8.count) { values in
            var sawPadding = false
            var position = 0
            for byte in utf8 {
                // Positions count characters: a UTF-8 continuation byte is part of the one before. Any
                // byte that is not ASCII is refused, so only the first one of a character is ever reported.
                if byte & 0xC0 != 0x80 { position += 1 }
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "\t"):
                    continue
                case UInt8(ascii: "="):
                    sawPadding = true
                    continue
                default:
                    break
                }
                // Data after padding is not something a person pasted by accident; refuse it.
                guard !sawPadding, let value = symbolValue(byte) else {
                    problem = .invalidCharacter(position: position)
                    return
                }
                values[count] = value
                count += 1
            }
        }
        if let problem { throw problem }
        switch count % 8 {
        case 0, 2, 4, 5, 7: break
        default: throw .invalidLength(symbols: count)
        }
        return Secret(count: count * 5 / 8) { out in
            var index = 0
            values.withUnsafeBytes { values in
                regroupBits(values.prefix(count), from: 5, to: 8, keepPartial: false) {
                    out[index] = $0
                    index += 1
                }
            }
        }
    }

    private static func symbolValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: return byte - 0x41  // A-Z
        case 0x61...0x7A: return byte - 0x61  // a-z
        case 0x32...0x37: return byte - 0x32 + 26  // 2-7
        default: return nil
        }
    }
}

/// RFC 4648's bit order, shared by Base32 and Base64: reads `values` as a stream of `inWidth`-bit
/// groups, most significant bit first, and cuts it into `outWidth`-bit groups, which it hands to
/// `emit`. Bits left over at the end make one more group, zero-padded on the right, with
/// `keepPartial` (encoding); otherwise they are dropped (decoding, where they are the padding).
/// Widths are 5, 6 or 8.
func regroupBits<Values: Sequence<UInt8>>(
    _ values: Values, from inWidth: Int, to outWidth: Int, keepPartial: Bool, emit: (UInt8) -> Void
) {
    let mask: UInt32 = (1 << UInt32(outWidth)) - 1
    var buffer: UInt32 = 0
    defer { buffer = 0 }
    var bits = 0
    for value in values {
        buffer = (buffer << UInt32(inWidth)) | UInt32(value)
        bits += inWidth
        while bits >= outWidth {
            bits -= outWidth
            emit(UInt8(truncatingIfNeeded: (buffer >> UInt32(bits)) & mask))
        }
        // Only the bits not yet emitted stay, so the buffer never overflows.
        buffer &= (1 << UInt32(bits)) - 1
    }
    if keepPartial && bits > 0 { emit(UInt8(truncatingIfNeeded: (buffer << UInt32(outWidth - bits)) & mask)) }
}

/// `regroupBits` into an array.
func regroupBits(_ values: [UInt8], from inWidth: Int, to outWidth: Int, keepPartial: Bool) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(values.count * inWidth / outWidth + 1)
    regroupBits(values, from: inWidth, to: outWidth, keepPartial: keepPartial) { out.append($0) }
    return out
}
