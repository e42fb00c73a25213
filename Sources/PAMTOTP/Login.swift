import CTOTPSystem
import TOTPCore
import TOTPCrypto
import TOTPStorage

/// One run of `pam_sm_authenticate`.
struct Login {
    /// What libpam is asked to wait after a failure (pam_fail_delay); the largest request wins.
    static let failDelayMicroseconds: UInt32 = 2_000_000
    static let wrongCodeMessage = "The verification code does not match."
    /// For an empty answer, which is no code at all rather than a wrong one.
    static let noCodeMessage = "No code was given."
    /// For a code of the window already used here (replay protection): most often the user's own
    /// retry after a wrong password in the same 30 seconds, whose code the module accepted (it cannot
    /// see the password's result). Telling them to wait does not help an attacker: only a valid
    /// code, which the attacker then already has, gets this answer, and never for a decoy.
    static let replayedMessage = "That code was already used. Wait for the next code from the app."
    /// For an answer identical to the password an earlier module read: not a code, so never checked.
    static let passwordAsCodeMessage = "The code prompt was answered with the password. Enter the code from the app."
    /// What the last prompt asks when `message_prompt` makes a refusal's message ride on it (ocserv).
    static let acknowledgePrompt = "Press Enter to continue."
    static let resyncMessage = "That code is far ahead of your token's counter. Enter the next code to resynchronise."
    static let clockResyncMessage =
        "That code is older than the last one used here; the clock may have been changed. Enter the next code from the app to confirm."
    static let lockedMessage = "Too many wrong codes: this account's codes are locked. Use a recovery code, or ask an administrator."
    static func throttledMessage(_ seconds: Int64) -> String { "Too many wrong codes from here. Try again in \(seconds) seconds." }
    /// The notice before a `nullok_until` day: `setup_hint=` says how to enroll at this site, since not
    /// every user can run pam-totp-setup (a VPN user has no shell).
    static func nullokUntilMessage(_ date: String, hint: String?) -> String {
        "Two-factor authentication will be required from \(date). \(hint ?? "Set it up before then, as your site's instructions describe.")"
    }

    let pam: PAMHandle
    var options = ModuleOptions()
    /// With `message_prompt`: the error messages not yet shown, which go into the next prompt's text.
    private let unshown = Unshown()
    var user = "?"
    var remoteHost: String?

    init(pam: PAMHandle) {
        self.pam = pam
    }

    /// Where the user stands before any code is asked for.
    private enum Enrolled {
        case yes(Enrollment)
        case no(reason: String)
        /// The enrollment could not be read safely; end the login with this outcome.
        case refused(ModuleOutcome)
    }

