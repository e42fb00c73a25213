import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

/// Options every subcommand shares: whose enrollment, where it lives, and the site configuration.
struct CommonOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Act on this user instead of yourself (root only). Under sudo, the default is the user who ran sudo.", valueName: "name"))
    var user: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the enrollment lives: %u is the user name, %h and a leading ~/ the home directory; several locations separated by ':' are looked at in order. Default: the configuration file's secret=, else ~/.pam_totp. Must match the module's secret= option.",
            valueName: "template"))
    var secret: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Site-wide defaults (issuer=, secret=, state=, window=), as the module reads them.", valueName: "file"))
    var config: String = ModuleOptions.defaultConfig

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The module's state directory (default: the configuration's state=, else /var/lib/pam-totp). Used as root.", valueName: "dir"))
    var state: String?

    func validate() throws {
        if let secret {
            do { _ = try PathTemplate.list(secret) } catch { throw ValidationError("--secret \(secret): \(error.description)") }
        }
        if let user, !PathTemplate.isSafeUserName(user) { throw ValidationError("--user: '\(user)' is not a usable user name") }
        guard config.hasPrefix("/") else { throw ValidationError("--config must be an absolute path") }
        if let state, !state.hasPrefix("/") { throw ValidationError("--state must be an absolute path") }
    }

    /// The site configuration, then the account to act on and its enrollment file.
    func resolve() throws -> Target {
        var options: ModuleOptions
        do {
            let arguments = try ConfigFile.read(config).map(ModuleOptions.configArguments) ?? []
            options = try ModuleOptions.parse([], config: arguments)
        } catch {
            throw SetupError("configuration \(config): \(error)")
        }
        if let secret {
            do { try options.setSecret(secret) } catch { throw SetupError("--secret \(secret): \(error.description)") }
        }
        if let state { options.stateDirectory = state }
        let account: Account
        do {
            if let user {
                guard let found = try Account.lookup(user) else { throw SetupError("no such user: \(user)") }
                if getuid() != 0 && found.uid != getuid() { throw SetupError("only root can act on another user's enrollment") }
                account = found
            } else if let invoker = try sudoInvoker() {
                account = invoker
            } else {
                guard let found = try Account.current() else { throw SetupError("cannot find your own user (uid \(getuid()))") }
                account = found
            }
        } catch let error as Errno {
            throw SetupError("user database: \(error)")
        }
        let target = try Target(account: account, options: options)
        if !target.hidden.isEmpty {
            // What the user acts on here is their own file; an enrollment an administrator keeps
            // before it in the list (which the user cannot see) would be the one logins use.
            fputs(
                "Note: logins use an enrollment an administrator keeps for \(target.name) in \(target.hidden.joined(separator: ", ")) instead, if there is one (only root can see it; `sudo pam-totp-setup status` shows it).\n",
                stderr)
        }
        return target
    }

    /// Under sudo without --user, the user who ran sudo (`SUDO_USER`, which must be the account of
    /// `SUDO_UID`, as sudo sets both): `sudo pam-totp-setup devices` is about one's own devices.
    /// Nil when not run by root through sudo, or when sudo was run by root itself.
    private func sudoInvoker() throws -> Account? {
        guard getuid() == 0, let name = getenv("SUDO_USER").map({ String(cString: $0) }), !name.isEmpty else { return nil }
        guard let uidText = getenv("SUDO_UID").map({ String(cString: $0) }), let uid = UInt32(uidText) else {
            throw SetupError("SUDO_USER is set but SUDO_UID is not a uid; give --user NAME")
        }
        if uid == 0 { return nil }
        guard PathTemplate.isSafeUserName(name), let found = try Account.lookup(name), found.uid == uid else {
            throw SetupError("SUDO_USER (\(name.prefix(64))) is not the account of SUDO_UID \(uid); give --user NAME")
        }
        return found
    }
}

/// The user a command acts on, with the options in force and their enrollment file.
struct Target {
    let account: Account
    let options: ModuleOptions
    /// The enrollment this command uses: the first location that holds one, as the module looks
    /// for it, or else where a new one is written (`init`).
    let file: EnrollmentFile
    /// Locations this process cannot look into (root's, when run as a user): an enrollment there
    /// would win at login, but only root can see it.
    let hidden: [String]

    var name: String { account.name }
    var issuer: String { options.issuer ?? hostName() }

