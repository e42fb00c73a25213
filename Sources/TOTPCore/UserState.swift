/// What changes at login, kept by the module in its root-owned state directory (docs/FILEFORMAT.md).
public struct UserState: Equatable, Sendable {
    public static let formatVersion = 1

    /// The time step of the last accepted TOTP code; codes for it or earlier steps are refused.
    public var lastStep: UInt64?
    /// Identifiers of recovery codes already used (`RecoverySet.identifier(of:)`).
    public var usedRecovery: [String] = []
    /// Failed attempts since the last success.
    public var failures: Int = 0
    /// Unix time of the last failed attempt.
    public var lastFailure: Int64?

    public init() {}

    public func serialized() -> [UInt8] {
        var lines = ["# pam-totp state (docs/FILEFORMAT.md). Maintained by pam_totp.so.", "version \(Self.formatVersion)"]
        if let lastStep { lines.append("last-step \(lastStep)") }
        for id in usedRecovery { lines.append("used-recovery \(id)") }
        lines.append("failures \(failures)")
        if let lastFailure { lines.append("last-failure \(lastFailure)") }
        lines.append("end")
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    public static func parse(_ bytes: [UInt8]) throws(LineFormat.ParseError) -> UserState {
        let entries = try LineFormat.entries(
            bytes, version: formatVersion, keys: ["last-step", "used-recovery", "failures", "last-failure"], repeatable: ["used-recovery"])
        var state = UserState()
        for entry in entries {
            switch entry.key {
            case "last-step":
                state.lastStep = UInt64(try LineFormat.integer(entry, in: 0...))
            case "used-recovery":
                guard Hex.decode(entry.value, length: 8) != nil, state.usedRecovery.count < RecoverySet.maxCodes else {
                    throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "used-recovery"))
                }
                state.usedRecovery.append(String(entry.value))
            case "failures":
                state.failures = try LineFormat.integer(entry, in: 0...)
            case "last-failure":
                state.lastFailure = Int64(try LineFormat.integer(entry, in: 0...))
            default:
                throw LineFormat.ParseError(line: entry.line, problem: .unknownKey(String(entry.key)))
            }
        }
        return state
    }
}
