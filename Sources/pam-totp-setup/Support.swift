import Glibc
import TOTPCore
import TOTPStorage

/// Where the tool's words go: prose to stdout, unless stdout carries JSON, then to stderr.
struct Output {
    let json: Bool

    func prose(_ text: String, newline: Bool = true) {
        let line = newline ? text + "\n" : text
        if json { fputs(line, stderr) } else { fputs(line, stdout) }
    }

    /// A question, without a newline, flushed so it shows before the tool waits for input.
    func ask(_ text: String) {
        prose(text, newline: false)
        fflush(json ? stderr : stdout)
    }

    /// Reads one line of standard input; nil at end of input.
    func answer() -> String? { readLine(strippingNewline: true) }

    /// Prints recovery codes once and, at a terminal, waits until the user says they stored them.
    func showRecoveryCodes(_ codes: [String]) {
        guard !codes.isEmpty, !json else { return }
        prose("Recovery codes: each works once, at the code prompt, if you lose your phone.")
        prose("They are shown only now. Store them somewhere safe, away from the phone:")
        for code in codes { prose("  \(code)") }
        guard isatty(STDIN_FILENO) == 1 else { return }
        while true {
            ask("Type \"yes\" once you have stored them: ")
            guard let reply = answer() else { return }
            if ["yes", "y"].contains(reply.lowercased().trimmingSpaces) { return }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// A user's enrollment file, read and written the way the module expects: in a home directory with
/// the user's own file-system identity (so the file is theirs and no link of theirs is followed as
/// root); in a central directory as root, owned by root, through a path checked from `/` that no
/// link is followed in (`SecurePath`), and with an `account` line naming the user.
struct EnrollmentFile {
    let path: String
    let account: Account
    let inHome: Bool

    /// The enrollment, or nil if there is none. Refuses files the module would refuse.
    func read() throws -> Enrollment? {
        guard var contents = try readContents(context: "enrollment") else { return nil }
        defer { Crypto.cleanse(&contents.bytes) }
        var enrollment: Enrollment
        do { enrollment = try Enrollment.parse(contents.bytes) } catch { throw SetupError("enrollment \(path): \(error.description)") }
        do { try enrollment.checkAccount(account.name, lineRequired: contents.needsAccountLine) } catch {
            enrollment.cleanse()
            throw SetupError(
                "enrollment \(path): \(error.description)"
                    + (error == .missing
                        ? "; if it is \(account.name)'s, add the line 'account \(account.name)' after 'version 1', else re-enroll with `pam-totp-setup enroll --user \(account.name) --force`"
                        : ""))
        }
        return enrollment
    }

    /// Whether a file (of any kind) is at `path`; a file the module would refuse still counts.
    func exists() throws -> Bool {
        guard var contents = try readContents(context: "existing enrollment") else { return false }
        Crypto.cleanse(&contents.bytes)
        return true
    }

    /// Whether anything is at `path`, even a file the module would refuse (a link, a file with
    /// insecure permissions): the module stops at it, so the tool must too.
    var isPresent: Bool {
        do { return try exists() } catch { return true }
    }

    /// The file, read with the checks and the identity the module uses; nil if there is none.
    private func readContents(context: String) throws -> EnrollmentStorage.Contents? {
        do {
            return try EnrollmentStorage.read(path, account: account, inHome: inHome)
        } catch {
            if error.isNotFound { return nil }
            throw SetupError("\(context): \(error.description)")
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
                var bytes = tied.serialized()
                defer {
                    Crypto.cleanse(&bytes)
                    tied.cleanse()
                }
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

/// Runs `body` with SIGINT, SIGTERM, SIGHUP and SIGQUIT held back, so Ctrl-C cannot stop a write
/// halfway (the atomic write would leave its temporary file behind). They are delivered afterwards.
func withSignalsBlocked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    var blocked = sigset_t()
    var previous = sigset_t()
    sigemptyset(&blocked)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&blocked, signal) }
    sigprocmask(SIG_BLOCK, &blocked, &previous)
    defer { sigprocmask(SIG_SETMASK, &previous, nil) }
    return try body()
}

/// Notes an administrative action in the system log (authpriv), as the module's own lines are.
func logAdminAction(_ message: String) {
    openlog("pam-totp-setup", LOG_PID, LOG_AUTHPRIV)
    message.withCString { text in withVaList([text]) { vsyslog(LOG_NOTICE, "%s", $0) } }
    closelog()
}

/// The name of whoever ran the tool, for the log: the invoking user behind sudo if there is one.
func invokingUser() -> String {
    let uid = getuid()
    let name = (try? Account.current())??.name ?? "uid \(uid)"
    if let sudoUser = getenv("SUDO_USER").map({ String(cString: $0) }), !sudoUser.isEmpty { return "\(name) (sudo by \(sudoUser))" }
    return name
}

/// Asks for proof that the user has the app (a current code) or, if allowed, a recovery code.
/// As root, the answer is checked and recorded in the module's state like a login, so a code used
/// here cannot be used again; otherwise it is checked against the enrollment alone.
func proveHolding(_ target: Target, _ enrollment: Enrollment, allowRecovery: Bool, out: Output) throws {
    out.ask(allowRecovery ? "Current code from the app, or a recovery code: " : "Current code from the app: ")
    guard var answer = out.answer().map({ Array($0.utf8) }), !String(decoding: answer, as: UTF8.self).trimmingSpaces.isEmpty else {
        throw SetupError("no code was given; nothing was changed")
    }
    var input = CodeInput.classify(answer, digits: enrollment.parameters.digits)
    Crypto.cleanse(&answer)
    if case .recovery = input, !allowRecovery { input = .malformed }
    let window = enrollment.window ?? target.options.window
    let now = Int64(time(nil))
    let outcome: AttemptOutcome
    if geteuid() == 0 {
        outcome = try target.withState { locked in
            let state = try locked.read()
            let decision = try decideAttempt(
                input: input, enrollment: enrollment, state: state, now: now, window: window,
                hotpWindow: target.options.hotpWindow, throttle: target.options.throttle)
            if decision.state != state { try withSignalsBlocked { try locked.write(decision.state) } }
            return decision.outcome
        }
    } else {
        outcome = try decideAttempt(
            input: input, enrollment: enrollment, state: UserState(), now: now, window: window, hotpWindow: target.options.hotpWindow
        ).outcome
    }
    guard outcome.isSuccess else {
        throw SetupError("the code does not match (\(outcome.reason)); nothing was changed")
    }
}

/// Just enough JSON for the tool's output.
enum JSON {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case array([JSON])
    indirect case object([(String, JSON)])

    static func render(_ members: [(String, JSON)]) -> String { JSON.object(members).text }

    var text: String {
        switch self {
        case .string(let value): return Self.quote(value)
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
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

/// Called before a command prints a secret or recovery codes: if standard output is a file
/// (`… --json > alice.json`), it is made 0600 first, whatever the umask (`SecureFile.restrictToOwner`).
func protectStandardOutput() throws {
    do { try SecureFile.restrictToOwner(STDOUT_FILENO, displayPath: "standard output") } catch {
        throw SetupError("\(error.description); nothing was written to it (redirect standard output into a file of your own)")
    }
}
