// SHA-1, SHA-256 and SHA-512 (FIPS 180-4) in Swift, so that a login never loads libcrypto:
// docs/DESIGN.md ("Hashing without libcrypto") has the measurements behind that. The code is the
// standard's own description, step by step; Tests/TOTPCoreTests/DigestTests.swift checks it against
// the FIPS 180-4 examples, RFC 2202/4231 and libcrypto. Nothing here branches on or indexes by data,
// and every buffer that held message words or the chaining state is zeroed before it is released.

enum SHA {
    static func hash(_ algorithm: HashAlgorithm, _ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { hash(algorithm, $0) }
    }

    static func hash(_ algorithm: HashAlgorithm, _ message: UnsafeRawBufferPointer) -> [UInt8] {
        switch algorithm {
        case .sha1: return sha1(message)
        case .sha256: return sha256.hash(message)
        case .sha512: return sha512.hash(message)
        }
    }

    /// FIPS 180-4, section 5.1: the message, a 1 bit, zeros, then its length in bits as a big-endian
    /// integer of `lengthBytes` bytes, making a whole number of `blockSize`-byte blocks.
    fileprivate static func padded(_ message: UnsafeRawBufferPointer, blockSize: Int, lengthBytes: Int) -> [UInt8] {
        let total = (message.count + 1 + lengthBytes + blockSize - 1) / blockSize * blockSize
        var out = [UInt8](repeating: 0, count: total)
        for index in message.indices { out[index] = message[index] }
        out[message.count] = 0x80
        // Messages here are at most a few kilobytes, so the bit length fits in the low 8 bytes.
        let bits = UInt64(truncatingIfNeeded: message.count) &* 8
        for index in 0..<8 { out[total - 1 - index] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * index)) }
        return out
    }

    private static func word32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    fileprivate static func bigEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> [UInt8] {
        let size = Word.bitWidth / 8
        var out = [UInt8](repeating: 0, count: words.count * size)
        for (index, word) in words.enumerated() {
            for byte in 0..<size { out[index * size + byte] = UInt8(truncatingIfNeeded: word >> ((size - 1 - byte) * 8)) }
        }
        return out
    }

    /// FIPS 180-4, sections 5.3.1 and 6.1.
    private static func sha1(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0]
        var block = padded(message, blockSize: 64, lengthBytes: 8)
        var w = [UInt32](repeating: 0, count: 80)
        // h is key material too: after HMAC's first block it is all an attacker needs (RFC 2104's
        // precomputed inner and outer states).
        defer {
            Crypto.cleanse(&block)
            Crypto.cleanse(&w)
            Crypto.cleanse(&h)
        }
        for start in stride(from: 0, to: block.count, by: 64) {
            for t in 0..<16 { w[t] = word32(block, start + 4 * t) }
            for t in 16..<80 { w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotatedLeft(1) }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for t in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5a82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ed9_eba1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc)
                default: (f, k) = (b ^ c ^ d, 0xca62_c1d6)
                }
                let temp = a.rotatedLeft(5) &+ f &+ e &+ k &+ w[t]
                (e, d, c, b, a) = (d, c, b.rotatedLeft(30), a, temp)
            }
            // Added word by word: an array of the working variables would be one more unzeroed copy.
            h[0] &+= a
            h[1] &+= b
            h[2] &+= c
            h[3] &+= d
            h[4] &+= e
        }
        return bigEndianBytes(h)
    }

    /// FIPS 180-4, sections 4.2.2, 5.3.3 and 6.2. The constants are the first 32 bits of the
    /// fractional parts of the square roots of the first 8 primes, and of the cube roots of the
    /// first 64.
    private static let sha256 = SHA2<UInt32>(
        initial: [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
            0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ],
        constants: [
            0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5,
            0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
            0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3,
            0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
            0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc,
            0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
            0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7,
            0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
            0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13,
            0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
            0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3,
            0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
            0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5,
            0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
            0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208,
            0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
        ],
        sigma0: (2, 13, 22), sigma1: (6, 11, 25), schedule0: (7, 18, 3), schedule1: (17, 19, 10))

    /// FIPS 180-4, sections 4.2.3, 5.3.5 and 6.4: the same roots to 64 bits, of the first 8 and 80 primes.
    private static let sha512 = SHA2<UInt64>(
        initial: [
            0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b,
            0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
            0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f,
            0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
        ],
        constants: [
            0x428a_2f98_d728_ae22, 0x7137_4491_23ef_65cd,
            0xb5c0_fbcf_ec4d_3b2f, 0xe9b5_dba5_8189_dbbc,
            0x3956_c25b_f348_b538, 0x59f1_11f1_b605_d019,
            0x923f_82a4_af19_4f9b, 0xab1c_5ed5_da6d_8118,
            0xd807_aa98_a303_0242, 0x1283_5b01_4570_6fbe,
            0x2431_85be_4ee4_b28c, 0x550c_7dc3_d5ff_b4e2,
            0x72be_5d74_f27b_896f, 0x80de_b1fe_3b16_96b1,
            0x9bdc_06a7_25c7_1235, 0xc19b_f174_cf69_2694,
            0xe49b_69c1_9ef1_4ad2, 0xefbe_4786_384f_25e3,
            0x0fc1_9dc6_8b8c_d5b5, 0x240c_a1cc_77ac_9c65,
            0x2de9_2c6f_592b_0275, 0x4a74_84aa_6ea6_e483,
            0x5cb0_a9dc_bd41_fbd4, 0x76f9_88da_8311_53b5,
            0x983e_5152_ee66_dfab, 0xa831_c66d_2db4_3210,
            0xb003_27c8_98fb_213f, 0xbf59_7fc7_beef_0ee4,
            0xc6e0_0bf3_3da8_8fc2, 0xd5a7_9147_930a_a725,
            0x06ca_6351_e003_826f, 0x1429_2967_0a0e_6e70,
            0x27b7_0a85_46d2_2ffc, 0x2e1b_2138_5c26_c926,
            0x4d2c_6dfc_5ac4_2aed, 0x5338_0d13_9d95_b3df,
            0x650a_7354_8baf_63de, 0x766a_0abb_3c77_b2a8,
            0x81c2_c92e_47ed_aee6, 0x9272_2c85_1482_353b,
            0xa2bf_e8a1_4cf1_0364, 0xa81a_664b_bc42_3001,
            0xc24b_8b70_d0f8_9791, 0xc76c_51a3_0654_be30,
            0xd192_e819_d6ef_5218, 0xd699_0624_5565_a910,
            0xf40e_3585_5771_202a, 0x106a_a070_32bb_d1b8,
            0x19a4_c116_b8d2_d0c8, 0x1e37_6c08_5141_ab53,
            0x2748_774c_df8e_eb99, 0x34b0_bcb5_e19b_48a8,
            0x391c_0cb3_c5c9_5a63, 0x4ed8_aa4a_e341_8acb,
            0x5b9c_ca4f_7763_e373, 0x682e_6ff3_d6b2_b8a3,
            0x748f_82ee_5def_b2fc, 0x78a5_636f_4317_2f60,
            0x84c8_7814_a1f0_ab72, 0x8cc7_0208_1a64_39ec,
            0x90be_fffa_2363_1e28, 0xa450_6ceb_de82_bde9,
            0xbef9_a3f7_b2c6_7915, 0xc671_78f2_e372_532b,
            0xca27_3ece_ea26_619c, 0xd186_b8c7_21c0_c207,
            0xeada_7dd6_cde0_eb1e, 0xf57d_4f7f_ee6e_d178,
            0x06f0_67aa_7217_6fba, 0x0a63_7dc5_a2c8_98a6,
            0x113f_9804_bef9_0dae, 0x1b71_0b35_131c_471b,
            0x28db_77f5_2304_7d84, 0x32ca_ab7b_40c7_2493,
            0x3c9e_be0a_15c9_bebc, 0x431d_67c4_9c10_0d4c,
            0x4cc5_d4be_cb3e_42b6, 0x597f_299c_fc65_7e2a,
            0x5fcb_6fab_3ad6_faec, 0x6c44_198c_4a47_5817,
        ],
        sigma0: (28, 34, 39), sigma1: (14, 18, 41), schedule0: (1, 8, 7), schedule1: (19, 61, 6))
}

