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

    @OptionGroup var site: SiteOptions

    func validate() throws {
        if let user, !PathTemplate.isSafeUserName(user) { throw ValidationError("--user: '\(user)' is not a usable user name") }
    }

    /// The site configuration, with this command's flags over it.
    func siteOptions() throws -> ModuleOptions { try site.siteOptions() }

    /// The site configuration, then the account to act on and where its enrollment is.
    func resolve() throws -> Target { try site.resolve(user: user) }
}

/// Where enrollments and state live, and the site configuration: every subcommand's, and all that
/// `web-helper` takes (it acts on whoever logs in, never on a `--user`).
struct SiteOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the enrollment lives: %u is the user name, %h and a leading ~/ the home directory; several locations separated by ':' are looked at in order. Default: the configuration file's secret=, else ~/.pam_totp. Must match the module's secret= option.",
            valueName: "template"))
    var secret: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Site-wide defaults (issuer=, secret=, state=, store=, window=), as the module reads them.", valueName: "file"))
    var config: String = ModuleOptions.defaultConfig

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The module's state directory (default: the configuration's state=, else /var/lib/pam-totp). Used as root.", valueName: "dir"))
    var state: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The PostgreSQL store's file (a root-only libpq connection string), as the module's store= (default: the configuration's store=). Root only.",
            valueName: "file"))
    var store: String?

    func validate() throws {
        if let store, !store.hasPrefix("/") { throw ValidationError("--store must be an absolute path") }
        if let secret {
            do { _ = try PathTemplate.list(secret) } catch { throw ValidationError("--secret \(secret): \(error.description)") }
        }
        guard config.hasPrefix("/") else { throw ValidationError("--config must be an absolute path") }
        if let state, !state.hasPrefix("/") { throw ValidationError("--state must be an absolute path") }
    }

    /// The options in force: the site configuration's, with this command's flags over them.
    func siteOptions() throws -> ModuleOptions {
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
        if let store { options.store = ModuleOptions.StoreSettings(file: store, timeout: options.storeTimeout) }
        return options
    }

    /// The site configuration, then the account to act on (`user`, else the one who ran sudo, else
    /// oneself) and where its enrollment is.
    func resolve(user: String?) throws -> Target {
        let options = try siteOptions()
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
