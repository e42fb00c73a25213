import Glibc
import TOTPCore
import TOTPStorage

/// A user's enrollment file, read and written the way the module expects: in a home directory with
/// the user's own file-system identity (so the file is theirs and no link of theirs is followed as
/// root); in a central directory as root, owned by root, through a path checked from `/` that no
/// link is followed in (`SecurePath`), and with an `account` line naming the user.
struct EnrollmentFile: EnrollmentPlace {
    let path: String
    let account: Account
    let inHome: Bool

    /// The enrollment, or nil if there is none. Refuses the files the module refuses
    /// (`EnrollmentStorage.load`, which the module uses too).
    func read() throws -> Enrollment? {
        do {
            return try EnrollmentStorage.load(path, account: account, inHome: inHome)
        } catch {
            switch error {
            case .unreadable(let reason):
                throw SetupError("enrollment: \(reason)")
            case .malformed(let problem):
                throw SetupError("enrollment \(path): \(problem.description)")
            case .account(let problem):
                let hint =
                    problem == .missing
                    ? "; if it is \(account.name)'s, add the line 'account \(account.name)' after 'version 1', else re-enroll with `pam-totp-setup enroll --user \(account.name) --force`"
                    : ""
                throw SetupError("enrollment \(path): \(problem.description)\(hint)")
            }
        }
    }

    /// Whether a file (of any kind) is at `path`; a file the module would refuse still counts.
    func exists() throws -> Bool {
        do {
            _ = try UserFile.read(path, account: account, inHome: inHome)
            return true
        } catch {
            if error.isNotFound { return false }
            throw SetupError("existing enrollment: \(error.description)")
        }
    }

    /// Writes `enrollment` with an `account` line naming the user (atomically).
    func write(_ enrollment: Enrollment) throws {
        let (directoryPath, name) = AtomicFile.split(path)
        let owner: (uid_t, gid_t)? = inHome || geteuid() != 0 ? nil : (0, 0)
        let result = try identity {
            Result { () throws(StorageError) in
                let directory = try openDirectory(directoryPath, create: true)
                defer { AtomicFile.closeDirectory(directory) }
                var tied = enrollment
                tied.account = account.name
                var serialized = tied.serialized()
                let bytes = Secret(taking: &serialized)
                // One enrollment is written at a time in practice (an admin's tool); leftovers of a
                // killed run are stale.
                AtomicFile.removeStaleTemporaries(of: name, in: directory)
                try withSignalsBlocked { () throws(StorageError) in
                    try AtomicFile.write(bytes, name: name, in: directory, displayPath: path, mode: 0o600, owner: owner)
                }
            }
        }
        if case .failure(let error) = result { throw SetupError("cannot save the enrollment: \(error.description)") }
    }

    func remove() throws {
        let (directoryPath, name) = AtomicFile.split(path)
        let result = try identity {
            Result { () throws(StorageError) in
                let directory = try openDirectory(directoryPath, create: false)
                defer { AtomicFile.closeDirectory(directory) }
                try AtomicFile.remove(name: name, in: directory, displayPath: path)
            }
        }
        if case .failure(let error) = result { throw SetupError("cannot remove the enrollment: \(error.description)") }
    }

    private func identity<T>(_ body: () -> T) throws -> T {
        guard inHome else { return body() }
        do { return try FileSystemIdentity.run(uid: account.uid, gid: account.gid, body) } catch {
            throw SetupError("cannot act as \(account.name): \(error.description)")
        }
    }

    /// The enrollment's directory: in a home, as the user opens it; elsewhere checked from `/` like
    /// the module checks it, and created if missing (mode 0700: only root reads enrollments there).
    private func openDirectory(_ directoryPath: String, create: Bool) throws(StorageError) -> Int32 {
        if inHome { return try AtomicFile.openDirectory(directoryPath) }
        return try SecurePath.openDirectory(directoryPath, createMode: create ? 0o700 : nil)
    }
}
