import ArgumentParser
import Glibc
import TOTPCore
import TOTPStorage

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
        guard let enrollment = try target.file.read() else {
            if json {
                print(JSON.render([("user", .string(target.name)), ("enrolled", .bool(false)), ("file", .string(target.file.path))]))
            } else {
                print("\(target.name) is not enrolled (no \(target.file.path)).")
                if !target.hidden.isEmpty {
                    print(
                        "An administrator may also keep enrollments in \(target.hidden.joined(separator: ", ")), which only root can see.")
                }
            }
            return
        }
        let state = try readState(target)
        let issued = enrollment.recovery?.hashes.count ?? 0
        let current = Set(enrollment.recovery?.hashes.map(RecoverySet.identifier(of:)) ?? [])
        let used = state.map { $0.usedRecovery.filter(current.contains).count }
        let window = enrollment.window ?? target.options.window
        let p = enrollment.parameters
        let policy = target.options.throttle
        let now = Int64(time(nil))
        if json {
            print(
                JSON.render([
                    ("user", .string(target.name)), ("enrolled", .bool(true)), ("file", .string(target.file.path)),
                    ("type", .string(enrollment.type.rawValue)), ("algorithm", .string(p.algorithm.rawValue)),
                    ("digits", .number(p.digits)),
                    ("period", enrollment.type == .totp ? .number(p.period) : .null), ("window", .number(window)),
                    ("created", enrollment.created.map { .string(UTCTimestamp.format($0)) } ?? .null),
                    ("recovery_codes_issued", .number(issued)),
                    ("recovery_codes_left", used.map { .number(issued - $0) } ?? .null),
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
        print("\(target.name) is enrolled (\(target.file.path)).")
        if enrollment.type == .hotp {
            print("  Codes:          HOTP (counter-based token), \(p.algorithm.rawValue), \(p.digits) digits")
        } else {
            print("  Codes:          TOTP, \(p.algorithm.rawValue), \(p.digits) digits, every \(p.period) s, window ±\(window)")
        }
        print("  Enrolled:       \(enrollment.created.map(UTCTimestamp.format) ?? "unknown")")
        if let used {
            print("  Recovery codes: \(issued - used) of \(issued) left")
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

struct RecoveryCodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery-codes",
        abstract: "Replace the recovery codes with a fresh set, after a current code or a recovery code.",
        discussion: "The old codes stop working at once. The new ones are shown only now.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("How many codes to make (1 to 100).", valueName: "n"))
    var count: Int = 10

    @Flag(name: .long, help: "Print the new codes as JSON.")
    var json = false

    func validate() throws {
        guard (1...RecoverySet.maxCodes).contains(count) else { throw ValidationError("--count must be from 1 to \(RecoverySet.maxCodes)") }
    }

    func run() throws {
        let target = try common.resolve()
        var enrollment = try target.enrollment()
        defer { enrollment.cleanse() }
        try protectStandardOutput()
        let out = Output(json: json)
        try proveHolding(target, enrollment, allowRecovery: true, out: out)
        let codes = try RecoveryCode.generate(count: count)
        enrollment.recovery = try RecoverySet.make(codes: codes)
        try target.file.write(enrollment)
        if json {
            print(JSON.render([("user", .string(target.name)), ("recovery_codes", .array(codes.map(JSON.string)))]))
        } else {
            out.prose("New recovery codes for \(target.name); the old ones no longer work.")
            out.showRecoveryCodes(codes)
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the QR code and URI of an existing enrollment again (for a new phone), after a current code.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var qr: QROptions

    func run() throws {
        let target = try common.resolve()
        var enrollment = try target.enrollment()
        defer { enrollment.cleanse() }
        let out = Output(json: false)
        try proveHolding(target, enrollment, allowRecovery: false, out: out)
        try protectStandardOutput()
        try qr.present(
            uri: target.uri(for: enrollment), secret: enrollment.secret,
            caption: ["Scan this QR code with the authenticator app on the new phone (or type the secret into it)."], out: out)
    }
}

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
        var enrollment = try target.enrollment()
        defer { enrollment.cleanse() }
        let out = Output(json: false)
        let byAdmin = common.user != nil && getuid() == 0
        if !byAdmin { try proveHolding(target, enrollment, allowRecovery: true, out: out) }
        try target.file.remove()
        if byAdmin {
            logAdminAction("reset: removed the enrollment of user=\(target.name) file=\(target.file.path) by=\(invokingUser())")
        }
        out.prose("Removed the enrollment of \(target.name) (\(target.file.path)).")
        // Another location may hold an older enrollment, which the module now uses.
        if let next = try? common.resolve(), next.file.path != target.file.path, (try? next.file.exists()) == true {
            out.prose("WARNING: the enrollment in \(next.file.path) is the one logins use now.")
        } else if byAdmin {
            out.prose("WARNING: logins of \(target.name) that need a code now fail until they are enrolled again:")
            out.prose("  pam-totp-setup enroll --user \(target.name)")
        } else {
            out.prose("WARNING: logins that need a code now fail until you enroll again. Do it now, before you close")
            out.prose("this session: run pam-totp-setup.")
        }
    }
}

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
        if !force, try target.file.exists() {
            throw SetupError("\(target.name) is already enrolled (\(target.file.path)); use --force to replace the enrollment")
        }
        // A file in the user's home is read as the user; one elsewhere (an admin's central copy) as root.
        let asUser = source.hasPrefix(target.account.home + "/")
        // As root, the whole path is checked and no link in it followed, like a central enrollment's.
        let read = {
            Result { () throws(StorageError) in
                asUser
                    ? try SecureFile.read(source, owner: target.account.uid)
                    : try SecurePath.readFile(source, owners: [target.account.uid, 0]).bytes
            }
        }
        var bytes: [UInt8]
        do {
            bytes = try (asUser ? FileSystemIdentity.run(uid: target.account.uid, gid: target.account.gid, read) : read()).get()
        } catch {
            throw SetupError("cannot read \(source): \(error)")
        }
        defer { Crypto.cleanse(&bytes) }
        var imported: GoogleAuthenticatorFile
        do { imported = try GoogleAuthenticatorFile.parse(bytes) } catch { throw SetupError("\(source): \(error.description)") }
        defer { Crypto.cleanse(&imported.secret) }
        let window = imported.window
        var enrollment = imported.enrollment(created: Int64(time(nil)))
        enrollment.id = try Enrollment.newID()
        enrollment.recovery = imported.scratchCodes.isEmpty ? nil : try RecoverySet.make(codes: imported.scratchCodes)
        if enrollment.type == .totp && window != target.options.window { enrollment.window = window }
        try carryOverUsedSteps(imported, window: window, target: target)
        try target.file.write(enrollment)
        print("Imported \(source) for \(target.name) into \(target.file.path):")
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

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the devices that may skip the code (remember=), with when and until when.",
        discussion: "The list is in the module's root-only state: run as root (for example with sudo).")

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print the list as JSON.")
    var json = false

    func run() throws {
        let target = try common.resolve()
        let enrollment = try target.enrollment()
        let now = Int64(time(nil))
        let devices = try target.withState { try $0.read() }.devices.filter { $0.enrollment == enrollment.identifier && $0.expires > now }
        if json {
            print(
                JSON.render([
                    ("user", .string(target.name)),
                    (
                        "devices",
                        .array(
                            devices.map { d in
                                .object([
                                    ("device", .string(d.device.description)), ("since", .string(UTCTimestamp.format(d.created))),
                                    ("until", .string(UTCTimestamp.format(d.expires))),
                                ])
                            })
                    ),
                ]))
        } else if devices.isEmpty {
            print("\(target.name) has no remembered devices.")
        } else {
            print("Remembered devices of \(target.name):")
            for d in devices { print("  \(d.device)  since \(UTCTimestamp.format(d.created))  until \(UTCTimestamp.format(d.expires))") }
        }
    }
}

struct Forget: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget one remembered device, or all of them: the code is asked for again there.",
        discussion: "DEVICE is written as `devices` lists it: key:SHA256:… or address:192.0.2.7. Run as root.")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The device to forget.", valueName: "device"))
    var device: String?

    @Flag(name: .long, help: "Forget every remembered device of the user.")
    var all = false

    func validate() throws {
        guard all != (device != nil) else { throw ValidationError("give either a DEVICE or --all") }
        if let device, DeviceIdentity(Substring(device)) == nil {
            throw ValidationError("'\(device)' is not a device as `devices` lists it (key:SHA256:… or address:…)")
        }
    }

    func run() throws {
        let target = try common.resolve()
        let forgotten = try target.withState { locked -> Int in
            var state = try locked.read()
            let before = state.devices.count
            state.devices.removeAll { all || $0.device == DeviceIdentity(Substring(device ?? "")) }
            if state.devices.count != before { try withSignalsBlocked { try locked.write(state) } }
            return before - state.devices.count
        }
        if forgotten == 0 && !all { throw SetupError("\(target.name) has no remembered device \(device ?? "")") }
        print("Forgot \(forgotten) remembered device\(forgotten == 1 ? "" : "s") of \(target.name).")
    }
}

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
