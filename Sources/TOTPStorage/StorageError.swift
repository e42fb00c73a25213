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
    /// The PostgreSQL store (`store=FILE`, at `path`) could not be used.
    case store(path: String, failure: StoreFailure)

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
        case .store(let path, let failure): return "store \(path): \(failure)"
        }
    }

    public var isNotFound: Bool {
        if case .notFound = self { return true }
        return false
    }
}

/// Why the PostgreSQL store could not be used: what kind of failure, and its text (libpq's or the
/// server's, never a parameter's value nor the connection string, or the module's own).
public struct StoreFailure: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// No connection: libpq could not be loaded, the store file holds no usable string, the
        /// environment would choose the database, or libpq's reason for each host it tried.
        case connect
        /// A request was not answered within `store_timeout`; the connection is given up.
        case timeout
        /// The connection was lost (the server closed it, or the network failed).
        case lost
        /// The database has no pam_totp schema, or not of the version this code knows.
        case schema
        /// The server refused a statement.
        case statement
        /// Another server or the tool changed what this decision read: nothing was recorded.
        case conflict
        /// The user's state row does not parse.
        case malformedState
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
