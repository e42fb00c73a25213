import CTOTPSystem
import TOTPCore

/// All-or-nothing replacement of a file: a temporary file in the same directory is written,
/// `fsync`ed and renamed over the old one, and the directory is `fsync`ed. A crash at any point
/// leaves either the old file or the new one, plus at most a stray temporary file.
public enum AtomicFile {
    /// How a write names its temporary file.
    public enum Temporary: Sendable {
        /// A random suffix, created exclusively: for writers that nothing serialises (the tool's
        /// enrollments). What a killed one leaves is removed by `removeStaleTemporaries`.
        case unique
        /// One fixed name, taken over if a killed writer left it: for writers that a lock
        /// serialises (the state), so no listing of the directory is needed to clean up after them.
        case serialized
    }

    /// Prefix of temporary files, so an admin (and a cleanup) can recognise them.
    public static let temporaryMarker = ".tmp-"

    /// The longest file name Linux file systems take (NAME_MAX).
    public static let maxNameLength = 255

    /// The part of `name`'s temporary file names before the random suffix: `.NAME.tmp-` while that
    /// and the 12-digit suffix fit in a file name, else `.` and SHA-256 of NAME in hex, then `.tmp-`
    /// (docs/FILEFORMAT.md, "File names"). Either way it names one file only, so the cleanup of one
    /// file's temporaries never removes another's.
    public static func temporaryPrefix(of name: String) -> String {
        let verbatim = "." + name + temporaryMarker
        if verbatim.utf8.count + 12 <= maxNameLength { return verbatim }
        return "." + Hex.encode(Crypto.sha256(Array(name.utf8))) + temporaryMarker
    }

    /// Replaces `name` in the directory open as `directory` with `bytes`.
    /// - Parameters:
    ///   - mode: permissions of the new file.
    ///   - owner: if given, the new file's owner (needs root).
    ///   - temporary: how the temporary file is named.
    ///   - durable: whether the new file must survive a crash of the machine (`fsync` of the file and
    ///     the directory). Without it, the rename still makes the replacement all-or-nothing for any
    ///     process that dies, and the kernel writes it back within seconds (docs/DESIGN.md, "Durability").
    public static func write(
        _ bytes: [UInt8], name: String, in directory: Int32, displayPath: String, mode: mode_t, owner: (uid_t, gid_t)? = nil,
        temporary: Temporary = .unique, durable: Bool = true
    ) throws(StorageError) {
        try write(
            Secret(bytes), name: name, in: directory, displayPath: displayPath, mode: mode, owner: owner, temporary: temporary,
            durable: durable)
    }

    /// `write(_:name:in:displayPath:mode:owner:temporary:durable:)` of secret bytes (an enrollment, a key).
    public static func write(
        _ bytes: Secret, name: String, in directory: Int32, displayPath: String, mode: mode_t, owner: (uid_t, gid_t)? = nil,
        temporary kind: Temporary = .unique, durable: Bool = true
    ) throws(StorageError) {
        let temporary: String
        let exclusive: Int32
        switch kind {
        case .unique:
            // The suffix only has to differ from other writers' (O_EXCL refuses a clash anyway), so it
            // comes from getrandom(2): OpenSSL's DRBG would cost a login ~0.9 ms of start-up (docs/BENCHMARKS.md).
            var random = [UInt8](repeating: 0, count: 6)
            guard random.withUnsafeMutableBytes({ ctotp_getrandom($0.baseAddress, UInt($0.count)) }) == 6 else {
                throw .system(operation: "getrandom", path: displayPath, errno: Errno.current)
            }
            temporary = temporaryPrefix(of: name) + Hex.encode(random)
            exclusive = O_EXCL
        case .serialized:
            temporary = temporaryPrefix(of: name) + "locked"
            exclusive = O_TRUNC
        }
        var stage = "create temporary file"
        do throws(Errno) {
            let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | exclusive | Sys.openFlags, mode: mode, relativeTo: directory)
            do throws(Errno) {
                stage = "write"
                try bytes.withUnsafeBytes { bytes throws(Errno) in try Sys.writeAll(fd, bytes) }
                if let owner {
                    stage = "chown"
                    try Sys.fchown(fd, owner.0, owner.1)
                }
                stage = "chmod"
                try Sys.fchmod(fd, mode)
                if durable {
                    stage = "fsync"
                    try Sys.fsync(fd)
                }
                Sys.close(fd)
            } catch {
                Sys.close(fd)
                throw error
            }
            stage = "rename"
            try Sys.rename(temporary, name, in: directory)
            stage = "fsync directory"
            if durable { try Sys.fsync(directory) }
        } catch {
            if stage != "create temporary file" && stage != "fsync directory" {
                try? Sys.unlink(temporary, in: directory)
            }
            throw .system(operation: stage, path: displayPath, errno: error)
        }
    }

    /// Removes temporary files of `name` that a killed writer left in the directory. Call it only
    /// while no other writer of `name` can be running (under the lock that serialises them).
    public static func removeStaleTemporaries(of name: String, in directory: Int32) {
        let prefix = temporaryPrefix(of: name)
        let copy = dup(directory)
        guard copy >= 0, let listing = fdopendir(copy) else {
            if copy >= 0 { Sys.close(copy) }
            return
        }
        defer { closedir(listing) }
        rewinddir(listing)
        var stale: [String] = []
        while let entry = readdir(listing) {
            // Read the name in place, up to its NUL: a dirent record is shorter than the struct, so
            // copying d_name whole would read bytes readdir never wrote.
            guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { return }
            let entryName = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
            if entryName.hasPrefix(prefix) { stale.append(entryName) }
        }
        for entryName in stale { try? Sys.unlink(entryName, in: directory) }
    }

    /// Opens a directory for `write(_:name:in:…)` (calls `open` with `O_DIRECTORY`).
    public static func openDirectory(_ path: String) throws(StorageError) -> Int32 {
        do {
            return try Sys.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } catch {
            if error.code == ENOENT { throw .notFound(path: path) }
            throw .system(operation: "open directory", path: path, errno: error)
        }
    }

    public static func closeDirectory(_ fd: Int32) { Sys.close(fd) }

    /// Splits `/a/b/c` into (`/a/b`, `c`).
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}

extension AtomicFile {
    /// Removes `name` from the directory open as `directory` and `fsync`s the directory.
    public static func remove(name: String, in directory: Int32, displayPath: String) throws(StorageError) {
        do {
            try Sys.unlink(name, in: directory)
            try Sys.fsync(directory)
        } catch {
            if error.code == ENOENT { throw .notFound(path: displayPath) }
            throw .system(operation: "unlink", path: displayPath, errno: error)
        }
    }
}
