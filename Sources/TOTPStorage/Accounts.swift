import Glibc

/// A user as the system's user database (NSS) knows them.
public struct Account: Equatable, Sendable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t
    public let home: String

    /// Looks `name` up with `getpwnam_r`, using a heap buffer (ocserv gives PAM a small stack).
    /// - Returns: nil if there is no such user.
    /// - Throws: `Errno` if the user database could not be asked; callers must fail closed then.
    public static func lookup(_ name: String) throws(Errno) -> Account? {
        var size = 4096
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let status = getpwnam_r(name, &entry, buffer, size, &result)
            switch status {
            case 0:
                guard let found = result?.pointee else { return nil }
                return Account(name: name, uid: found.pw_uid, gid: found.pw_gid, home: found.pw_dir.map { String(cString: $0) } ?? "")
            case ERANGE:
                size *= 4
            case ENOENT, ESRCH:
                return nil
            default:
                throw Errno(status)
            }
        }
        throw Errno(ERANGE)
    }

    /// The account running this process.
    public static func current() throws(Errno) -> Account? {
        var size = 4096
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let status = getpwuid_r(getuid(), &entry, buffer, size, &result)
            if status == ERANGE { size *= 4; continue }
            guard status == 0 else { throw Errno(status) }
            guard let found = result?.pointee, let name = found.pw_name else { return nil }
            return Account(
                name: String(cString: name), uid: found.pw_uid, gid: found.pw_gid, home: found.pw_dir.map { String(cString: $0) } ?? "")
        }
        throw Errno(ERANGE)
    }
}
