import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// A user's enrollment file where the `secret=` template puts it, read the same way by the module
/// and the tool.
public enum EnrollmentStorage {
    /// Reads (`UserFile.read`), parses and checks the enrollment of `account` at `path`
    /// (`Enrollment.parse(_:account:accountLineRequired:)`). A root-owned file of an account other
    /// than root's must carry an `account` line naming the account: its owner says nothing about whose
    /// it is (a home may be shared by several accounts, or be `/`).
    /// - Returns: nil if there is no file at `path`.
    /// - Throws: why the file there cannot be used.
    public static func load(_ path: String, account: Account, inHome: Bool) throws(EnrollmentRefusal) -> Enrollment? {
        let bytes: Secret
        let owner: uid_t
        do {
            (bytes, owner) = try UserFile.read(path, account: account, inHome: inHome)
        } catch {
            if error.isNotFound { return nil }
            throw .unreadable(error.description)
        }
        return try Enrollment.parse(bytes, account: account.name, accountLineRequired: owner == 0 && account.uid != 0)
    }
}
