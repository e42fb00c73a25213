/// One login: the module's policies in the order they apply (README, "Login policies"), as a state
/// machine that its driver runs.
///
/// The machine does no input or output and reads no clock. Each step hands its driver the effects
/// to perform (log lines, messages, `PAM_AUTHTOK`) and one request (read a file, look a user up,
/// lock and read the state, prompt); the driver reports what it found with `resume(_:)`, until the
/// request is `.finish`. PAMTOTP's driver performs the requests with libpam and the file system; a
/// test performs them with a fake conversation, fake files and a fake clock.
///
/// The order, and what ends the login early:
/// 1. the options (configuration file, `trusted=@FILE`, then the pam.d arguments);
/// 2. the user, and their account if the name is one;
/// 3. who needs a code (`groups=`, `exempt_groups=`);
/// 4. trusted networks;
/// 5. the enrollment; without one, `nullok` or `nullok_until`, or else a decoy that asks the same
///    questions and never accepts anything;
/// 6. one locked read of the state decides a remembered device or a throttled source, and the lock is
///    released before anyone is prompted;
/// 7. up to `retries` answers, each sorted by shape (the password, `forward_pass`, empty, malformed),
///    prepared before the lock (a recovery code is hashed), then decided and recorded under it;
/// 8. after a code (never a recovery code), the offer to remember the device.
public struct Login {
    /// What libpam is asked to wait after a failure (`pam_fail_delay`); the largest request wins.
    public static let failDelayMicroseconds: UInt32 = 2_000_000

    private let arguments: [String]
    /// The options in force, once read.
    private var options = ModuleOptions()
    /// The name as the application gave it.
    private var typed = ""
    /// The name the log uses: as typed, then as the user database spells it.
    private var user = "?"
    private var remoteHost: String?
    private var authInfo: String?
    private var account: Account?
    /// The user's enrollment, or the decoy that stands in for it.
    private var enrollment: Enrollment?
    /// Why the decoy stands in (`unknown-user`, `not-enrolled`); nil for a real enrollment.
    private var decoyReason: String?
    /// Whose state the attempts are recorded in: the account, or a shared file of unknown names.
    private var key = ""
    private var origin = LoginOrigin(source: "-")
    /// The device that may be remembered (`remember=`).
    private var device: DeviceIdentity?
    /// With `message_prompt`: the error messages not yet shown, which go into the next prompt's text.
    private var unshown = ""
    /// The answer being looked at, until it is sorted. Kept here rather than in `waiting`: a class
    /// in the payload of `Waiting` made Embedded Swift read uninitialised bytes (valgrind,
    /// Tests/integration/test_memory.py).
    private var answer: Secret?
    /// The answer being decided, between its two steps (the same reason).
    private var check: CodeCheck?
    private var effects: [Effect] = []
    private var waiting = Waiting.start

    /// What the machine waits for, with what it needs to go on.
    private enum Waiting {
        case start
        case configuration(path: String)
        case trustedNetworks(path: String)
        case user
        case account
        case ownGroups
        case group(GroupQuery)
        case enrollment(template: Int, path: String)
        /// A name that is no account: the locations are looked at for `standIn`, and what is found
        /// is never used.
        case standInEnrollment(template: Int)
        /// The enrollment in the store; for a name that is no account (`real` false), `standIn`'s,
        /// whatever is found is never used.
        case storedEnrollment(real: Bool)
        case today(reason: String)
        case statePlace
        case earlyState
        case earlyRelease(Early?)
        case firstPass(Purpose)
        case input(Purpose)
        case passwordCheck(attempt: Int)
        case codeState(attempt: Int, empty: Bool)
        case codeRelease(AttemptOutcome, method: String, attempt: Int, empty: Bool)
        case acknowledgement(then: Ending)
        case rememberChoice
        case rememberState
        case rememberRelease(until: Int64)
        case finished
    }

    /// What an input is read for.
    private enum Purpose {
        /// The login needs no code; with `forward_pass` the one field is still asked for, and all of
        /// it is the password for the next module.
        case passWithoutCode(ModuleOutcome)
        /// The code, for this attempt (from 1).
        case code(attempt: Int)
    }

    /// How a login ends after the refusal's message was acknowledged (`message_prompt`).
    private enum Ending {
        case finish(ModuleOutcome)
        case passWithoutCode(ModuleOutcome)
    }

