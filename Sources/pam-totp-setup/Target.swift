import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

/// Options shared by every subcommand that acts on one user's enrollment.
struct TargetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Act on this user instead of yourself (root only).", valueName: "name"))
    var user: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the enrollment lives: %u is the user name, %h and a leading ~/ the home directory. Must match the module's secret= option.",
            valueName: "template"))
    var secret: String = ModuleOptions.defaultSecret

    func validate() throws {
        do { try PathTemplate.validate(secret) } catch { throw ValidationError("--secret \(secret): \(error.description)") }
        if let user, !PathTemplate.isSafeUserName(user) { throw ValidationError("--user: '\(user)' is not a usable user name") }
    }

    /// The account to act on and the path of its enrollment file.
    func resolve() throws -> (account: Account, path: String) {
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
        do {
            return (account, try PathTemplate.expand(secret, user: account.name, home: account.home))
        } catch {
            throw SetupError("cannot place the enrollment for \(account.name): \(error.description)")
        }
    }

    /// Whether the enrollment is a user's own file in their home, rather than in a central root-owned directory.
    var inHome: Bool { PathTemplate.usesHome(secret) }
}
