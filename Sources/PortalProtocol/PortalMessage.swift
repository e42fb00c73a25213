/// One line of the portal's helper protocol (docs/PORTAL.md, "The helper protocol"): a verb and
/// `key=value` fields separated by single spaces, each value percent-encoded, ended by a newline.
///
/// Both ends use this type: pam-totp-web (the unprivileged HTTP process) and `pam-totp-setup
/// web-helper` (root). Decoding is strict: a line that is not exactly what `encoded()` writes is
/// refused, so that neither side guesses at what the other meant.
public struct PortalMessage: Equatable, Sendable {
    /// Upper-case letters and '-': `LOGIN`, `SETUP-BEGIN`, `OK`, `ERR`.
    public var verb: String
    /// In the order written; a key appears at most once.
    public var fields: [Field]

    public struct Field: Equatable, Sendable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The longest line either side reads or writes, newline excluded: room for a QR code image
    /// (base64) and ten recovery codes, and a bound on what a peer can make the other side buffer.
    public static let maxLineLength = 65536

    public init(_ verb: String, _ fields: [(String, String)] = []) {
        self.verb = verb
        self.fields = fields.map { Field($0.0, $0.1) }
    }

    /// The value of `key`, if present.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// The line, without its newline.
    public func encoded() -> String {
        var bytes = Array(verb.utf8)
        for field in fields {
            bytes.append(0x20)
            bytes += field.key.utf8
            bytes.append(UInt8(ascii: "="))
            for byte in field.value.utf8 {
                if Self.isPlain(byte) {
                    bytes.append(byte)
                } else {
                    bytes += [UInt8(ascii: "%"), Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0x0f)]
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses one line (without its newline).
    public static func decode(_ line: Substring) throws(PortalProtocolError) -> PortalMessage {
        let bytes = Array(line.utf8)
        guard bytes.count <= maxLineLength else { throw .tooLong }
        let parts = bytes.split(separator: 0x20, omittingEmptySubsequences: false)
        guard let verb = parts.first, !verb.isEmpty, verb.count <= 32, verb.allSatisfy(isVerbByte) else { throw .badVerb }
        var message = PortalMessage(String(decoding: verb, as: UTF8.self))
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else { throw .badField }
            let key = part[part.startIndex..<equals]
            guard !key.isEmpty, key.count <= 32, key.allSatisfy(isKeyByte) else { throw .badField }
            let keyText = String(decoding: key, as: UTF8.self)
            guard message[keyText] == nil else { throw .duplicateKey }
            var value: [UInt8] = []
            var index = part.index(after: equals)
            while index < part.endIndex {
                let byte = part[index]
                if byte == UInt8(ascii: "%") {
                    guard part.endIndex - index >= 3,
                        let high = hexValue(part[index + 1]), let low = hexValue(part[index + 2])
                    else { throw .badEscape }
                    let decoded = high << 4 | low
                    // Only what encoded() escapes may be escaped: one spelling per value.
                    guard !isPlain(decoded) else { throw .badEscape }
                    value.append(decoded)
                    index += 3
                } else {
                    guard isPlain(byte) else { throw .badField }
                    value.append(byte)
                    index += 1
                }
            }
            guard let text = String(validating: value, as: UTF8.self) else { throw .notUTF8 }
            message.fields.append(Field(keyText, text))
        }
        return message
    }

    /// Bytes written as themselves: letters, digits and `-._~:/@,+`; everything else is escaped.
    static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "/"),
            UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: "+"):
            return true
        default: return false
        }
    }

    static func isVerbByte(_ byte: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "-") }

    static func isKeyByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-")
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10 }

    /// Upper-case hex only, as encoded() writes it.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Why a line is not a protocol message.
public enum PortalProtocolError: Error, Equatable, Sendable {
    case tooLong, badVerb, badField, duplicateKey, badEscape, notUTF8
}
