import TOTPCore
import TOTPStorage

/// Where a user's enrollment is kept: a file (`EnrollmentFile`), or the PostgreSQL store
/// (`StoredEnrollment`). Commands act on either the same way.
protocol EnrollmentPlace {
    /// Where it is, for messages: a file's path, or `store FILE`.
    var path: String { get }
    /// The enrollment, or nil if there is none; refuses what the module refuses.
    func read() throws -> Enrollment?
    /// Whether anything is there, even what the module would refuse.
    func exists() throws -> Bool
    /// Whether anything is there; a place that cannot be looked at counts, as the module stops there.
    var isPresent: Bool { get }
    /// Replaces the enrollment, tied to the account, all at once.
    func write(_ enrollment: Enrollment) throws
    func remove() throws
}

extension EnrollmentPlace {
    var isPresent: Bool {
        do { return try exists() } catch { return true }
    }
}

/// A user's state under its lock, in the state directory or in the store.
protocol LockedUserState {
    func read() throws -> UserState
    func write(_ state: UserState) throws
}

extension StateStore.LockedState: LockedUserState {}
extension Store.Locked: LockedUserState {}
