import ArgumentParser
import Glibc
import TOTPCore

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clear a user's failed attempts: lifts the lock and every source's throttling.",
        discussion: "For an administrator, after checking the log (failure lines) that the user, not an attacker, is at the door. Logged.")

    @OptionGroup var common: CommonOptions

    func run() throws {
        let target = try common.resolve()
        let cleared = try target.withState { locked -> Int in
            var state = try locked.read()
            let failures = state.unlock()
            try withSignalsBlocked { try locked.write(state) }
            return failures
        }
        logAdminAction("unlock: cleared \(cleared) failed attempts of user=\(target.name) by=\(invokingUser())")
        print("Cleared \(cleared) failed attempt\(cleared == 1 ? "" : "s") of \(target.name); no source is throttled now.")
    }
}