    /// What the locked read before the first prompt found.
    private enum Early {
        case remembered(DeviceIdentity, until: Int64)
        case throttled(seconds: Int64)
    }

    /// Whether the user is in `groups=` and in `exempt_groups=`: their names are looked up one by
    /// one, and each list only until a group of the user's is found in it.
    private struct GroupQuery {
        var mine: [UInt32]
        /// `groups=` then `exempt_groups=`.
        var names: [String]
        /// How many of `names` are `groups=`.
        var required: Int
        var index = 0
        var inGroups = false
        var inExempt = false
    }

    /// A login with the arguments of its pam.d line.
    public init(arguments: [String]) {
        self.arguments = arguments
    }

    /// The first step: reading the configuration file.
    public mutating func start() -> Step {
        guard case .start = waiting else { return unexpected() }
        // A config= value is checked before it is used as a path.
        do throws(ModuleOptions.ParseError) {
            _ = try ModuleOptions.parse(arguments.filter { $0 == "config" || $0.hasPrefix("config=") })
        } catch {
            return configurationError(error)
        }
        let path = ModuleOptions.configPath(in: arguments)
        return ask(.readConfiguration(path: path, required: false), then: .configuration(path: path))
    }

    /// The next step, given what the driver found for the last request.
    public mutating func resume(_ answer: Answer) -> Step {
        switch (waiting, answer) {
        case (.configuration(let path), .file(let bytes)):
            return configurationRead(bytes, path: path)
        case (.trustedNetworks(let path), .file(let bytes?)):
            return trustedNetworksRead(bytes, path: path)
        case (.configuration, .failed(let reason)), (.trustedNetworks, .failed(let reason)):
            return configurationError(reason)
        case (.user, .user(let name, let remoteHost, let authInfo)):
            return userFound(name, remoteHost: remoteHost, authInfo: authInfo)
        case (.account, .account(let found)):
            account = found
            if let found { user = found.name }
            return whoNeedsACode()
        case (.ownGroups, .groupIDs(let mine)):
            let names = (options.groups ?? []) + (options.exemptGroups ?? [])
            return nextGroup(GroupQuery(mine: mine, names: names, required: options.groups?.count ?? 0))
        case (.group(let query), .groupID(let gid)):
            return groupFound(gid, query)
        case (.account, .failed(let reason)), (.ownGroups, .failed(let reason)), (.group, .failed(let reason)):
            log(.error, "user database error", ["error": reason])
            return finish(.systemError)
        case (.enrollment(let template, let path), .enrollment(let found)):
            guard let found else {
                if options.debug { log(.debug, "no enrollment", ["file": path]) }
                return findEnrollment(from: template + 1)
            }
            enrollment = found
            return openState()
        case (.enrollment(_, let path), .enrollmentRefused(let refusal)):
            return enrollmentRefused(refusal, path: path)
        case (.standInEnrollment(let template), .enrollment), (.standInEnrollment(let template), .enrollmentRefused):
            return findEnrollment(from: template + 1)
        case (.storedEnrollment(let real), .enrollment(let found)):
            guard real else { return notEnrolled("unknown-user") }
            guard let found else { return notEnrolled("not-enrolled") }
            enrollment = found
            return openState()
        case (.storedEnrollment(let real), .enrollmentRefused(let refusal)):
            guard real else { return notEnrolled("unknown-user") }
            return enrollmentRefused(refusal, path: "store")
        case (.storedEnrollment, .failed(let reason)):
            // Whether the user is enrolled cannot be known: neither nullok nor anything else lets
            // them in (pam_totp(8), "Several servers").
            log(.error, "store error", ["error": reason])
            return finish(.systemError)
        case (.today(let reason), .today(let today)):
            if let until = options.nullokUntil, today < until, let text = options.nullokUntilText {
                log(.info, "skipped", ["reason": reason, "nullok-until": text])
                effects.append(.info(LoginMessage.nullokUntil(text, hint: options.setupHint)))
                return passWithoutCode(.ignore)
            }
            return useDecoy(reason)
        case (.statePlace, .placed(let bucket, let tag)):
            return statePlaced(bucket: bucket, tag: tag)
        case (.earlyState, .state(let state, let now)):
            return earlyDecision(state, now: now)
        case (.earlyRelease(let early), .released):
            return earlyOutcome(early)
        case (.firstPass(let purpose), .authToken(let token)):
            if let token, !token.isEmpty { return received(token, prompted: false, for: purpose) }
            return prompt(for: purpose)
        case (.input(let purpose), .typed(let input)):
            return received(input, prompted: true, for: purpose)
        case (.passwordCheck(let attempt), .authToken(let token)):
            guard let token, token == self.answer else { return sort(attempt: attempt) }
            return passwordAsCode()
        case (.codeState(let attempt, let empty), .state(let state, let now)):
            guard let check, let enrollment else { return unexpected() }
            let decision = check.decide(enrollment: enrollment, state: state, now: now)
            self.check = nil
            return ask(
                .releaseState(write: decision.write),
                then: .codeRelease(decision.outcome, method: check.method, attempt: attempt, empty: empty))
        case (.codeRelease(let outcome, let method, let attempt, let empty), .released):
            return decided(outcome, method: method, attempt: attempt, empty: empty)
        case (.statePlace, .failed(let reason)), (.earlyState, .failed(let reason)), (.earlyRelease, .failed(let reason)),
            (.codeState, .failed(let reason)), (.codeRelease, .failed(let reason)):
            log(.error, "state error", ["error": reason])
            return finish(.systemError)
        case (.acknowledgement(let ending), .typed):
            return end(ending)
        case (.rememberChoice, .text(let text)):
            guard let text, LoginMessage.isYes(text) else { return finish(.success) }
            return ask(.lockState(key: key, recovery: enrollment?.recovery), then: .rememberState)
        case (.rememberState, .state(var state, let now)):
            guard let device, let duration = options.remember, let enrollment else { return unexpected() }
            state.remember(device, enrollment: enrollment.identifier, now: now, duration: duration)
            return ask(.releaseState(write: state), then: .rememberRelease(until: now + duration))
        case (.rememberRelease(let until), .released):
            if let device { log(.notice, "remembered device", ["device": device.description, "until": UTCTimestamp.format(until)]) }
            return finish(.success)
        case (.rememberState, .failed(let reason)), (.rememberRelease, .failed(let reason)):
            // The login already succeeded; only the convenience is lost.
            log(.error, "state error", ["error": reason])
            return finish(.success)
        default:
            return unexpected()
        }
    }

