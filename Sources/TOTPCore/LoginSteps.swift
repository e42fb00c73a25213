/// What `Login` asks its driver to do: the effects to perform in order, then one request whose
/// result the driver feeds back with `Login.resume(_:)`.
extension Login {
    public struct Step: Equatable {
        /// Done in order before `request`; none has a result.
        public var effects: [Effect]
        public var request: Request
    }

    /// What the driver does without reporting back.
    public enum Effect: Equatable {
        /// Writes a line to the log (`pam_syslog`).
        case log(LogLine)
        /// Shows an error message (`PAM_ERROR_MSG`), even under `PAM_SILENT` (docs/DESIGN.md, "Messages").
        case error(String)
        /// Shows an informational message (`PAM_TEXT_INFO`), unless the application asked for silence.
        case info(String)
        /// Asks libpam to delay a failed authentication by at least this long (`pam_fail_delay`).
        case failDelay(microseconds: UInt32)
        /// Hands the password on to the next module (`PAM_AUTHTOK`).
        case setAuthToken(Secret)
    }

    /// What the driver does and reports back; each case names the answers it expects.
    public enum Request: Equatable {
        /// Read a root-owned configuration file (TOTPStorage's `ConfigFile.read`): `.file` (nil for
        /// no file, unless `required`) or `.failed`.
        case readConfiguration(path: String, required: Bool)
        /// The user name (`pam_get_user`, which may prompt for it), `PAM_RHOST` and sshd's
        /// `SSH_AUTH_INFO_0`: `.user`.
        case getUser
        /// Look a name up in the user database: `.account` or `.failed`.
        case lookUpAccount(name: String)
        /// The account's groups, primary and supplementary: `.groupIDs` or `.failed`.
        case groupIDs(of: Account)
        /// A group's ID: `.groupID` (nil for no such group) or `.failed`.
        case groupID(named: String)
        /// Read, parse and check the account's enrollment at `path` (TOTPStorage's
        /// `EnrollmentStorage.load`): `.enrollment` (nil for no file) or `.enrollmentRefused`.
        case readEnrollment(path: String, account: Account, inHome: Bool)
        /// Connect to the PostgreSQL store if not yet connected, then read and check the account's
        /// enrollment there (TOTPStorage's `Store`): `.enrollment` (nil for none),
        /// `.enrollmentRefused` or `.failed` (the store cannot be reached or used).
        case readStoredEnrollment(store: ModuleOptions.StoreSettings, account: Account)
        /// Today's local date, as days since 1970-01-01: `.today`.
        case readDate
        /// Open the state directory, or the store if there is one (connecting if not yet connected),
        /// and place the name as typed among the shared records of names that are no account
        /// (TOTPStorage's `UnknownNames`): `.placed` or `.failed`. Later state requests go where this
        /// one went.
        case openState(directory: String, store: ModuleOptions.StoreSettings?, name: String)
        /// Take the lock of `key`'s state, then read the state and the clock: `.state` or `.failed`
        /// (and the lock is not held). The lock is held until `releaseState`. `recovery`: the
        /// enrollment's recovery codes, which the store needs to tell which were used (the files
        /// record that in the state).
        case lockState(key: String, recovery: RecoverySet?)
        /// Write `write` if there is one, then release the lock: `.released` or `.failed` (and the
        /// lock is released all the same).
        case releaseState(write: UserState?)
        /// The password an earlier module stored (`PAM_AUTHTOK`): `.authToken`.
        case readAuthToken
        /// Ask with echo off (`PAM_PROMPT_ECHO_OFF`), at most `CodeInput.maxLength` bytes: `.typed`.
        case prompt(String)
        /// Ask with echo on (`PAM_PROMPT_ECHO_ON`): `.text`.
        case ask(String)
        /// The login is over.
        case finish(ModuleOutcome)
    }

    /// What the driver found.
    public enum Answer: Equatable {
        case file([UInt8]?)
        case user(name: String?, remoteHost: String?, authInfo: String?)
        case account(Account?)
        case groupIDs([UInt32])
        case groupID(UInt32?)
        case enrollment(Enrollment?)
        case enrollmentRefused(EnrollmentRefusal)
        case today(Int64)
        /// Where the name is kept if it is no account: the shared state file's key, and the tag that
        /// keeps its sources apart there.
        case placed(bucket: String, tag: String)
        /// The state as read under the lock, and the time (unix seconds) it was read at.
        case state(UserState, now: Int64)
        case released
        case authToken(Secret?)
        /// The answer typed, or nil if the conversation failed.
        case typed(Secret?)
        case text(String?)
        /// The request could not be done: why, for the log (a `StorageError` or `Errno` as text).
        case failed(String)
    }
}
