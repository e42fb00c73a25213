/// One field holding the password followed by the code (`forward_pass`).
public enum CombinedInput {
    /// Splits off the code at the end: a recovery code written with its dashes (`…kf7q-m2xd-9pwa`),
    /// or else exactly `digits` digits. Nil when the input ends in neither; then no code was given.
    public static func split(_ raw: [UInt8], digits: Int) -> (password: [UInt8], code: CodeInput)? {
        guard raw.count <= CodeInput.maxLength else { return nil }
        let displayed = RecoveryCode.symbols + RecoveryCode.symbols / RecoveryCode.groupSize - 1
        if raw.count >= displayed {
            let tail = Array(raw.suffix(displayed))
            if tail[4] == UInt8(ascii: "-"), tail[9] == UInt8(ascii: "-"), let normalized = RecoveryCode.normalize(tail) {
                return (Array(raw.dropLast(displayed)), .recovery(normalized))
            }
        }
        guard raw.count >= digits else { return nil }
        let tail = Array(raw.suffix(digits))
        guard tail.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return (Array(raw.dropLast(digits)), .otp(tail))
    }
}
