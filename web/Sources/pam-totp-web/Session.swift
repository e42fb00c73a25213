import PortalCore
import Synchronization

/// Serialises the requests of one browser session: the helper answers one request at a time, and a
/// session's state moves with each answer. Bounded: a flood of requests on one session is refused.
actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    static let maxWaiters = 16

    /// Waits for the lock; false (without waiting) when too many requests already wait.
    func acquire() async -> Bool {
        if !busy {
            busy = true
            return true
        }
        guard waiters.count < Self.maxWaiters else { return false }
        await withCheckedContinuation { waiters.append($0) }
        return true
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// Why a login is asked for again while logged in: the action to continue with afterwards.
enum ReauthPurpose: Sendable {
    case setup, newCodes, delete
}

/// A login between the password and its `DONE`: the helper waits for an `ANSWER`.
struct LoginInProgress {
    enum Step: Equatable {
        case code
        case remember(days: Int)
    }

    var connection: HelperConnection
    var user: String
    var step: Step
}

/// One browser session, in memory only. Every field but `lock` and the connection registry is read
/// and written only while `lock` is held.
final class WebSession: @unchecked Sendable {
    let lock = AsyncLock()
    var csrf: String
    /// Set once logged in.
    var user: String?
    /// When the login (or the last login again) succeeded, on the monotonic clock.
    var loginAt: Int64 = 0
    /// The connection bound to `user`.
    var helper: HelperConnection?
    /// A login (the first, or a login again) waiting for the code or the remember answer.
    var login: LoginInProgress?
    var reauthPurpose: ReauthPurpose?
    /// SETUP-BEGIN succeeded on `helper`: the pending secret lives in the helper's child.
    var setupStarted = false
    /// The last SETUP-VERIFY was a wrong code: the code page shows the secret again.
    var setupMismatch = false
    /// SETUP-VERIFY succeeded: REMEMBER may be asked once.
    var rememberOffered = false
    /// The account of the last login tried, so that the login form after a failure is not empty.
    var lastAccount = ""
    /// Shown by the next page: the newest few, none twice.
    var errors = PendingMessages()
    var notices = PendingMessages()

    /// Every open connection of the session, so that `terminate()` can end them from any thread.
    private let connections = Mutex<[ObjectIdentifier: HelperConnection]>([:])
    /// The connection of a login waiting for the user's answer, so that the sweeper can close it
    /// after `answer_timeout` (from outside the lock; set and cleared under the store's lock).
    private let waitingLogin = Mutex<HelperConnection?>(nil)
    private let terminated = Mutex(false)
    /// The recovery codes just made, for their page and the download: dropped when another page is
    /// shown, and after ten minutes (by the sweeper too, outside the lock).
    private let held = Mutex<HeldCodes?>(nil)

    init(csrf: String) {
        self.csrf = csrf
    }

    var isTerminated: Bool { terminated.withLock { $0 } }

    func track(_ connection: HelperConnection) {
        connections.withLock { $0[ObjectIdentifier(connection)] = connection }
    }

    /// Shuts a connection down and forgets it.
    func drop(_ connection: HelperConnection?) {
        guard let connection else { return }
        connection.shutdown()
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Ends the session from outside its lock (expiry, eviction): every helper conversation ends now.
    func terminate() {
        terminated.withLock { $0 = true }
        let open = connections.withLock { open in
            defer { open = [:] }
            return Array(open.values)
        }
        for connection in open { connection.shutdown() }
    }

    /// The login waits for the user's answer on `connection` (nil: no longer).
    func setWaiting(_ connection: HelperConnection?) {
        waitingLogin.withLock { $0 = connection }
    }

    /// The login waited too long for the user: its connection ends now (the helper's child exits),
    /// and the next request on the session finds it closed.
    func abandonWaitingLogin() {
        let connection = waitingLogin.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }
        connection?.shutdown()
    }

    func holdCodes(_ codes: [String]) {
        held.withLock { $0 = HeldCodes(codes, now: System.monotonicSeconds()) }
    }

    /// The codes while they may be shown or downloaded; expired ones are dropped.
    func heldCodes() -> [String]? {
        let now = System.monotonicSeconds()
        return held.withLock { held in
            guard let codes = held, codes.isLive(now: now) else {
                held = nil
                return nil
            }
            return codes.codes
        }
    }

    func dropCodes() {
        held.withLock { $0 = nil }
    }

    /// Drops the codes once they are too old (the sweeper, for sessions nobody uses any more).
    func expireCodes(now: Int64) {
        held.withLock { held in
            if let codes = held, !codes.isLive(now: now) { held = nil }
        }
    }

    /// Forgets the login: what is left is an anonymous session.
    func resetToAnonymous() {
        drop(helper)
        drop(login?.connection)
        user = nil
        helper = nil
        login = nil
        reauthPurpose = nil
        setupStarted = false
        setupMismatch = false
        rememberOffered = false
        dropCodes()
        setWaiting(nil)
    }
}
