// Every raw system call the storage layer makes goes through this file, and every `-1`/`errno`
// result through `valueOrErrno`, which also retries on EINTR.
import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// An `errno` value with the C library's description.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public static var current: Errno { Errno(ctotp_errno()) }
    public var description: String { String(cString: strerror(code)) }

    public static let noEntry = Errno(ENOENT)
    public static let loop = Errno(ELOOP)
}

/// Runs `call` until it does not fail with EINTR; a negative result becomes the `errno` it set.
@inline(__always)
func valueOrErrno<T: SignedInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        let error = ctotp_errno()
        if error != EINTR { throw Errno(error) }
    }
}

// The C functions that `Sys` shadows with its own methods of the same name.
private func c_fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32 { fstat(fd, info) }
private func c_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func c_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func c_fsync(_ fd: Int32) -> Int32 { fsync(fd) }
private func c_fchown(_ fd: Int32, _ uid: uid_t, _ gid: gid_t) -> Int32 { fchown(fd, uid, gid) }
private func c_fchmod(_ fd: Int32, _ mode: mode_t) -> Int32 { fchmod(fd, mode) }
private func c_close(_ fd: Int32) -> Int32 { close(fd) }

enum Sys {
    static let openFlags: Int32 = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY

    /// `openat(2)`.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, relativeTo directory: Int32 = AT_FDCWD) throws(Errno) -> Int32 {
        try valueOrErrno { ctotp_openat(directory, path, flags, mode) }
    }

    /// `fstat(2)`.
    static func fstat(_ fd: Int32) throws(Errno) -> stat {
        var info = stat()
        _ = try valueOrErrno { c_fstat(fd, &info) }
        return info
    }

    /// `fstatat(2)` without following a final symbolic link.
    static func lstat(_ path: String, relativeTo directory: Int32 = AT_FDCWD) throws(Errno) -> stat {
        var info = stat()
        _ = try valueOrErrno { fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) }
        return info
    }

    /// Reads the whole descriptor, refusing more than `limit` bytes (calls `read`).
    ///
    /// The files read here hold secrets, so the bytes go straight into one `Secret` sized from
    /// `expectedSize` (the caller's `fstat`), with no chunk buffer and no regrowing copies. Only a file
    /// that grows while it is read needs a larger one, and the outgrown one zeroes itself.
    /// - Returns: the bytes, or nil if there are more than `limit`.
    static func readAll(_ fd: Int32, limit: Int, expectedSize: Int) throws(Errno) -> Secret? {
        // One byte more than expected, so that the end of the file is seen without growing.
        var buffer = Secret(count: min(max(expectedSize, 0), limit) + 1)
        var count = 0
        while true {
            if count == buffer.count {
                guard count <= limit else { return nil }
                let smaller = buffer
                buffer = Secret(count: min(smaller.count * 2, limit + 1)) { target in
                    smaller.withUnsafeBytes { target.copyMemory(from: $0) }
                }
            }
            var failure: Errno?
            let read = buffer.withUnsafeMutableBytes { bytes in
                // A Secret always has an address (it allocates at least one byte).
                guard let base = bytes.baseAddress else { return 0 }
                do throws(Errno) { return try valueOrErrno { c_read(fd, base + count, bytes.count - count) } } catch {
                    failure = error
                    return 0
                }
            }
            if let failure { throw failure }
            if read == 0 { break }
            count += read
        }
        return buffer.slice(0..<count)
    }

    /// Writes all of `bytes`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            offset += try valueOrErrno { c_write(fd, base + offset, bytes.count - offset) }
        }
    }

    static func fsync(_ fd: Int32) throws(Errno) { _ = try valueOrErrno { c_fsync(fd) } }
    static func fchown(_ fd: Int32, _ uid: uid_t, _ gid: gid_t) throws(Errno) { _ = try valueOrErrno { c_fchown(fd, uid, gid) } }
    static func fchmod(_ fd: Int32, _ mode: mode_t) throws(Errno) { _ = try valueOrErrno { c_fchmod(fd, mode) } }
    static func close(_ fd: Int32) { _ = c_close(fd) }

    static func rename(_ from: String, _ to: String, in directory: Int32) throws(Errno) {
        _ = try valueOrErrno { renameat(directory, from, directory, to) }
    }

    static func unlink(_ name: String, in directory: Int32) throws(Errno) {
        _ = try valueOrErrno { unlinkat(directory, name, 0) }
    }

    /// `mkdirat(2)`.
    static func mkdir(_ name: String, _ mode: mode_t, relativeTo directory: Int32) throws(Errno) {
        _ = try valueOrErrno { mkdirat(directory, name, mode) }
    }

    /// Takes an open-file-description lock (`F_OFD_SETLKW`) on the whole file, waiting for it. It is
    /// tied to the descriptor: closing it, or the process dying, releases it, so no stale lock can
    /// remain; and unlike classic POSIX locks it also excludes other threads of the same process.
    static func lockExclusive(_ fd: Int32) throws(Errno) { _ = try valueOrErrno { ctotp_lock_exclusive(fd) } }
}

/// A file's type, from its `st_mode`. (The `S_IF*` constants are `mode_t` in Swift's Glibc module but
/// plain integers in the C header the Embedded build imports, hence the conversions.)
enum FileType: Equatable, CustomStringConvertible {
    case regular, directory, symbolicLink, fifo, socket, characterDevice, blockDevice, unknown

    init(_ mode: mode_t) {
        switch mode & mode_t(S_IFMT) {
        case mode_t(S_IFREG): self = .regular
        case mode_t(S_IFDIR): self = .directory
        case mode_t(S_IFLNK): self = .symbolicLink
        case mode_t(S_IFIFO): self = .fifo
        case mode_t(S_IFSOCK): self = .socket
        case mode_t(S_IFCHR): self = .characterDevice
        case mode_t(S_IFBLK): self = .blockDevice
        default: self = .unknown
        }
    }

    /// For messages.
    var description: String {
        switch self {
        case .regular: return "regular file"
        case .directory: return "directory"
        case .symbolicLink: return "symbolic link"
        case .fifo: return "FIFO"
        case .socket: return "socket"
        case .characterDevice: return "character device"
        case .blockDevice: return "block device"
        case .unknown: return "unknown file type"
        }
    }
}
