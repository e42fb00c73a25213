/// A `~/.google_authenticator` file, as google-authenticator-libpam writes it: the Base32 secret on
/// the first line, then option lines starting with `" ` and 8-digit scratch codes, one per line.
public struct GoogleAuthenticatorFile: Equatable, Sendable {
    public var secret: Secret
    /// `" WINDOW_SIZE W`: how many codes are valid at once (default 3).
    public var windowSize: Int
    /// `" STEP_SIZE S` (default 30).
    public var stepSize: Int
    public var scratchCodes: [String]
    /// `" HOTP_COUNTER N`: a counter-based (HOTP) enrollment, and its next counter.
    public var hotpCounter: UInt64?
    /// `" DISALLOW_REUSE T1 T2 …`: the time steps (Unix time / STEP_SIZE) whose codes
    /// google-authenticator has accepted recently; their codes must not be accepted again after the import.
    public var usedSteps: [UInt64] = []

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case notTOTP
        case badSecret(String)
        case badLine(Int)
        case unsupportedStep(Int)

        public var description: String {
            switch self {
            case .notTOTP: return "the file says neither TOTP_AUTH nor HOTP_COUNTER"
            case .badSecret(let reason): return "the secret on the first line is not usable: \(reason)"
            case .badLine(let line): return "line \(line) is neither an option nor an 8-digit scratch code"
            case .unsupportedStep(let step): return "STEP_SIZE \(step) is outside the 15 to 300 seconds pam-totp supports"
            }
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(Problem) -> GoogleAuthenticatorFile {
        guard bytes.count <= 64 * 1024, !bytes.contains(0) else { throw .badLine(0) }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let first = lines.first else { throw .badSecret("the file is empty") }
        let secret: Secret
        do { secret = try Base32.decode(String(first)) } catch { throw .badSecret(error.description) }
        guard Enrollment.secretLengthRange.contains(secret.count) else { throw .badSecret("\(secret.count * 8) bits") }
        var file = GoogleAuthenticatorFile(secret: secret, windowSize: 3, stepSize: 30, scratchCodes: [], hotpCounter: nil)
        var totp = false
        for (index, line) in lines.enumerated().dropFirst() {
            if line.hasPrefix("\" ") {
                let words = line.dropFirst(2).split(separator: " ")
                switch words.first {
                case "HOTP_COUNTER":
                    guard words.count == 2, let value = LineFormat.decimal(words[1]) else { throw .badLine(index + 1) }
                    file.hotpCounter = UInt64(value)
                case "TOTP_AUTH": totp = true
                case "DISALLOW_REUSE":
                    for word in words.dropFirst() {
                        // A time step of a period of at most 300 s: beyond, its time overflows.
                        guard let value = LineFormat.decimal(word), value <= Int(Int64.max / 300) else { throw .badLine(index + 1) }
                        file.usedSteps.append(UInt64(value))
                    }
                case "WINDOW_SIZE":
                    guard words.count == 2, let value = LineFormat.decimal(words[1]), (1...100).contains(value) else {
                        throw .badLine(index + 1)
                    }
                    file.windowSize = value
                case "STEP_SIZE":
                    guard words.count == 2, let value = LineFormat.decimal(words[1]) else { throw .badLine(index + 1) }
                    guard OTPParameters.periodRange.contains(value) else { throw .unsupportedStep(value) }
                    file.stepSize = value
                default:
                    continue  // RATE_LIMIT, TIME_SKEW…: pam-totp has its own equivalents.
                }
            } else if line.utf8.count == 8, line.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                file.scratchCodes.append(String(line))
            } else {
                throw .badLine(index + 1)
            }
        }
        guard totp || file.hotpCounter != nil else { throw .notTOTP }
        return file
    }

    /// google-authenticator accepts codes from -(W-1)/2 to +W/2 steps; ±W/2 accepts all of those.
    public var window: Int { min(windowSize / 2, TOTPVerifier.windowRange.upperBound) }

    public var parameters: OTPParameters { OTPParameters(algorithm: .sha1, digits: 6, period: stepSize) }

    /// The pam-totp enrollment this file becomes (recovery codes are added by the caller).
    public func enrollment(created: Int64) -> Enrollment {
        var enrollment = Enrollment(parameters: parameters, secret: secret, created: created)
        if let hotpCounter {
            enrollment.type = .hotp
            enrollment.counter = hotpCounter
        }
        return enrollment
    }
}
