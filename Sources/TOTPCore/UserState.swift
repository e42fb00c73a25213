/// What changes at login, kept by the module in its root-owned state directory (docs/FILEFORMAT.md).
public struct UserState: Equatable, @unchecked Sendable {
    public static let formatVersion = 1

    /// The time step of the last accepted TOTP code; codes for it or earlier steps are refused.
    public var lastStep: UInt64?
    /// The most recently accepted TOTP steps (at most `maxRecentSteps`), so that after the clock was
    /// corrected it is known which earlier steps were used (`decideTOTP`).
    public var recentSteps: [UInt64] = []
    /// The largest step dropped from `recentSteps`: no clock resynchronisation goes below it.
    public var forgottenStep: UInt64?
    /// Steps above `lastStep` that were accepted before a clock resynchronisation; refused exactly.
    public var aheadSteps: [UInt64] = []
    /// TOTP: after the clock was corrected, a code matched this unused step at this time; the next
    /// code confirms it.
    public var totpResync: (step: UInt64, at: Int64)?
    /// Identifiers of recovery codes already used (`RecoverySet.identifier(of:)`).
    public var usedRecovery: [String] = []
    /// Failed attempts since the last success.
    public var failures: Int = 0
    /// Consecutive failed attempts from unfamiliar origins: at the ceiling, their codes are locked.
    public var unfamiliarFailures: Int = 0
    /// Consecutive failed attempts from familiar origins, which have a ceiling of their own.
    public var familiarFailures: Int = 0
    /// Sources and SSH keys the user recently logged in from with a code.
    public var familiar: [FamiliarOrigin] = []
    /// The merged records of sources pushed out of `sources`; judges sources without a record.
    public var overflow: SourceFailures?
    /// Unix time of the last failed attempt.
    public var lastFailure: Int64?
    /// Consecutive failures per source (PAM_RHOST, or "-"), for throttling.
    public var sources: [SourceFailures] = []
    /// Devices whose code may be skipped for a while (`remember=`).
    public var devices: [RememberedDevice] = []
    /// HOTP: the next counter expected, for the enrollment it was recorded under.
    public var hotpNext: (enrollment: String, counter: UInt64)?
    /// HOTP: a code matched this counter beyond the window at this time; the next code may confirm it.
    public var hotpResync: (enrollment: String, counter: UInt64, at: Int64)?

    public static let maxDevices = 20
    public static let maxRecentSteps = 16
    /// How long a pending HOTP resynchronisation waits for the confirming code.
    public static let resyncTimeout: Int64 = 300

    public init() {}

    /// Two states are equal when they would be written the same: what the file holds is what is
    /// compared, so a field added to the file can never be left out of the comparison that decides
    /// whether a login writes the state.
    public static func == (a: UserState, b: UserState) -> Bool {
        a.serialized() == b.serialized()
    }

    /// The identifiers of the codes of `set` that were used (`usedRecovery` may still name codes of an
    /// earlier set).
    public func usedRecoveryCodes(of set: RecoverySet) -> [String] {
        let current = Set(set.hashes.map(RecoverySet.identifier(of:)))
        return usedRecovery.filter { current.contains($0) }
    }

    /// How many codes of `set` are left to use.
    public func recoveryCodesLeft(of set: RecoverySet) -> Int {
        set.hashes.count - usedRecoveryCodes(of: set).count
    }

    /// The unexpired record of `device` under `enrollment`, if any.
    public func remembered(_ device: DeviceIdentity, enrollment: String, now: Int64) -> RememberedDevice? {
        devices.first { $0.device == device && $0.enrollment == enrollment && $0.expires > now && $0.created <= now + 300 }
    }

    /// Remembers `device` until `now + duration`, replacing an older record of it, dropping expired
    /// records and those of other enrollments, and keeping at most `maxDevices` (the newest).
    public mutating func remember(_ device: DeviceIdentity, enrollment: String, now: Int64, duration: Int64) {
        var kept = devices.filter { $0.enrollment == enrollment && $0.expires > now && $0.device != device }
        kept.append(RememberedDevice(enrollment: enrollment, device: device, created: now, expires: now + duration))
        devices = Array(kept.suffix(Self.maxDevices))
    }

