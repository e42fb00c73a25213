import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// A file that belongs to a user, such as an enrollment or a Google Authenticator file, read the
/// same way by the module and the tool.
public enum UserFile {
    /// Reads the file of `account` at `path`.
    ///
    /// In the user's home (`inHome`), the file is opened with the user's file-system identity
    /// (`FileSystemIdentity`), so root never follows a link the user planted and the user's own
    /// links in the path, such as `/home -> /data/home`, work as they do for the user.
    /// Elsewhere it is read as root, so the whole path is walked from `/` without following links
    /// (`SecurePath`): no directory on it may be writable by others (unless sticky, above the file's
    /// own directory), and the file's own directory not by group either.
    /// Either way the file must be a private regular file with one link, owned by the user or root.
    /// - Returns: the bytes, and the file's owner.
    /// - Throws: `StorageError`; `.notFound` means there is no such file.
    public static func read(_ path: String, account: Account, inHome: Bool) throws(StorageError) -> (bytes: Secret, owner: uid_t) {
        if inHome {
            return try FileSystemIdentity.run(uid: account.uid, gid: account.gid) {
                Result { () throws(StorageError) in
                    try SecureFile.read(path, in: AT_FDCWD, displayPath: path, owners: [account.uid, 0], maxSize: SecureFile.maxSize)
                }
            }.get()
        }
        return try SecurePath.readFile(path, owners: [account.uid, 0])
    }
}