    mutating func authenticate(arguments: [String]) -> ModuleOutcome {
        if let failure = loadOptions(arguments) { return failure }
        guard let typed = pam.user() else {
            pam.log(LOG_ERR, "could not get the user name from the application")
            return .conversationError
        }
        user = typed
        remoteHost = pam.remoteHost()
        // The account, looked up once: its canonical name (as the user database spells it) keys the
        // state, the lock and `%u`, whatever spelling was typed.
        let account: Account?
        do {
            account = PathTemplate.isSafeUserName(typed) ? try Account.lookup(typed) : nil
        } catch {
            log(LOG_ERR, "user database error", ["error": error.description])
            return .systemError
        }
        if let account { user = account.name }

        // 1. Who must use a code.
        switch codeRequired(account) {
        case .failure(let outcome): return outcome
        case .success(let reason?):
            log(LOG_INFO, "skipped", ["reason": reason])
            return passWithoutCode(.ignore)
        case .success(nil): break
        }
        // 2. Trusted networks.
        if let network = options.trusted?.match(remoteHost) {
            log(LOG_NOTICE, "code skipped: trusted network", ["network": network.description])
            return passWithoutCode(.success)
        }
        // 3. The enrollment. Without one (and without nullok), the login goes on against a decoy:
        // the same prompts, messages, throttling and work as for an enrolled user, so a client cannot
        // tell who exists or is enrolled; the decoy never accepts anything.
        var enrollment: Enrollment
        var decoyReason: String?
        switch findEnrollment(account) {
        case .refused(let outcome):
            return outcome
        case .no(let reason):
            if options.nullok {
                log(LOG_INFO, "skipped", ["reason": reason, "nullok": "yes"])
                return passWithoutCode(.ignore)
            }
            if let until = options.nullokUntil, today() < until, let text = options.nullokUntilText {
                log(LOG_INFO, "skipped", ["reason": reason, "nullok-until": text])
                pam.info(Self.nullokUntilMessage(text, hint: options.setupHint))
                return passWithoutCode(.ignore)
            }
            enrollment = .decoy
            decoyReason = reason
        case .yes(let found):
            enrollment = found
        }

        // The state: the account's own, or for a name that is no account, its share of one of a fixed
        // number of files beside the accounts', where its sources are its own.
        let store: StateStore
        let key: String
        var origin = LoginOrigin(remoteHost: remoteHost, authInfo: pam.environment("SSH_AUTH_INFO_0"))
        do {
            store = try StateStore(path: options.stateDirectory)
            // Every login places the name among the shared files, whether or not it is an account,
            // so that a login of either does the same work before its first prompt.
            let place = try store.unknownNames().place(of: typed)
            if account == nil {
                key = place.bucket
                origin = LoginOrigin(source: UnknownNames.source(origin.source, tag: place.tag))
            } else {
                key = user
            }
        } catch {
            log(LOG_ERR, "state error", ["error": error.description])
            return .systemError
        }
        // 4. A remembered device, or a throttled source: one locked read decides both, and the lock
        // is released before anyone is prompted.
        var device: DeviceIdentity?
        enum Early {
            case remembered(DeviceIdentity, until: Int64)
            case throttled(seconds: Int64)
        }
        let early: Early?
        do {
            if options.remember != nil && decoyReason == nil {
                device = DeviceIdentity.find(authInfo: pam.environment("SSH_AUTH_INFO_0"), remoteHost: remoteHost)
            }
            let locked = try store.lock(user: key)
            defer { locked.release() }
            let state = try locked.read()
            let now = now()
            if let device, let known = state.remembered(device, enrollment: enrollment.identifier, now: now) {
                early = .remembered(device, until: known.expires)
            } else if case .throttled(let seconds) = state.throttle(
                source: origin.source, familiar: state.isFamiliar(origin, now: now), now: now, policy: options.throttle,
                recoveryCode: false)
            {
                early = .throttled(seconds: seconds)
            } else {
                early = nil
            }
        } catch {
            log(LOG_ERR, "state error", ["error": "\(error)"])
            return .systemError
        }
        switch early {
        case .remembered(let device, let until):
            log(LOG_NOTICE, "code skipped: remembered device", ["device": device.description, "until": UTCTimestamp.format(until)])
            return passWithoutCode(.success)
        case .throttled(let seconds):
            log(LOG_WARNING, "failure", ["reason": "throttled", "retry-after": String(seconds)])
            tell(Self.throttledMessage(seconds))
            acknowledgeRefusal()
            return passWithoutCode(.denied)
        case nil:
            break
        }
        // 5. The code.
        let policy = AttemptPolicy(window: enrollment.window ?? options.window, hotpWindow: options.hotpWindow, throttle: options.throttle)
        let outcome = promptLoop(digits: enrollment.parameters.digits, forcedReason: decoyReason) { [enrollment] input in
            Self.attempt(input, enrollment: enrollment, store: store, key: key, policy: policy, origin: origin, decoy: decoyReason != nil)
        }
        // 6. Offer to remember the device (never after a recovery code: see pam_totp(8)).
        if case .successWith(let accepted) = outcome, let device, let duration = options.remember, accepted != .recovery {
            offerToRemember(device, enrollment: enrollment, store: store, duration: duration)
        }
        return outcome.module
    }