    // MARK: - Options and the user

    /// The options: the configuration file's, then the pam.d line's over them; then `trusted=@FILE`.
    private mutating func configurationRead(_ bytes: [UInt8]?, path: String) -> Step {
        do throws(ModuleOptions.ParseError) {
            options = try ModuleOptions.parse(arguments, config: try bytes.map(ModuleOptions.configArguments) ?? [])
        } catch {
            let place = if case .configLine = error { path + ": " } else { "" }
            return configurationError(place + error.description)
        }
        if let file = options.trustedFile {
            return ask(.readConfiguration(path: file, required: true), then: .trustedNetworks(path: file))
        }
        return ask(.getUser, then: .user)
    }

    /// The networks of `trusted=@FILE`; a malformed entry fails the configuration.
    private mutating func trustedNetworksRead(_ bytes: [UInt8], path: String) -> Step {
        do {
            options.trusted = try TrustedNetworks.parse(String(decoding: bytes, as: UTF8.self), isFile: true)
        } catch {
            return configurationError(
                ModuleOptions.ParseError.invalidValue(option: "trusted", value: "@" + path, expected: error.description))
        }
        return ask(.getUser, then: .user)
    }

    private mutating func configurationError(_ error: ModuleOptions.ParseError) -> Step {
        configurationError(error.description)
    }

    /// Ends a login whose configuration cannot be used: only an admin can fix it.
    private mutating func configurationError(_ reason: String) -> Step {
        effects.append(.log(LogLine(.error, "configuration error: \(reason); refusing login", user: nil)))
        return finish(.configurationError)
    }

