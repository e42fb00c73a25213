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
        _ = try save(enrollment, replace: true)
    }

    /// Replaces the enrollment and its recovery codes in one transaction, only if the enrollment there
    /// is still the one with identifier `expected` (compared under the state row's lock).
    /// - Returns: whether it was replaced.
    func replace(_ enrollment: Enrollment, expecting expected: String) throws -> Bool {
        try save(enrollment, replace: true, expecting: expected)
    }

    /// Adds the enrollment, its recovery codes but those `state` records as used, and the state, in
    /// one transaction, unless the store has an enrollment for the user already (`store import`).
    /// - Returns: whether it was added.
    func add(_ enrollment: Enrollment, state: UserState) throws -> Bool {
        try save(enrollment, replace: false, state: state)
    }

    /// Writes the enrollment's rows under the user's state-row lock, so that no login on any server
    /// decides with the old enrollment after this one is committed.
    private func save(_ enrollment: Enrollment, replace: Bool, state: UserState? = nil, expecting expected: String? = nil) throws -> Bool {
        var tied = enrollment
        tied.account = account.name
        var serialized = tied.serialized()
        let text = Secret(taking: &serialized)
        let used = state.flatMap { state in tied.recovery.map(state.usedRecoveryCodes(of:)) } ?? []
        let name = account.name
        return try storeCall { () throws(StorageError) in
            try store.transaction { () throws(StorageError) -> Bool in
                try lockStateRow(name)
                if let expected, try currentIdentifier(name) != expected { return false }
                if replace {
                    try store.execute(
                        """
                        INSERT INTO pam_totp.enrollments (user_name, enrollment) VALUES ($1, $2)
                        ON CONFLICT (user_name) DO UPDATE SET enrollment = EXCLUDED.enrollment, updated = now()
                        """, [.text(name), .secret(text)])
                    try store.execute("DELETE FROM pam_totp.recovery_codes WHERE user_name = $1", [.text(name)])
                } else {
                    let added = try store.execute(
                        "INSERT INTO pam_totp.enrollments (user_name, enrollment) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_name",
                        [.text(name), .secret(text)]
                    ).count
                    guard added == 1 else { return false }
                }
                for hash in tied.recovery?.hashes ?? [] where !used.contains(RecoverySet.identifier(of: hash)) {
                    try store.execute(
                        "INSERT INTO pam_totp.recovery_codes (user_name, code_id) VALUES ($1, $2)",
                        [.text(name), .text(RecoverySet.identifier(of: hash))])
                }
                if var row = state {
                    // A state row the store has already (an earlier enrollment's, or failures of a
                    // user not yet enrolled) is merged with this one: what either refuses stays refused.
                    let existing = try store.execute("SELECT state FROM pam_totp.state WHERE user_name = $1 FOR UPDATE", [.text(name)])
                        .text(0, 0)
                    if let existing, !existing.isEmpty {
                        do throws(LineFormat.ParseError) { row = try UserState.parse(Array(existing.utf8)).merged(with: row) } catch {
                            throw .store(
                                path: store.path,
                                failure: StoreFailure(.malformedState, "the state of \(name) is malformed: \(error.description)"))
                        }
                    }
                    row.usedRecovery = []
                    try store.execute(
                        """
                        INSERT INTO pam_totp.state (user_name, state, last_step) VALUES ($1, $2, $3)
                        ON CONFLICT (user_name) DO UPDATE SET state = EXCLUDED.state, last_step = EXCLUDED.last_step,
                            version = pam_totp.state.version + 1, updated = now()
                        """, [.text(name), .text(String(decoding: row.serialized(), as: UTF8.self)), .integer(row.lastStep)])
                }
                return true
            }
        }
    }

    /// Removes the enrollment only if it is still the one with identifier `expected` (compared under
    /// the state row's lock). - Returns: whether it was removed.
    func remove(expecting expected: String) throws -> Bool {
        let name = account.name
        return try storeCall { () throws(StorageError) in
            try store.transaction { () throws(StorageError) -> Bool in
                try lockStateRow(name)
                guard try currentIdentifier(name) == expected else { return false }
                return try store.execute("DELETE FROM pam_totp.enrollments WHERE user_name = $1 RETURNING user_name", [.text(name)]).count
                    == 1
            }
        }
    }

    /// The identifier of the enrollment the store has now (in the caller's transaction), nil if none
    /// or one that does not parse.
    private func currentIdentifier(_ name: String) throws(StorageError) -> String? {
        guard let bytes = try store.enrollment(user: name) else { return nil }
        do { return try Enrollment.parse(bytes, account: name, accountLineRequired: true).identifier } catch { return nil }
    }

    func remove() throws {
        let name = account.name
        let removed = try storeCall { () throws(StorageError) in
            try store.transaction { () throws(StorageError) in
                try lockStateRow(name)
                return try store.execute("DELETE FROM pam_totp.enrollments WHERE user_name = $1 RETURNING user_name", [.text(name)]).count
            }
        }
        guard removed == 1 else { throw SetupError("\(account.name) is not enrolled (\(path))") }
    }

    /// Makes the user's state row if missing and locks it until the transaction ends, as a login's
    /// decision does.
    private func lockStateRow(_ name: String) throws(StorageError) {
        try store.execute("INSERT INTO pam_totp.state (user_name) VALUES ($1) ON CONFLICT DO NOTHING", [.text(name)])
        try store.execute("SELECT 1 FROM pam_totp.state WHERE user_name = $1 FOR UPDATE", [.text(name)])
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
    do { store = try Store(file: settings.file, timeout: settings.timeout, environment: true) } catch {
        throw SetupError(error.description)
    }
    if !anySchema { try StoreSchema.check(store) }
    return store
}

/// Runs a store operation, turning its error into the tool's one-line message.
func storeCall<T>(_ body: () throws(StorageError) -> T) throws -> T {
    do { return try body() } catch { throw SetupError(error.description) }
}
