import ArgumentParser
import Glibc

@main
struct PamTotpSetup: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pam-totp-setup",
        abstract: "Enroll users for pam_totp.so two-factor authentication.",
        discussion: """
            Without a subcommand, enrolls you interactively: scan the QR code with an authenticator app, \
            type one code to confirm, and keep the recovery codes. See pam-totp-setup(1) and pam_totp(8).
            """,
        version: version,
        subcommands: [
            Enroll.self, Status.self, RecoveryCodes.self, Show.self, Reset.self, Devices.self, Forget.self, Unlock.self,
            ImportGoogleAuthenticator.self, StoreCommand.self, WebHelper.self,
        ],
        defaultSubcommand: Enroll.self
    )

    /// Like ArgumentParser's own `main`, but every error is exactly one line on stderr (no usage
    /// block), prefixed with the tool's name; help, version and completion scripts print in full.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A command that reported its failures itself (`store import`, `store export`) ends
            // with the status alone: no further line.
            if let exit = error as? ExitCode { Glibc.exit(exit.rawValue) }
            let status = exitCode(for: error)
            if status == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
            fputs("pam-totp-setup: \(message.isEmpty ? "failed" : message)\n", stderr)
            Glibc.exit(status.rawValue)
        }
    }
}

/// A failure the tool reports as one line on stderr, with exit status 1.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
