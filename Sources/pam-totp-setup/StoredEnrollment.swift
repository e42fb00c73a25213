import TOTPCore
import TOTPCrypto
import TOTPStorage

/// A user's enrollment in the PostgreSQL store (`--store FILE`, or `store=` in the site
/// configuration): the text of an enrollment file in `pam_totp.enrollments`, and one row per
/// unused recovery code in `pam_totp.recovery_codes` (docs/STORE.md).
struct StoredEnrollment: EnrollmentPlace {
    /// One connection for the whole command.
    let store: Store
    let account: Account

    var path: String { "store \(store.path)" }

    func read() throws -> Enrollment? {
        guard let bytes = try storeCall({ () throws(StorageError) in try store.enrollment(user: account.name) }) else { return nil }
        do { return try Enrollment.parse(bytes, account: account.name, accountLineRequired: true) } catch {
            switch error {
            case .unreadable(let reason): throw SetupError("enrollment in \(path): \(reason)")
            case .malformed(let problem): throw SetupError("enrollment of \(account.name) in \(path): \(problem.description)")
            case .account(let problem): throw SetupError("enrollment of \(account.name) in \(path): \(problem.description)")
            }
        }
    }

    func exists() throws -> Bool {
        return try storeCall { () throws(StorageError) in try store.enrollment(user: account.name) != nil }
    }

    /// Replaces the enrollment and its recovery codes in one transaction.
    func write(_ enrollment: Enrollment) throws {
        var tied = enrollment
        tied.account = account.name
        var serialized = tied.serialized()
        let text = Secret(taking: &serialized)
        try storeCall { () throws(StorageError) in
            try store.transaction { () throws(StorageError) in
                try store.execute(
                    """
                    INSERT INTO pam_totp.enrollments (user_name, enrollment) VALUES ($1, $2)
                    ON CONFLICT (user_name) DO UPDATE SET enrollment = EXCLUDED.enrollment, updated = now()
                    """, [.text(account.name), .secret(text)])
                try store.execute("DELETE FROM pam_totp.recovery_codes WHERE user_name = $1", [.text(account.name)])
                for hash in tied.recovery?.hashes ?? [] {
                    try store.execute(
                        "INSERT INTO pam_totp.recovery_codes (user_name, code_id) VALUES ($1, $2)",
                        [.text(account.name), .text(RecoverySet.identifier(of: hash))])
                }
            }
        }
    }

    func remove() throws {
        let removed = try storeCall { () throws(StorageError) in
            try store.execute("DELETE FROM pam_totp.enrollments WHERE user_name = $1 RETURNING user_name", [.text(account.name)]).count
        }
        guard removed == 1 else { throw SetupError("\(account.name) is not enrolled (\(path))") }
    }

    /// The user's state row, locked while `body` runs.
    func withState<T>(recovery: RecoverySet?, _ body: (Store.Locked) throws -> T) throws -> T {
        let locked = try storeCall { () throws(StorageError) in try store.lock(user: account.name, recovery: recovery) }
        defer { locked.release() }
        return try body(locked)
    }
}

/// Connects to the store; unless `anySchema` (`store init`, which makes or updates it), only to a
/// database with the schema this tool knows.
func connectStore(_ settings: ModuleOptions.StoreSettings, anySchema: Bool = false) throws -> Store {
    let store: Store
    do { store = try Store(file: settings.file, timeout: settings.timeout) } catch { throw SetupError(error.description) }
    if !anySchema { try StoreSchema.check(store) }
    return store
}

/// Runs a store operation, turning its error into the tool's one-line message.
func storeCall<T>(_ body: () throws(StorageError) -> T) throws -> T {
    do { return try body() } catch { throw SetupError(error.description) }
}
