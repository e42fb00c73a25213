import Glibc
import TOTPStorage

/// The helper's check, at startup, that the portal's PAM service really runs pam_totp.so.
///
/// libpam fails open here: a service with no file in /etc/pam.d is read from `other` (Debian's
/// includes common-auth), so a typo in `pam_service=`, or a forgotten copy of the example, would let
/// an enrolled user in with the password alone and look like a login without a code. So the helper
/// refuses to start unless `<pam.d>/<pam_service>` is a regular file (not a link), owned by root and
/// not writable by group or others, with an `auth` line whose module is pam_totp.so.
enum PAMServiceCheck {
    /// Refuses, with what to install, unless the service's file is as above.
    static func verify(service: String, directory: String?) throws {
        let pamDirectory = directory ?? "/etc/pam.d"
        let path = pamDirectory + "/" + service
        let remedy =
            "install the portal's stack: install -m 644 -o root -g root \(exampleStack()) \(path) (and set pam_service= to its name)"
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "is missing" : "cannot be examined: \(String(cString: strerror(errno)))"
            throw SetupError(
                "PAM service \(service): \(path) \(reason); libpam would use 'other' instead, without pam_totp.so, and let enrolled users in with the password alone. To fix it, \(remedy)"
            )
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SetupError("PAM service \(service): \(path) is not a regular file (a link or anything else is refused); \(remedy)")
        }
        let bytes: [UInt8]
        do {
            // Root's pam.d: what lstat saw is what is opened. ConfigFile checks the owner and mode again.
            guard let read = try ConfigFile.read(path) else { throw SetupError("PAM service \(service): \(path) is missing; \(remedy)") }
            bytes = read
        } catch let error as StorageError {
            throw SetupError("PAM service \(service): \(error.description) (it must be root's, not writable by group or others)")
        }
        guard namesModule(bytes) else {
            throw SetupError(
                "PAM service \(service): \(path) has no 'auth' line with pam_totp.so, so logins through the portal would not ask for a code; \(remedy)"
            )
        }
    }

    /// Whether a line of the file (not a comment) is `auth CONTROL …/pam_totp.so …`. `-auth` (skipped
    /// silently when the module is missing) does not count, nor does a module in an included file.
    static func namesModule(_ bytes: [UInt8]) -> Bool {
        for rawLine in bytes.split(separator: 0x0A) {
            let line = String(decoding: rawLine, as: UTF8.self)
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let type = words.first, type.lowercased() == "auth", words.count >= 3 else { continue }
            var index = 1
            // A control in brackets may hold blanks: `[success=ok default=die]`.
            if words[1].hasPrefix("[") {
                while index < words.count && !words[index].hasSuffix("]") { index += 1 }
            }
            index += 1
            guard index < words.count else { continue }
            let module = words[index]
            if module == "pam_totp.so" || module.hasSuffix("/pam_totp.so") { return true }
        }
        return false
    }

    /// Where the example stack is: the installed documentation beside this program's prefix
    /// (`make install`, the Debian package), else the source tree's `pam.d-examples`.
    private static func exampleStack() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var candidates: [String] = []
        if length > 0 {
            let exe = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let bin = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let prefix = bin.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            candidates = [prefix + "/share/doc/pam-totp/pam.d-examples/pam-totp-web", prefix + "/pam.d-examples/pam-totp-web"]
        }
        for candidate in candidates where access(candidate, R_OK) == 0 { return candidate }
        return candidates.first ?? "/usr/share/doc/pam-totp/pam.d-examples/pam-totp-web"
    }
}
