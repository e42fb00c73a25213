/// One field holding the password followed by the code (`forward_pass`).
public enum CombinedInput {
    /// Splits off the code at the end: a recovery code written with its dashes (`…kf7q-m2xd-9pwa`),
    /// or else exactly `digits` digits. Nil when the input ends in neither; then no code was given.
    public static func split(_ raw: Secret, digits: Int) -> (password: Secret, code: CodeInput)? {
        guard raw.count <= CodeInput.maxLength else { return nil }
        let displayed = RecoveryCode.symbols + RecoveryCode.symbols / RecoveryCode.groupSize - 1
        if raw.count >= displayed {
            let tail = raw.slice(raw.count - displayed..<raw.count)
            let dashed = tail.withUnsafeBytes { $0[4] == UInt8(ascii: "-") && $0[9] == UInt8(ascii: "-") }
            if dashed, let normalized = RecoveryCode.normalize(tail) {
                return (raw.slice(0..<raw.count - displayed), .recovery(normalized))
            }
        }
        guard raw.count >= digits else { return nil }
        let tail = raw.slice(raw.count - digits..<raw.count)
        guard tail.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return (raw.slice(0..<raw.count - digits), .otp(tail))
    }
}