/// SHA-256 and SHA-512 are one algorithm (FIPS 180-4, sections 6.2 and 6.4) over different words,
/// rotation amounts and constants.
private struct SHA2<Word: FixedWidthInteger & UnsignedInteger> {
    let initial: [Word]
    /// K: one per round.
    let constants: [Word]
    /// The rotations of Σ0 and Σ1, then of σ0 and σ1 with their final right shift.
    let sigma0: (Int, Int, Int)
    let sigma1: (Int, Int, Int)
    let schedule0: (Int, Int, Int)
    let schedule1: (Int, Int, Int)

    private func rotateRight(_ x: Word, _ n: Int) -> Word { x >> n | x << (Word.bitWidth - n) }
    private func sigma(_ x: Word, _ r: (Int, Int, Int)) -> Word { rotateRight(x, r.0) ^ rotateRight(x, r.1) ^ rotateRight(x, r.2) }
    private func schedule(_ x: Word, _ r: (Int, Int, Int)) -> Word { rotateRight(x, r.0) ^ rotateRight(x, r.1) ^ (x >> r.2) }

    func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        let wordBytes = Word.bitWidth / 8
        var h = initial
        var block = SHA.padded(message, blockSize: 16 * wordBytes, lengthBytes: 2 * wordBytes)
        var w = [Word](repeating: 0, count: constants.count)
        defer {
            Crypto.cleanse(&block)
            Crypto.cleanse(&w)
            Crypto.cleanse(&h)
        }
        for start in stride(from: 0, to: block.count, by: 16 * wordBytes) {
            for t in 0..<16 {
                w[t] = 0
                for byte in 0..<wordBytes { w[t] = w[t] << 8 | Word(block[start + wordBytes * t + byte]) }
            }
            for t in 16..<w.count { w[t] = w[t - 16] &+ schedule(w[t - 15], schedule0) &+ w[t - 7] &+ schedule(w[t - 2], schedule1) }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<w.count {
                let t1 = hh &+ sigma(e, sigma1) &+ ((e & f) ^ (~e & g)) &+ constants[t] &+ w[t]
                let t2 = sigma(a, sigma0) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] &+= a
            h[1] &+= b
            h[2] &+= c
            h[3] &+= d
            h[4] &+= e
            h[5] &+= f
            h[6] &+= g
            h[7] &+= hh
        }
        return SHA.bigEndianBytes(h)
    }
}

extension UInt32 {
    fileprivate func rotatedLeft(_ n: UInt32) -> UInt32 { self << n | self >> (32 - n) }
}
