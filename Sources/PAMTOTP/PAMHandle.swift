internal import CPAM
internal import CPAMTOTPShimHelpers
import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// The libpam calls the module makes, with C types kept inside this file.
struct PAMHandle {
    private let pamh: OpaquePointer
    /// PAM_SILENT: the application asked for no informational messages.
    let silent: Bool

    init(_ pamh: OpaquePointer, silent: Bool) {
        self.pamh = pamh
        self.silent = silent
    }

    /// The user being authenticated (calls `pam_get_user`, which may prompt for it).
    func user() -> String? {
        var name: UnsafePointer<CChar>?
        guard pam_get_user(pamh, &name, nil) == PAM_SUCCESS, let name else { return nil }
        return String(cString: name)
    }

    /// The remote host (`PAM_RHOST`), if the application set one.
    func remoteHost() -> String? {
        var item: UnsafeRawPointer?
        guard pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS, let item else { return nil }
        let text = String(cString: item.assumingMemoryBound(to: CChar.self))
        return text.isEmpty ? nil : text
    }

    /// Asks a question with echo off (calls `pam_prompt`). The answer is returned as a `Secret`; the
    /// copy libpam made is overwritten and freed here. An answer longer
    /// than `limit` bytes comes back as `limit + 1` bytes of nothing, never copied.
    func promptHidden(_ text: String, limit: Int) -> Secret? {
        var response: UnsafeMutablePointer<CChar>?
        let status = pamtotp_prompt(pamh, PAM_PROMPT_ECHO_OFF, text, &response)
        defer { pamtotp_free_response(response) }
        guard status == PAM_SUCCESS, let response else { return nil }
        let length = strnlen(response, limit + 1)
        guard length <= limit else { return Secret(count: limit + 1) }
        return Secret(copying: UnsafeRawBufferPointer(start: response, count: length))
    }

    /// Asks a question with echo on (calls `pam_prompt`); nil if the conversation failed.
    func promptVisible(_ text: String) -> String? {
        var response: UnsafeMutablePointer<CChar>?
        let status = pamtotp_prompt(pamh, PAM_PROMPT_ECHO_ON, text, &response)
        defer { pamtotp_free_response(response) }
        guard status == PAM_SUCCESS, let response else { return nil }
        return String(cString: response)
    }

    /// A variable of the PAM environment (calls `pam_getenv`), such as sshd's SSH_AUTH_INFO_0.
    func environment(_ name: String) -> String? {
        guard let value = pam_getenv(pamh, name) else { return nil }
        return String(cString: value)
    }

    /// The password an earlier module stored (`PAM_AUTHTOK`), as bytes.
    func authToken() -> Secret? {
        var item: UnsafeRawPointer?
        guard pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS, let item else { return nil }
        let text = item.assumingMemoryBound(to: CChar.self)
        let length = strnlen(text, 4096)
        return Secret(copying: UnsafeRawBufferPointer(start: text, count: length))
    }

    /// Hands `password` to the next module as `PAM_AUTHTOK` (calls `pam_set_item`, which copies it).
    @discardableResult
    func setAuthToken(_ password: Secret) -> Bool {
        // NUL-terminated, as pam_set_item expects.
        let terminated = Secret(count: password.count + 1) { target in password.withUnsafeBytes { target.copyMemory(from: $0) } }
        return terminated.withUnsafeBytes { pam_set_item(pamh, PAM_AUTHTOK, $0.baseAddress) } == PAM_SUCCESS
    }

    /// Shows an error message: why a login was refused, or what the user must do now. Sent even
    /// under PAM_SILENT, which "only stops informative messages from being generated" (Linux-PAM
    /// Application Developers' Guide, 3.3): sudo passes PAM_SILENT unless `Defaults !pam_silent`, and
    /// a refusal without its reason sends the user to the wrong fix (the phone's clock, a new code).
    func error(_ text: String) {
        var ignored: UnsafeMutablePointer<CChar>?
        _ = pamtotp_prompt(pamh, PAM_ERROR_MSG, text, &ignored)
        pamtotp_free_response(ignored)
    }

    /// Shows an informational message, unless the application asked for silence (PAM_SILENT).
    func info(_ text: String) {
        guard !silent else { return }
        var ignored: UnsafeMutablePointer<CChar>?
        _ = pamtotp_prompt(pamh, PAM_TEXT_INFO, text, &ignored)
        pamtotp_free_response(ignored)
    }

    /// Asks libpam to delay a failed authentication by at least `microseconds` (calls `pam_fail_delay`).
    func failDelay(microseconds: UInt32) {
        _ = pam_fail_delay(pamh, microseconds)
    }

    /// Writes one line to syslog through `pam_syslog` (authpriv facility, "pam_totp(SERVICE:auth):" prefix).
    func log(_ priority: Int32, _ message: String) {
        pamtotp_syslog(pamh, priority, message)
    }
}
