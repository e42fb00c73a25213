import Glibc
import TOTPCore
import TOTPStorage

/// One run of `pam_sm_authenticate`.
struct Login {
    /// What libpam is asked to wait after a failure (pam_fail_delay); the largest request wins.
    static let failDelayMicroseconds: UInt32 = 2_000_000
    static let wrongCodeMessage = "The verification code does not match."

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
        let configPath = ModuleOptions.configPath(in: arguments)
        do {
            let config = try ConfigFile.read(configPath).map(ModuleOptions.configArguments) ?? []
            options = try ModuleOptions.parse(arguments, config: config)
        } catch let error as StorageError {
            pam.log(LOG_ERR, "configuration error: \(error.description); refusing login")
            return .configurationError
        } catch let error as ModuleOptions.ParseError {
            let place = if case .configLine = error { configPath + ": " } else { "" }
            pam.log(LOG_ERR, "configuration error: \(place)\(error.description); refusing login")
            return .configurationError
        } catch {
            pam.log(LOG_ERR, "configuration error: \(error); refusing login")
            return .configurationError
        }
        guard let name = pam.user() else {
            pam.log(LOG_ERR, "could not get the user name from the application")
            return .conversationError
        }
        user = name
        remoteHost = pam.remoteHost()

        var enrollment: Enrollment
        switch findEnrollment() {
        case .refused(let outcome):
            return outcome
        case .no(let reason):
            if options.nullok {
                log(LOG_INFO, "skipped", ["reason": reason, "nullok": "yes"])
                return .ignore
            }
            // Ask anyway, so that the prompt does not tell who is enrolled or exists.
            return promptLoop(digits: OTPParameters.standard.digits, forcedReason: reason) { _ in .success(.wrongCode) }
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
        return promptLoop(digits: enrollment.parameters.digits, forcedReason: nil) { [enrollment] input in
            Self.attempt(input, enrollment: enrollment, store: store, user: user, window: enrollment.window ?? options.window)
        }
    }

    /// Locks the user's state, decides the attempt, records the result, and releases the lock.
    private static func attempt(
        _ input: CodeInput, enrollment: Enrollment, store: StateStore, user: String, window: Int
    ) -> Result<AttemptOutcome, LoginFailure> {
        do {
            let locked = try store.lock(user: user)
            defer { locked.release() }
            let state = try locked.read()
            let decision: (outcome: AttemptOutcome, state: UserState)
            do {
                decision = try decideAttempt(input: input, enrollment: enrollment, state: state, now: Int64(time(nil)), window: window)
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

    /// Prompts up to `retries` times. `check` decides each answer; a failure of `check` (state or
    /// crypto) ends the login, refused.
    private func promptLoop(digits: Int, forcedReason: String?, check: (CodeInput) -> Result<AttemptOutcome, LoginFailure>) -> ModuleOutcome
    {
        for attemptNumber in 1...options.retries {
            guard var answer = pam.promptHidden(options.prompt, limit: CodeInput.maxLength) else {
                log(LOG_ERR, "failure", ["reason": "conversation-failed"])
                return .conversationError
            }
            let input = CodeInput.classify(answer, digits: digits)
            Crypto.cleanse(&answer)
            switch check(input) {
            case .failure(let failure):
                log(LOG_ERR, "state error", ["error": failure.description])
                return .systemError
            case .success(let outcome) where outcome.isSuccess:
                var fields = ["method": input.method]
                if case .acceptedRecovery(let remaining) = outcome {
                    fields["recovery-codes-left"] = String(remaining)
                    pam.info(
                        "Recovery code accepted. \(remaining) recovery code\(remaining == 1 ? "" : "s") left; run pam-totp-setup to make new ones."
                    )
                }
                log(LOG_NOTICE, "success", fields)
                return .success
            case .success(let outcome):
                log(
                    LOG_WARNING, "failure",
                    [
                        "method": input.method, "reason": forcedReason ?? outcome.reason,
                        "attempt": "\(attemptNumber)/\(options.retries)",
                    ])
                pam.failDelay(microseconds: Self.failDelayMicroseconds)
                pam.error(Self.wrongCodeMessage)
            }
        }
        return .denied
    }

    /// Finds and reads the user's enrollment. Files in the user's home are opened with the user's
    /// file-system identity, so root never follows a link the user planted.
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
            path = try PathTemplate.expand(options.secret, user: user, home: account.home)
        } catch {
            log(LOG_ERR, "refused", ["reason": "enrollment-path", "error": error.description])
            return .refused(.systemError)
        }
        let read: () -> Result<[UInt8], StorageError> = {
            Result { () throws(StorageError) in try SecureFile.read(path, owner: account.uid) }
        }
        var bytes: [UInt8]
        do {
            bytes = try (PathTemplate.usesHome(options.secret) ? FileSystemIdentity.run(uid: account.uid, gid: account.gid, read) : read())
                .get()
        } catch {
            if error.isNotFound {
                if options.debug { log(LOG_DEBUG, "no enrollment", ["file": path]) }
                return .no(reason: "not-enrolled")
            }
            log(LOG_ERR, "refused", ["reason": "insecure-or-unreadable-enrollment", "error": error.description])
            return .refused(.denied)
        }
        defer { Crypto.cleanse(&bytes) }
        do {
            return .yes(try Enrollment.parse(bytes))
        } catch {
            log(LOG_ERR, "refused", ["reason": "malformed-enrollment", "file": path, "error": error.description])
            return .refused(.denied)
        }
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
