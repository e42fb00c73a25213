import TOTPCore
import XCTest

/// Everything a login touches, in memory: configuration files, the user database, enrollments, the
/// module's state, a clock that moves only when a test moves it, and a conversation that answers
/// from a script. `login` runs `Login` against it as PAMTOTP's driver runs it against the system,
/// and records what the user saw, what was logged and what the module returned.
///
/// It also checks the lock discipline on every request: no prompt while the state is locked, no
/// lock taken twice, and every lock released before the login ends.
final class FakeSystem {
    static let key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    static var secret: Secret { (try? Base32.decode(key)) ?? Secret(count: 0) }

    // MARK: The world

    var configFiles: [String: String] = [:]
    /// Files that cannot be read, with the reason the driver would give.
    var unreadableFiles: [String: String] = [:]
    /// What `pam_get_user` returns; nil when the application gives no user.
    var userName: String? = "alice"
    var remoteHost: String? = "192.0.2.7"
    var authInfo: String?
    var accounts = [Account(name: "alice", uid: 1001, gid: 1001, home: "/home/alice")]
    var groups: [String: UInt32] = [:]
    /// Each user's groups (primary and supplementary) by ID; the primary group alone if missing.
    var memberships: [String: [UInt32]] = [:]
    var userDatabaseError: String?
    /// Enrollment files by path.
    var enrollments: [String: Enrollment] = [:]
    var refusedEnrollments: [String: EnrollmentRefusal] = [:]
    /// The module's state, by key (an account's name, or a shared file of unknown names).
    var states: [String: UserState] = [:]
    var openStateError: String?
    /// With `store=`: why the store cannot be used, or nil; enrollments there are `enrollments["store:NAME"]`.
    var storeError: String?
    var lockError: String?
    /// Why writing the state fails, once `writesBeforeError` writes of a login succeeded.
    var writeError: String?
    var writesBeforeError = 0
    /// Unix seconds; the fake clock.
    var now: Int64 = 1_800_000_015
    /// Today, as days since 1970-01-01 (UTC here; the driver uses the local date).
    var today: Int64 { now / 86_400 }
    /// `PAM_AUTHTOK`, as an earlier module left it.
    var authToken: String?

    // MARK: The script

    /// Answers to the hidden prompts, in order; nil is a conversation that fails.
    var answers: [String?] = []
    /// Answers to the questions asked with echo on.
    var replies: [String?] = []

    // MARK: What happened, in the last login

    enum Shown: Equatable {
        case error(String)
        case info(String)
        case prompt(String)
        case question(String)
    }

    private(set) var logged: [LogLine] = []
    private(set) var shown: [Shown] = []
    /// What the module set as `PAM_AUTHTOK`.
    private(set) var passedOn: [String] = []
    private(set) var failDelays = 0
    private(set) var requests: [Login.Request] = []
    private(set) var writes = 0
    private var lockedKey: String?

    /// The log as text, one line each, as the driver writes it.
    var log: [String] { logged.map(\.text) }
    var prompts: [String] { shown.compactMap { if case .prompt(let text) = $0 { text } else { nil } } }
    var errors: [String] { shown.compactMap { if case .error(let text) = $0 { text } else { nil } } }
    var infos: [String] { shown.compactMap { if case .info(let text) = $0 { text } else { nil } } }
    /// The state keys that were locked, in order.
    var locks: [String] { requests.compactMap { if case .lockState(let key, _) = $0 { key } else { nil } } }

    // MARK: Setting up

    /// Enrolls alice (or `user`) with the test key at the default location.
    @discardableResult
    func enroll(
        _ user: String = "alice", type: OTPType = .totp, counter: UInt64 = 0, recoveryCodes: [String] = [], window: Int? = nil,
        id: String = "0123456789abcdef"
    ) throws -> Enrollment {
        var enrollment = Enrollment(parameters: .standard, secret: Self.secret, created: 1_700_000_000, window: window)
        enrollment.type = type
        enrollment.counter = counter
        enrollment.id = id
        enrollment.account = user
        if !recoveryCodes.isEmpty { enrollment.recovery = try RecoverySet.make(codes: recoveryCodes, iterations: 1000) }
        enrollments[home(of: user) + "/.pam_totp"] = enrollment
        return enrollment
    }

    func home(of user: String) -> String { "/home/" + user }

    /// The TOTP code of the test key for the step `offset` steps from `time` (default: now).
    func code(at time: Int64? = nil, offset: Int64 = 0) -> String {
        hotp(UInt64((time ?? now) / 30 + offset))
    }

    /// The HOTP code of the test key for `counter`.
    func hotp(_ counter: UInt64) -> String {
        Self.text(OTP.hotp(secret: Self.secret, counter: counter, algorithm: .sha1, digits: 6))
    }

