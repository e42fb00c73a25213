import CTOTPSystem
import TOTPCore
import TOTPStorage

/// Runs one `pam_sm_authenticate`: performs the requests of the login decision (`Login`, in
/// TOTPCore) with libpam, the user database, the files and the clock, and decides nothing itself.
struct LoginDriver {
    let pam: PAMHandle
    /// The state directory, once opened (without a store).
    private var directory: StateStore?
    /// The PostgreSQL store (`store=`), once connected, and where it is described.
    private var store: Store?
    private var storeSettings: ModuleOptions.StoreSettings?
    /// The state lock, while `Login` holds it: a file's, or a store row's.
    private var locked: StateStore.LockedState?
    private var lockedRow: Store.Locked?

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
        case .readStoredEnrollment(let settings, let account):
            do {
                guard let bytes = try connect(settings).enrollment(user: account.name) else { return .enrollment(nil) }
                do { return .enrollment(try Enrollment.parse(bytes, account: account.name, accountLineRequired: true)) } catch {
                    return .enrollmentRefused(error)
                }
            } catch {
                return .failed(error.description)
            }
        case .readDate:
            return .today(Self.today())
        case .openState(let path, let settings, let name):
            do {
                let place: (bucket: String, tag: String)
                if let settings {
                    place = try connect(settings).unknownNames().place(of: name)
                } else {
                    let opened = try StateStore(path: path)
                    directory = opened
                    place = try opened.unknownNames().place(of: name)
                }
                return .placed(bucket: place.bucket, tag: place.tag)
            } catch {
                return .failed(error.description)
            }
        case .lockState(let key, let recovery):
            if storeSettings != nil {
                guard let store else { return .failed("the store is not connected") }
                do {
                    let row = try lockRow(store, key: key, recovery: recovery)
                    lockedRow = row
                    return .state(row.read(), now: Int64(time(nil)))
                } catch {
                    return .failed(error.description)
                }
            }
            guard let directory else { return .failed("the state directory is not open") }
            do {
                let lock = try directory.lock(user: key)
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
            do {
                if let lockedRow {
                    try lockedRow.write(state)
                } else {
                    guard let locked else { return .failed("the state is not locked") }
                    try locked.write(state)
                }
            } catch {
                return .failed(error.description)
            }
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
        lockedRow?.release()
        lockedRow = nil
    }

    /// The store, connected on first use; one connection serves the whole login.
    private mutating func connect(_ settings: ModuleOptions.StoreSettings) throws(StorageError) -> Store {
        if let store { return store }
        let connected = try Store(file: settings.file, timeout: settings.timeout)
        store = connected
        storeSettings = settings
        return connected
    }

    /// Locks a state row; if the connection turns out to have been lost meanwhile (the database
    /// restarted or failed over while the user typed), once more on a new connection. Nothing was
    /// decided or written on the lost one: the lock is the first statement of a decision.
    private mutating func lockRow(_ store: Store, key: String, recovery: RecoverySet?) throws(StorageError) -> Store.Locked {
        do {
            return try store.lock(user: key, recovery: recovery)
        } catch {
            guard store.wasLost, let settings = storeSettings else { throw error }
            self.store = nil
            let connected = try connect(settings)
            connected.continues(store)
            return try connected.lock(user: key, recovery: recovery)
        }
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
