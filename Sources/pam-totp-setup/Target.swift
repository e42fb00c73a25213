import Glibc
import TOTPCore
import TOTPStorage

/// The user a command acts on, with the options in force and where their enrollment is.
struct Target {
    let account: Account
    let options: ModuleOptions
    /// The enrollment this command uses: with a store, the store's; else the first location that
    /// holds one, as the module looks for it, or else where a new one is written (`init`).
    let place: any EnrollmentPlace
    /// Locations this process cannot look into (root's, when run as a user): an enrollment there
    /// would win at login, but only root can see it.
    let hidden: [String]

    var name: String { account.name }
    var issuer: String { options.issuer ?? hostName() }

    /// Finds the account's enrollment among the `secret=` locations in order, as the module does.
    ///
    /// Root looks everywhere and writes a new enrollment into the first location (the admin's). A
    /// user cannot read root's central directories (they are 0700, and their files 0600 root), so a
    /// user looks only in the locations in their home and writes into the first of those; nothing
    /// about anyone's central enrollment, their own included, is shown to them.
    init(account: Account, options: ModuleOptions) throws {
        self.account = account
        self.options = options
        if let store = options.store {
            guard geteuid() == 0 else {
                throw SetupError("enrollments are kept in the store (\(store.file)), which only root can use: ask an administrator")
            }
            place = StoredEnrollment(store: try connectStore(store), account: account)
            hidden = []
            return
        }
        var candidates: [EnrollmentFile] = []
        var hidden: [String] = []
        for template in options.secretTemplates {
            let path: String
            do { path = try PathTemplate.expand(template, user: account.name, home: account.home) } catch {
                throw SetupError("cannot place the enrollment for \(account.name): \(error.description)")
            }
            let inHome = PathTemplate.usesHome(template)
            if inHome || geteuid() == 0 {
                candidates.append(EnrollmentFile(path: path, account: account, inHome: inHome))
            } else {
                hidden.append(path)
            }
        }
        self.hidden = hidden
        guard let first = candidates.first else {
            throw SetupError(
                "\(account.name)'s enrollment is kept by the administrator (\(hidden.joined(separator: ", "))), which only root can read or change: ask an administrator"
            )
        }
        var chosen = first
        for candidate in candidates where candidate.isPresent {
            chosen = candidate
            break
        }
        self.place = chosen
    }

    /// The enrollment, which must exist.
    func enrollment() throws -> Enrollment {
        guard let enrollment = try place.read() else { throw SetupError("\(name) is not enrolled (\(place.path))") }
        return enrollment
    }

    /// The URI the app was given: with the issuer recorded at enrollment, if there is one.
    func uri(for enrollment: Enrollment) -> String {
        OTPAuthURI.uri(issuer: enrollment.issuer ?? issuer, account: name, enrollment: enrollment)
    }

    /// The module's state for this user, locked while `body` runs (root only: the state is root's).
    func withState<T>(_ body: (any LockedUserState) throws -> T) throws -> T {
        if let stored = place as? StoredEnrollment {
            // The store tells used recovery codes from the enrollment's set.
            return try stored.withState(recovery: try place.read()?.recovery, body)
        }
        guard geteuid() == 0 else {
            throw SetupError("the module's state (\(options.stateDirectory)) is root's: run this as root")
        }
        do {
            let store = try StateStore(path: options.stateDirectory)
            let locked = try store.lock(user: name)
            defer { locked.release() }
            return try body(locked)
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError("state: \(error)")
        }
    }
}
