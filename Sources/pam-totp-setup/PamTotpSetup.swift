import ArgumentParser

@main
struct PamTotpSetup: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pam-totp-setup",
        abstract: "Enroll users for pam_totp.so two-factor authentication.",
        discussion: """
            Writes the enrollment file pam_totp.so reads: the TOTP secret your authenticator app \
            shares, and hashed one-time recovery codes. See pam-totp-setup(1) and pam_totp(8).
            """,
        version: version,
        subcommands: [Enroll.self],
        defaultSubcommand: Enroll.self
    )
}

/// A failure the tool reports as one line on stderr, with exit status 1.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