    // MARK: - Policy

    /// Reads the configuration file and the options; nil when they are usable.
    private mutating func loadOptions(_ arguments: [String]) -> ModuleOutcome? {
        let configPath = ModuleOptions.configPath(in: arguments)
        do throws(ModuleOptions.ParseError) {
            // A config= value is checked before it is used as a path.
            _ = try ModuleOptions.parse(arguments.filter { $0 == "config" || $0.hasPrefix("config=") })
            let configBytes: [UInt8]?
            do { configBytes = try ConfigFile.read(configPath) } catch {
                pam.log(LOG_ERR, "configuration error: \(error.description); refusing login")
                return .configurationError
            }
            options = try ModuleOptions.parse(arguments, config: configBytes.map(ModuleOptions.configArguments) ?? [])
            if let file = options.trustedFile {
                let bytes: [UInt8]?
                do { bytes = try ConfigFile.read(file) } catch {
                    pam.log(LOG_ERR, "configuration error: \(error.description); refusing login")
                    return .configurationError
                }
                guard let bytes else {
                    pam.log(LOG_ERR, "configuration error: \(StorageError.notFound(path: file).description); refusing login")
                    return .configurationError
                }
                do {
                    options.trusted = try TrustedNetworks.parse(String(decoding: bytes, as: UTF8.self), isFile: true)
                } catch {
                    throw .invalidValue(option: "trusted", value: "@" + file, expected: error.description)
                }
            }
            return nil
        } catch {
            let place = if case .configLine = error { configPath + ": " } else { "" }
            pam.log(LOG_ERR, "configuration error: \(place)\(error.description); refusing login")
        }
        return .configurationError
    }

    /// Whether `groups=`/`exempt_groups=` spare this user the code: the reason if so, nil if a code is
    /// required. A user in both lists needs a code. Unknown groups are a configuration error.
    private func codeRequired(_ account: Account?) -> Result<String?, ModuleOutcome> {
        guard options.groups != nil || options.exemptGroups != nil else { return .success(nil) }
        guard let account else { return .success(nil) }
        let mine: Set<gid_t>
        do { mine = Set(try account.groupIDs()) } catch {
            log(LOG_ERR, "user database error", ["error": error.description])
            return .failure(.systemError)
        }
        /// Whether the user is in one of `names`; nil (after logging why) when that cannot be told.
        func member(of names: [String]?) -> Result<Bool, ModuleOutcome> {
            for name in names ?? [] {
                let gid: gid_t?
                do { gid = try Account.groupID(named: name) } catch {
                    log(LOG_ERR, "user database error", ["error": error.description])
                    return .failure(.systemError)
                }
                guard let gid else {
                    let error = ModuleOptions.ParseError.invalidValue(option: "groups", value: name, expected: "no such group")
                    pam.log(LOG_ERR, "configuration error: \(error.description); refusing login")
                    return .failure(.configurationError)
                }
                if mine.contains(gid) { return .success(true) }
            }
            return .success(false)
        }
        let required: Bool, exempt: Bool
        switch member(of: options.groups) {
        case .success(let value): required = value
        case .failure(let outcome): return .failure(outcome)
        }
        switch member(of: options.exemptGroups) {
        case .success(let value): exempt = value
        case .failure(let outcome): return .failure(outcome)
        }
        if required { return .success(nil) }
        if options.groups != nil { return .success("not-in-groups") }
        return .success(exempt ? "exempt-group" : nil)
    }

    /// Ends a login that needs no code. With forward_pass the one field is still asked for, and all
    /// of it is the password for the next module.
    private func passWithoutCode(_ outcome: ModuleOutcome) -> ModuleOutcome {
        guard options.forwardPass else { return outcome }
        guard let input = readInput(attempt: 1) else { return .conversationError }
        pam.setAuthToken(input.bytes)
        return outcome
    }

