internal import TOTPCrypto

/// Time-based codes from an app, or counter-based codes from a hardware token.
public enum OTPType: String, Equatable, Sendable {
    case totp, hotp
}

/// One user's enrollment: what the authenticator app knows, plus the hashed recovery codes.
/// The on-disk form is documented in docs/FILEFORMAT.md.
public struct Enrollment: Equatable, Sendable {
    public static let formatVersion = 1
    /// RFC 4226 asks for 128 bits and recommends 160; 80 is accepted because Google Authenticator
    /// files (which may be imported) use it.
    public static let secretLengthRange = 10...128

    public var parameters: OTPParameters
    public var secret: Secret
    /// Unix time of enrollment, if known.
    public var created: Int64?
    public var recovery: RecoverySet?
    /// A window for this user that overrides the module's `window=` (kept from imported files).
    public var window: Int?
    /// The issuer the app was given, so the same account can be shown again for a new phone.
    public var issuer: String?
    public var type: OTPType = .totp
    /// HOTP only: the first counter value not used when the enrollment was made.
    public var counter: UInt64 = 0

    /// 8 random bytes (hex) the tool gives each new enrollment.
    public var id: String?

    /// The canonical name of the account the enrollment was made for. The tool writes it into every
    /// enrollment, so that a root-owned file in a central directory, whose owner says nothing about
    /// whose it is, cannot be used under another user's name (`checkAccount`).
    public var account: String?

    /// Identifies this enrollment in the state, so that what was recorded for an earlier enrollment
    /// (remembered devices, counters) no longer applies after re-enrolling, even with the same key:
    /// the random `id`, or for files without one the first 8 bytes of SHA-256 of secret and creation time.
    public var identifier: String {
        if let id { return id }
        let suffix = Array(" \(created ?? 0)".utf8)
        let material = Secret(count: secret.count + suffix.count) { buffer in
            secret.withUnsafeBytes { buffer.copyMemory(from: $0) }
            for (index, byte) in suffix.enumerated() { buffer[secret.count + index] = byte }
        }
        return Hex.encode(Array(Crypto.sha256(material).prefix(8)))
    }

    /// A fresh random `id`.
    public static func newID() throws(CryptoError) -> String { Hex.encode(try Crypto.randomBytes(8)) }

    public init(parameters: OTPParameters, secret: Secret, created: Int64? = nil, recovery: RecoverySet? = nil, window: Int? = nil) {
        self.parameters = parameters
        self.secret = secret
        self.created = created
        self.recovery = recovery
        self.window = window
    }

    /// What a login checks codes against when the account has no enrollment or does not exist, so
    /// that it does the same work and asks the same questions as for an enrolled user
    /// (`decideAttempt(…decoy: true)` never accepts anything).
    ///
    /// It is parsed from the text of a file like the ones `pam-totp-setup` writes, so that a login
    /// without an enrollment runs the same parser, touching the same code, before its first prompt
    /// as one with an enrollment (docs/PROBE-TIMING.md measures the difference).
    public static var decoy: Enrollment {
        if let parsed = try? parse(decoyText) { return parsed }
        return Enrollment(parameters: .standard, secret: Secret(count: 20), recovery: .decoy)
    }

    /// The decoy's file: what `serialized()` writes for an enrollment with a zero secret, `created 0`,
    /// id `0000000000000000`, issuer `pam-totp`, account `decoy` and `RecoverySet.decoy`
    /// (TOTPCoreTests checks that it still is). A literal, not a stored global computed once: the
    /// module keeps no heap-allocated global (see Base32.alphabet).
    static var decoyText: [UInt8] {
        Array(
            """
            # pam-totp enrollment (docs/FILEFORMAT.md). Written by pam-totp-setup; keep it private.
            version 1
            account decoy
            type totp
            algorithm SHA1
            digits 6
            period 30
            secret AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
            id 0000000000000000
            issuer pam-totp
            created 1970-01-01T00:00:00Z
            recovery-kdf pbkdf2-sha256 100000 00000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            recovery 0000000000000000000000000000000000000000000000000000000000000000
            end

            """.utf8)
    }

