import Glibc
import TOTPCore
import TOTPStorage

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
