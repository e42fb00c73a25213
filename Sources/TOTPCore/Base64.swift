/// RFC 4648 Base64 (standard alphabet), for SSH key blobs and fingerprints.
public enum Base64 {
    // Computed: no heap-allocated globals in the module (see Base32.alphabet).
    private static var alphabet: [UInt8] { Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8) }

    public static func encode(_ bytes: [UInt8], padded: Bool = true) -> String {
        let alphabet = Self.alphabet
        var out = regroupBits(bytes, from: 8, to: 6, keepPartial: true).map { alphabet[Int($0)] }
        if padded {
            while out.count % 4 != 0 { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: Substring) -> [UInt8]? {
        let alphabet = Self.alphabet
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1, padding <= 2 else { return nil }
        return regroupBits(values, from: 6, to: 8, keepPartial: false)
    }
}
