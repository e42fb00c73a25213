import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a TOTP enrollment, confirmed by one code from the app.",
        discussion: """
            Prints the secret and an otpauth:// URI for the app, reads one code from standard input, and \
            saves the enrollment only if that code verifies (the neighbouring 30-second step counts too). \
            Then prints the recovery codes, once.
            """)

    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("Use this Base32 secret instead of generating 160 random bits.", valueName: "base32"))
    var key: String?

    @Option(name: .long, help: "HMAC algorithm: SHA1, SHA256 or SHA512.")
    var algorithm: String = "SHA1"

    @Option(name: .long, help: "Digits per code: 6, 7 or 8.")
    var digits: Int = 6

    @Option(name: .long, help: "Seconds per code, 15 to 300.")
    var period: Int = 30

    @Option(name: .customLong("recovery-codes"), help: ArgumentHelp("How many one-time recovery codes to make (0 to 100).", valueName: "n"))
    var recoveryCodes: Int = 10

    @Option(name: .long, help: ArgumentHelp("The issuer name the app shows (default: this host's name).", valueName: "name"))
    var issuer: String?

    @Flag(name: .long, help: "Print the URI and recovery codes as JSON on stdout, for provisioning scripts.")
    var json = false

    @Flag(name: .long, help: "Replace an existing enrollment.")
    var force = false

    func validate() throws {
        guard HashAlgorithm(name: algorithm) != nil else { throw ValidationError("--algorithm must be SHA1, SHA256 or SHA512") }
        guard OTPParameters.digitsRange.contains(digits) else { throw ValidationError("--digits must be 6, 7 or 8") }
        guard OTPParameters.periodRange.contains(period) else { throw ValidationError("--period must be from 15 to 300 seconds") }
        guard (0...RecoverySet.maxCodes).contains(recoveryCodes) else {
            throw ValidationError("--recovery-codes must be from 0 to \(RecoverySet.maxCodes)")
        }
        if let issuer, issuer.isEmpty || issuer.contains(":") { throw ValidationError("--issuer must be non-empty and contain no ':'") }
    }

    func run() throws {
        let (account, path) = try target.resolve()
        let store = EnrollmentFile(path: path, account: account, inHome: target.inHome)
        if !force, try store.exists() {
            throw SetupError("\(account.name) is already enrolled (\(path)); use --force to replace the enrollment")
        }
        let parameters = OTPParameters(algorithm: HashAlgorithm(name: algorithm) ?? .sha1, digits: digits, period: period)
        var secret = try key.map(Self.decodeKey) ?? Crypto.randomBytes(20)
        defer { Crypto.cleanse(&secret) }
        let uri = OTPAuthURI.totp(issuer: issuer ?? hostName(), account: account.name, secret: secret, parameters: parameters)

        let out = Output(json: json)
        out.prose(
            """
            Add this account to your authenticator app, then type the code it shows.
            Secret (for typing by hand): \(Self.grouped(Base32.encode(secret)))
            URI: \(uri)
            """)
        try confirm(secret: secret, parameters: parameters, out: out)

        let codes = try RecoveryCode.generate(count: recoveryCodes)
        let enrollment = Enrollment(
            parameters: parameters, secret: secret, created: Int64(time(nil)),
            recovery: recoveryCodes > 0 ? try RecoverySet.make(codes: codes) : nil)
        try store.write(enrollment)

        if json {
            print(
                JSON.render([
                    ("user", .string(account.name)), ("file", .string(path)), ("uri", .string(uri)),
                    ("secret", .string(Base32.encode(secret))), ("recovery_codes", .array(codes.map(JSON.string))),
                ]))
        } else {
            out.prose("Enrolled \(account.name) (\(path)).")
            if !codes.isEmpty {
                out.prose("Recovery codes, each usable once if you lose your phone. They are shown only now; store them safely:")
                for code in codes { out.prose("  \(code)") }
            }
        }
    }

    /// Reads codes from standard input until one verifies; at a terminal a wrong code may be retried.
    private func confirm(secret: [UInt8], parameters: OTPParameters, out: Output) throws {
        let verifier = TOTPVerifier(parameters: parameters, window: 1)
        let attempts = isatty(STDIN_FILENO) == 1 ? 3 : 1
        for attempt in 1...attempts {
            out.ask("Code from the app: ")
            guard let line = readLine(strippingNewline: true) else {
                throw SetupError("no code was given on standard input; nothing was saved")
            }
            if case .otp(let code) = CodeInput.classify(Array(line.utf8), digits: parameters.digits),
                case .accepted = try verifier.verify(code: code, secret: secret, now: Int64(time(nil)), lastAcceptedStep: nil)
            {
                return
            }
            if attempt < attempts { out.prose("That code does not match. Check the app shows this account, and try again.") }
        }
        throw SetupError("the code does not match; nothing was saved (is the clock on this machine and on the phone right?)")
    }

    static func decodeKey(_ text: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try Base32.decode(text) } catch { throw SetupError("--key: \(error.description)") }
        guard Enrollment.secretLengthRange.contains(bytes.count) else {
            throw SetupError(
                "--key: the secret is \(bytes.count * 8) bits; expected \(Enrollment.secretLengthRange.lowerBound * 8) to \(Enrollment.secretLengthRange.upperBound * 8)"
            )
        }
        return bytes
    }

    /// `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`.
    static func grouped(_ text: String) -> String {
        var out = ""
        for (index, c) in text.enumerated() {
            if index > 0 && index % 4 == 0 { out += " " }
            out.append(c)
        }
        return out
    }
}

/// This machine's host name (calls `gethostname`).
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name
}
