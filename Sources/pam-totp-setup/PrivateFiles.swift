import Glibc
import TOTPStorage

/// Writes a file only its owner can read (QR images carry the secret), atomically.
func writePrivateFile(_ path: String, _ bytes: [UInt8]) throws {
    let (directoryPath, name) = AtomicFile.split(path)
    do {
        let directory = try AtomicFile.openDirectory(directoryPath)
        defer { AtomicFile.closeDirectory(directory) }
        try withSignalsBlocked { try AtomicFile.write(bytes, name: name, in: directory, displayPath: path, mode: 0o600) }
    } catch {
        throw SetupError("cannot write \(path): \(error)")
    }
}

/// Called before a command prints a secret or recovery codes: if standard output is a file
/// (`… --json > alice.json`), it is made 0600 first, whatever the umask (`SecureFile.restrictToOwner`).
func protectStandardOutput() throws {
    do { try SecureFile.restrictToOwner(STDOUT_FILENO, displayPath: "standard output") } catch {
        throw SetupError("\(error.description); nothing was written to it (redirect standard output into a file of your own)")
    }
}
