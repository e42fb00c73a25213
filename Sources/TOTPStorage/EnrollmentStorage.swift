import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// Reading a user's enrollment file where the `secret=` template puts it, the same way for the
/// module and the tool.
public enum EnrollmentStorage {
    /// An enrollment file's bytes, and whether its `account` line is needed to tie it to its user.
    public struct Contents {
        public let bytes: Secret
        /// True for a root-owned file of an account other than root's: its owner says nothing about
        /// whose it is (a home may be shared by several accounts, or be `/`), so only its `account`
        /// line ties it to the account (`Enrollment.checkAccount`).
        public let needsAccountLine: Bool
    }

    /// Reads the enrollment of `account` at `path`.
    ///
    /// In the user's home (`inHome`), the file is opened with the user's file-system identity
    /// (`FileSystemIdentity`), so root never follows a link the user planted and the user's own
    /// links in the path, such as `/home -> /data/home`, work as they do for the user.
    /// Elsewhere it is read as root, so the whole path is walked from `/` without following links
    /// (`SecurePath`): no directory on it may be writable by others (unless sticky, above the file's
    /// own directory), and the file's own directory not by group either.
    /// Either way the file must be a private regular file with one link, owned by the user or root.
    /// - Throws: `StorageError`; `.notFound` means there is no enrollment.
    public static func read(_ path: String, account: Account, inHome: Bool) throws(StorageError) -> Contents {
        let found =
            if inHome {
                try FileSystemIdentity.run(uid: account.uid, gid: account.gid) {
                    Result { () throws(StorageError) in
                        try SecureFile.read(path, in: AT_FDCWD, displayPath: path, owners: [account.uid, 0], maxSize: SecureFile.maxSize)
                    }
                }.get()
            } else {
                try SecurePath.readFile(path, owners: [account.uid, 0])
            }
        return Contents(bytes: found.bytes, needsAccountLine: found.owner == 0 && account.uid != 0)
    }
}