    private func offerToRemember(_ device: DeviceIdentity, enrollment: Enrollment, store: StateStore, duration: Int64) {
        if options.rememberAsk {
            guard pam.askYesNo("Skip the code on this device for \(RememberDuration.describe(duration))? [y/N] ") else { return }
        }
        do {
            let locked = try store.lock(user: user)
            defer { locked.release() }
            var state = try locked.read()
            state.remember(device, enrollment: enrollment.identifier, now: now(), duration: duration)
            try locked.write(state)
            log(LOG_NOTICE, "remembered device", ["device": device.description, "until": UTCTimestamp.format(now() + duration)])
        } catch {
            // The login already succeeded; only the convenience is lost.
            log(LOG_ERR, "state error", ["error": "\(error)"])
        }
    }

    private func now() -> Int64 { Int64(time(nil)) }

    /// Today's local date, as days since 1970-01-01.
    private func today() -> Int64 {
        var seconds = time(nil)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return Int64(seconds) / 86_400 }
        return CivilDate.days(year: Int64(parts.tm_year) + 1900, month: Int64(parts.tm_mon) + 1, day: Int64(parts.tm_mday))
    }

    // MARK: - Codes

    /// Hashes a recovery-shaped input (before the lock, so no input holds the user's lock for long),
    /// then locks the state under `key`, decides the attempt, records the result, and releases the lock.
    private static func attempt(
        _ input: CodeInput, enrollment: Enrollment, store: StateStore, key: String, policy: AttemptPolicy, origin: LoginOrigin,
        decoy: Bool
    ) -> Result<AttemptOutcome, LoginFailure> {
        let prepared: PreparedInput
        do {
            prepared = try PreparedInput(input, enrollment: enrollment)
        } catch {
            return .failure(LoginFailure(description: error.description))
        }
        do {
            let locked = try store.lock(user: key)
            defer { locked.release() }
            let state = try locked.read()
            let decision = decideAttempt(
                input: prepared, enrollment: enrollment, state: state, now: Int64(time(nil)), policy: policy, origin: origin, decoy: decoy)
            if decision.state != state { try locked.write(decision.state) }
            return .success(decision.outcome)
        } catch {
            return .failure(LoginFailure(description: error.description))
        }
    }

    struct LoginFailure: Error {
        let description: String
    }

    enum Accepted: Equatable { case code, recovery }

    enum LoopOutcome {
        case successWith(Accepted)
        case failed(ModuleOutcome)

        var module: ModuleOutcome {
            switch self {
            case .successWith: return .success
            case .failed(let outcome): return outcome
            }
        }
    }

    /// What the user typed for attempt `attempt`: from PAM_AUTHTOK for the first attempt with
    /// use_first_pass or try_first_pass (`prompted` false), else through the conversation.
    private func readInput(attempt: Int) -> (bytes: Secret, prompted: Bool)? {
        if attempt == 1, options.firstPass != .no, let token = pam.authToken(), !token.isEmpty { return (token, false) }
        if options.firstPass == .useFirst { return nil }
        return pam.promptHidden(unshown.take(before: options.effectivePrompt), limit: CodeInput.maxLength).map { ($0, true) }
    }

    /// Whether `answer`, typed at the code prompt, is the password an earlier module read
    /// (PAM_AUTHTOK). sshd's PasswordAuthentication answers every hidden prompt with the password, so
    /// on a stock Debian sshd_config the code prompt gets the password; a user may also type it there
    /// by mistake. Such an answer is no code: it is refused unchecked, which tells an attacker nothing
    /// (the password is what they typed) and gives them no guess at a code.
    private func isPassword(_ answer: Secret) -> Bool {
        guard !answer.isEmpty, let token = pam.authToken() else { return false }
        return answer == token
    }

    /// Shows an error message: at once, or with `message_prompt` as the start of the next prompt's
    /// text. ocserv (1.1) shows a user nothing of PAM_ERROR_MSG or PAM_TEXT_INFO, only each prompt's
    /// text, as the message of its next form.
    private func tell(_ text: String) {
        if options.messagePrompt { unshown.add(text) } else { pam.error(text) }
    }

    /// With `message_prompt`, ends a refusal with one more prompt whose answer is ignored, so that the
    /// refusal's message reaches the user; the same for every user, as the message is.
    private func acknowledgeRefusal() {
        guard options.messagePrompt, unshown.waiting else { return }
        _ = pam.promptHidden(unshown.take(before: Self.acknowledgePrompt), limit: CodeInput.maxLength)
    }

    /// Asks up to `retries` times. `check` decides each answer; a failure of `check` (state or crypto)
    /// ends the login, refused.
    private func promptLoop(digits: Int, forcedReason: String?, check: (CodeInput) -> Result<AttemptOutcome, LoginFailure>) -> LoopOutcome {
        let attempts = options.firstPass == .useFirst ? 1 : options.retries
        for attemptNumber in 1...attempts {
            guard let read = readInput(attempt: attemptNumber) else {
                log(LOG_ERR, "failure", ["reason": options.firstPass == .useFirst ? "no-authtok" : "conversation-failed"])
                return .failed(options.firstPass == .useFirst ? .denied : .conversationError)
            }
            let answer = read.bytes
            if read.prompted && !options.forwardPass && isPassword(answer) {
                // Not counted as a failure and not throttled: nothing was guessed. The login ends, as
                // an application that sends the password to every prompt would send it again.
                log(
                    LOG_ERR, "refused",
                    [
                        "reason": "password-as-code",
                        // At most LogValue.maxValueLength bytes, so it is never cut.
                        "error":
                            "the application answered the code prompt with the password; for sshd set KbdInteractiveAuthentication yes and AuthenticationMethods with keyboard-interactive (README)",
                    ])
                pam.failDelay(microseconds: Self.failDelayMicroseconds)
                tell(Self.passwordAsCodeMessage)
                acknowledgeRefusal()
                return .failed(.denied)
            }
            let empty = answer.isEmpty
            let input: CodeInput
            if options.forwardPass {
                // The password goes on to the next module whatever the code, so a wrong code and a
                // wrong password look alike.
                if let split = CombinedInput.split(answer, digits: digits) {
                    pam.setAuthToken(split.password)
                    input = split.code
                } else {
                    pam.setAuthToken(answer)
                    input = .malformed
                }
            } else {
                input = CodeInput.classify(answer, digits: digits)
            }
            switch check(input) {
            case .failure(let failure):
                log(LOG_ERR, "state error", ["error": failure.description])
                return .failed(.systemError)
            case .success(let outcome) where outcome.isSuccess:
                // The code was right; whether the login succeeds is the stack's decision (an earlier
                // password may have been wrong), so the line says what it covers.
                var fields = ["method": input.method, "scope": "code"]
                if case .acceptedRecovery(let remaining) = outcome {
                    fields["recovery-codes-left"] = String(remaining)
                    pam.info(
                        "Recovery code accepted. \(remaining) recovery code\(remaining == 1 ? "" : "s") left; get new ones before they run out."
                    )
                }
                log(LOG_NOTICE, "success", fields)
                if case .acceptedRecovery = outcome { return .successWith(.recovery) }
                return .successWith(.code)
            case .success(let outcome):
                var fields = [
                    "method": input.method,
                    "reason": outcome == .wrongCode || outcome == .malformedInput ? forcedReason ?? outcome.reason : outcome.reason,
                    "attempt": "\(attemptNumber)/\(attempts)",
                ]
                if case .throttled(let seconds) = outcome { fields["retry-after"] = String(seconds) }
                log(LOG_WARNING, "failure", fields)
                pam.failDelay(microseconds: Self.failDelayMicroseconds)
                switch outcome {
                case .throttled(let seconds):
                    tell(Self.throttledMessage(seconds))
                    acknowledgeRefusal()
                    return .failed(.denied)
                case .locked: tell(Self.lockedMessage)
                case .hotpResyncStarted: tell(Self.resyncMessage)
                case .clockResyncStarted: tell(Self.clockResyncMessage)
                case .replayedTOTP: tell(Self.replayedMessage)
                case .malformedInput where empty: tell(Self.noCodeMessage)
                default: tell(Self.wrongCodeMessage)
                }
            }
        }
        acknowledgeRefusal()
        return .failed(.denied)
    }

    // MARK: - Enrollment

    /// Finds and reads the user's enrollment. Files in the user's home are opened with the user's
    /// file-system identity, so root never follows a link the user planted; elsewhere the whole path
    /// is checked from `/` and never followed through a link, and a root-owned file must name the
    /// account it was made for (`EnrollmentStorage`).
    private func findEnrollment(_ account: Account?) -> Enrolled {
        guard let account else { return .no(reason: "unknown-user") }
        // The locations in order (central first, where the admin put them): the first that holds a
        // file is the user's. A file that is there but refused ends the search: falling through to
        // a later location would let a user's own file stand in for one the admin's checks refused.
        var path = ""
        var located: EnrollmentStorage.Contents?
        for template in options.secretTemplates {
            do {
                path = try PathTemplate.expand(template, user: account.name, home: account.home)
            } catch .badHome where options.secretTemplates.count > 1 {
                // An account without a usable home (a VPN user's) has no enrollment in it; a later
                // or an earlier location may hold one.
                if options.debug { log(LOG_DEBUG, "no enrollment", ["file": template, "error": PathTemplate.Problem.badHome.description]) }
                continue
            } catch {
                log(LOG_ERR, "refused", ["reason": "enrollment-path", "error": error.description])
                return .refused(.systemError)
            }
            do {
                located = try EnrollmentStorage.read(path, account: account, inHome: PathTemplate.usesHome(template))
                break
            } catch {
                if error.isNotFound {
                    if options.debug { log(LOG_DEBUG, "no enrollment", ["file": path]) }
                    continue
                }
                log(LOG_ERR, "refused", ["reason": "insecure-or-unreadable-enrollment", "error": error.description])
                return .refused(.denied)
            }
        }
        guard let contents = located else { return .no(reason: "not-enrolled") }
        let enrollment: Enrollment
        do {
            enrollment = try Enrollment.parse(contents.bytes)
        } catch {
            log(LOG_ERR, "refused", ["reason": "malformed-enrollment", "file": path, "error": error.description])
            return .refused(.denied)
        }
        do {
            try enrollment.checkAccount(account.name, lineRequired: contents.needsAccountLine)
        } catch {
            // What the admin can do about a file written before the `account` line existed.
            let hint = error == .missing ? "; re-enroll, or add 'account \(account.name)' (pam_totp(8))" : ""
            log(LOG_ERR, "refused", ["reason": "enrollment-account", "file": path, "error": error.description + hint])
            return .refused(.denied)
        }
        return .yes(enrollment)
    }

    /// Logs `event` with the user, the remote host and `fields` as `key=value` pairs, in a fixed
    /// order and within `LogValue.maxLineLength` bytes (README, "Log lines"). Values are made printable
    /// so no input can forge a log line.
    private func log(_ priority: Int32, _ event: String, _ fields: [String: String] = [:]) {
        pam.log(priority, LogValue.line(event, user: user, remoteHost: remoteHost ?? "-", fields: fields))
    }
}

