import CTOTPSystem
import TOTPCrypto

/// Directories that root writes or trusts, reached from `/` one component at a time.
///
/// A path is only as safe as every directory on it: whoever can rename an entry in any of them can
/// put another directory, or a symbolic link, in its place. So, like sshd's `StrictModes`, every
/// component from `/` down is checked; and so that what was checked is what is used, each one is
/// opened relative to its parent's descriptor without following links (`openat` with `O_NOFOLLOW`
/// and `O_DIRECTORY`) and checked through that descriptor (`fstat`), never by path.
public enum SecurePath {
    /// Opens the directory at the absolute `path` by walking it from `/`.
    ///
    /// Every component must be a directory, not a symbolic link, owned by root or by this process's
    /// effective uid, and not writable by group or others. A directory above the last one may be
    /// writable by others if it has the sticky bit, as `/tmp` does: others can then create entries
    /// but not rename or remove the next component, which is checked to be root's. The last
    /// directory is never accepted writable by group or others.
    /// - Parameters:
    ///   - path: an absolute path without `.` or `..` components.
    ///   - createMode: if given and the last directory is missing, it is created with this mode
    ///     (`mkdirat` in its checked parent; another process creating it at the same moment is fine),
    ///     then opened and checked like any other.
    /// - Returns: a descriptor of the last directory (`O_RDONLY | O_DIRECTORY`); the caller closes it.
    /// - Throws: `StorageError.notFound` if a component is missing, `.symbolicLink` for a link,
    ///   `.insecureDirectory` naming the component and the check it failed, `.system` otherwise.
    public static func openDirectory(_ path: String, createMode: mode_t? = nil) throws(StorageError) -> Int32 {
        guard path.hasPrefix("/") else { throw .insecureDirectory(path: path, reason: "is not an absolute path") }
        let names = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !names.contains(where: { $0 == "." || $0 == ".." }) else {
            throw .insecureDirectory(path: path, reason: "has a '.' or '..' component")
        }
        var current: Int32
        do { current = try Sys.open("/", directoryFlags) } catch { throw .system(operation: "open", path: "/", errno: error) }
        var shown = ""
        do throws(StorageError) {
            try check(current, path: "/", isLast: names.isEmpty)
            for (index, name) in names.enumerated() {
                let isLast = index == names.count - 1
                shown += "/" + name
                let next = try openComponent(String(name), in: current, path: shown, createMode: isLast ? createMode : nil)
                Sys.close(current)
                current = next
                try check(current, path: shown, isLast: isLast)
            }
        } catch {
            Sys.close(current)
            throw error
        }
        return current
    }

    /// Opens the file at the absolute `path` for reading: its directory with `openDirectory`, then the
    /// file relative to that descriptor, without following a link, and checks it like
    /// `SecureFile.read` does (a private regular file with one link, owned by one of `owners`).
    /// - Returns: the file's bytes and its owner.
    public static func readFile(_ path: String, owners: [uid_t], maxSize: Int = SecureFile.maxSize) throws(StorageError) -> (
        bytes: Secret, owner: uid_t
    ) {
        let (directoryPath, name) = AtomicFile.split(path)
        guard !name.isEmpty else { throw .notFound(path: path) }
        let directory = try openDirectory(directoryPath)
        defer { Sys.close(directory) }
        return try SecureFile.read(name, in: directory, displayPath: path, owners: owners, maxSize: maxSize)
    }

    /// `O_NOFOLLOW`: a link in place of a directory is refused, never followed. `O_RDONLY` rather
    /// than `O_PATH` (which Swift's Glibc module lacks): root reads any directory, and the last one
    /// must be readable anyway, for `fsync` and for listing stale temporary files.
    private static let directoryFlags: Int32 = O_RDONLY | O_DIRECTORY | Sys.openFlags

    /// Opens `name` in the directory open as `parent`, creating it first if it is missing and
    /// `createMode` is given.
    private static func openComponent(_ name: String, in parent: Int32, path: String, createMode: mode_t?) throws(StorageError) -> Int32 {
        do {
            return try Sys.open(name, directoryFlags, relativeTo: parent)
        } catch  where error.code == ENOENT {
            guard let createMode else { throw .notFound(path: path) }
            do {
                // Another login may create it at the same moment; losing that race is fine, what is
                // there is then opened and checked like any other directory.
                do { try Sys.mkdir(name, createMode, relativeTo: parent) } catch  where error.code == EEXIST {}
                return try Sys.open(name, directoryFlags, relativeTo: parent)
            } catch  where error.code == ELOOP || error.code == ENOTDIR {
                throw refusal(of: name, in: parent, path: path)
            } catch {
                throw .system(operation: "create directory", path: path, errno: error)
            }
        } catch  where error.code == ELOOP || error.code == ENOTDIR {
            throw refusal(of: name, in: parent, path: path)
        } catch {
            throw .system(operation: "open", path: path, errno: error)
        }
    }

    /// Why `name`, which `O_NOFOLLOW | O_DIRECTORY` would not open, was refused.
    private static func refusal(of name: String, in parent: Int32, path: String) -> StorageError {
        guard let info = try? Sys.lstat(name, relativeTo: parent) else {
            return .insecureDirectory(path: path, reason: "is not a directory")
        }
        if FileType(info.st_mode) == .symbolicLink { return .symbolicLink(path: path) }
        return .insecureDirectory(path: path, reason: "is a \(FileType(info.st_mode).description), expected a directory")
    }

    /// The checks every component gets, on what was opened.
    private static func check(_ fd: Int32, path: String, isLast: Bool) throws(StorageError) {
        let info: stat
        do { info = try Sys.fstat(fd) } catch { throw .system(operation: "fstat", path: path, errno: error) }
        guard FileType(info.st_mode) == .directory else {
            throw .insecureDirectory(path: path, reason: "is a \(FileType(info.st_mode).description), expected a directory")
        }
        let euid = geteuid()
        guard info.st_uid == 0 || info.st_uid == euid else {
            throw .insecureDirectory(
                path: path, reason: "owned by uid \(info.st_uid), expected root\(euid == 0 ? "" : " or uid \(euid)")")
        }
        guard info.st_mode & 0o022 != 0 else { return }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        if isLast { throw .insecureDirectory(path: path, reason: "mode \(mode) lets group or others write") }
        guard info.st_mode & mode_t(S_ISVTX) != 0 else {
            throw .insecureDirectory(path: path, reason: "mode \(mode) lets group or others write and has no sticky bit")
        }
    }
}
