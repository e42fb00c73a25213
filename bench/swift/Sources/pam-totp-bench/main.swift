// Prints, as JSON, the median time to verify one TOTP code (window ±1, the three steps computed and
// compared) and one recovery code (one PBKDF2 with the default iterations, compared with 10 hashes).
import Glibc
import TOTPCore

func nanoseconds(_ body: () -> Void) -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let secret = Secret(Array("12345678901234567890".utf8))
let verifier = TOTPVerifier(parameters: .standard, window: 1)
let now: Int64 = 1_795_440_000
let code = OTP.totp(secret: secret, at: now, parameters: .standard)
var totp: [Double] = []
for _ in 0..<20_000 {
    totp.append(nanoseconds { _ = verifier.verify(code: code, secret: secret, now: now, lastAcceptedStep: nil) })
}
let codes = try RecoveryCode.generate(count: 10)
let set = try RecoverySet.make(codes: codes)
let typed = RecoveryCode.normalize(Secret(Array(codes[9].utf8)))!
var recovery: [Double] = []
for _ in 0..<30 { recovery.append(nanoseconds { _ = try? set.match(normalized: typed) }) }
print(
    "{\"totp_verify_us\": \(median(totp) / 1000), \"recovery_verify_ms\": \(median(recovery) / 1e6), \"recovery_iterations\": \(set.iterations)}"
)