/// Error messages waiting for the next prompt (`message_prompt`). A class, so the prompt loop's
/// closures and the non-mutating helpers share it.
private final class Unshown {
    private var text = ""

    var waiting: Bool { !text.isEmpty }

    func add(_ message: String) { text += message + " " }

    /// `prompt`, after the waiting messages, which are then shown.
    func take(before prompt: String) -> String {
        defer { text = "" }
        return text + prompt
    }
}

enum LogValue {
    /// The longest line the module logs. Syslog receivers cut longer ones: RFC 3164 allows 1024 bytes
    /// for the whole packet, and the header and the `pam_totp(SERVICE:auth): ` prefix come on top.
    static let maxLineLength = 800
    /// The longest value; a longer one loses its middle.
    static let maxValueLength = 200
    /// Stands for the bytes cut from the middle of a value.
    static var cutMarker: [UInt8] { Array("...".utf8) }
    /// Free text, which goes after the short fields of fixed vocabulary (`reason`, `method`, …), so
    /// those come first in the line.
    static func isFreeText(_ key: String) -> Bool { key == "error" || key == "file" }

    /// One log line: `event user=U rhost=H`, the other fields in alphabetical order, then the free
    /// text (`error`, `file`). User and remote host stay first, where fail2ban filters look for them.
    /// The line fits in `maxLineLength` bytes whatever the values: the longest values are cut in the
    /// middle to the same length, as little as needed, so the short ones (an IP address, the reason)
    /// are never cut, and a cut value keeps its beginning and its end (an error's cause).
    static func line(_ event: String, user: String, remoteHost: String, fields: [String: String]) -> String {
        let keys = fields.keys.sorted { (isFreeText($0) ? 1 : 0, $0) < (isFreeText($1) ? 1 : 0, $1) }
        let pairs = [("user", user), ("rhost", remoteHost)] + keys.map { ($0, fields[$0] ?? "") }
        var values = pairs.map { printable($0.1) }
        // Everything but the values' text: the event, " key=" and the quotes.
        let fixed = event.utf8.count + pairs.reduce(0) { $0 + 2 + $1.0.utf8.count } + values.reduce(0) { $0 + ($1.quoted ? 2 : 0) }
        let limit = cutLength(values.map { $0.text.count }, room: maxLineLength - fixed)
        var line = Array(event.utf8)
        for (index, (key, _)) in pairs.enumerated() {
            values[index].text = cut(values[index].text, to: limit)
            line += Array(" \(key)=".utf8)
            if values[index].quoted { line.append(UInt8(ascii: "\"")) }
            line += values[index].text
            if values[index].quoted { line.append(UInt8(ascii: "\"")) }
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Printable ASCII without quotes or backslashes; anything else becomes `?`. A value with spaces
    /// is to be quoted, an empty one is `""`. Only the first and last `maxValueLength` characters are
    /// kept, as `cut` keeps no more of a longer value.
    static func printable(_ value: String) -> (text: [UInt8], quoted: Bool) {
        let scalars = value.unicodeScalars
        let kept =
            scalars.count > 2 * maxValueLength
            ? Array(scalars.prefix(maxValueLength)) + Array(scalars.suffix(maxValueLength)) : Array(scalars)
        var text: [UInt8] = []
        text.reserveCapacity(kept.count)
        var quoted = false
        for scalar in kept {
            switch scalar.value {
            case 0x21...0x7e where scalar != "\"" && scalar != "\\": text.append(UInt8(scalar.value))
            case 0x20:
                quoted = true
                text.append(0x20)
            default: text.append(UInt8(ascii: "?"))
            }
        }
        return (text, quoted || text.isEmpty)
    }

    /// The largest length, at most `maxValueLength`, to which the values longer than it can be cut so
    /// that all of them together take at most `room` bytes ("water-filling": the longest are cut first).
    static func cutLength(_ lengths: [Int], room: Int) -> Int {
        let minimum = cutMarker.count + 2
        var limit = maxValueLength
        while limit > minimum, lengths.reduce(0, { $0 + min($1, limit) }) > room { limit -= 1 }
        return limit
    }

    /// `text` if it is at most `length` bytes, else its beginning and end around `cutMarker`.
    static func cut(_ text: [UInt8], to length: Int) -> [UInt8] {
        guard text.count > length else { return text }
        let kept = max(length - cutMarker.count, 2)
        return Array(text.prefix((kept + 1) / 2)) + cutMarker + Array(text.suffix(kept / 2))
    }
}
