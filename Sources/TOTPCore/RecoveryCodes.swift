public import TOTPCrypto

/// One-time recovery codes: 12 symbols of Crockford's Base32 (60 bits), shown as `kf7q-m2xd-9pwa`.
/// Twelve symbols with letters in them are never mistaken for a 6-8 digit TOTP code.
public enum RecoveryCode {
    public static let symbols = 12
    public static let groupSize = 4
    /// Crockford's alphabet: no i, l, o or u, so nothing reads as another symbol.
    // Computed: no heap-allocated globals in the module (see Base32.alphabet).
    static var alphabet: [UInt8] { Array("0123456789abcdefghjkmnpqrstvwxyz".utf8) }

    /// Makes a code from 8 random bytes (the first 60 bits are used).
    public static func make(from random: Secret) -> String {
        var value: UInt64 = 0
        defer { value = 0 }
        random.withUnsafeBytes { for byte in $0.prefix(8) { value = (value << 8) | UInt64(byte) } }
        let alphabet = Self.alphabet
        var normalized: [UInt8] = []
        for index in 0..<symbols {
            normalized.append(alphabet[Int((value >> UInt64(59 - 5 * index)) & 31)])
        }
        return display(normalized)
    }

    /// Generates `count` fresh codes from the CSPRNG.
    public static func generate(count: Int) throws(CryptoError) -> [String] {
        var codes: [String] = []
        for _ in 0..<count {
            codes.append(make(from: try Crypto.randomSecret(8)))
        }
        return codes
    }

    /// Length of the numeric scratch codes Google Authenticator files carry, which an import keeps.
    public static let legacySymbols = 8

    /// The canonical form of what a user typed, or nil if it is not shaped like a recovery code:
    /// 12 symbols of the alphabet, or 8 digits (an imported Google Authenticator scratch code).
    /// Ignores case, spaces and dashes; reads i and l as 1 and o as 0, as Crockford's Base32 does.
    public static func normalize(_ input: Secret) -> Secret? {
        guard input.count <= 64 else { return nil }
        let alphabet = Self.alphabet
        var valid = true
        var count = 0
        let out = Secret(count: symbols) { out in
            input.withUnsafeBytes { input in
                for byte in input {
                    var c = byte
                    if c == UInt8(ascii: " ") || c == UInt8(ascii: "-") || c == UInt8(ascii: "\t") { continue }
                    if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
                    if c == UInt8(ascii: "i") || c == UInt8(ascii: "l") { c = UInt8(ascii: "1") }
                    if c == UInt8(ascii: "o") { c = UInt8(ascii: "0") }
                    guard alphabet.contains(c), count < symbols else {
                        valid = false
                        return
                    }
                    out[count] = c
                    count += 1
                }
            }
        }
        guard valid else { return nil }
        let normalized = out.slice(0..<count)
        if count == symbols { return normalized }
        if count == legacySymbols && normalized.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) { return normalized }
        return nil
    }

    /// `kf7qm2xd9pwa` → `kf7q-m2xd-9pwa`.
    public static func display(_ normalized: [UInt8]) -> String {
        var out: [UInt8] = []
        for (index, c) in normalized.enumerated() {
            if index > 0 && index % groupSize == 0 { out.append(UInt8(ascii: "-")) }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The stored, hashed form of a user's recovery codes. One salt per set, so a typed code is hashed
/// once and compared with every stored hash.
public struct RecoverySet: Equatable, Sendable {
    /// PBKDF2-HMAC-SHA256 iterations for new sets; see docs/FILEFORMAT.md for what this costs
    /// a login and an offline attacker.
    public static let defaultIterations = 100_000
    public static let iterationsRange = 1_000...10_000_000
    public static let saltLength = 16
    public static let hashLength = 32
    public static let maxCodes = 100

    public var iterations: Int
    public var salt: [UInt8]
    public var hashes: [[UInt8]]

    public init(iterations: Int, salt: [UInt8], hashes: [[UInt8]]) {
        self.iterations = iterations
        self.salt = salt
        self.hashes = hashes
    }

    /// Hashes `codes` (as displayed or typed) under a fresh salt.
    public static func make(codes: [String], iterations: Int = defaultIterations) throws(CryptoError) -> RecoverySet {
        let salt = try Crypto.randomBytes(saltLength)
        var set = RecoverySet(iterations: iterations, salt: salt, hashes: [])
        for code in codes {
            guard let normalized = RecoveryCode.normalize(Secret(Array(code.utf8))) else { continue }
            // What the file stores: the hash, not the code.
            set.hashes.append(try set.hash(normalized: normalized).withUnsafeBytes { Array($0) })
        }
        return set
    }

    /// A set that matches no code and costs what a real one costs to check: for accounts without
    /// recovery codes, and for decoys (`decideAttempt(…decoy:)`).
    /// Computed: no heap-allocated globals in the module (see Base32.alphabet).
    public static var decoy: RecoverySet {
        RecoverySet(
            iterations: defaultIterations, salt: [UInt8](repeating: 0, count: saltLength),
            hashes: [[UInt8]](repeating: [UInt8](repeating: 0, count: hashLength), count: 10))
    }

    /// The stored hash of an already normalized code.
    public func hash(normalized: Secret) throws(CryptoError) -> Secret {
        try Crypto.pbkdf2SHA256(password: normalized, salt: salt, iterations: iterations, length: Self.hashLength)
    }

    /// The index of the stored hash `normalized` matches, comparing with every hash.
    public func match(normalized: Secret) throws(CryptoError) -> Int? {
        let candidate = try hash(normalized: normalized)
        var found: Int?
        candidate.withUnsafeBytes { candidate in
            for (index, stored) in hashes.enumerated() where stored.withUnsafeBytes({ constantTimeEqual($0, candidate) }) {
                if found == nil { found = index }
            }
        }
        return found
    }

    /// The identifier the state file records for a used code: the first 8 bytes of its hash, in hex.
    public static func identifier(of hash: [UInt8]) -> String {
        Hex.encode(Array(hash.prefix(8)))
    }
}
