import Glibc
import TOTPCore
import TOTPStorage

/// One run of `pam_sm_authenticate`.
struct Login {
    /// What libpam is asked to wait after a failure (pam_fail_delay); the largest request wins.
    static let failDelayMicroseconds: UInt32 = 2_000_000
    static let wrongCodeMessage = "The verification code does not match."
    static let resyncMessage = "That code is far ahead of your token's counter. Enter the next code to resynchronise."
    static let lockedMessage = "Too many wrong codes: this account's codes are locked. Use a recovery code, or ask an administrator."
    static func throttledMessage(_ seconds: Int64) -> String { "Too many wrong codes from here. Try again in \(seconds) seconds." }

    let pam: PAMHandle
    var options = ModuleOptions()
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
        guard let name = pam.user() else {
            pam.log(LOG_ERR, "could not get the user name from the application")
            return .conversationError
        }
        user = name
        remoteHost = pam.remoteHost()

        // 1. Who must use a code.
        switch codeRequired() {
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
        // 3. The enrollment.
        var enrollment: Enrollment
        switch findEnrollment() {
        case .refused(let outcome):
            return outcome
        case .no(let reason):
            if options.nullok {
                log(LOG_INFO, "skipped", ["reason": reason, "nullok": "yes"])
                return passWithoutCode(.ignore)
            }
            if let until = options.nullokUntil, today() < until, let text = options.nullokUntilText {
                log(LOG_INFO, "skipped", ["reason": reason, "nullok-until": text])
                pam.info("Two-factor authentication will be required from \(text). Run pam-totp-setup to set it up.")
                return passWithoutCode(.ignore)
            }
            // Ask anyway, so that the prompt does not tell who is enrolled or exists.
            return promptLoop(digits: OTPParameters.standard.digits, forcedReason: reason) { _ in .success(.wrongCode) }.module
        case .yes(let found):
            enrollment = found
        }
        defer { enrollment.cleanse() }

        let store: StateStore
        do {
            store = try StateStore(path: options.stateDirectory)
        } catch {
            log(LOG_ERR, "state error", ["error": error.description])
            return .systemError
        }
        // 4. A remembered device, or a throttled source: one locked read decides both, and the lock
        // is released before anyone is prompted.
        let source = throttleSource(remoteHost)
        var device: DeviceIdentity?
        enum Early {
            case remembered(DeviceIdentity, until: Int64)
            case throttled(seconds: Int64)
        }
        let early: Early?
        do {
            if options.remember != nil {
                device = DeviceIdentity.find(authInfo: pam.environment("SSH_AUTH_INFO_0"), remoteHost: remoteHost)
            }
            let locked = try store.lock(user: user)
            defer { locked.release() }
            let state = try locked.read()
            if let device, let known = state.remembered(device, enrollment: enrollment.identifier, now: now()) {
                early = .remembered(device, until: known.expires)
            } else if case .throttled(let seconds) = state.throttle(
                source: source, now: now(), policy: options.throttle, recoveryCode: false)
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
            pam.error(Self.throttledMessage(seconds))
            return passWithoutCode(.denied)
        case nil:
            break
        }
        // 5. The code.
        let window = enrollment.window ?? options.window
        let outcome = promptLoop(digits: enrollment.parameters.digits, forcedReason: nil) { [enrollment, options, user] input in
            Self.attempt(
                input, enrollment: enrollment, store: store, user: user, window: window, hotpWindow: options.hotpWindow,
                source: source, throttle: options.throttle)
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
        do {
            // A config= value is checked before it is used as a path.
            _ = try ModuleOptions.parse(arguments.filter { $0 == "config" || $0.hasPrefix("config=") })
            let config = try ConfigFile.read(configPath).map(ModuleOptions.configArguments) ?? []
            options = try ModuleOptions.parse(arguments, config: config)
            if let file = options.trustedFile {
                guard let bytes = try ConfigFile.read(file) else { throw StorageError.notFound(path: file) }
                do {
                    options.trusted = try TrustedNetworks.parse(String(decoding: bytes, as: UTF8.self), isFile: true)
                } catch {
                    throw ModuleOptions.ParseError.invalidValue(option: "trusted", value: "@" + file, expected: error.description)
                }
            }
            return nil
        } catch let error as ModuleOptions.ParseError {
            let place = if case .configLine = error { configPath + ": " } else { "" }
            pam.log(LOG_ERR, "configuration error: \(place)\(error.description); refusing login")
        } catch {
            pam.log(LOG_ERR, "configuration error: \(error); refusing login")
        }
        return .configurationError
    }

    /// Whether `groups=`/`exempt_groups=` spare this user the code: the reason if so, nil if a code is
    /// required. A user in both lists needs a code. Unknown groups are a configuration error.
    private func codeRequired() -> Result<String?, ModuleOutcome> {
        guard options.groups != nil || options.exemptGroups != nil else { return .success(nil) }
        do {
            guard PathTemplate.isSafeUserName(user), let account = try Account.lookup(user) else { return .success(nil) }
            let mine = Set(try account.groupIDs())
            func member(of names: [String]?) throws -> Bool {
                for name in names ?? [] {
                    guard let gid = try Account.groupID(named: name) else {
                        throw ModuleOptions.ParseError.invalidValue(option: "groups", value: name, expected: "no such group")
                    }
                    if mine.contains(gid) { return true }
                }
                return false
            }
            let required = try member(of: options.groups)
            let exempt = try member(of: options.exemptGroups)
            if required { return .success(nil) }
            if options.groups != nil { return .success("not-in-groups") }
            return .success(exempt ? "exempt-group" : nil)
        } catch let error as ModuleOptions.ParseError {
            pam.log(LOG_ERR, "configuration error: \(error.description); refusing login")
            return .failure(.configurationError)
        } catch {
            log(LOG_ERR, "user database error", ["error": "\(error)"])
            return .failure(.systemError)
        }
    }

    /// Ends a login that needs no code. With forward_pass the one field is still asked for, and all
    /// of it is the password for the next module.
    private func passWithoutCode(_ outcome: ModuleOutcome) -> ModuleOutcome {
        guard options.forwardPass else { return outcome }
        guard var input = readInput(attempt: 1) else { return .conversationError }
        defer { Crypto.cleanse(&input) }
        pam.setAuthToken(input)
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

    /// Locks the user's state, decides the attempt, records the result, and releases the lock.
    private static func attempt(
        _ input: CodeInput, enrollment: Enrollment, store: StateStore, user: String, window: Int, hotpWindow: Int,
        source: String, throttle: ThrottlePolicy
    ) -> Result<AttemptOutcome, LoginFailure> {
        do {
            let locked = try store.lock(user: user)
            defer { locked.release() }
            let state = try locked.read()
            let decision: (outcome: AttemptOutcome, state: UserState)
            do {
                decision = try decideAttempt(
                    input: input, enrollment: enrollment, state: state, now: Int64(time(nil)), window: window, hotpWindow: hotpWindow,
                    source: source, throttle: throttle)
            } catch {
                return .failure(LoginFailure(description: error.description))
            }
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
    /// use_first_pass or try_first_pass, else through the conversation.
    private func readInput(attempt: Int) -> [UInt8]? {
        if attempt == 1, options.firstPass != .no, let token = pam.authToken(), !token.isEmpty { return token }
        if options.firstPass == .useFirst { return nil }
        return pam.promptHidden(options.effectivePrompt, limit: CodeInput.maxLength)
    }

    /// Asks up to `retries` times. `check` decides each answer; a failure of `check` (state or crypto)
    /// ends the login, refused.
    private func promptLoop(digits: Int, forcedReason: String?, check: (CodeInput) -> Result<AttemptOutcome, LoginFailure>) -> LoopOutcome {
        let attempts = options.firstPass == .useFirst ? 1 : options.retries
        for attemptNumber in 1...attempts {
            guard var answer = readInput(attempt: attemptNumber) else {
                log(LOG_ERR, "failure", ["reason": options.firstPass == .useFirst ? "no-authtok" : "conversation-failed"])
                return .failed(options.firstPass == .useFirst ? .denied : .conversationError)
            }
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
            Crypto.cleanse(&answer)
            switch check(input) {
            case .failure(let failure):
                log(LOG_ERR, "state error", ["error": failure.description])
                return .failed(.systemError)
            case .success(let outcome) where outcome.isSuccess:
                var fields = ["method": input.method]
                if case .acceptedRecovery(let remaining) = outcome {
                    fields["recovery-codes-left"] = String(remaining)
                    pam.info(
                        "Recovery code accepted. \(remaining) recovery code\(remaining == 1 ? "" : "s") left; run pam-totp-setup to make new ones."
                    )
                }
                log(LOG_NOTICE, "success", fields)
                if case .acceptedRecovery = outcome { return .successWith(.recovery) }
                return .successWith(.code)
            case .success(let outcome):
                var fields = ["method": input.method, "reason": forcedReason ?? outcome.reason, "attempt": "\(attemptNumber)/\(attempts)"]
                if case .throttled(let seconds) = outcome { fields["retry-after"] = String(seconds) }
                log(LOG_WARNING, "failure", fields)
                pam.failDelay(microseconds: Self.failDelayMicroseconds)
                switch outcome {
                case .throttled(let seconds):
                    pam.error(Self.throttledMessage(seconds))
                    return .failed(.denied)
                case .locked: pam.error(Self.lockedMessage)
                case .hotpResyncStarted: pam.error(Self.resyncMessage)
                default: pam.error(Self.wrongCodeMessage)
                }
            }
        }
        return .failed(.denied)
    }

    // MARK: - Enrollment

    /// Finds and reads the user's enrollment. Files in the user's home are opened with the user's
    /// file-system identity, so root never follows a link the user planted; elsewhere the whole path
    /// is checked from `/` and never followed through a link, and a root-owned file must name the
    /// account it was made for (`EnrollmentStorage`).
    private func findEnrollment() -> Enrolled {
        let account: Account
        do {
            guard PathTemplate.isSafeUserName(user), let found = try Account.lookup(user) else { return .no(reason: "unknown-user") }
            account = found
        } catch {
            log(LOG_ERR, "user database error", ["error": error.description])
            return .refused(.systemError)
        }
        let path: String
        do {
            path = try PathTemplate.expand(options.secret, user: account.name, home: account.home)
        } catch {
            log(LOG_ERR, "refused", ["reason": "enrollment-path", "error": error.description])
            return .refused(.systemError)
        }
        var contents: EnrollmentStorage.Contents
        do {
            contents = try EnrollmentStorage.read(path, account: account, inHome: PathTemplate.usesHome(options.secret))
        } catch {
            if error.isNotFound {
                if options.debug { log(LOG_DEBUG, "no enrollment", ["file": path]) }
                return .no(reason: "not-enrolled")
            }
            log(LOG_ERR, "refused", ["reason": "insecure-or-unreadable-enrollment", "error": error.description])
            return .refused(.denied)
        }
        defer { Crypto.cleanse(&contents.bytes) }
        var enrollment: Enrollment
        do {
            enrollment = try Enrollment.parse(contents.bytes)
        } catch {
            log(LOG_ERR, "refused", ["reason": "malformed-enrollment", "file": path, "error": error.description])
            return .refused(.denied)
        }
        do {
            try enrollment.checkAccount(account.name, lineRequired: contents.needsAccountLine)
        } catch {
            enrollment.cleanse()
            // What the admin can do about a file written before the `account` line existed.
            let hint = error == .missing ? "; re-enroll, or add 'account \(account.name)' (pam_totp(8))" : ""
            log(LOG_ERR, "refused", ["reason": "enrollment-account", "file": path, "error": error.description + hint])
            return .refused(.denied)
        }
        return .yes(enrollment)
    }

    /// Logs `event` with the user, the remote host and `fields` as `key=value` pairs, in a fixed
    /// order (README, "Log lines"). Values are made printable so no input can forge a log line.
    private func log(_ priority: Int32, _ event: String, _ fields: [String: String] = [:]) {
        var line = event + " user=" + LogValue.clean(user) + " rhost=" + LogValue.clean(remoteHost ?? "-")
        for key in fields.keys.sorted() {
            line += " \(key)=" + LogValue.clean(fields[key] ?? "")
        }
        pam.log(priority, line)
    }
}

enum LogValue {
    /// Printable ASCII without spaces or quotes, at most 200 bytes; anything else becomes `?`, and
    /// values with spaces are quoted.
    static func clean(_ value: String) -> String {
        var out = ""
        var needsQuotes = false
        for scalar in value.unicodeScalars.prefix(200) {
            switch scalar.value {
            case 0x21...0x7e where scalar != "\"" && scalar != "\\": out.unicodeScalars.append(scalar)
            case 0x20:
                needsQuotes = true
                out += " "
            default: out += "?"
            }
        }
        if out.isEmpty { return "\"\"" }
        return needsQuotes ? "\"" + out + "\"" : out
    }
}
