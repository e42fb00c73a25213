import CTOTPSystem
import TOTPCrypto

/// The site-wide configuration file (/etc/pam-totp.conf): root's, so it is trusted only if root
/// owns it and nobody else can write it.
public enum ConfigFile {
    /// The file's bytes, or nil if there is no such file.
    public static func read(_ path: String) throws(StorageError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try Sys.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        } catch {
            if error.code == ENOENT { return nil }
            throw .system(operation: "open", path: path, errno: error)
        }
        defer { Sys.close(fd) }
        let info: stat
        do { info = try Sys.fstat(fd) } catch { throw .system(operation: "fstat", path: path, errno: error) }
        guard FileType(info.st_mode) == .regular else { throw .notRegularFile(path: path, kind: FileType(info.st_mode).description) }
        guard info.st_uid == 0 else { throw .wrongOwner(path: path, uid: info.st_uid) }
        guard info.st_mode & 0o022 == 0 else {
            throw .insecureDirectory(path: path, reason: "mode \(String(info.st_mode & 0o7777, radix: 8)) lets group or others write")
        }
        let bytes: Secret?
        do { bytes = try Sys.readAll(fd, limit: SecureFile.maxSize, expectedSize: Int(info.st_size)) } catch {
            throw .system(operation: "read", path: path, errno: error)
        }
        guard let bytes else { throw .tooLarge(path: path, size: SecureFile.maxSize + 1) }
        // Configuration is no secret.
        return bytes.withUnsafeBytes { Array($0) }
    }
}
