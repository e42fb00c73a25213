import Glibc
import TOTPCore
import TOTPCrypto

/// A new enrollment, not yet saved: `enroll` and the portal's `SETUP-BEGIN` make it the same way
/// (a fresh identifier, the creation time, the issuer the app will show).
func makeEnrollment(secret: Secret, parameters: OTPParameters, issuer: String) throws -> Enrollment {
    var enrollment = Enrollment(parameters: parameters, secret: secret, created: Int64(time(nil)))
    enrollment.issuer = issuer
    enrollment.id = try Enrollment.newID()
    return enrollment
}

/// Gives `enrollment` `count` fresh recovery codes (none for 0) and writes it, all at once: nothing
/// is saved if anything fails. Used by `enroll`, `recovery-codes` and the portal's helper.
/// - Returns: the codes, to be shown once.
func saveWithNewRecoveryCodes(_ enrollment: Enrollment, count: Int, target: Target) throws -> [String] {
    let (renewed, codes) = try withNewRecoveryCodes(enrollment, count: count)
    try target.place.write(renewed)
    return codes
}

/// `enrollment` with `count` fresh recovery codes (none for 0), not saved, and the codes.
func withNewRecoveryCodes(_ enrollment: Enrollment, count: Int) throws -> (Enrollment, [String]) {
    var enrollment = enrollment
    let codes = try RecoveryCode.generate(count: count)
    enrollment.recovery = count > 0 ? try RecoverySet.make(codes: codes) : nil
    return (enrollment, codes)
}
