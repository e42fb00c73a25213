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
        let cleaned = String(name.asciiUppercased.filter { $0 != "-" })
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
    /// HMAC of `message` under `key` (RFC 2104). Every buffer that holds key material is a `Secret`.
    public static func hmac(_ algorithm: HashAlgorithm, key: Secret, message: [UInt8]) -> Secret {
        let blockLength = algorithm.blockLength
        // K0: the key, hashed first if longer than a block, zero-padded to a block (RFC 2104, step 1).
        let k0: Secret
        if key.count > blockLength {
            var hashed = key.withUnsafeBytes { SHA.hash(algorithm, $0) }
            k0 = Secret(taking: &hashed)
        } else {
            k0 = key
        }
        // K0 XOR ipad, then the message; K0 XOR opad, then the inner hash.
        let inner = Secret(count: blockLength + message.count) { buffer in
            k0.withUnsafeBytes { key in
                for index in 0..<blockLength { buffer[index] = 0x36 ^ (index < key.count ? key[index] : 0) }
            }
            for (index, byte) in message.enumerated() { buffer[blockLength + index] = byte }
        }
        var innerHashBytes = inner.withUnsafeBytes { SHA.hash(algorithm, $0) }
        let innerHash = Secret(taking: &innerHashBytes)
        let outer = Secret(count: blockLength + algorithm.outputLength) { buffer in
            k0.withUnsafeBytes { key in
                for index in 0..<blockLength { buffer[index] = 0x5c ^ (index < key.count ? key[index] : 0) }
            }
            innerHash.withUnsafeBytes { hash in
                for index in 0..<hash.count { buffer[blockLength + index] = hash[index] }
            }
        }
        var mac = outer.withUnsafeBytes { SHA.hash(algorithm, $0) }
        return Secret(taking: &mac)
    }

    /// The SHA-1, SHA-256 or SHA-512 hash of `data` (FIPS 180-4).
    public static func digest(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8] { SHA.hash(algorithm, data) }

    /// SHA-256 of `data`: SSH key fingerprints and enrollment identifiers.
    public static func sha256(_ data: [UInt8]) -> [UInt8] { SHA.hash(.sha256, data) }

    /// SHA-256 of secret bytes (an enrollment's identifier when it has no `id`).
    public static func sha256(_ data: Secret) -> [UInt8] { data.withUnsafeBytes { SHA.hash(.sha256, $0) } }

    /// PBKDF2-HMAC-SHA256 (RFC 8018), used for recovery-code hashes (calls `PKCS5_PBKDF2_HMAC`).
    /// The derived key is a `Secret`: it is the hash of what a user typed.
    public static func pbkdf2SHA256(password: Secret, salt: [UInt8], iterations: Int, length: Int) throws(CryptoError) -> Secret {
        guard iterations > 0, iterations <= Int(Int32.max), length > 0, length <= 1024 else {
            throw CryptoError(function: "PKCS5_PBKDF2_HMAC (parameters)")
        }
        var result: Int32 = 0
        let out = Secret(count: length) { o in
            result = password.withUnsafeBytes { p in
                ctotp_pbkdf2_sha256(
                    p.baseAddress?.assumingMemoryBound(to: UInt8.self), p.count, salt, salt.count, UInt32(iterations),
                    o.baseAddress?.assumingMemoryBound(to: UInt8.self), o.count)
            }
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

    /// `count` bytes from the CSPRNG as a secret: a new OTP key, a recovery code's randomness.
    public static func randomSecret(_ count: Int) throws(CryptoError) -> Secret {
        var bytes = try randomBytes(count)
        return Secret(taking: &bytes)
    }

    /// Overwrites `words` with zeros in a way the optimiser may not remove (calls `explicit_bzero`).
    /// Only for the hash functions' own working state (SHA.swift); every other secret is a `Secret`.
    static func cleanse<Word: FixedWidthInteger>(_ words: inout [Word]) {
        words.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }
        }
    }
}
