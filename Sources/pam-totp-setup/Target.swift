import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

/// Options every subcommand shares: whose enrollment, where it lives, and the site configuration.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Act on this user instead of yourself (root only).", valueName: "name"))
    var user: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the enrollment lives: %u is the user name, %h and a leading ~/ the home directory. Default: the configuration file's secret=, else ~/.pam_totp. Must match the module's secret= option.",
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
            do { try PathTemplate.validate(secret) } catch { throw ValidationError("--secret \(secret): \(error.description)") }
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
        if let secret { options.secret = secret }
        if let state { options.stateDirectory = state }
        let account: Account
        do {
            if let user {
                guard let found = try Account.lookup(user) else { throw SetupError("no such user: \(user)") }
                if getuid() != 0 && found.uid != getuid() { throw SetupError("only root can act on another user's enrollment") }
                account = found
            } else {
                guard let found = try Account.current() else { throw SetupError("cannot find your own user (uid \(getuid()))") }
                account = found
            }
        } catch let error as Errno {
            throw SetupError("user database: \(error)")
        }
        let path: String
        do { path = try PathTemplate.expand(options.secret, user: account.name, home: account.home) } catch {
            throw SetupError("cannot place the enrollment for \(account.name): \(error.description)")
        }
        return Target(
            account: account, options: options,
            file: EnrollmentFile(path: path, account: account, inHome: PathTemplate.usesHome(options.secret)))
    }
}

/// The user a command acts on, with the options in force and their enrollment file.
struct Target {
    let account: Account
    let options: ModuleOptions
    let file: EnrollmentFile

    var name: String { account.name }
    var issuer: String { options.issuer ?? hostName() }

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

    /// Shows `uri` for an app: the QR code, the secret in groups of four, and the URI; writes images.
    func present(uri: String, secret: [UInt8], out: Output) throws {
        let code = try QRCode(uri)
        if qr != .none { out.prose(code.terminal(qr), newline: false) }
        out.prose("Secret (for typing by hand): \(grouped(Base32.encode(secret)))")
        out.prose("URI: \(uri)")
        if let png { try writePrivateFile(png, code.png()) }
        if let svg { try writePrivateFile(svg, Array(code.svg().utf8)) }
        for path in [png, svg].compactMap({ $0 }) { out.prose("QR code written to \(path) (mode 600: it contains the secret).") }
    }
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