    /// A secret's bytes as text, for comparing in a test.
    static func text(_ secret: Secret) -> String {
        secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Running a login

    /// Runs one login with the pam.d `arguments`, answering the prompts with `answers`.
    @discardableResult
    func login(_ arguments: [String] = [], answers: [String?] = [], replies: [String?] = []) -> ModuleOutcome {
        self.answers = answers
        self.replies = replies
        logged = []
        shown = []
        passedOn = []
        failDelays = 0
        requests = []
        writes = 0
        var machine = Login(arguments: arguments)
        var step = machine.start()
        for _ in 0..<1000 {
            for effect in step.effects { perform(effect) }
            if case .finish(let outcome) = step.request {
                XCTAssertNil(lockedKey, "the login ended holding the lock of \(lockedKey ?? "")")
                XCTAssertTrue(self.answers.isEmpty, "answers left over: \(self.answers)")
                return outcome
            }
            requests.append(step.request)
            step = machine.resume(answer(step.request))
        }
        XCTFail("the login did not end")
        return .systemError
    }

    private func perform(_ effect: Login.Effect) {
        // The driver performs a step's effects before its request, so a message or a password handed
        // on while the lock is held would reach the client with the lock held.
        switch effect {
        case .log, .failDelay: break
        case .error, .info, .setAuthToken: XCTAssertNil(lockedKey, "talked to the client while holding the lock")
        }
        switch effect {
        case .log(let line): logged.append(line)
        case .error(let text): shown.append(.error(text))
        case .info(let text): shown.append(.info(text))
        case .failDelay(let microseconds):
            XCTAssertEqual(microseconds, 2_000_000)
            failDelays += 1
        case .setAuthToken(let password): passedOn.append(Self.text(password))
        }
    }

    private func answer(_ request: Login.Request) -> Login.Answer {
        switch request {
        case .readConfiguration(let path, let required):
            if let reason = unreadableFiles[path] { return .failed(reason) }
            if let text = configFiles[path] { return .file(Array(text.utf8)) }
            return required ? .failed("\(path): no such file") : .file(nil)
        case .getUser:
            return .user(name: userName, remoteHost: remoteHost, authInfo: authInfo)
        case .lookUpAccount(let name):
            if let userDatabaseError { return .failed(userDatabaseError) }
            // Like SSSD and LDAP, the user database here ignores case.
            return .account(accounts.first { $0.name.lowercased() == name.lowercased() })
        case .groupIDs(let account):
            if let userDatabaseError { return .failed(userDatabaseError) }
            return .groupIDs(memberships[account.name] ?? [account.gid])
        case .groupID(let name):
            if let userDatabaseError { return .failed(userDatabaseError) }
            return .groupID(groups[name])
        case .readEnrollment(let path, _, _):
            if let refusal = refusedEnrollments[path] { return .enrollmentRefused(refusal) }
            return .enrollment(enrollments[path])
        case .readStoredEnrollment(_, let account):
            if let storeError { return .failed(storeError) }
            if let refusal = refusedEnrollments["store:" + account.name] { return .enrollmentRefused(refusal) }
            return .enrollment(enrollments["store:" + account.name])
        case .readDate:
            return .today(today)
        case .openState:
            if let openStateError { return .failed(openStateError) }
            return .placed(bucket: "unknown 7", tag: "0011223344556677")
        case .lockState(let key, _):
            XCTAssertNil(lockedKey, "locked \(key) while holding the lock of \(lockedKey ?? "")")
            if let lockError { return .failed(lockError) }
            lockedKey = key
            return .state(states[key] ?? UserState(), now: now)
        case .releaseState(let state):
            guard let key = lockedKey else {
                XCTFail("released a lock not held")
                return .failed("not locked")
            }
            lockedKey = nil
            guard let state else { return .released }
            if let writeError, writes >= writesBeforeError { return .failed(writeError) }
            states[key] = state
            writes += 1
            return .released
        case .readAuthToken:
            return .authToken(authToken.map { Secret(Array($0.utf8)) })
        case .prompt(let text):
            XCTAssertNil(lockedKey, "prompted while holding the lock")
            shown.append(.prompt(text))
            guard !answers.isEmpty else {
                XCTFail("no answer left for the prompt \(text)")
                return .typed(nil)
            }
            return .typed(answers.removeFirst().map { Secret(Array($0.utf8)) })
        case .ask(let text):
            XCTAssertNil(lockedKey, "asked while holding the lock")
            shown.append(.question(text))
            guard !replies.isEmpty else {
                XCTFail("no reply left for the question \(text)")
                return .text(nil)
            }
            return .text(replies.removeFirst())
        case .finish:
            XCTFail("finish is not answered")
            return .failed("over")
        }
    }
}