    public func serialized() -> [UInt8] {
        var lines = ["# pam-totp state (docs/FILEFORMAT.md). Maintained by pam_totp.so.", "version \(Self.formatVersion)"]
        if let lastStep { lines.append("last-step \(lastStep)") }
        for step in recentSteps { lines.append("recent-step \(step)") }
        if let forgottenStep { lines.append("forgotten-step \(forgottenStep)") }
        for step in aheadSteps { lines.append("ahead-step \(step)") }
        if let totpResync { lines.append("totp-resync \(totpResync.step) \(totpResync.at)") }
        for id in usedRecovery { lines.append("used-recovery \(id)") }
        lines.append("failures \(failures)")
        lines.append("unfamiliar-failures \(unfamiliarFailures)")
        if familiarFailures > 0 { lines.append("familiar-failures \(familiarFailures)") }
        if let lastFailure { lines.append("last-failure \(lastFailure)") }
        for s in sources { lines.append("source \(s.failures) \(s.last) \(s.source)") }
        if let overflow { lines.append("source-overflow \(overflow.failures) \(overflow.last)") }
        for f in familiar { lines.append("familiar \(f.last) \(f.id)") }
        for d in devices { lines.append("device \(d.enrollment) \(d.created) \(d.expires) \(d.device)") }
        if let hotpNext { lines.append("hotp-next \(hotpNext.enrollment) \(hotpNext.counter)") }
        if let hotpResync { lines.append("hotp-resync \(hotpResync.enrollment) \(hotpResync.counter) \(hotpResync.at)") }
        lines.append("end")
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    public static func parse(_ bytes: [UInt8]) throws(LineFormat.ParseError) -> UserState {
        let entries = try LineFormat.entries(
            bytes, version: formatVersion,
            keys: [
                "last-step", "recent-step", "forgotten-step", "ahead-step", "totp-resync", "used-recovery", "failures",
                "unfamiliar-failures", "familiar-failures", "last-failure", "device", "hotp-next", "hotp-resync", "source",
                "source-overflow", "familiar",
            ],
            repeatable: ["recent-step", "ahead-step", "used-recovery", "device", "source", "familiar"])
        var state = UserState()
        var sawUnfamiliar = false
        for entry in entries {
            switch entry.key {
            case "last-step":
                state.lastStep = UInt64(try LineFormat.integer(entry, in: 0...))
            case "recent-step", "ahead-step":
                let step = UInt64(try LineFormat.integer(entry, in: 0...))
                if entry.key == "recent-step" {
                    guard state.recentSteps.count < maxRecentSteps else {
                        throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "recent-step"))
                    }
                    state.recentSteps.append(step)
                } else {
                    guard state.aheadSteps.count < maxRecentSteps else {
                        throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "ahead-step"))
                    }
                    state.aheadSteps.append(step)
                }
            case "forgotten-step":
                state.forgottenStep = UInt64(try LineFormat.integer(entry, in: 0...))
            case "totp-resync":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, let step = LineFormat.decimal(parts[0]), let at = LineFormat.decimal(parts[1]) else {
                    throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "totp-resync"))
                }
                state.totpResync = (UInt64(step), Int64(at))
            case "familiar-failures":
                state.familiarFailures = try LineFormat.integer(entry, in: 0...)
            case "unfamiliar-failures":
                state.unfamiliarFailures = try LineFormat.integer(entry, in: 0...)
                sawUnfamiliar = true
            case "source-overflow":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, let failures = LineFormat.decimal(parts[0]), let last = LineFormat.decimal(parts[1]) else {
                    throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "source-overflow"))
                }
                state.overflow = SourceFailures(source: "*", failures: failures, last: Int64(last))
            case "familiar":
                let parts = entry.value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let last = LineFormat.decimal(parts[0]), !parts[1].isEmpty, !parts[1].contains(" "),
                    state.familiar.count < maxFamiliar
                else { throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "familiar")) }
                state.familiar.append(FamiliarOrigin(id: String(parts[1]), last: Int64(last)))
            case "used-recovery":
                guard Hex.decode(utf8: entry.bytes, length: 8) != nil, state.usedRecovery.count < RecoverySet.maxCodes else {
                    throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "used-recovery"))
                }
                state.usedRecovery.append(String(entry.value))
            case "failures":
                state.failures = try LineFormat.integer(entry, in: 0...)
            case "last-failure":
                state.lastFailure = Int64(try LineFormat.integer(entry, in: 0...))
            case "device":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 4, Hex.decode(parts[0], length: 8) != nil, let created = LineFormat.decimal(parts[1]),
                    let expires = LineFormat.decimal(parts[2]), let device = DeviceIdentity(parts[3]), state.devices.count < maxDevices
                else { throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "device")) }
                state.devices.append(
                    RememberedDevice(enrollment: String(parts[0]), device: device, created: Int64(created), expires: Int64(expires)))
            case "source":
                let parts = entry.value.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3, let failures = LineFormat.decimal(parts[0]), let last = LineFormat.decimal(parts[1]),
                    !parts[2].isEmpty, !parts[2].contains(" "), state.sources.count < maxSources + maxFamiliar
                else { throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "source")) }
                state.sources.append(SourceFailures(source: String(parts[2]), failures: failures, last: Int64(last)))
            case "hotp-next":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, Hex.decode(parts[0], length: 8) != nil, let counter = LineFormat.decimal(parts[1]) else {
                    throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "hotp-next"))
                }
                state.hotpNext = (String(parts[0]), UInt64(counter))
            case "hotp-resync":
                let parts = entry.value.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 3, Hex.decode(parts[0], length: 8) != nil, let counter = LineFormat.decimal(parts[1]),
                    let at = LineFormat.decimal(parts[2])
                else { throw LineFormat.ParseError(line: entry.line, problem: .invalidValue(key: "hotp-resync")) }
                state.hotpResync = (String(parts[0]), UInt64(counter), Int64(at))
            default:
                throw LineFormat.ParseError(line: entry.line, problem: .unknownKey(String(entry.key)))
            }
        }
        // A file from before familiar origins: all its failures count against the ceiling.
        if !sawUnfamiliar { state.unfamiliarFailures = state.failures }
        return state
    }
}

