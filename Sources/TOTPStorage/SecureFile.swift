import CTOTPSystem
import TOTPCrypto

/// Reading files that a user may control, trusting the descriptor rather than the path.
public enum SecureFile {
    /// Enrollment files are small; anything larger is refused before it is read.
    public static let maxSize = 64 * 1024

    /// Opens `path` without following a symbolic link, then checks the open descriptor: a regular
    /// file with one link, owned by `owner` or root, no access for group or others, at most `maxSize`.
    public static func read(_ path: String, owner: uid_t, maxSize: Int = maxSize) throws(StorageError) -> Secret {
        try read(path, in: AT_FDCWD, displayPath: path, owners: [owner, 0], maxSize: maxSize).bytes
    }

    /// Opens `name` relative to the directory open as `directory` (or the working directory for
    /// `AT_FDCWD`) without following a symbolic link, and checks the descriptor as `read(_:owner:)` does.
    /// - Returns: the bytes and the file's owner.
    static func read(_ name: String, in directory: Int32, displayPath path: String, owners: [uid_t], maxSize: Int) throws(StorageError)
        -> (bytes: Secret, owner: uid_t)
    {
        let fd: Int32
        do {
            // O_NONBLOCK: opening a FIFO must not hang the login.
            fd = try Sys.open(name, O_RDONLY | O_NONBLOCK | Sys.openFlags, relativeTo: directory)
        } catch {
            switch error.code {
            case ENOENT, ENOTDIR: throw .notFound(path: path)
            case ELOOP: throw .symbolicLink(path: path)
            default: throw .system(operation: "open", path: path, errno: error)
            }
        }
        defer { Sys.close(fd) }
        let info: stat
        do { info = try Sys.fstat(fd) } catch { throw .system(operation: "fstat", path: path, errno: error) }
        try checkPrivateFile(info, path: path, owners: owners, maxSize: maxSize)
        let bytes: Secret?
        do { bytes = try Sys.readAll(fd, limit: maxSize, expectedSize: Int(info.st_size)) } catch {
            throw .system(operation: "read", path: path, errno: error)
        }
        guard let bytes else { throw .tooLarge(path: path, size: maxSize + 1) }
        return (bytes, info.st_uid)
    }

    /// The checks every private file gets, enrollment or state.
    static func checkPrivateFile(_ info: stat, path: String, owners: [uid_t], maxSize: Int) throws(StorageError) {
        guard FileType(info.st_mode) == .regular else { throw .notRegularFile(path: path, kind: FileType(info.st_mode).description) }
        guard owners.contains(info.st_uid) else { throw .wrongOwner(path: path, uid: info.st_uid) }
        guard info.st_mode & 0o077 == 0 else { throw .insecurePermissions(path: path, mode: info.st_mode) }
        // A second name for the file could be a hard link to someone else's enrollment.
        guard info.st_nlink == 1 else { throw .insecureDirectory(path: path, reason: "has \(info.st_nlink) hard links; expected 1") }
        guard info.st_size <= maxSize else { throw .tooLarge(path: path, size: Int(info.st_size)) }
    }
}

/// Runs file operations as another user, the way a user's own files must be touched by root.
public enum FileSystemIdentity {
    /// Runs `body` with the file-system uid and gid switched to `uid`/`gid` (calls `setfsuid` and
    /// `setfsgid`, which affect only this thread), then switches back. Without root it just runs `body`.
    /// - Throws: `StorageError` if the identity could not be switched; `body` does not run then.
    public static func run<T>(uid: uid_t, gid: gid_t, _ body: () -> T) throws(StorageError) -> T {
        guard geteuid() == 0, uid != 0 else { return body() }
        let oldGid = gid_t(truncatingIfNeeded: ctotp_setfsgid(gid))
        guard ctotp_setfsgid(gid) == Int32(bitPattern: gid) else {
            _ = ctotp_setfsgid(oldGid)
            throw .system(operation: "setfsgid", path: "", errno: Errno(EPERM))
        }
        let oldUid = uid_t(truncatingIfNeeded: ctotp_setfsuid(uid))
        guard ctotp_setfsuid(uid) == Int32(bitPattern: uid) else {
            _ = ctotp_setfsuid(oldUid)
            _ = ctotp_setfsgid(oldGid)
            throw .system(operation: "setfsuid", path: "", errno: Errno(EPERM))
        }
        defer {
            _ = ctotp_setfsuid(oldUid)
            _ = ctotp_setfsgid(oldGid)
        }
        return body()
    }
}

extension SecureFile {
    /// Makes the regular file open as `fd` private to its owner (mode 0600, `fchmod`) before secrets
    /// are written to it, whatever the umask it was created with: `pam-totp-setup … --json > alice.json`
    /// must not leave alice's secret readable by others. Pipes, terminals and devices are left alone.
    /// A file owned by someone else is refused, since its owner could read what is written.
    /// - Throws: `.wrongOwner` or `.system` (`fstat`, `fchmod`); nothing has been written then.
    public static func restrictToOwner(_ fd: Int32, displayPath: String) throws(StorageError) {
        let info: stat
        do { info = try Sys.fstat(fd) } catch { throw .system(operation: "fstat", path: displayPath, errno: error) }
        guard FileType(info.st_mode) == .regular else { return }
        guard info.st_uid == geteuid() else { throw .wrongOwner(path: displayPath, uid: info.st_uid) }
        guard info.st_mode & 0o077 != 0 else { return }
        do { try Sys.fchmod(fd, 0o600) } catch { throw .system(operation: "fchmod", path: displayPath, errno: error) }
    }
}
