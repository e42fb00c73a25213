import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// The module's state directory (default /var/lib/pam-totp): per user a `USER.state` file and a
/// `USER.lock` file that is locked, never renamed, so the lock always guards the current state
/// (names too long for that get hashed names: `fileNames(user:)`).
public final class StateStore {
    public let path: String
    private let directory: Int32

    /// How many state files names that are no account share (`unknownNames()`): a fixed number, so
    /// that no client can make the module create files without end.
    public static let unknownBuckets = 1024

    /// Opens the state directory, creating it (mode 0700) if it is missing. The module never writes
    /// into a directory someone else controls, so every directory from `/` down to it is opened
    /// without following links and checked by descriptor (`SecurePath.openDirectory`): owned by
    /// root, not writable by group or others (a directory above it may be, with the sticky bit, as
    /// `/tmp` is), and the state directory itself never writable by group or others. Everything
    /// afterwards happens relative to the descriptor checked here, whatever is renamed meanwhile.
    public init(path: String) throws(StorageError) {
        self.path = path
        directory = try SecurePath.openDirectory(path, createMode: 0o700)
    }

    deinit { Sys.close(directory) }

    /// Where names that are no account are throttled: `unknownBuckets` state files in this directory,
    /// beside the accounts' (so that a login of either does the same work), named `unknown N` (no
    /// account name has a space). `UnknownNames.bucket(of:)` picks a name's file by an HMAC of the
    /// name under a random key of this host's own: no client can tell which names share a file.
    public func unknownNames() throws(StorageError) -> UnknownNames {
        UnknownNames(key: try hostKey())
    }

    /// The 32 random bytes in this directory's `unknown key` file, made on first use (`getrandom`,
    /// written atomically, mode 0600). Two logins making it at once each use their own for that
    /// login only.
    private func hostKey() throws(StorageError) -> Secret {
        let name = "unknown key"
        do throws(StorageError) {
            let bytes = try SecureFile.read(name, in: directory, displayPath: path + "/" + name, owners: [geteuid()], maxSize: 64).bytes
            guard bytes.count == 32 else { throw .malformed(path: path + "/" + name, error: "expected 32 bytes") }
            return bytes
        } catch  where error.isNotFound {
            let key = Secret(count: 32)
            guard key.withUnsafeMutableBytes({ ctotp_getrandom($0.baseAddress, UInt($0.count)) }) == 32 else {
                throw .system(operation: "getrandom", path: path + "/" + name, errno: Errno.current)
            }
            try AtomicFile.write(key, name: name, in: directory, displayPath: path + "/" + name, mode: 0o600)
            return key
        }
    }

    /// Waits for and takes the user's lock. The lock is held until the returned value is released.
    public func lock(user: String) throws(StorageError) -> LockedState {
        guard PathTemplate.isSafeUserName(user) || UnknownNames.isBucket(user) else {
            throw .insecureDirectory(path: path, reason: "user name cannot be used as a file name")
        }
        let lockName = Self.fileNames(user: user).lock
        let lockPath = path + "/" + lockName
        let fd: Int32
        do {
            fd = try Sys.open(lockName, O_RDWR | O_CREAT | Sys.openFlags, mode: 0o600, relativeTo: directory)
        } catch {
            throw .system(operation: "open lock file", path: lockPath, errno: error)
        }
        do {
            try Sys.lockExclusive(fd)
        } catch {
            Sys.close(fd)
            throw .system(operation: "lock", path: lockPath, errno: error)
        }
        return LockedState(store: self, user: user, lockDescriptor: fd)
    }

    /// One user's state while its lock is held.
    public final class LockedState {
        private let store: StateStore
        private let user: String
        private var lockDescriptor: Int32
        /// What `read()` found, to tell whether a write must outlive a crash.
        private var lastRead: UserState?

        fileprivate init(store: StateStore, user: String, lockDescriptor: Int32) {
            self.store = store
            self.user = user
            self.lockDescriptor = lockDescriptor
        }

        deinit { release() }

        /// Releases the lock (closing the descriptor releases it).
        public func release() {
            if lockDescriptor >= 0 {
                Sys.close(lockDescriptor)
                lockDescriptor = -1
            }
        }

