import ArgumentParser
import Glibc
import TOTPCore
import TOTPCrypto
import TOTPStorage

/// `pam-totp-setup store …`: the PostgreSQL store's schema, and moving a host's files into it and
/// back (docs/STORE.md, docs/SEVERAL-SERVERS.md).
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Set up the PostgreSQL store, and move this host's enrollments and state into it or out of it.",
        subcommands: [StoreInit.self, StoreImport.self, StoreExport.self])
}

/// The store to use: `--store`, else the site configuration's `store=`.
private func storeSettings(_ common: CommonOptions) throws -> (ModuleOptions, ModuleOptions.StoreSettings) {
    guard geteuid() == 0 else { throw SetupError("the store's file is root's: run this as root") }
    let options = try common.siteOptions()
    guard let settings = options.store else {
        throw SetupError("no store: give --store FILE, or set store= in \(common.site.config)")
    }
    return (options, settings)
}

struct StoreInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create or update the store's schema (pam_totp, version 1); safe to run again.",
        discussion: """
            Run with a store file whose role may create a schema. With --grant ROLE, the role the servers \
            connect as gets exactly what logins need: reading enrollments, reading and writing state, \
            deleting used recovery codes.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Grant the servers' role what a login needs.", valueName: "role"))
    var grant: String?

    func validate() throws {
        if let grant {
            guard !grant.isEmpty, grant.utf8.count <= 63,
                grant.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }),
                !(grant.utf8.first! >= 0x30 && grant.utf8.first! <= 0x39)
            else { throw ValidationError("--grant: '\(grant.prefix(63))' is not a role name (lower-case letters, digits, _)") }
        }
    }

    func run() throws {
        let (_, settings) = try storeSettings(common)
        let store = try connectStore(settings, anySchema: true)
        let key = Hex.encode(try Crypto.randomBytes(32))
        let version: Int = try storeCall { () throws(StorageError) in
            try store.transaction { () throws(StorageError) in
                // One init at a time: the schema's statements are not safe to run twice at once.
                try store.execute("SELECT pg_advisory_xact_lock(7274157)")
                for statement in StoreSchema.version1 { try store.execute(statement) }
                let newest = Int(try store.execute("SELECT max(version) FROM pam_totp.schema_version").text(0, 0) ?? "") ?? 0
                guard newest <= Store.schemaVersion else { return newest }
                try store.execute("INSERT INTO pam_totp.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING")
                try store.execute(
                    "INSERT INTO pam_totp.settings (name, value) VALUES ('unknown-names-key', $1) ON CONFLICT DO NOTHING",
                    [.secret(Secret(Array(key.utf8)))])
                if let grant {
                    // A role name cannot be a parameter: it is checked above and quoted by the server.
                    try store.execute("SELECT set_config('pam_totp.grantee', $1, true)", [.text(grant)])
                    try store.execute(StoreSchema.grant)
                }
                return Store.schemaVersion
            }
        }
        guard version <= Store.schemaVersion else { throw StoreSchema.newer(version) }
        print("The store (\(settings.file)) has the pam_totp schema, version \(Store.schemaVersion).")
        if let grant { print("Role \(grant) may read enrollments, read and write state, and delete used recovery codes.") }
    }
}

/// Every user this command covers: `--user`; or every account the user database lists, and every
/// name that has a file in a central `secret=` directory (whose accounts a directory service such
/// as SSSD or LDAP may not list), looked up one by one.
private func accounts(_ common: CommonOptions, options: ModuleOptions) throws -> [Account] {
    if let user = common.user {
        guard let found = try Account.lookup(user) else { throw SetupError("no such user: \(user)") }
        return [found]
    }
    var found: [Account] = []
    var seen = Set<String>()
    setpwent()
    while let entry = getpwent() {
        let name = String(cString: entry.pointee.pw_name)
        guard PathTemplate.isSafeUserName(name), seen.insert(name).inserted else { continue }
        found.append(Account(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, home: String(cString: entry.pointee.pw_dir)))
    }
    endpwent()
    for name in centralNames(options.secretTemplates) where !seen.contains(name) {
        seen.insert(name)
        if let account = try Account.lookup(name) { found.append(account) }
    }
    return found
}

/// The user names that central `secret=` templates whose last component holds `%u` (such as
/// `/var/lib/pam-totp/users/%u`) have files for: the directory's entries that fit the template.
private func centralNames(_ templates: [String]) -> [String] {
    var names: [String] = []
    for template in templates where !PathTemplate.usesHome(template) {
        guard let slash = template.lastIndex(of: "/") else { continue }
        let directory = String(template[..<slash])
        let last = template[template.index(after: slash)...]
        guard !directory.contains("%"), let escape = last.firstRange(of: "%u"), !last[escape.upperBound...].contains("%"),
            !last[..<escape.lowerBound].contains("%"), let stream = opendir(directory)
        else { continue }
        let prefix = String(last[..<escape.lowerBound])
        let suffix = String(last[escape.upperBound...])
        while let entry = readdir(stream) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard file.hasPrefix(prefix), file.hasSuffix(suffix), file.count > prefix.count + suffix.count else { continue }
            let name = String(file.dropFirst(prefix.count).dropLast(suffix.count))
            if PathTemplate.isSafeUserName(name) { names.append(name) }
        }
        closedir(stream)
    }
    return names
}

struct StoreImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy this host's enrollment files and state into the store.",
        discussion: """
            Looks at every account of the user database (or --user NAME) where the module looks for \
            enrollment files (secret=), and copies each enrollment found, with its state (last step, used \
            recovery codes, failures, remembered devices), into the store. A user the store has with \
            another enrollment is left as the store has it; with the same one (a file copied to several \
            hosts), the codes this host saw used stay used. Running it again changes nothing. The files stay: \
            move them away once the servers use the store, so that a later import cannot bring back an \
            enrollment reset in the store.
            """)

    @OptionGroup var common: CommonOptions

    func run() throws {
        let (options, settings) = try storeSettings(common)
        var fileOptions = options
        fileOptions.store = nil
        var store = try connectStore(settings)
        let users = try accounts(common, options: fileOptions)
        if common.user == nil {
            print("Looking at \(users.count) accounts: those the user database lists, and the names of central enrollment files.")
            print("Users whose files are in their homes and whom it does not list (SSSD and LDAP often list none) need --user NAME.")
        }
        try moveEach(users, name: \.name, done: "Imported", skipped: "already in the store") { account in
            let target = try Target(account: account, options: fileOptions)
            guard let enrollment = try target.place.read() else { return nil }
            let state = try target.withState { try $0.read() }
            // A connection given up after a timeout serves no later user: a new one does.
            if !store.isUsable { store = try connectStore(settings) }
            let stored = StoredEnrollment(store: store, account: account)
            if try stored.add(enrollment, state: state) { return .done("imported \(account.name) (\(target.place.path))") }
            guard try stored.read()?.identifier == enrollment.identifier else { return .skipped("already in the store") }
            let merged = try stored.withState(recovery: enrollment.recovery) { locked in
                let before = locked.read()
                var here = state
                // Of this host's used recovery codes, those of this enrollment's set.
                here.usedRecovery = enrollment.recovery.map(state.usedRecoveryCodes(of:)) ?? []
                let row = before.merged(with: here)
                guard row != before else { return false }
                try storeCall { () throws(StorageError) in try locked.write(row) }
                return true
            }
            return .skipped(
                merged ? "already in the store with the same enrollment; the codes used here stay used" : "already in the store")
        }
    }

}

struct StoreExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the store's enrollments and state into this host's files.",
        discussion: """
            For every user enrolled in the store (or --user NAME) who has an account here, writes the \
            enrollment where the module looks for it (the first secret= location) and the state into the \
            state directory, so the host can go back to files (remove store=). A user who already has an \
            enrollment file is skipped unless --force.
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Replace enrollment files that exist.")
    var force = false

    func run() throws {
        let (options, settings) = try storeSettings(common)
        var fileOptions = options
        fileOptions.store = nil
        var store = try connectStore(settings)
        let names: [String]
        if let user = common.user {
            names = [user]
        } else {
            names = try storeCall { () throws(StorageError) in
                store.request()
                let rows = try store.execute("SELECT user_name FROM pam_totp.enrollments ORDER BY user_name")
                return (0..<rows.count).compactMap { rows.text($0, 0) }
            }
        }
        try moveEach(names, name: { String($0.prefix(64)) }, done: "Exported", skipped: "skipped") { name in
            guard PathTemplate.isSafeUserName(name), let account = try Account.lookup(name) else { return .skipped("no such account here") }
            if !store.isUsable { store = try connectStore(settings) }
            let stored = StoredEnrollment(store: store, account: account)
            guard let enrollment = try stored.read() else { return .skipped("not enrolled in the store") }
            let target = try Target(account: account, options: fileOptions)
            if target.place.isPresent && !force { return .skipped("\(target.place.path) exists (--force replaces it)") }
            let state = try stored.withState(recovery: enrollment.recovery) { $0.read() }
            try target.place.write(enrollment)
            try target.withState { locked in try withSignalsBlocked { try locked.write(state) } }
            return .done("exported \(name) (\(target.place.path))")
        }
    }
}

/// What moving one user's enrollment came to: done, or skipped and why.
private enum Moved {
    case done(String)
    case skipped(String)
}

/// Moves each user with `body` (nil: nothing to move), printing a line for each and a count at the
/// end; a user who fails is reported on stderr and the others go on, and the exit status is then 1.
private func moveEach<User>(
    _ users: [User], name: (User) -> String, done: String, skipped: String, _ body: (User) throws -> Moved?
) throws {
    var counts = (done: 0, skipped: 0, failed: 0)
    for user in users {
        do {
            switch try body(user) {
            case .done(let line)?:
                counts.done += 1
                print(line)
            case .skipped(let why)?:
                counts.skipped += 1
                print("skipped \(name(user)): \(why)")
            case nil:
                continue
            }
        } catch {
            counts.failed += 1
            fputs("pam-totp-setup: \(name(user)): \(error)\n", stderr)
        }
    }
    print("\(done) \(counts.done), \(skipped) \(counts.skipped), failed \(counts.failed).")
    if counts.failed > 0 { throw ExitCode(1) }
}