    /// The user as the application named them, then their account if the name can be one.
    private mutating func userFound(_ name: String?, remoteHost: String?, authInfo: String?) -> Step {
        guard let name else {
            effects.append(.log(LogLine(.error, "could not get the user name from the application", user: nil)))
            return finish(.conversationError)
        }
        typed = name
        user = name
        self.remoteHost = remoteHost
        self.authInfo = authInfo
        // The account, looked up once: its canonical name (as the user database spells it) keys the
        // state, the lock and `%u`, whatever spelling was typed.
        guard PathTemplate.isSafeUserName(name) else { return whoNeedsACode() }
        return ask(.lookUpAccount(name: name), then: .account)
    }

    // MARK: - Who needs a code

    /// `groups=` and `exempt_groups=`: with `groups`, only its members need a code; else members of
    /// `exempt_groups` need none. A user in both lists needs a code. An unknown group is a
    /// configuration error. A name that is no account is never spared.
    private mutating func whoNeedsACode() -> Step {
        guard options.groups != nil || options.exemptGroups != nil, let account else { return trustedNetworks() }
        return ask(.groupIDs(of: account), then: .ownGroups)
    }

    private mutating func nextGroup(_ query: GroupQuery) -> Step {
        var query = query
        // Each list is looked at until a group of the user's is found in it.
        if query.index < query.required && query.inGroups { query.index = query.required }
        if query.index >= query.required && query.inExempt { query.index = query.names.count }
        guard query.index < query.names.count else {
            // In `groups`: a code. Outside it: none. Else in `exempt_groups`: none.
            let reason: String?
            if query.inGroups {
                reason = nil
            } else if options.groups != nil {
                reason = "not-in-groups"
            } else {
                reason = query.inExempt ? "exempt-group" : nil
            }
            guard let reason else { return trustedNetworks() }
            log(.info, "skipped", ["reason": reason])
            return passWithoutCode(.ignore)
        }
        return ask(.groupID(named: query.names[query.index]), then: .group(query))
    }

    /// One group of the lists, looked up: the user's or not.
    private mutating func groupFound(_ gid: UInt32?, _ query: GroupQuery) -> Step {
        var query = query
        guard let gid else {
            return configurationError(
                ModuleOptions.ParseError.invalidValue(option: "groups", value: query.names[query.index], expected: "no such group"))
        }
        if query.mine.contains(gid) {
            if query.index < query.required { query.inGroups = true } else { query.inExempt = true }
        }
        query.index += 1
        return nextGroup(query)
    }

    private mutating func trustedNetworks() -> Step {
        if let network = options.trusted?.match(remoteHost) {
            log(.notice, "code skipped: trusted network", ["network": network.description])
            return passWithoutCode(.success)
        }
        return findEnrollment(from: 0)
    }

    // MARK: - The enrollment

    /// Looks for the enrollment at the `secret=` locations from `index` on, in order (central first,
    /// where the admin put them): the first that holds a file is the user's. A file that is there but
    /// refused ends the search: falling through to a later location would let a user's own file
    /// stand in for one the admin's checks refused.
    ///
    /// For a name that is no account, the same locations are looked at for `standIn`, an account
    /// that has no enrollment, and whatever is found is ignored: a real account's login walks its
    /// enrollment path before the first prompt, and an unknown name's must take as long
    /// (docs/PROBE-TIMING.md).
    private mutating func findEnrollment(from index: Int) -> Step {
        let account = self.account ?? Self.standIn
        let real = self.account != nil
        if let store = options.store {
            return ask(.readStoredEnrollment(store: store, account: account), then: .storedEnrollment(real: real))
        }
        let templates = options.secretTemplates
        var index = index
        while index < templates.count {
            let template = templates[index]
            do {
                let path = try PathTemplate.expand(template, user: account.name, home: account.home)
                return ask(
                    .readEnrollment(path: path, account: account, inHome: PathTemplate.usesHome(template)),
                    then: real ? .enrollment(template: index, path: path) : .standInEnrollment(template: index))
            } catch .badHome where templates.count > 1 || !real {
                // An account without a usable home (a VPN user's) has no enrollment in it; a later
                // or an earlier location may hold one.
                if options.debug { log(.debug, "no enrollment", ["file": template, "error": PathTemplate.Problem.badHome.description]) }
                index += 1
            } catch {
                guard real else { break }
                log(.error, "refused", ["reason": "enrollment-path", "error": error.description])
                return finish(.systemError)
            }
        }
        return notEnrolled(real ? "not-enrolled" : "unknown-user")
    }

