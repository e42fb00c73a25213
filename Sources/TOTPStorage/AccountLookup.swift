import CTOTPSystem
import TOTPCore

/// Looking accounts up in the system's user database (NSS).
extension Account {
    /// Looks `name` up with `getpwnam_r`, using a heap buffer (ocserv gives PAM a small stack).
    ///
    /// `name` of the result is the account's canonical name, as the user database spells it, which
    /// may differ from the name typed (SSSD and LDAP match names without regard to case): everything
    /// keyed on a user (state, lock, `%u` in paths) must use it, so one account has one state.
    /// - Returns: nil if there is no such user, or if the database returns a name that cannot stand
    ///   in a file name.
    /// - Throws: `Errno` if the user database could not be asked; callers must fail closed then.
    public static func lookup(_ name: String) throws(Errno) -> Account? {
        try passwdEntry { getpwnam_r(name, &$0, $1, $2, &$3) }.flatMap { PathTemplate.isSafeUserName($0.name) ? $0 : nil }
    }

    /// The account running this process (calls `getpwuid_r`).
    public static func current() throws(Errno) -> Account? {
        try passwdEntry { getpwuid_r(getuid(), &$0, $1, $2, &$3) }
    }

    /// Runs a `getpw*_r` call with a heap buffer, growing it on ERANGE; "no such user" (0 with no
    /// result, ENOENT, ESRCH) is nil, any other error is thrown.
    private static func passwdEntry(
        _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) throws(Errno) -> Account? {
        var size = 4096
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            switch call(&entry, buffer, size, &result) {
            case 0:
                guard let found = result?.pointee, let name = found.pw_name else { return nil }
                return Account(
                    name: String(cString: name), uid: found.pw_uid, gid: found.pw_gid, home: found.pw_dir.map { String(cString: $0) } ?? "")
            case ERANGE:
                size *= 4
            case ENOENT, ESRCH:
                return nil
            case let status:
                throw Errno(status)
            }
        }
        throw Errno(ERANGE)
    }

    /// The user's groups, primary and supplementary (calls `getgrouplist`).
    public func groupIDs() throws(Errno) -> [gid_t] {
        var count: Int32 = 64
        while count <= 65_536 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(name, gid, &groups, &found) >= 0 { return Array(groups.prefix(Int(found))) }
            guard found > count else { throw Errno(ERANGE) }
            count = found
        }
        throw Errno(ERANGE)
    }

    /// A group's ID by name (calls `getgrnam_r`); nil if there is no such group.
    public static func groupID(named name: String) throws(Errno) -> gid_t? {
        var size = 4096
        while size <= 1 << 22 {
            var entry = group()
            var result: UnsafeMutablePointer<group>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let status = getgrnam_r(name, &entry, buffer, size, &result)
            switch status {
            case 0: return result?.pointee.gr_gid
            case ERANGE: size *= 4
            case ENOENT, ESRCH: return nil
            default: throw Errno(status)
            }
        }
        throw Errno(ERANGE)
    }
}