    /// The file's text.
    public func serialized() -> [UInt8] {
        var lines = [
            "# pam-totp enrollment (docs/FILEFORMAT.md). Written by pam-totp-setup; keep it private.",
            "version \(Self.formatVersion)",
        ]
        if let account { lines.append("account \(account)") }
        lines += [
            "type \(type.rawValue)",
            "algorithm \(parameters.algorithm.rawValue)",
            "digits \(parameters.digits)",
            type == .totp ? "period \(parameters.period)" : "counter \(counter)",
            "secret \(Base32.encode(secret))",
        ]
        if let id { lines.append("id \(id)") }
        if let window { lines.append("window \(window)") }
        if let issuer { lines.append("issuer \(OTPAuthURI.percentEncode(issuer))") }
        if let created { lines.append("created \(UTCTimestamp.format(created))") }
        if let recovery {
            lines.append("recovery-kdf pbkdf2-sha256 \(recovery.iterations) \(Hex.encode(recovery.salt))")
            for hash in recovery.hashes { lines.append("recovery \(Hex.encode(hash))") }
        }
        lines.append("end")
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Parses an enrollment file read into a `Secret`.
    public static func parse(_ bytes: Secret) throws(LineFormat.ParseError) -> Enrollment {
        try bytes.withBytesArray { bytes throws(LineFormat.ParseError) in try parse(bytes) }
    }

    /// Parses an enrollment file.
    /// - Throws: `LineFormat.ParseError` with the line and the problem; never the secret.
    public static func parse(_ bytes: [UInt8]) throws(LineFormat.ParseError) -> Enrollment {
        let keys: Set<String> = [
            "type", "algorithm", "digits", "period", "window", "issuer", "secret", "created", "recovery-kdf", "recovery", "counter", "id",
            "account",
        ]
        let entries = try LineFormat.entries(bytes, version: formatVersion, keys: keys, repeatable: ["recovery"])
        var type: Substring?
        var algorithm: HashAlgorithm?
        var digits: Int?
        var period: Int?
        var secret: Secret?
        var created: Int64?
        var window: Int?
        var issuer: String?
        var counter: UInt64?
        var id: String?
        var account: String?
        var kdf: (iterations: Int, salt: [UInt8])?
        var hashes: [[UInt8]] = []
        var firstRecoveryLine = 0
        for entry in entries {
            let invalid = LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: String(entry.key)))
            switch entry.key {
            case "type":
                guard OTPType(rawValue: String(entry.value)) != nil else { throw invalid }
                type = entry.value
            case "algorithm":
                guard let value = HashAlgorithm(rawValue: String(entry.value)) else { throw invalid }
                algorithm = value
            case "digits":
                digits = try LineFormat.integer(entry, in: OTPParameters.digitsRange)
            case "period":
                period = try LineFormat.integer(entry, in: OTPParameters.periodRange)
            case "window":
                window = try LineFormat.integer(entry, in: TOTPVerifier.windowRange)
            case "id":
                guard Hex.decode(utf8: entry.bytes, length: 8) != nil else { throw invalid }
                id = String(entry.value)
            case "account":
                guard PathTemplate.isSafeUserName(String(entry.value)) else { throw invalid }
                account = String(entry.value)
            case "counter":
                counter = UInt64(try LineFormat.integer(entry, in: 0...))
            case "issuer":
                guard let decoded = OTPAuthURI.percentDecode(entry.value), !decoded.isEmpty else { throw invalid }
                issuer = decoded
            case "secret":
                // Written canonically by the tool: upper case, no padding, nothing else. Decoded from
                // the file's bytes: a String of the value would be a copy of the secret nobody zeroes.
                guard entry.bytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x32 && $0 <= 0x37) }),
                    let decoded = try? Base32.decode(utf8: entry.bytes), secretLengthRange.contains(decoded.count)
                else { throw invalid }
                secret = decoded
            case "created":
                guard let value = UTCTimestamp.parse(entry.value) else { throw invalid }
                created = value
            case "recovery-kdf":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 3, parts[0] == "pbkdf2-sha256",
                    let iterations = LineFormat.decimal(parts[1]), RecoverySet.iterationsRange.contains(iterations),
                    let salt = Hex.decode(parts[2], length: RecoverySet.saltLength)
                else { throw invalid }
                kdf = (iterations, salt)
            case "recovery":
                guard let hash = Hex.decode(utf8: entry.bytes, length: RecoverySet.hashLength), hashes.count < RecoverySet.maxCodes else {
                    throw invalid
                }
                if firstRecoveryLine == 0 { firstRecoveryLine = entry.line }
                hashes.append(hash)
            default:
                throw LineFormat.ParseError(line: entry.line, problem: .unknownKey(String(entry.key)))
            }
        }
        let otpType = type.flatMap { OTPType(rawValue: String($0)) } ?? .totp
        // TOTP needs a period and has no counter; HOTP the other way round.
        let (needed, foreign) =
            otpType == .totp ? ("period", counter != nil ? "counter" : nil) : ("counter", period != nil ? "period" : nil)
        if let foreign { throw LineFormat.ParseError(line: 0, problem: .unknownKey(foreign)) }
        for (name, present) in [
            ("type", type != nil), ("algorithm", algorithm != nil), ("digits", digits != nil),
            (needed, needed == "period" ? period != nil : counter != nil), ("secret", secret != nil),
        ]
        where !present {
            throw LineFormat.ParseError(line: 0, problem: .missingKey(name))
        }
        var recovery: RecoverySet?
        switch (kdf, hashes.isEmpty) {
        case (nil, true): recovery = nil
        case (nil, false): throw LineFormat.ParseError(line: firstRecoveryLine, problem: .missingKey("recovery-kdf"))
        case (let kdf?, _): recovery = RecoverySet(iterations: kdf.iterations, salt: kdf.salt, hashes: hashes)
        }
        var enrollment = Enrollment(
            parameters: OTPParameters(algorithm: algorithm!, digits: digits!, period: period ?? OTPParameters.standard.period),
            secret: secret!, created: created, recovery: recovery, window: window)
        enrollment.issuer = issuer
        enrollment.type = otpType
        enrollment.counter = counter ?? 0
        enrollment.id = id
        enrollment.account = account
        return enrollment
    }

    /// Why an enrollment cannot be used for an account.
    public enum AccountProblem: Error, Equatable, Sendable, CustomStringConvertible {
        /// The `account` line names another account.
        case otherAccount(String)
        /// There is no `account` line, and nothing else ties the file to the account.
        case missing

        public var description: String {
            switch self {
            case .otherAccount(let name): return "the enrollment is for account '\(name)'"
            case .missing: return "owned by root with no 'account' line to tie it to its user"
            }
        }
    }

    /// Checks that this enrollment may be used for the account whose canonical name is `name`: an
    /// `account` line must name it; and where nothing else ties the file to the account (a root-owned
    /// file outside the user's home, which anyone able to rename files there could have moved onto
    /// this user's name), the line must be there.
    public func checkAccount(_ name: String, lineRequired: Bool) throws(AccountProblem) {
        if let account {
            guard account == name else { throw .otherAccount(account) }
        } else if lineRequired {
            throw .missing
        }
    }
}

/// Why a user's enrollment file cannot be used. The module refuses the login for each (a file that
/// is there but refused never lets a later location stand in for it); the tool says why.
public enum EnrollmentRefusal: Error, Equatable, Sendable {
    /// The file, or a directory on its path, failed the checks or could not be read: the storage
    /// layer's reason (TOTPStorage's `StorageError`, as text).
    case unreadable(String)
    /// The file is not a valid enrollment.
    case malformed(LineFormat.ParseError)
    /// The file is not tied to the account (`Enrollment.checkAccount`).
    case account(Enrollment.AccountProblem)
}

extension Enrollment {
    /// Parses an enrollment file's bytes and checks that it may be used for the account named `account`
    /// (`checkAccount`): the one verdict on a file, for the module and the tool alike.
    /// - Throws: `.malformed` or `.account`.
    public static func parse(_ bytes: Secret, account: String, accountLineRequired: Bool) throws(EnrollmentRefusal) -> Enrollment {
        let enrollment: Enrollment
        do { enrollment = try parse(bytes) } catch { throw .malformed(error) }
        do { try enrollment.checkAccount(account, lineRequired: accountLineRequired) } catch { throw .account(error) }
        return enrollment
    }
}
