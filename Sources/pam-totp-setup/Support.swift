import Glibc
import TOTPCore
import TOTPStorage

/// Where the tool's words go: prose to stdout, unless stdout carries JSON, then to stderr.
struct Output {
    let json: Bool

    func prose(_ text: String) {
        if json { fputs(text + "\n", stderr) } else { print(text) }
    }

    /// A question, without a newline, flushed so it shows before the tool waits for input.
    func ask(_ text: String) {
        if json {
            fputs(text, stderr)
        } else {
            print(text, terminator: "")
            fflush(stdout)
        }
    }
}

/// A user's enrollment file, read and written the way the module expects: in a home directory with
/// the user's own file-system identity (so the file is theirs and no link of theirs is followed as
/// root); in a central directory as root, owned by root.
struct EnrollmentFile {
    let path: String
    let account: Account
    let inHome: Bool

    func exists() throws -> Bool {
        let result = try identity { Result { () throws(StorageError) in try SecureFile.read(path, owner: account.uid) } }
        switch result {
        case .success: return true
        case .failure(let error) where error.isNotFound: return false
        case .failure(let error): throw SetupError("existing enrollment: \(error.description)")
        }
    }

    func write(_ enrollment: Enrollment) throws {
        let (directoryPath, name) = AtomicFile.split(path)
        let owner: (uid_t, gid_t)? = inHome || geteuid() != 0 ? nil : (0, 0)
        let result = try identity {
            Result { () throws(StorageError) in
                if !inHome { try ensureDirectory(directoryPath) }
                let directory = try AtomicFile.openDirectory(directoryPath)
                defer { AtomicFile.closeDirectory(directory) }
                var bytes = enrollment.serialized()
                defer { Crypto.cleanse(&bytes) }
                try AtomicFile.write(bytes, name: name, in: directory, displayPath: path, mode: 0o600, owner: owner)
            }
        }
        if case .failure(let error) = result { throw SetupError("cannot save the enrollment: \(error.description)") }
    }

    private func identity<T>(_ body: () -> T) throws -> T {
        guard inHome else { return body() }
        do { return try FileSystemIdentity.run(uid: account.uid, gid: account.gid, body) } catch {
            throw SetupError("cannot act as \(account.name): \(error.description)")
        }
    }

    /// Creates a missing central directory (mode 0700: only root reads enrollments there).
    private func ensureDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .system(operation: "mkdir", path: path, errno: Errno.current)
        }
    }
}

/// Just enough JSON for the tool's output.
enum JSON {
    case string(String)
    case array([JSON])
    indirect case object([(String, JSON)])

    static func render(_ members: [(String, JSON)]) -> String { JSON.object(members).text }

    var text: String {
        switch self {
        case .string(let value): return Self.quote(value)
        case .array(let values): return "[" + values.map(\.text).joined(separator: ",") + "]"
        case .object(let members): return "{" + members.map { Self.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
