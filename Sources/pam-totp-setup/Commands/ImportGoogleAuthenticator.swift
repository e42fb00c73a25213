import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

struct ImportGoogleAuthenticator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-google-authenticator",
        abstract: "Convert a ~/.google_authenticator file into a pam-totp enrollment.",
        discussion: """
            Keeps the secret, the window and the step size (or, for a counter-based HOTP file, the counter); \
            the scratch codes become (hashed) recovery codes, and the codes the file lists as used \
            (DISALLOW_REUSE) are not accepted again. The old file is left in place.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The file to import (default: ~/.google_authenticator of the user).", valueName: "file"))
    var file: String?

    @Flag(name: .long, help: "Replace an existing pam-totp enrollment.")
    var force = false

    func validate() throws {
        if let file, !file.hasPrefix("/") { throw ValidationError("the file must be given as an absolute path") }
    }

    func run() throws {
        let target = try common.resolve()
        let source = file ?? target.account.home + "/.google_authenticator"
        if !force, try target.place.exists() {
            throw SetupError("\(target.name) is already enrolled (\(target.place.path)); use --force to replace the enrollment")
        }
        // A file in the user's home is read as the user; one elsewhere (an admin's central copy) as
        // root, with the whole path checked and no link in it followed, like a central enrollment's.
        let bytes: Secret
        do {
            bytes = try UserFile.read(source, account: target.account, inHome: source.hasPrefix(target.account.home + "/")).bytes
        } catch {
            throw SetupError("cannot read \(source): \(error)")
        }
        let imported: GoogleAuthenticatorFile
        do {
            imported = try bytes.withBytesArray { bytes throws(GoogleAuthenticatorFile.Problem) in try GoogleAuthenticatorFile.parse(bytes)
            }
        } catch { throw SetupError("\(source): \(error.description)") }
        let window = imported.window
        var enrollment = imported.enrollment(created: Int64(time(nil)))
        enrollment.id = try Enrollment.newID()
        enrollment.recovery = imported.scratchCodes.isEmpty ? nil : try RecoverySet.make(codes: imported.scratchCodes)
        if enrollment.type == .totp && window != target.options.window { enrollment.window = window }
        try carryOverUsedSteps(imported, window: window, target: target)
        try target.place.write(enrollment)
        print("Imported \(source) for \(target.name) into \(target.place.path):")
        if enrollment.type == .hotp {
            print(
                "  HOTP (counter-based), SHA1, 6 digits, next counter \(enrollment.counter); \(imported.scratchCodes.count) scratch codes became recovery codes."
            )
        } else {
            print(
                "  TOTP, SHA1, 6 digits, every \(imported.stepSize) s, window ±\(window); \(imported.scratchCodes.count) scratch codes became recovery codes."
            )
        }
        if !imported.scratchCodes.isEmpty {
            print("Scratch codes are 8 digits, weaker than pam-totp's own; consider `pam-totp-setup recovery-codes` for a new set.")
        }
        print("The old file was left in place; remove it once pam_google_authenticator.so is out of the PAM stack.")
    }
}

extension ImportGoogleAuthenticator {
    /// The codes google-authenticator accepted last (`DISALLOW_REUSE`) must not work again through
    /// pam_totp: the newest of their steps becomes the state's last accepted step (the steps are in
    /// units of the file's STEP_SIZE, which the enrollment keeps), under the state lock, before the
    /// enrollment is written. The state is root's; run as a user while such a code is still within the
    /// window, the import is refused rather than leave the code open to a replay.
    private func carryOverUsedSteps(_ imported: GoogleAuthenticatorFile, window: Int, target: Target) throws {
        guard imported.hotpCounter == nil, let newest = imported.usedSteps.max() else { return }
        guard geteuid() == 0 else {
            let step = UInt64(imported.stepSize)
            let openUntil = (newest + UInt64(window) + 1) * step
            let now = UInt64(max(0, time(nil)))
            guard openUntil <= now else {
                throw SetupError(
                    "google-authenticator accepted a code \(now >= newest * step ? now - newest * step : 0) s ago that would be accepted once more; only root can prevent that (the module's state is root's): run this with sudo, or again in \(openUntil - now) s"
                )
            }
            return
        }
        try target.withState { locked in
            var state = try locked.read()
            guard state.lastStep.map({ $0 < newest }) ?? true else { return }
            state.lastStep = newest
            try withSignalsBlocked { try locked.write(state) }
        }
    }
}