extension UserState {
    /// Whether writing this state over `old` records something a crash of the machine must not lose
    /// (docs/DESIGN.md, "Durability"): a used recovery code, an HOTP counter, or the steps a clock
    /// resynchronisation keeps refused, each of which would let a code work again long after the
    /// crash. A TOTP step is not: by the time a crashed machine is back, it is outside the window. Nor
    /// are failure counts, familiar places and remembered devices: losing the last seconds of them
    /// costs a few guesses or a convenience.
    public func mustOutliveACrash(comparedTo old: UserState) -> Bool {
        usedRecovery != old.usedRecovery || hotpNext?.enrollment != old.hotpNext?.enrollment
            || hotpNext?.counter != old.hotpNext?.counter || aheadSteps != old.aheadSteps
    }
}

extension UserState {
    /// This state, with what `other` (another host's record of the same enrollment: `store import`)
    /// knows to be used kept used: the later last step, every recently accepted and "ahead" step, the
    /// larger forgotten step, the further HOTP counter of the same enrollment, and every used
    /// recovery code. Failures, familiar places and devices stay this state's. Merging never lets a
    /// code in that either state refuses.
    public func merged(with other: UserState) -> UserState {
        var merged = self
        merged.lastStep = [lastStep, other.lastStep].compactMap { $0 }.max()
        var forgotten = [forgottenStep, other.forgottenStep].compactMap { $0 }.max()
        var recent = Set(recentSteps).union(other.recentSteps).sorted()
        if recent.count > Self.maxRecentSteps {
            let dropped = recent.prefix(recent.count - Self.maxRecentSteps)
            forgotten = max(forgotten ?? 0, dropped.max() ?? 0)
            recent.removeFirst(dropped.count)
        }
        merged.recentSteps = recent
        merged.forgottenStep = forgotten
        let floor = merged.lastStep ?? 0
        merged.aheadSteps = Array(Set(aheadSteps).union(other.aheadSteps).filter { $0 > floor }.sorted().suffix(Self.maxRecentSteps))
        merged.usedRecovery = usedRecovery + other.usedRecovery.filter { !usedRecovery.contains($0) }
        if let theirs = other.hotpNext {
            if let mine = hotpNext, mine.enrollment == theirs.enrollment {
                merged.hotpNext = (mine.enrollment, max(mine.counter, theirs.counter))
            } else if hotpNext == nil {
                merged.hotpNext = theirs
            }
        }
        return merged
    }
}