        private var fileName: String { StateStore.fileNames(user: user).state }
        private var displayPath: String { store.path + "/" + fileName }

        /// The user's state; a user with no state file yet has an empty one.
        public func read() throws(StorageError) -> UserState {
            let state = try readFile()
            lastRead = state
            return state
        }

        private func readFile() throws(StorageError) -> UserState {
            let fd: Int32
            do {
                fd = try Sys.open(fileName, O_RDONLY | O_NONBLOCK | Sys.openFlags, relativeTo: store.directory)
            } catch {
                switch error.code {
                case ENOENT: return UserState()
                case ELOOP: throw .symbolicLink(path: displayPath)
                default: throw .system(operation: "open", path: displayPath, errno: error)
                }
            }
            defer { Sys.close(fd) }
            let info: stat
            do { info = try Sys.fstat(fd) } catch { throw .system(operation: "fstat", path: displayPath, errno: error) }
            try SecureFile.checkPrivateFile(info, path: displayPath, owners: [geteuid()], maxSize: LineFormat.maxSize)
            let bytes: Secret?
            do {
                bytes = try Sys.readAll(fd, limit: LineFormat.maxSize, expectedSize: Int(info.st_size))
            } catch {
                throw .system(operation: "read", path: displayPath, errno: error)
            }
            guard let bytes else { throw .tooLarge(path: displayPath, size: LineFormat.maxSize + 1) }
            do { return try bytes.withBytesArray { bytes throws(LineFormat.ParseError) in try UserState.parse(bytes) } } catch {
                throw .malformed(path: displayPath, error: error.description)
            }
        }

        /// Replaces the user's state atomically, through the one temporary name the lock makes safe
        /// (a killed writer's is taken over). It is `fsync`ed only when it records something a crash
        /// of the machine must not lose (`UserState.mustOutliveACrash`), or when nothing was read.
        public func write(_ state: UserState) throws(StorageError) {
            try AtomicFile.write(
                state.serialized(), name: fileName, in: store.directory, displayPath: displayPath, mode: 0o600, temporary: .serialized,
                durable: lastRead.map { state.mustOutliveACrash(comparedTo: $0) } ?? true)
            lastRead = state
        }
    }
}

extension StateStore {
    /// The names of `user`'s state and lock files (docs/FILEFORMAT.md, "File names"): `USER.state`
    /// and `USER.lock`, or, for a name too long for `USER.state` to be a file name (over 249 bytes),
    /// SHA-256 of the name in hex followed by `.sha256-state` and `.sha256-lock`. Every name of the
    /// first kind ends in `.state` or `.lock`, so no user's files can be another user's hashed ones.
    public static func fileNames(user: String) -> (state: String, lock: String) {
        if user.utf8.count + ".state".utf8.count <= AtomicFile.maxNameLength { return (user + ".state", user + ".lock") }
        let hash = Hex.encode(Crypto.sha256(Array(user.utf8)))
        return (hash + ".sha256-state", hash + ".sha256-lock")
    }
}

/// Where names that are no account are throttled: `StateStore.unknownBuckets` shared state files,
/// in which each name's sources are recorded apart (`LoginOrigin(unknownName:source:)`), so that one name's failures
/// throttle only that name, as an account's do.
public struct UnknownNames {
    private let key: Secret

    init(key: Secret) {
        self.key = key
    }

    /// Where `name` is kept: `bucket`, what `StateStore.lock(user:)` takes for the state file it
    /// shares (`unknown N`), and `tag`, which keeps its sources apart from other names' there.
    public func place(of name: String) -> (bucket: String, tag: String) {
        Crypto.hmac(.sha256, key: key, message: Array(name.utf8)).withUnsafeBytes { mac in
            ("unknown " + String((Int(mac[0]) << 8 | Int(mac[1])) % StateStore.unknownBuckets), Hex.encode(Array(mac[2..<10])))
        }
    }

    /// Whether `name` is one of the buckets' names.
    static func isBucket(_ name: String) -> Bool {
        guard name.hasPrefix("unknown "), let number = Int(name.dropFirst(8)) else { return false }
        return String(number) == name.dropFirst(8) && (0..<StateStore.unknownBuckets).contains(number)
    }
}
