import CTOTPSystem

/// Why a file was refused or could not be used. Each case is logged with its reason.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case symbolicLink(path: String)
    case notRegularFile(path: String, kind: String)
    case wrongOwner(path: String, uid: UInt32)
    case insecurePermissions(path: String, mode: UInt32)
    case tooLarge(path: String, size: Int)
    case insecureDirectory(path: String, reason: String)
    case system(operation: String, path: String, errno: Errno)
    case malformed(path: String, error: String)
    /// The PostgreSQL store (`store=FILE`) could not be reached or refused a statement.
    case store(path: String, error: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file"
        case .symbolicLink(let path): return "\(path): is a symbolic link; refusing to follow it"
        case .notRegularFile(let path, let kind): return "\(path): is a \(kind), not a regular file"
        case .wrongOwner(let path, let uid): return "\(path): owned by uid \(uid), expected the user or root"
        case .insecurePermissions(let path, let mode):
            return "\(path): mode \(String(mode & 0o7777, radix: 8)) lets group or others access it; expected 600 or 400"
        case .tooLarge(let path, let size): return "\(path): \(size) bytes is too large for an enrollment"
        case .insecureDirectory(let path, let reason): return "\(path): \(reason)"
        case .system(let operation, let path, let errno): return "\(path): \(operation) failed: \(errno)"
        case .malformed(let path, let error): return "\(path): malformed: \(error)"
        case .store(let path, let error): return "store \(path): \(error)"
        }
    }

    public var isNotFound: Bool {
        if case .notFound = self { return true }
        return false
    }
}
