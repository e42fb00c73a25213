import CLibPQ
import CTOTPSystem
import TOTPCore
import TOTPCrypto

/// Enrollments and state in PostgreSQL (`store=FILE`; docs/STORE.md has the schema), shared by
/// every server that names the same database. The module and the tool use it the way they use the
/// enrollment files and the state directory; with no store configured, none of this runs and libpq
/// is never loaded.
///
/// What must not race is decided by the server, not by what this client read: a user's
/// state row is locked (`SELECT … FOR UPDATE`) for the length of one decision, like the state file's
/// lock; the write that ends it succeeds only if the row is still the version read and a newly
/// accepted step is above the last one; a used recovery code is one `DELETE … RETURNING`; and all
/// of it, throttling counters included, commits together or not at all. Every statement is
/// parameterised: a user name is data.
public final class Store {
    /// The store file (root's, private), for messages.
    public let path: String
    /// The bound, in seconds, on every wait for the database.
    public let timeout: Int32
    private let connection: OpaquePointer
    /// The key of `unknownNames()`, once `enrollment(user:)` read it.
    private var namesKey: Secret?
    /// Whose enrollment `enrollment(user:)` read last, and when it was written ("none": there was none).
    private var readEnrollment: (user: String, written: String)?
    /// `store_timeout` as the server's settings take it: seconds, and half a second less in ms.
    private let serverTimeouts: [Parameter]

    /// The version of the schema this code reads and writes (`pam-totp-setup store init`).
    public static let schemaVersion = 1

    /// Reads the connection string from the store file (owned by root, no access for group or
    /// others, checked like every private file: `SecurePath.readFile`) and connects, waiting at most
    /// `timeout` seconds per host. The file holds a libpq connection string, over several lines if
    /// need be, with `#` comments: `host=db1,db2 dbname=pamtotp user=pam_totp
    /// target_session_attrs=read-write`, or a URI. Only with `environment` (the tool, run by root)
    /// may libpq's `PG*` variables fill in what the file leaves out; otherwise (the module, inside
    /// sudo or su with the caller's environment) a `PG*` variable refuses the connection.
    public init(file path: String, timeout: Int, environment: Bool = false) throws(StorageError) {
        self.path = path
        let seconds = Int32(clamping: timeout)
        self.timeout = seconds
        serverTimeouts = [.text(String(seconds) + "s"), .text(String(max(Int(seconds) * 1000 - 500, 500)) + "ms")]
        let bytes = try SecurePath.readFile(path, owners: [0]).bytes
        var error = [CChar](repeating: 0, count: 512)
        let opened = bytes.withUnsafeBytes { file in
            ctotp_pq_connect(
                file.baseAddress?.assumingMemoryBound(to: UInt8.self), file.count, seconds, environment ? 1 : 0, &error, error.count)
        }
        guard let opened else { throw .store(path: path, failure: StoreFailure(.connect, Self.text(error))) }
        connection = opened
    }

    deinit { ctotp_pq_finish(connection) }

    // MARK: - Statements

    /// A statement's parameter: text, text that is secret (zeroed once sent), or SQL NULL.
    public enum Parameter {
        case text(String)
        case secret(Secret)
        case null

        public static func integer<I: BinaryInteger>(_ value: I?) -> Parameter { value.map { .text(String($0)) } ?? .null }
    }

    /// A statement's rows; every value is zeroed and freed with them (`ctotp_pq_clear`).
    public final class Rows {
        private let result: OpaquePointer

        fileprivate init(_ result: OpaquePointer) { self.result = result }

        deinit { ctotp_pq_clear(result) }

        public var count: Int { Int(ctotp_pq_rows(result)) }

        public func text(_ row: Int, _ column: Int) -> String? {
            value(row, column).map { String(cString: $0) }
        }

        /// A value that may be secret, copied into memory that is zeroed when released.
        public func secret(_ row: Int, _ column: Int) -> Secret? {
            guard let value = value(row, column) else { return nil }
            let length = Int(ctotp_pq_length(result, Int32(row), Int32(column)))
            return Secret(count: length) { $0.copyMemory(from: UnsafeRawBufferPointer(start: value, count: length)) }
        }

