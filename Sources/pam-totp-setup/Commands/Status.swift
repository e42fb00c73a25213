import ArgumentParser
import Glibc
import TOTPCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether a user is enrolled, with what parameters, and how many recovery codes remain.",
        discussion:
            "Never shows the secret. How many recovery codes are used, and failed attempts, are in the module's root-only state: run as root to see them."
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print the status as JSON.")
    var json = false

    func run() throws {
        let target = try common.resolve()
        guard let enrollment = try target.place.read() else {
            if json {
                print(JSON.render([("user", .string(target.name)), ("enrolled", .bool(false)), ("file", .string(target.place.path))]))
            } else {
                print("\(target.name) is not enrolled (no \(target.place.path)).")
                if !target.hidden.isEmpty {
                    print(
                        "An administrator may also keep enrollments in \(target.hidden.joined(separator: ", ")), which only root can see.")
                }
            }
            return
        }
        let state = try readState(target)
        let issued = enrollment.recovery?.hashes.count ?? 0
        let left = state.map { state in enrollment.recovery.map(state.recoveryCodesLeft(of:)) ?? 0 }
        let window = AttemptPolicy(options: target.options, enrollment: enrollment).window
        let p = enrollment.parameters
        let policy = target.options.throttle
        let now = Int64(time(nil))
        if json {
            print(
                JSON.render([
                    ("user", .string(target.name)), ("enrolled", .bool(true)), ("file", .string(target.place.path)),
                    ("type", .string(enrollment.type.rawValue)), ("algorithm", .string(p.algorithm.rawValue)),
                    ("digits", .number(p.digits)),
                    ("period", enrollment.type == .totp ? .number(p.period) : .null), ("window", .number(window)),
                    ("created", enrollment.created.map { .string(UTCTimestamp.format($0)) } ?? .null),
                    ("recovery_codes_issued", .number(issued)),
                    ("recovery_codes_left", left.map { .number($0) } ?? .null),
                    ("failures", state.map { .number($0.failures) } ?? .null),
                    ("unfamiliar_failures", state.map { .number($0.unfamiliarFailures) } ?? .null),
                    ("familiar_failures", state.map { .number($0.familiarFailures) } ?? .null),
                    ("last_failure", state?.lastFailure.map { .string(UTCTimestamp.format($0)) } ?? .null),
                    ("locked", state.map { .bool($0.isLocked(familiar: false, policy: policy)) } ?? .null),
                    ("locked_familiar", state.map { .bool($0.isLocked(familiar: true, policy: policy)) } ?? .null),
                    (
                        "familiar",
                        state.map { s in .array(s.currentFamiliar(now: now).map { JSON.string($0.id) })
                        }
                            ?? .null
                    ),
                    (
                        "throttled_sources",
                        state.map { s in .array(s.throttledSources(now: now, policy: policy).map { JSON.string($0.source) }) } ?? .null
                    ),
                ]))
            return
        }
        print("\(target.name) is enrolled (\(target.place.path)).")
        if enrollment.type == .hotp {
            print("  Codes:          HOTP (counter-based token), \(p.algorithm.rawValue), \(p.digits) digits")
        } else {
            print("  Codes:          TOTP, \(p.algorithm.rawValue), \(p.digits) digits, every \(p.period) s, window ±\(window)")
        }
        print("  Enrolled:       \(enrollment.created.map(UTCTimestamp.format) ?? "unknown")")
        if let left {
            print("  Recovery codes: \(left) of \(issued) left")
        } else {
            print("  Recovery codes: \(issued) issued (how many are used is known to root only)")
        }
        if let state {
            let last = state.failures > 0 ? state.lastFailure.map { ", last at \(UTCTimestamp.format($0))" } ?? "" : ""
            print("  Failed attempts since the last success: \(state.failures)\(last)")
            print("  In a row:       \(state.unfamiliarFailures) from unfamiliar places, \(state.familiarFailures) from familiar ones")
            let familiar = state.currentFamiliar(now: now).map(\.id)
            print("  Familiar:       \(familiar.isEmpty ? "none yet" : familiar.joined(separator: ", "))")
            if state.isLocked(familiar: false, policy: policy) {
                print(
                    "  LOCKED for unfamiliar places: their codes are refused until a recovery code is used or `pam-totp-setup unlock` is run"
                )
            }
            if state.isLocked(familiar: true, policy: policy) {
                print("  LOCKED for familiar places too: codes are refused until a recovery code is used or `pam-totp-setup unlock` is run")
            }
            for s in state.throttledSources(now: now, policy: policy) {
                print(
                    "  Throttled: \(s.source == "*" ? "other sources" : s.source) (\(s.failures) failures) may try again in \(s.retryAfter) s"
                )
            }
        }
    }

    /// The module's state for the user, if this process may read it (root).
    private func readState(_ target: Target) throws -> UserState? {
        guard geteuid() == 0 else { return nil }
        return try target.withState { try $0.read() }
    }
}