    /// Finds the account's enrollment among the `secret=` locations in order, as the module does.
    ///
    /// Root looks everywhere and writes a new enrollment into the first location (the admin's). A
    /// user cannot read root's central directories (they are 0700, and their files 0600 root), so a
    /// user looks only in the locations in their home and writes into the first of those; nothing
    /// about anyone's central enrollment, their own included, is shown to them.
    init(account: Account, options: ModuleOptions) throws {
        self.account = account
        self.options = options
        var candidates: [EnrollmentFile] = []
        var hidden: [String] = []
        for template in options.secretTemplates {
            let path: String
            do { path = try PathTemplate.expand(template, user: account.name, home: account.home) } catch {
                throw SetupError("cannot place the enrollment for \(account.name): \(error.description)")
            }
            let inHome = PathTemplate.usesHome(template)
            if inHome || geteuid() == 0 {
                candidates.append(EnrollmentFile(path: path, account: account, inHome: inHome))
            } else {
                hidden.append(path)
            }
        }
        self.hidden = hidden
        guard let first = candidates.first else {
            throw SetupError(
                "\(account.name)'s enrollment is kept by the administrator (\(hidden.joined(separator: ", "))), which only root can read or change: ask an administrator"
            )
        }
        var chosen = first
        for candidate in candidates where candidate.isPresent {
            chosen = candidate
            break
        }
        self.file = chosen
    }

    /// The enrollment, which must exist.
    func enrollment() throws -> Enrollment {
        guard let enrollment = try file.read() else { throw SetupError("\(name) is not enrolled (\(file.path))") }
        return enrollment
    }

    /// The URI the app was given: with the issuer recorded at enrollment, if there is one.
    func uri(for enrollment: Enrollment) -> String {
        OTPAuthURI.uri(issuer: enrollment.issuer ?? issuer, account: name, enrollment: enrollment)
    }

    /// The module's state for this user, locked while `body` runs (root only: the state is root's).
    func withState<T>(_ body: (StateStore.LockedState) throws -> T) throws -> T {
        guard geteuid() == 0 else {
            throw SetupError("the module's state (\(options.stateDirectory)) is root's: run this as root")
        }
        do {
            let store = try StateStore(path: options.stateDirectory)
            let locked = try store.lock(user: name)
            defer { locked.release() }
            return try body(locked)
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError("state: \(error)")
        }
    }
}

/// How and where a QR code is shown.
struct QROptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("QR code in the terminal: utf8 (half blocks), ansi (colour blocks) or none.", valueName: "style"))
    var qr: QRCode.TerminalStyle = .utf8

    @Option(name: .customLong("qr-png"), help: ArgumentHelp("Also write the QR code as a PNG image.", valueName: "file"))
    var png: String?

    @Option(name: .customLong("qr-svg"), help: ArgumentHelp("Also write the QR code as an SVG image.", valueName: "file"))
    var svg: String?

    /// The terminal the layout is made for: what a fresh terminal window or console has.
    static let screenWidth = 80

    /// Shows `uri` for an app: writes the images first (a path that cannot be written is refused
    /// before the secret is shown), then the URI, then the QR code with `caption` and the secret
    /// beside it, so that when the caller asks for a code on the next line, the whole code and what
    /// the user needs are on one 80×24 screen (the long URI may have scrolled away by then).
    func present(uri: String, secret: [UInt8], caption: [String], out: Output) throws {
        let image = try QRCode(uri)
        if let png { try writePrivateFile(png, image.png()) }
        if let svg { try writePrivateFile(svg, Array(image.svg().utf8)) }
        for path in [png, svg].compactMap({ $0 }) { out.prose("QR code written to \(path) (mode 600: it contains the secret).") }
        out.prose("URI: \(uri)")
        let secretText = grouped(Base32.encode(secret))
        let terminalCode = try QRCode(uri, compact: true)
        let lines = terminalCode.terminalLines(qr)
        let besideWidth = Self.screenWidth - terminalCode.size - 2
        // Four groups of four per line: 19 columns.
        let secretGroups = secretText.split(separator: " ")
        let secretLines = stride(from: 0, to: secretGroups.count, by: 4).map {
            secretGroups[$0..<min($0 + 4, secretGroups.count)].joined(separator: " ")
        }
        let beside = caption.flatMap { wrap($0, width: besideWidth) } + ["", "Secret (for typing by hand):"] + secretLines
        guard !lines.isEmpty, besideWidth >= 30, beside.count <= lines.count else {
            for line in lines { out.prose(line) }
            for line in caption { out.prose(line) }
            out.prose("Secret (for typing by hand): \(secretText)")
            return
        }
        for (index, line) in lines.enumerated() {
            out.prose(index < beside.count && !beside[index].isEmpty ? line + "  " + beside[index] : line)
        }
    }
}

/// Breaks `text` into lines of at most `width` columns at spaces (a longer word gets a line of its own).
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        if !current.isEmpty && current.count + 1 + word.count > width {
            lines.append(current)
            current = ""
        }
        current += current.isEmpty ? String(word) : " " + word
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}

extension QRCode.TerminalStyle: ExpressibleByArgument {}

/// `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`.
func grouped(_ text: String) -> String {
    var out = ""
    for (index, c) in text.enumerated() {
        if index > 0 && index % 4 == 0 { out += " " }
        out.append(c)
    }
    return out
}

/// This machine's host name (calls `gethostname`).
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name
}
