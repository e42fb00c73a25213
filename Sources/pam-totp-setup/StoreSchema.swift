import TOTPStorage

/// The store's schema (docs/STORE.md), as `pam-totp-setup store init` makes it. Each statement
/// can run again: a newer version adds statements to the list and a row to `schema_version`.
enum StoreSchema {
    static let version1: [StaticString] = [
        "CREATE SCHEMA IF NOT EXISTS pam_totp",
        "CREATE TABLE IF NOT EXISTS pam_totp.schema_version (version integer PRIMARY KEY)",
        // The key that spreads names that are no account over the shared state rows (`unknown N`).
        "CREATE TABLE IF NOT EXISTS pam_totp.settings (name text PRIMARY KEY, value text NOT NULL)",
        // An enrollment file's text, with its `account` line.
        """
        CREATE TABLE IF NOT EXISTS pam_totp.enrollments (
            user_name text PRIMARY KEY, enrollment text NOT NULL, updated timestamptz NOT NULL DEFAULT now())
        """,
        // One row per unused recovery code (its identifier: the first 8 bytes of its hash, in hex).
        """
        CREATE TABLE IF NOT EXISTS pam_totp.recovery_codes (
            user_name text NOT NULL REFERENCES pam_totp.enrollments ON DELETE CASCADE,
            code_id text NOT NULL, PRIMARY KEY (user_name, code_id))
        """,
        // A state file's text (without used recovery codes), the last accepted step apart so that a
        // statement can compare it, and a version that every write increments.
        """
        CREATE TABLE IF NOT EXISTS pam_totp.state (
            user_name text PRIMARY KEY, state text NOT NULL DEFAULT '', last_step bigint,
            version bigint NOT NULL DEFAULT 0, updated timestamptz NOT NULL DEFAULT now())
        """,
    ]

    /// What the servers' role needs, and no more; the role is the setting `pam_totp.grantee`.
    static let grant: StaticString = """
        DO $$ DECLARE r text := current_setting('pam_totp.grantee'); BEGIN
            EXECUTE format('GRANT USAGE ON SCHEMA pam_totp TO %I', r);
            EXECUTE format('GRANT SELECT ON pam_totp.schema_version, pam_totp.settings, pam_totp.enrollments TO %I', r);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pam_totp.state TO %I', r);
            EXECUTE format('GRANT SELECT, DELETE ON pam_totp.recovery_codes TO %I', r);
        END $$
        """

    /// Refuses a database whose schema this tool does not know: none yet (`store init` makes it),
    /// or one made by a newer pam-totp, which this version must not write into.
    static func check(_ store: Store) throws {
        let version: Int? = try storeCall { () throws(StorageError) in
            store.request()
            let made = try store.execute("SELECT to_regclass('pam_totp.schema_version') IS NOT NULL").text(0, 0)
            guard made == "t" else { return nil }
            return Int(try store.execute("SELECT max(version) FROM pam_totp.schema_version").text(0, 0) ?? "")
        }
        guard let version else {
            throw SetupError("store \(store.path): the database has no pam_totp schema: run pam-totp-setup store init")
        }
        guard version <= Store.schemaVersion else { throw newer(version) }
    }

    /// The refusal of a schema made by a newer pam-totp.
    static func newer(_ version: Int) -> SetupError {
        SetupError("the store's schema is version \(version), made by a newer pam-totp; this one knows version \(Store.schemaVersion)")
    }
}