        private func value(_ row: Int, _ column: Int) -> UnsafePointer<CChar>? {
            guard row < count, ctotp_pq_is_null(result, Int32(row), Int32(column)) == 0 else { return nil }
            return ctotp_pq_value(result, Int32(row), Int32(column))
        }
    }

    /// Runs one parameterised statement.
    @discardableResult
    public func execute(_ statement: StaticString, _ parameters: [Parameter] = []) throws(StorageError) -> Rows {
        // Each parameter as a NUL-terminated copy, zeroed and freed afterwards.
        var copies: [UnsafeMutablePointer<CChar>?] = []
        defer {
            for copy in copies {
                guard let copy else { continue }
                memset(copy, 0, strlen(copy))
                copy.deallocate()
            }
        }
        for parameter in parameters {
            switch parameter {
            case .null: copies.append(nil)
            case .text(let text): copies.append(Self.copy(Array(text.utf8)))
            case .secret(let secret): copies.append(secret.withUnsafeBytes { Self.copy($0) })
            }
        }
        var error = [CChar](repeating: 0, count: 512)
        let values = copies.map { UnsafePointer($0) }
        let result = values.withUnsafeBufferPointer { values in
            ctotp_pq_exec(
                connection, UnsafeRawPointer(statement.utf8Start).assumingMemoryBound(to: CChar.self), Int32(values.count),
                values.baseAddress,
                timeout, &error, error.count)
        }
        guard let result else {
            let reason = Self.text(error)
            let kind: StoreFailure.Kind =
                switch Int(ctotp_pq_failure(connection)) {
                case Int(CTOTP_PQ_TIMEOUT): .timeout
                case Int(CTOTP_PQ_NO_SCHEMA): .schema
                case Int(CTOTP_PQ_STATEMENT): .statement
                default: .lost
                }
            throw .store(path: path, failure: StoreFailure(kind, reason))
        }
        return Rows(result)
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        request()
        do throws(StorageError) {
            try begin()
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isUsable { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Begins a transaction that the database ends by itself after `timeout` seconds of silence
    /// from this client. A server that vanishes mid-login (power, network) cannot roll back, and the
    /// row lock it holds would stay until TCP keepalive gives up, hours later with the defaults:
    /// every server would refuse the user meanwhile. Inside a transaction the module and the tool
    /// only compute between statements, never wait for a person, so a live client never reaches
    /// this bound.
    ///
    /// The setting is the transaction's own (`set_config(…, true)`), not the connection's: behind a
    /// pooler in transaction mode (PgBouncer), consecutive transactions of one client may run on
    /// different server connections, and a session setting would stay on a pooled connection for
    /// whichever client gets it next, while the one this transaction runs on might never have had it.
    ///
    /// The server also gives up a row lock or a statement after that long (`lock_timeout`,
    /// `statement_timeout`): a client that gave up must not leave its backend queued on a lock,
    /// holding a connection slot. A row lock is given up half a second before the client's own
    /// bound, so that the server says so and the transaction can still be rolled back.
    private func begin() throws(StorageError) {
        try execute("BEGIN")
        try execute(
            """
            SELECT set_config('idle_in_transaction_session_timeout', $1, true), set_config('lock_timeout', $2, true),
                set_config('statement_timeout', $1, true)
            """, serverTimeouts)
    }

    /// Begins a request of several statements that must all be answered within `timeout`
    /// seconds from now (`ctotp_pq_set_deadline`), as one wait.
    public func request() {
        ctotp_pq_set_deadline(connection, timeout)
    }

    /// Whether the connection was lost (the database restarted or failed over, or the network
    /// failed) rather than given up on after a timeout.
    public var wasLost: Bool { ctotp_pq_lost(connection) != 0 }

    /// Whether the connection can take another statement (it cannot after a timeout).
    public var isUsable: Bool { ctotp_pq_usable(connection) != 0 }

    private static func copy<C: Collection>(_ bytes: C) -> UnsafeMutablePointer<CChar> where C.Element == UInt8 {
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        var index = 0
        for byte in bytes {
            // A NUL would end the value early; PostgreSQL's text has none, so none is sent.
            copy[index] = byte == 0 ? 0x3F : CChar(bitPattern: byte)
            index += 1
        }
        copy[index] = 0
        return copy
    }

    private static func text(_ error: [CChar]) -> String {
        error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    // MARK: - What a login reads and writes

    /// The text of `user`'s enrollment (the format of an enrollment file), or nil if there is none.
    /// The same statement reads the schema's version, refused unless it is the one this code knows,
    /// and the key of `unknownNames()`.
    public func enrollment(user: String) throws(StorageError) -> Secret? {
        request()
        let rows = try execute(
            """
            SELECT (SELECT enrollment FROM pam_totp.enrollments WHERE user_name = $1), (SELECT max(version) FROM pam_totp.schema_version),
                (SELECT value FROM pam_totp.settings WHERE name = 'unknown-names-key'),
                (SELECT updated::text FROM pam_totp.enrollments WHERE user_name = $1)
            """, [.text(user)])
        guard rows.text(0, 1) == String(Self.schemaVersion), let hex = rows.secret(0, 2),
            let key = hex.withBytesArray({ Hex.decode(utf8: $0[...], length: 32) })
        else {
            throw .store(
                path: path,
                failure: StoreFailure(
                    .schema, "the database has no pam_totp schema of version \(Self.schemaVersion) (run pam-totp-setup store init)"))
        }
        namesKey = Secret(key)
        readEnrollment = (user, rows.text(0, 3) ?? "none")
        return rows.secret(0, 0)
    }

    /// Takes over what `lost` had read (the enrollment's time, the names key), for a login that
    /// goes on on this connection after that one was lost.
    public func continues(_ lost: Store) {
        namesKey = lost.namesKey
        readEnrollment = lost.readEnrollment
    }

    /// Where names that are no account are throttled: as with files (`StateStore.unknownNames`), in
    /// `StateStore.unknownBuckets` shared rows, picked with the store's own key (read by
    /// `enrollment(user:)`, which every login calls first), which every server shares, so a name is
    /// throttled the same on all of them.
    public func unknownNames() throws(StorageError) -> UnknownNames {
        if namesKey == nil { _ = try enrollment(user: "") }
        guard let namesKey else {
            throw .store(path: path, failure: StoreFailure(.schema, "the store has no key for names that are no account"))
        }
        return UnknownNames(key: namesKey)
    }

    /// Begins a transaction and locks `user`'s state row (making it if there is none) until the
    /// returned value is released. `recovery`: the enrollment's recovery codes, to tell which were
    /// used (those without a row in `recovery_codes`).
    public func lock(user: String, recovery: RecoverySet?) throws(StorageError) -> Locked {
        request()
        do throws(StorageError) {
            try begin()
            // The answer is decided with the enrollment read before the prompt: not if an admin
            // replaced or removed it meanwhile (enroll, reset), which the server compares.
            var read = Parameter.null
            if let readEnrollment, readEnrollment.user == user { read = .text(readEnrollment.written) }
            var row = try lockedRow(user, read)
            if row == nil {
                try execute("INSERT INTO pam_totp.state (user_name) VALUES ($1) ON CONFLICT DO NOTHING", [.text(user)])
                row = try lockedRow(user, read)
            }
            guard let row else { throw .store(path: path, failure: StoreFailure(.conflict, "the state row cannot be made")) }
            if !row.enrollmentAsRead {
                throw .store(path: path, failure: StoreFailure(.conflict, "the enrollment changed during the login"))
            }
            let state: UserState
            do { state = row.state.isEmpty ? UserState() : try UserState.parse(Array(row.state.utf8)) } catch {
                throw .store(path: path, failure: StoreFailure(.malformedState, "the state is malformed: " + error.description))
            }
            return Locked(store: self, user: user, state: state, version: row.version, recovery: recovery, remaining: row.remaining)
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// The locked row; `read`: when the enrollment read before was written ("none": there was none),
    /// or NULL for no check.
    private func lockedRow(_ user: String, _ read: Parameter) throws(StorageError) -> (
        state: String, version: String, remaining: [String], enrollmentAsRead: Bool
    )? {
        let rows = try execute(
            """
            SELECT state, version, (SELECT string_agg(code_id, ' ') FROM pam_totp.recovery_codes WHERE user_name = $1),
                $2::text IS NULL OR coalesce((SELECT updated::text FROM pam_totp.enrollments WHERE user_name = $1), 'none') = $2
            FROM pam_totp.state WHERE user_name = $1 FOR UPDATE
            """, [.text(user), read])
        guard rows.count == 1, let state = rows.text(0, 0), let version = rows.text(0, 1) else { return nil }
        return (state, version, (rows.text(0, 2) ?? "").split(separator: " ").map(String.init), rows.text(0, 3) == "t")
    }

    /// One user's state while its row is locked, in an open transaction.
    public final class Locked {
        private let store: Store
        private let user: String
        private var state: UserState
        private let version: String
        private var open = true

        fileprivate init(store: Store, user: String, state: UserState, version: String, recovery: RecoverySet?, remaining: [String]) {
            self.store = store
            self.user = user
            self.version = version
            // The row keeps no list of used codes: a used code is one whose row was deleted.
            var state = state
            state.usedRecovery = Self.used(of: recovery, remaining: remaining)
            self.state = state
        }

        /// The identifiers of `recovery`'s codes that have no row left.
        @inline(never)
        private static func used(of recovery: RecoverySet?, remaining: [String]) -> [String] {
            (recovery?.hashes ?? []).map(RecoverySet.identifier(of:)).filter { !remaining.contains($0) }
        }

        deinit { release() }

        /// The state as the lock found it.
        public func read() -> UserState { state }

        /// Records `new` and commits: each newly used recovery code is deleted (it must still be
        /// there), then the row is updated if it is still the version read and, when a newer step
        /// was accepted, its last step is below it. Anything else rolls the whole decision back and
        /// throws, and the caller refuses the login.
        public func write(_ new: UserState) throws(StorageError) {
            guard open else { throw .store(path: store.path, failure: StoreFailure(.conflict, "the state is not locked")) }
            store.request()
            do throws(StorageError) {
                for id in new.usedRecovery where !state.usedRecovery.contains(id) {
                    let deleted = try store.execute(
                        "DELETE FROM pam_totp.recovery_codes WHERE user_name = $1 AND code_id = $2 RETURNING code_id",
                        [.text(user), .text(id)]
                    ).count
                    guard deleted == 1 else {
                        throw .store(
                            path: store.path, failure: StoreFailure(.conflict, "a recovery code was used elsewhere"))
                    }
                }
                var row = new
                row.usedRecovery = []
                let newStep = new.lastStep.flatMap { step in state.lastStep.map { step > $0 } ?? true ? step : nil }
                let updated = try store.execute(
                    """
                    UPDATE pam_totp.state SET state = $2, last_step = $3, version = version + 1, updated = now()
                    WHERE user_name = $1 AND version = $4 AND ($5::bigint IS NULL OR coalesce(last_step, -1) < $5::bigint)
                    RETURNING version
                    """,
                    [
                        .text(user), .text(String(decoding: row.serialized(), as: UTF8.self)), .integer(new.lastStep), .text(version),
                        .integer(newStep),
                    ]
                ).count
                guard updated == 1 else {
                    throw .store(
                        path: store.path, failure: StoreFailure(.conflict, "the state changed elsewhere; nothing was recorded"))
                }
                try store.execute("COMMIT")
                open = false
                state = new
            } catch {
                release()
                throw error
            }
        }

        /// Ends the transaction without a write (`ROLLBACK`), which releases the row's lock.
        public func release() {
            guard open else { return }
            open = false
            store.request()
            if store.isUsable { _ = try? store.execute("ROLLBACK") }
        }
    }
}
