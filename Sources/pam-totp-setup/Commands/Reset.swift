import ArgumentParser
import Glibc
import TOTPCore

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove an enrollment.",
        discussion: """
            Your own enrollment is removed after a current code or a recovery code. As root, --user NAME removes \
            anyone's without a code (for a user who lost both phone and recovery codes), and the system log records it.
            """)

    @OptionGroup var common: CommonOptions

    func run() throws {
        let target = try common.resolve()
        let enrollment = try target.enrollment()
        let out = Output(json: false)
        let byAdmin = common.user != nil && getuid() == 0
        if byAdmin {
            // The admin's decision: whatever enrollment is there now goes.
            try withSignalsBlocked { try target.place.remove() }
        } else {
            try proveHoldingAndChange(target, enrollment, allowRecovery: true, out: out, change: .remove)
        }
        if byAdmin {
            logAdminAction("reset: removed the enrollment of user=\(target.name) file=\(target.place.path) by=\(invokingUser())")
        }
        out.prose("Removed the enrollment of \(target.name) (\(target.place.path)).")
        // Another location may hold an older enrollment, which the module now uses.
        if let next = try? common.resolve(), next.place.path != target.place.path, (try? next.place.exists()) == true {
            out.prose("WARNING: the enrollment in \(next.place.path) is the one logins use now.")
        } else if byAdmin {
            out.prose("WARNING: logins of \(target.name) that need a code now fail until they are enrolled again:")
            out.prose("  pam-totp-setup enroll --user \(target.name)")
        } else {
            out.prose("WARNING: logins that need a code now fail until you enroll again. Do it now, before you close")
            out.prose("this session: run pam-totp-setup.")
        }
    }
}
