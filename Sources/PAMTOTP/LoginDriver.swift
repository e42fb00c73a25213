import CTOTPSystem
import TOTPCore
import TOTPStorage

/// Runs one `pam_sm_authenticate`: performs the requests of the login decision (`Login`, in
/// TOTPCore) with libpam, the user database, the files and the clock, and decides nothing itself.
struct LoginDriver {
    let pam: PAMHandle
    /// The state directory, once opened.
    private var store: StateStore?
    /// The state lock, while `Login` holds it.
    private var locked: StateStore.LockedState?

    init(pam: PAMHandle) {
        self.pam = pam
    }

    mutating func authenticate(arguments: [String]) -> ModuleOutcome {
        var login = Login(arguments: arguments)
        var step = login.start()
        while true {
            for effect in step.effects { perform(effect) }
            if case .finish(let outcome) = step.request {
                release()
                return outcome
            }
            step = login.resume(answer(step.request))
        }
    }

    private func perform(_ effect: Login.Effect) {
        switch effect {
        case .log(let line): pam.log(Self.syslogPriority(line.priority), line.text)
        case .error(let text): pam.error(text)
        case .info(let text): pam.info(text)
        case .failDelay(let microseconds): pam.failDelay(microseconds: microseconds)
        case .setAuthToken(let password): pam.setAuthToken(password)
        }
    }

    private mutating func answer(_ request: Login.Request) -> Login.Answer {
        switch request {
        case .readConfiguration(let path, let required):
            do {
                guard let bytes = try ConfigFile.read(path) else {
                    return required ? .failed(StorageError.notFound(path: path).description) : .file(nil)
                }
                return .file(bytes)
            } catch {
                return .failed(error.description)
            }
        case .getUser:
            guard let name = pam.user() else { return .user(name: nil, remoteHost: nil, authInfo: nil) }
            return .user(name: name, remoteHost: pam.remoteHost(), authInfo: pam.environment("SSH_AUTH_INFO_0"))
        case .lookUpAccount(let name):
            do { return .account(try Account.lookup(name)) } catch { return .failed(error.description) }
        case .groupIDs(let account):
            do { return .groupIDs(try account.groupIDs()) } catch { return .failed(error.description) }
        case .groupID(let name):
            do { return .groupID(try Account.groupID(named: name)) } catch { return .failed(error.description) }
        case .readEnrollment(let path, let account, let inHome):
            do { return .enrollment(try EnrollmentStorage.load(path, account: account, inHome: inHome)) } catch {
                return .enrollmentRefused(error)
            }
        case .readDate:
            return .today(Self.today())
        case .openState(let directory, let name):
            do {
                let opened = try StateStore(path: directory)
                store = opened
                let place = try opened.unknownNames().place(of: name)
                return .placed(bucket: place.bucket, tag: place.tag)
            } catch {
                return .failed(error.description)
            }
        case .lockState(let key):
            guard let store else { return .failed("the state directory is not open") }
            do {
                let lock = try store.lock(user: key)
                do {
                    let state = try lock.read()
                    locked = lock
                    return .state(state, now: Int64(time(nil)))
                } catch {
                    lock.release()
                    return .failed(error.description)
                }
            } catch {
                return .failed(error.description)
            }
        case .releaseState(let state):
            defer { release() }
            guard let state else { return .released }
            guard let locked else { return .failed("the state is not locked") }
            do { try locked.write(state) } catch { return .failed(error.description) }
            return .released
        case .readAuthToken:
            return .authToken(pam.authToken())
        case .prompt(let text):
            return .typed(pam.promptHidden(text, limit: CodeInput.maxLength))
        case .ask(let text):
            return .text(pam.promptVisible(text))
        case .finish:
            return .failed("the login is over")
        }
    }

    private mutating func release() {
        locked?.release()
        locked = nil
    }

    private static func syslogPriority(_ priority: LogPriority) -> Int32 {
        switch priority {
        case .error: return LOG_ERR
        case .warning: return LOG_WARNING
        case .notice: return LOG_NOTICE
        case .info: return LOG_INFO
        case .debug: return LOG_DEBUG
        }
    }

    /// Today's local date, as days since 1970-01-01.
    private static func today() -> Int64 {
        var seconds = time(nil)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return Int64(seconds) / 86_400 }
        return CivilDate.days(year: Int64(parts.tm_year) + 1900, month: Int64(parts.tm_mon) + 1, day: Int64(parts.tm_mday))
    }
}
