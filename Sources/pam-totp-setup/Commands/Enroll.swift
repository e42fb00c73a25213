import ArgumentParser
import Glibc
import TOTPCore

struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a TOTP enrollment, confirmed by one code from the app (the default command).",
        discussion: """
            Shows a QR code, the secret and an otpauth:// URI for the app, reads one code from standard input, \
            and saves the enrollment only if that code verifies (the neighbouring time step counts too). \
            Then shows the recovery codes, once.
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var qr: QROptions

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

    @Option(
        name: .long,
        help: ArgumentHelp("The issuer name the app shows (default: the configuration's issuer=, else the host name).", valueName: "name"))
    var issuer: String?

    @Flag(name: .long, help: "Print the URI and recovery codes as JSON on stdout, for provisioning scripts.")
    var json = false

    @Flag(name: .long, help: "Replace an existing enrollment (after a current code or a recovery code, unless root uses --user).")
    var force = false

    @Flag(name: .customLong("no-verify"), help: "Save without a confirmation code (root only; the output says so).")
    var noVerify = false

    @Flag(name: .long, help: "A counter-based (HOTP) hardware token instead of a time-based app; give its secret with --key.")
    var hotp = false

    @Option(name: .long, help: ArgumentHelp("HOTP: the token's next counter value.", valueName: "n"))
    var counter: UInt64 = 0

    func validate() throws {
        guard HashAlgorithm(name: algorithm) != nil else { throw ValidationError("--algorithm must be SHA1, SHA256 or SHA512") }
        guard OTPParameters.digitsRange.contains(digits) else { throw ValidationError("--digits must be 6, 7 or 8") }
        guard OTPParameters.periodRange.contains(period) else { throw ValidationError("--period must be from 15 to 300 seconds") }
        guard (0...RecoverySet.maxCodes).contains(recoveryCodes) else {
            throw ValidationError("--recovery-codes must be from 0 to \(RecoverySet.maxCodes)")
        }
        if let issuer, issuer.isEmpty || issuer.contains(":") { throw ValidationError("--issuer must be non-empty and contain no ':'") }
        if noVerify && geteuid() != 0 { throw ValidationError("--no-verify is for root only") }
    }

    func run() throws {
        let target = try common.resolve()
        // Replacing an enrollment needs the same proof as removing it (`reset`): a current code or a
        // recovery code, unless root acts on someone else (--user).
        if target.place.isPresent {
            guard force else {
                _ = try target.place.exists()  // a file the module refuses: say why
                throw SetupError("\(target.name) is already enrolled (\(target.place.path)); use --force to replace the enrollment")
            }
            if !(common.user != nil && getuid() == 0), let existing = try target.place.read() {
                try proveHolding(target, existing, allowRecovery: true, out: Output(json: json))
            }
        }
        try protectStandardOutput()
        let parameters = OTPParameters(algorithm: HashAlgorithm(name: algorithm) ?? .sha1, digits: digits, period: period)
        let secret = try key.map(Self.decodeKey) ?? Crypto.randomSecret(20)
        let issuerName = issuer ?? target.issuer
        var enrollment = try makeEnrollment(secret: secret, parameters: parameters, issuer: issuerName)
        if hotp {
            enrollment.type = .hotp
            enrollment.counter = counter
        }
        let uri = OTPAuthURI.uri(issuer: issuerName, account: target.name, enrollment: enrollment)

        let out = Output(json: json)
        var caption: [String]
        if hotp {
            caption = ["Enrolling a counter-based (HOTP) token."]
        } else if qr.qr == .none {
            caption = ["Type the secret (or open the URI) in an authenticator app."]
        } else {
            caption = ["Scan this QR code with an authenticator app (or type the secret into it)."]
        }
        if noVerify {
            caption.append("This enrollment is saved without a confirmation code (--no-verify).")
        } else if hotp {
            caption.append("Press its button and type the code it shows; the enrollment is saved only if that code is right.")
        } else {
            caption.append("Then type the code the app shows; the enrollment is saved only if that code is right.")
        }
        try qr.present(uri: uri, secret: secret, caption: caption, out: out)
        if noVerify {
            out.prose("WARNING: --no-verify: this enrollment was NOT confirmed with a code from the app.")
        } else if let used = try confirm(enrollment, target: target, out: out) {
            enrollment.counter = used + 1
        }

        let codes = try saveWithNewRecoveryCodes(enrollment, count: recoveryCodes, target: target)

        if json {
            print(
                JSON.render([
                    ("user", .string(target.name)), ("file", .string(target.place.path)), ("uri", .string(uri)),
                    ("secret", .string(Base32.encode(secret))), ("verified", .bool(!noVerify)),
                    ("recovery_codes", .array(codes.map(JSON.string))),
                ]))
        } else {
            out.prose("Enrolled \(target.name) (\(target.place.path)).")
            out.showRecoveryCodes(codes)
        }
    }

    /// Reads codes from standard input until one verifies as a login would accept it (`decide`: the
    /// configured window, and for HOTP the look-ahead window from the token's counter). At a terminal
    /// a wrong or empty answer may be retried as often as needed, with the same secret: the user has
    /// already scanned it, so making a new one after a few typos (or a phone with a wrong clock) would
    /// only make them scan again. Ctrl-C or end of input stops, and nothing is saved.
    /// - Returns: for HOTP, the counter the code matched (so that it is never accepted again).
    private func confirm(_ enrollment: Enrollment, target: Target, out: Output) throws -> UInt64? {
        let parameters = enrollment.parameters
        let interactive = isatty(STDIN_FILENO) == 1
        var wrong = 0
        while true {
            out.ask(enrollment.type == .hotp ? "Code from the token: " : "Code from the app: ")
            guard let line = out.answer() else {
                throw SetupError("no code was given on standard input; nothing was saved")
            }
            if line.trimmingSpaces.isEmpty {
                guard interactive else { throw SetupError("no code was given on standard input; nothing was saved") }
                out.prose("No code was given. Type the \(parameters.digits)-digit code, or press Ctrl-C to stop (nothing is saved).")
                continue
            }
            var typed = Array(line.utf8)
            let input = CodeInput.classify(Secret(taking: &typed), digits: parameters.digits)
            if case .otp = input {
                switch try decide(input, enrollment: enrollment, target: target, recorded: false) {
                case .acceptedHOTP(let counter): return counter
                case .acceptedTOTP: return nil
                default: break
                }
            }
            guard interactive else {
                throw SetupError("the code does not match; nothing was saved (is the clock on this machine and on the phone right?)")
            }
            wrong += 1
            if wrong < 3 {
                out.prose("That code does not match. Check the app shows this account, and try again.")
            } else {
                out.prose(
                    "That code does not match. The secret stays the same, so there is no need to scan again: check that the clocks of this machine and of the phone are right, then type a new code (Ctrl-C stops; nothing is saved)."
                )
            }
        }
    }

    static func decodeKey(_ text: String) throws -> Secret {
        let bytes: Secret
        do { bytes = try Base32.decode(text) } catch { throw SetupError("--key: \(error.description)") }
        guard Enrollment.secretLengthRange.contains(bytes.count) else {
            throw SetupError(
                "--key: the secret is \(bytes.count * 8) bits; expected \(Enrollment.secretLengthRange.lowerBound * 8) to \(Enrollment.secretLengthRange.upperBound * 8)"
            )
        }
        return bytes
    }
}
