import TOTPCrypto

/// What a login tells the user: the messages and prompts of `Login`, word for word (the integration
/// and end-to-end tests read them from real clients).
enum LoginMessage {
    static let wrongCode = "The verification code does not match."
    /// For an empty answer, which is no code at all rather than a wrong one.
    static let noCode = "No code was given."
    /// For a code of the window already used here (replay protection): most often the user's own
    /// retry after a wrong password in the same 30 seconds, whose code the module accepted (it cannot
    /// see the password's result). Telling them to wait does not help an attacker: only a valid
    /// code, which the attacker then already has, gets this answer, and never for a decoy.
    static let replayed = "That code was already used. Wait for the next code from the app."
    /// For an answer identical to the password an earlier module read: not a code, so never checked.
    static let passwordAsCode = "The code prompt was answered with the password. Enter the code from the app."
    /// What the last prompt asks when `message_prompt` makes a refusal's message ride on it (ocserv).
    static let acknowledgePrompt = "Press Enter to continue."
    static let hotpResync = "That code is far ahead of your token's counter. Enter the next code to resynchronise."
    static let clockResync =
        "That code is older than the last one used here; the clock may have been changed. Enter the next code from the app to confirm."
    static let locked = "Too many wrong codes: this account's codes are locked. Use a recovery code, or ask an administrator."

    static func throttled(_ seconds: Int64) -> String { "Too many wrong codes from here. Try again in \(seconds) seconds." }

    static func recoveryAccepted(remaining: Int) -> String {
        "Recovery code accepted. \(remaining) recovery code\(remaining == 1 ? "" : "s") left; get new ones before they run out."
    }

    /// The notice before a `nullok_until` day: `setup_hint=` says how to enroll at this site, since not
    /// every user can run pam-totp-setup (a VPN user has no shell).
    static func nullokUntil(_ date: String, hint: String?) -> String {
        "Two-factor authentication will be required from \(date). \(hint ?? "Set it up before then, as your site's instructions describe.")"
    }

    /// The question `remember_ask` puts, with echo on.
    static func rememberQuestion(_ duration: Int64) -> String {
        "Skip the code on this device for \(RememberDuration.describe(duration))? [y/N] "
    }

    /// Whether an answer to `rememberQuestion` is yes: "y" or "yes" in any case, blanks ignored.
    static func isYes(_ answer: String) -> Bool {
        let word = answer.asciiLowercased.filter { $0 != " " && $0 != "\t" }
        return word == "y" || word == "yes"
    }

    /// What `failure reason=password-as-code` logs as its error: what to configure. At most
    /// `LogValue.maxValueLength` bytes, so it is never cut.
    static let passwordAsCodeAdvice =
        "the application answered the code prompt with the password; for sshd set KbdInteractiveAuthentication yes and AuthenticationMethods with keyboard-interactive (README)"
}