    /// Whose enrollment locations an unknown name's login looks at: Debian's `nobody`, whose home
    /// does not exist. What is found there is never used. (Computed: the module keeps no global.)
    static var standIn: Account { Account(name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent") }

    private mutating func enrollmentRefused(_ refusal: EnrollmentRefusal, path: String) -> Step {
        switch refusal {
        case .unreadable(let reason):
            log(.error, "refused", ["reason": "insecure-or-unreadable-enrollment", "error": reason])
        case .malformed(let error):
            log(.error, "refused", ["reason": "malformed-enrollment", "file": path, "error": error.description])
        case .account(let problem):
            // What the admin can do about a file written before the `account` line existed.
            let hint = problem == .missing ? "; re-enroll, or add 'account \(user)' (pam_totp(8))" : ""
            log(.error, "refused", ["reason": "enrollment-account", "file": path, "error": problem.description + hint])
        }
        return finish(.denied)
    }

    /// Without an enrollment (and without `nullok`), the login goes on against a decoy: the same
    /// prompts, messages, throttling and work as for an enrolled user, so a client cannot tell who
    /// exists or is enrolled; the decoy never accepts anything.
    private mutating func notEnrolled(_ reason: String) -> Step {
        if options.nullok {
            log(.info, "skipped", ["reason": reason, "nullok": "yes"])
            return passWithoutCode(.ignore)
        }
        if options.nullokUntil != nil { return ask(.readDate, then: .today(reason: reason)) }
        return useDecoy(reason)
    }

    private mutating func useDecoy(_ reason: String) -> Step {
        enrollment = .decoy
        decoyReason = reason
        return openState()
    }

    // MARK: - The state, before any prompt

    /// Every login places the name among the shared files of unknown names, whether or not it is an
    /// account, so that a login of either does the same work before its first prompt.
    private mutating func openState() -> Step {
        ask(.openState(directory: options.stateDirectory, store: options.store, name: typed), then: .statePlace)
    }

    /// The state: the account's own, or for a name that is no account, its share of one of a fixed
    /// number of files beside the accounts', where its sources are its own.
    private mutating func statePlaced(bucket: String, tag: String) -> Step {
        origin = LoginOrigin(remoteHost: remoteHost, authInfo: authInfo)
        if account == nil {
            key = bucket
            origin = LoginOrigin(unknownName: tag, source: origin.source)
        } else {
            key = user
        }
        if options.remember != nil && decoyReason == nil {
            device = DeviceIdentity.find(authInfo: authInfo, remoteHost: remoteHost)
        }
        return ask(.lockState(key: key, recovery: enrollment?.recovery), then: .earlyState)
    }

    /// A remembered device, or a throttled source: one locked read decides both, and the lock is
    /// released before anyone is prompted.
    private mutating func earlyDecision(_ state: UserState, now: Int64) -> Step {
        var early: Early?
        if let device, let enrollment, let known = state.remembered(device, enrollment: enrollment.identifier, now: now) {
            early = .remembered(device, until: known.expires)
        } else if case .throttled(let seconds) = state.throttle(
            source: origin.source, familiar: state.isFamiliar(origin, now: now), now: now, policy: options.throttle, recoveryCode: false)
        {
            early = .throttled(seconds: seconds)
        }
        return ask(.releaseState(write: nil), then: .earlyRelease(early))
    }

    /// What the locked read before the first prompt decided, now that the lock is released.
    private mutating func earlyOutcome(_ early: Early?) -> Step {
        switch early {
        case .remembered(let device, let until):
            log(.notice, "code skipped: remembered device", ["device": device.description, "until": UTCTimestamp.format(until)])
            return passWithoutCode(.success)
        case .throttled(let seconds):
            log(.warning, "failure", ["reason": "throttled", "retry-after": String(seconds)])
            tell(LoginMessage.throttled(seconds))
            return acknowledgeRefusal(then: .passWithoutCode(.denied))
        case nil:
            return readInput(for: .code(attempt: 1))
        }
    }

    // MARK: - Answers

    private var attempts: Int { options.firstPass == .useFirst ? 1 : options.retries }

    /// Reads an input: from `PAM_AUTHTOK` for the first with `use_first_pass` or `try_first_pass`,
    /// else through the conversation.
    private mutating func readInput(for purpose: Purpose) -> Step {
        let first =
            switch purpose {
            case .passWithoutCode: true
            case .code(let attempt): attempt == 1
            }
        if first && options.firstPass != .no { return ask(.readAuthToken, then: .firstPass(purpose)) }
        return prompt(for: purpose)
    }

    /// Asks for the input, with the messages waiting for the prompt (`message_prompt`) before it.
    private mutating func prompt(for purpose: Purpose) -> Step {
        if options.firstPass == .useFirst { return received(nil, prompted: false, for: purpose) }
        return ask(.prompt(takeUnshown(before: options.effectivePrompt)), then: .input(purpose))
    }

    /// An input read (nil: the conversation failed, or `use_first_pass` found no password).
    private mutating func received(_ input: Secret?, prompted: Bool, for purpose: Purpose) -> Step {
        switch purpose {
        case .passWithoutCode(let outcome):
            guard let input else { return finish(.conversationError) }
            effects.append(.setAuthToken(input))
            return finish(outcome)
        case .code(let attempt):
            guard let input else {
                let noToken = options.firstPass == .useFirst
                log(.error, "failure", ["reason": noToken ? "no-authtok" : "conversation-failed"])
                return finish(noToken ? .denied : .conversationError)
            }
            answer = input
            // Whether the answer is the password an earlier module read (PAM_AUTHTOK). sshd's
            // PasswordAuthentication answers every hidden prompt with the password, so on a stock
            // Debian sshd_config the code prompt gets the password; a user may also type it there by
            // mistake.
            if prompted && !options.forwardPass && !input.isEmpty { return ask(.readAuthToken, then: .passwordCheck(attempt: attempt)) }
            return sort(attempt: attempt)
        }
    }

    /// The password at the code prompt is no code: refused unchecked, which tells an attacker nothing
    /// (the password is what they typed) and gives them no guess at a code. Not counted as a failure
    /// and not throttled; the login ends, as an application that sends the password to every prompt
    /// would send it again.
    private mutating func passwordAsCode() -> Step {
        answer = nil
        log(.error, "refused", ["reason": "password-as-code", "error": LoginMessage.passwordAsCodeAdvice])
        effects.append(.failDelay(microseconds: Self.failDelayMicroseconds))
        tell(LoginMessage.passwordAsCode)
        return acknowledgeRefusal(then: .finish(.denied))
    }

    /// Sorts the answer by shape and prepares it; then the state is locked for its decision.
    private mutating func sort(attempt: Int) -> Step {
        guard let enrollment, let answer else { return unexpected() }
        self.answer = nil
        let digits = enrollment.parameters.digits
        let empty = answer.isEmpty
        let input: CodeInput
        if options.forwardPass {
            // The password goes on to the next module whatever the code, so a wrong code and a
            // wrong password look alike.
            if let split = CombinedInput.split(answer, digits: digits) {
                effects.append(.setAuthToken(split.password))
                input = split.code
            } else {
                effects.append(.setAuthToken(answer))
                input = .malformed
            }
        } else {
            input = CodeInput.classify(answer, digits: digits)
        }
        do {
            check = try CodeCheck(
                input, enrollment: enrollment, policy: AttemptPolicy(options: options, enrollment: enrollment), origin: origin,
                decoy: decoyReason != nil)
        } catch {
            log(.error, "state error", ["error": error.description])
            return finish(.systemError)
        }
        return ask(.lockState(key: key, recovery: enrollment.recovery), then: .codeState(attempt: attempt, empty: empty))
    }

    /// What follows a decided answer: success, the offer to remember, another attempt, or the end.
    private mutating func decided(_ outcome: AttemptOutcome, method: String, attempt: Int, empty: Bool) -> Step {
        if outcome.isSuccess {
            // The code was right; whether the login succeeds is the stack's decision (an earlier
            // password may have been wrong), so the line says what it covers.
            var fields = ["method": method, "scope": "code"]
            if case .acceptedRecovery(let remaining) = outcome {
                fields["recovery-codes-left"] = String(remaining)
                effects.append(.info(LoginMessage.recoveryAccepted(remaining: remaining)))
            }
            log(.notice, "success", fields)
            // Never remembered after a recovery code (pam_totp(8)).
            if case .acceptedRecovery = outcome { return finish(.success) }
            return offerToRemember()
        }
        let refused = outcome == .wrongCode || outcome == .malformedInput
        var fields = [
            "method": method, "reason": refused ? decoyReason ?? outcome.reason : outcome.reason, "attempt": "\(attempt)/\(attempts)",
        ]
        if case .throttled(let seconds) = outcome { fields["retry-after"] = String(seconds) }
        log(.warning, "failure", fields)
        effects.append(.failDelay(microseconds: Self.failDelayMicroseconds))
        switch outcome {
        case .throttled(let seconds):
            tell(LoginMessage.throttled(seconds))
            return acknowledgeRefusal(then: .finish(.denied))
        case .locked: tell(LoginMessage.locked)
        case .hotpResyncStarted: tell(LoginMessage.hotpResync)
        case .clockResyncStarted: tell(LoginMessage.clockResync)
        case .replayedTOTP: tell(LoginMessage.replayed)
        case .malformedInput where empty: tell(LoginMessage.noCode)
        default: tell(LoginMessage.wrongCode)
        }
        if attempt < attempts { return readInput(for: .code(attempt: attempt + 1)) }
        return acknowledgeRefusal(then: .finish(.denied))
    }

    /// After a code: remembers the device for `remember=`, asking first unless `remember_always`.
    private mutating func offerToRemember() -> Step {
        guard device != nil, let duration = options.remember else { return finish(.success) }
        if options.rememberAsk { return ask(.ask(LoginMessage.rememberQuestion(duration)), then: .rememberChoice) }
        return ask(.lockState(key: key, recovery: enrollment?.recovery), then: .rememberState)
    }

    // MARK: - Messages

    /// Shows an error message: at once, or with `message_prompt` as the start of the next prompt's
    /// text. ocserv (1.1) shows a user nothing of PAM_ERROR_MSG or PAM_TEXT_INFO, only each prompt's
    /// text, as the message of its next form.
    private mutating func tell(_ text: String) {
        if options.messagePrompt { unshown += text + " " } else { effects.append(.error(text)) }
    }

    /// `prompt`, after the messages waiting for it, which are then shown.
    private mutating func takeUnshown(before prompt: String) -> String {
        defer { unshown = "" }
        return unshown + prompt
    }

    /// With `message_prompt`, ends a refusal with one more prompt whose answer is ignored, so that the
    /// refusal's message reaches the user; the same for every user, as the message is.
    private mutating func acknowledgeRefusal(then ending: Ending) -> Step {
        guard options.messagePrompt, !unshown.isEmpty else { return end(ending) }
        return ask(.prompt(takeUnshown(before: LoginMessage.acknowledgePrompt)), then: .acknowledgement(then: ending))
    }

    private mutating func end(_ ending: Ending) -> Step {
        switch ending {
        case .finish(let outcome): return finish(outcome)
        case .passWithoutCode(let outcome): return passWithoutCode(outcome)
        }
    }

    /// Ends a login that needs no code. With `forward_pass` the one field is still asked for, and all
    /// of it is the password for the next module.
    private mutating func passWithoutCode(_ outcome: ModuleOutcome) -> Step {
        guard options.forwardPass else { return finish(outcome) }
        return readInput(for: .passWithoutCode(outcome))
    }

    // MARK: - Steps

    /// Logs `event` with the user, the remote host and `fields` (`LogLine`).
    private mutating func log(_ priority: LogPriority, _ event: String, _ fields: [String: String] = [:]) {
        effects.append(.log(LogLine(priority, event, user: user, remoteHost: remoteHost ?? "-", fields: fields)))
    }

    /// Hands over the effects gathered so far and `request`, and waits for its answer in `next`.
    private mutating func ask(_ request: Request, then next: Waiting) -> Step {
        waiting = next
        defer { effects = [] }
        return Step(effects: effects, request: request)
    }

    /// Ends the login, letting go of the secrets it held (a `Secret` zeroes itself).
    private mutating func finish(_ outcome: ModuleOutcome) -> Step {
        check = nil
        answer = nil
        enrollment = nil
        return ask(.finish(outcome), then: .finished)
    }

    /// An answer that does not fit the request (a driver's mistake): the login fails closed.
    private mutating func unexpected() -> Step {
        effects.append(.log(LogLine(.error, "internal error: unexpected answer; refusing login", user: nil)))
        return finish(.systemError)
    }
}
