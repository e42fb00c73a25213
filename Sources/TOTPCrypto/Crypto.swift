// Hashing and HMAC are Swift (SHA.swift); PBKDF2 and random bytes call libcrypto through CLibCrypto,
// which loads it on first use. Every libcrypto result goes through `check`, and no C type appears in
// a public signature.
internal import CLibCrypto
internal import CTOTPSystem

/// The HMAC hash functions TOTP apps support (RFC 6238, section 1.2).
public enum HashAlgorithm: String, CaseIterable, Sendable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Parses a name as written in enrollment files and otpauth URIs; case-insensitive, accepts "SHA-1".
    public init?(name: String) {
        let cleaned = String(name.uppercased().filter { $0 != "-" })
        self.init(rawValue: cleaned)
    }

    /// Length of the HMAC output in bytes.
    public var outputLength: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha512: return 64
        }
    }

    /// The hash function's block size in bytes (RFC 2104's B).
    var blockLength: Int { self == .sha512 ? 128 : 64 }
}

/// A libcrypto call failed, or libcrypto could not be loaded; says which.
public struct CryptoError: Error, Equatable, CustomStringConvertible {
    public let function: String
    public var description: String { "libcrypto: \(function) failed" }
}

/// The one funnel for CLibCrypto's results: 1 success, 0 libcrypto failed, -1 libcrypto not loaded.
private func check(_ result: Int32, _ function: String) throws(CryptoError) {
    switch result {
    case 1: return
    case -1:
        let why = ctotp_libcrypto_error().map { String(cString: $0) } ?? "unknown reason"
        throw CryptoError(function: "loading libcrypto (\(why)) for \(function)")
    default: throw CryptoError(function: function)
    }
}

public enum Crypto {
    /// HMAC of `message` under `key` (RFC 2104). Every buffer that holds key material is built at
    /// its final size (no copies left behind by growing) and zeroed before it is released.
    public static func hmac(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockLength = algorithm.blockLength
        // K0: the key, hashed first if longer than a block, zero-padded to a block; then XORed with
        // ipad (0x36) and opad (0x5c) in place.
        var hashedKey = key.count > blockLength ? SHA.hash(algorithm, key) : []
        var inner = [UInt8](repeating: 0x36, count: blockLength + message.count)
        var outer = [UInt8](repeating: 0x5c, count: blockLength + algorithm.outputLength)
        for (index, byte) in (key.count > blockLength ? hashedKey : key).enumerated() {
            inner[index] ^= byte
            outer[index] ^= byte
        }
        for (index, byte) in message.enumerated() { inner[blockLength + index] = byte }
        var innerHash = SHA.hash(algorithm, inner)
        for (index, byte) in innerHash.enumerated() { outer[blockLength + index] = byte }
        defer {
            cleanse(&hashedKey)
            cleanse(&inner)
            cleanse(&innerHash)
            cleanse(&outer)
        }
        return SHA.hash(algorithm, outer)
    }

    /// The SHA-1, SHA-256 or SHA-512 hash of `data` (FIPS 180-4).
    public static func digest(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8] { SHA.hash(algorithm, data) }

    /// SHA-256 of `data`: SSH key fingerprints and enrollment identifiers.
    public static func sha256(_ data: [UInt8]) -> [UInt8] { SHA.hash(.sha256, data) }

    /// PBKDF2-HMAC-SHA256 (RFC 8018), used for recovery-code hashes (calls `PKCS5_PBKDF2_HMAC`).
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) throws(CryptoError) -> [UInt8] {
        guard iterations > 0, iterations <= Int(Int32.max), length > 0, length <= 1024 else {
            throw CryptoError(function: "PKCS5_PBKDF2_HMAC (parameters)")
        }
        var out = [UInt8](repeating: 0, count: length)
        let result = out.withUnsafeMutableBufferPointer { o in
            ctotp_pbkdf2_sha256(password, password.count, salt, salt.count, UInt32(iterations), o.baseAddress, o.count)
        }
        try check(result, "PKCS5_PBKDF2_HMAC")
        return out
    }

    /// `count` bytes from the operating system's CSPRNG via OpenSSL (calls `RAND_bytes`).
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let result = out.withUnsafeMutableBufferPointer { ctotp_rand_bytes($0.baseAddress, $0.count) }
        try check(result, "RAND_bytes")
        return out
    }

    /// Overwrites `words` with zeros in a way the optimiser may not remove (calls `explicit_bzero`).
    public static func cleanse<Word: FixedWidthInteger>(_ words: inout [Word]) {
        words.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }
        }
    }
}
