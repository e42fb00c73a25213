// The one place Swift calls libcrypto. Every OpenSSL return code goes through `check`, and no
// OpenSSL type appears in a public signature.
internal import COpenSSL

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
}

/// A libcrypto call failed; names the function that failed.
public struct CryptoError: Error, Equatable, CustomStringConvertible {
    public let function: String
    public var description: String { "libcrypto: \(function) failed" }
}

/// The one funnel for OpenSSL's "1 means success" convention.
@inline(__always)
private func check(_ result: Int32, _ function: String) throws(CryptoError) {
    guard result == 1 else {
        ERR_clear_error()
        throw CryptoError(function: function)
    }
}

public enum Crypto {
    /// HMAC of `message` under `key` (calls `HMAC`).
    public static func hmac(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) throws(CryptoError) -> [UInt8] {
        let md: OpaquePointer?
        switch algorithm {
        case .sha1: md = EVP_sha1()
        case .sha256: md = EVP_sha256()
        case .sha512: md = EVP_sha512()
        }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    HMAC(
                        md, k.baseAddress, Int32(k.count),
                        m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                        o.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLength) != nil
                }
            }
        }
        try check(ok ? 1 : 0, "HMAC")
        out.removeLast(out.count - Int(outLength))
        return out
    }

    /// PBKDF2-HMAC-SHA256 (RFC 8018), used for recovery-code hashes (calls `PKCS5_PBKDF2_HMAC`).
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) throws(CryptoError) -> [UInt8] {
        guard iterations > 0, iterations <= Int(Int32.max), length > 0, length <= 1024 else {
            throw CryptoError(function: "PKCS5_PBKDF2_HMAC (parameters)")
        }
        var out = [UInt8](repeating: 0, count: length)
        let result = password.withUnsafeBytes { p in
            salt.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { o in
                    PKCS5_PBKDF2_HMAC(
                        p.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(p.count),
                        s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(s.count),
                        Int32(iterations), EVP_sha256(), Int32(length),
                        o.baseAddress?.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        try check(result, "PKCS5_PBKDF2_HMAC")
        return out
    }

    /// SHA-256 of `data` (calls `EVP_Digest`): SSH key fingerprints and enrollment identifiers.
    public static func sha256(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = data.withUnsafeBytes { d in
            out.withUnsafeMutableBytes { o in
                EVP_Digest(d.baseAddress, d.count, o.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, EVP_sha256(), nil)
            }
        }
        try check(result, "EVP_Digest")
        return out
    }

    /// `count` bytes from the operating system's CSPRNG via OpenSSL (calls `RAND_bytes`).
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let result = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32($0.count)) }
        try check(result, "RAND_bytes")
        return out
    }

    /// Overwrites `bytes` with zeros in a way the optimiser may not remove (calls `OPENSSL_cleanse`).
    public static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }
    }
}
