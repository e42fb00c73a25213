"""pam-totp-setup with the PostgreSQL store (--store FILE, or store= in the site configuration),
against a real PostgreSQL server (tools/pgserver.py) and the real module through libpam.

One server for the whole file, on port $PAMTOTP_PG_PORT_TOOL (default 25434), destroyed at the end.
Each test starts from a database without the pam_totp schema. The tool connects as pamtotp_admin
(which owns the database), the module as pamtotp_server (which has only what `store init --grant`
gives it), each through a store file of its own, root's and 0600, as in docs/SEVERAL-SERVERS.md.
"""
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from pamtotp_it import (KEY, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, ROOT, totp, wait_for_fresh_step)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import pgserver  # noqa: E402

KEY2 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
TABLES = ["enrollments", "recovery_codes", "schema_version", "settings", "state"]


@pytest.fixture(scope="module")
def postgres():
    server = pgserver.PostgreSQL("PAMTOTP_PG_PORT_TOOL", 25434)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@dataclass
class Store:
    pg: object
    admin: str   # the tool's store file (role pamtotp_admin)
    server: str  # the module's store file (role pamtotp_server)

    def sql(self, query):
        """Rows as the superuser sees them, one line each, columns separated by |."""
        return self.pg.psql(query, "pamtotp")

    def as_role(self, role, query):
        """Runs `query` as `role`, over TCP with its password, as a server's login would connect."""
        psql = os.path.join(self.pg.bin, "psql")
        return subprocess.run([psql, "-d", self.pg.conninfo(role), "-v", "ON_ERROR_STOP=1", "-At", "-c", query],
                              capture_output=True, text=True, timeout=30)

    def dump(self):
        """Every row of the store's tables, for comparing before and after."""
        return {table: self.sql(f"SELECT * FROM pam_totp.{table} AS t ORDER BY t::text") for table in TABLES}

    def recovery_ids(self, user):
        return set(self.sql(f"SELECT code_id FROM pam_totp.recovery_codes WHERE user_name = '{user}'").split())

    def last_step(self, user):
        return self.sql(f"SELECT last_step FROM pam_totp.state WHERE user_name = '{user}'").strip()


@pytest.fixture
def empty_store(env, postgres):
    """A database without the pam_totp schema, and the two store files."""
    postgres.psql("DROP SCHEMA IF EXISTS pam_totp CASCADE", "pamtotp")
    admin = postgres.store_file(os.path.join(env.root, "store-admin"), role="pamtotp_admin")
    server = postgres.store_file(os.path.join(env.root, "store-server"), role="pamtotp_server")
    # Neither password may reach a log line or the tool's output (checked by the env fixture).
    env.sensitive.update(pgserver.PASSWORDS.values())
    return Store(postgres, admin, server)


@pytest.fixture
def store(env, empty_store):
    """The schema made by the tool, with the servers' role granted what logins need."""
    env.setup("store", "init", "--grant", "pamtotp_server", "--store", empty_store.admin)
    env.sensitive.add(empty_store.sql("SELECT value FROM pam_totp.settings").strip())
    return empty_store


def store_service(env, store, name="store", options="", nullok=False):
    """A PAM service whose module keeps enrollments and state in the store, as the servers' role."""
    line = f"auth required {{module}} state={{state}} store={store.server} retries=1 throttle_free=20 {options}"
    stack = [line + " nullok", "auth required pam_permit.so"] if nullok else [line]
    env.service(name, stack=stack)
    return name


def code_at(step, key=KEY):
    return totp(key, at=step * 30)


def this_step():
    wait_for_fresh_step()
    return int(time.time() // 30)


def enroll_in_store(env, store, user="alice", key=KEY, extra=()):
    return env.enroll(user, key=key, extra=("--store", store.admin, *extra))


# --- store init ---------------------------------------------------------------------------------

def test_init_creates_the_schema_and_runs_again_without_losing_anything(env, empty_store):
    assert empty_store.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'pam_totp'").strip() == "0"
    proc = env.setup("store", "init", "--store", empty_store.admin)
    assert proc.stdout == f"The store ({empty_store.admin}) has the pam_totp schema, version 1.\n"
    tables = empty_store.sql("SELECT table_name, tableowner FROM information_schema.tables JOIN pg_tables "
                             "ON tablename = table_name AND schemaname = table_schema "
                             "WHERE table_schema = 'pam_totp' ORDER BY 1").split()
    assert tables == [f"{t}|pamtotp_admin" for t in TABLES]
    assert empty_store.sql("SELECT version FROM pam_totp.schema_version").split() == ["1"]
    key = empty_store.sql("SELECT name, value FROM pam_totp.settings").strip()
    assert re.fullmatch(r"unknown-names-key\|[0-9a-f]{64}", key), key
    env.sensitive.add(key.split("|")[1])
    codes = enroll_in_store(env, empty_store)["recovery_codes"]
    before = empty_store.dump()
    assert "alice" in before["enrollments"] and len(empty_store.recovery_ids("alice")) == 10

    # Again, now granting the servers' role: nothing is lost, the key stays, one version row.
    proc = env.setup("store", "init", "--grant", "pamtotp_server", "--store", empty_store.admin)
    assert "Role pamtotp_server may read enrollments, read and write state, and delete used recovery codes." in proc.stdout
    assert empty_store.dump() == before
    # What was granted is enough for every kind of login: a code, a recovery code, a replay refused.
    service = store_service(env, empty_store)
    step = this_step()
    assert env.login("alice", code_at(step), service=service).rc == PAM_SUCCESS
    assert env.login("alice", codes[0], service=service).rc == PAM_SUCCESS
    replay = env.login("alice", code_at(step), service=service)
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log
    # And a third time, with the state written by logins: still nothing lost.
    after_logins = empty_store.dump()
    env.setup("store", "init", "--store", empty_store.admin)
    assert empty_store.dump() == after_logins
    assert empty_store.last_step("alice") == str(step)


def test_grant_gives_the_server_role_exactly_what_logins_need(env, store):
    expected = {
        "enrollments": {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False, "TRUNCATE": False},
        "recovery_codes": {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": True, "TRUNCATE": False},
        "state": {"SELECT": True, "INSERT": True, "UPDATE": True, "DELETE": False, "TRUNCATE": False},
        "settings": {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False, "TRUNCATE": False},
        "schema_version": {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False, "TRUNCATE": False},
    }
    for table, privileges in expected.items():
        for privilege, allowed in privileges.items():
            got = store.sql(f"SELECT has_table_privilege('pamtotp_server', 'pam_totp.{table}', '{privilege}')").strip()
            assert got == ("t" if allowed else "f"), f"{privilege} on {table}: {got}"
        for privilege in ("REFERENCES", "TRIGGER"):
            assert store.sql(f"SELECT has_table_privilege('pamtotp_server', 'pam_totp.{table}', '{privilege}')").strip() == "f"
    assert store.sql("SELECT has_schema_privilege('pamtotp_server', 'pam_totp', 'USAGE')").strip() == "t"
    assert store.sql("SELECT has_schema_privilege('pamtotp_server', 'pam_totp', 'CREATE')").strip() == "f"
    assert store.sql("SELECT has_database_privilege('pamtotp_server', 'pamtotp', 'CREATE')").strip() == "f"
    # What the role is refused, tried for real as that role.
    refused = {
        "DROP TABLE pam_totp.state": r"must be owner of table state",
        "DROP SCHEMA pam_totp CASCADE": r"must be owner of schema pam_totp",
        "CREATE TABLE pam_totp.extra (a int)": r"permission denied for schema pam_totp",
        "ALTER TABLE pam_totp.enrollments ADD COLUMN x int": r"must be owner of table enrollments",
        "UPDATE pam_totp.enrollments SET enrollment = ''": r"permission denied for table enrollments",
        "INSERT INTO pam_totp.enrollments (user_name, enrollment) VALUES ('mallory', '')": r"permission denied for table enrollments",
        "DELETE FROM pam_totp.enrollments": r"permission denied for table enrollments",
        "INSERT INTO pam_totp.recovery_codes VALUES ('alice', '0011223344556677')": r"permission denied for table recovery_codes",
        "DELETE FROM pam_totp.state": r"permission denied for table state",
        "UPDATE pam_totp.settings SET value = ''": r"permission denied for table settings",
        "INSERT INTO pam_totp.schema_version VALUES (2)": r"permission denied for table schema_version",
    }
    for statement, message in refused.items():
        proc = store.as_role("pamtotp_server", statement)
        assert proc.returncode != 0 and re.search(message, proc.stderr), f"{statement}: {proc.stderr}"
    allowed = store.as_role("pamtotp_server", "SELECT count(*) FROM pam_totp.enrollments")
    assert allowed.returncode == 0 and allowed.stdout.strip() == "0", allowed.stderr
    assert store.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'pam_totp'").strip() == "5"


@pytest.mark.parametrize("role", ["Pamtotp_server", "pamtotp-server", "1role", "", "a" * 64,
                                  "pamtotp_server; DROP SCHEMA pam_totp CASCADE", "x'); DROP SCHEMA pam_totp; --"])
def test_grant_refuses_what_is_not_a_role_name(env, store, role):
    before = store.dump()
    proc = env.setup("store", "init", "--grant", role, "--store", store.admin, check=False)
    assert proc.returncode != 0 and "is not a role name (lower-case letters, digits, _)" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert store.dump() == before


def test_grant_to_a_role_that_does_not_exist_changes_nothing(env, store):
    store.sql("REVOKE ALL ON pam_totp.state FROM pamtotp_server")
    before = store.dump()
    proc = env.setup("store", "init", "--grant", "no_such_role", "--store", store.admin, check=False)
    assert proc.returncode == 1 and 'role "no_such_role" does not exist' in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert store.dump() == before
    assert store.sql("SELECT has_table_privilege('pamtotp_server', 'pam_totp.state', 'UPDATE')").strip() == "f"


def test_init_refuses_a_schema_made_by_a_newer_version(env, store):
    store.sql("INSERT INTO pam_totp.schema_version VALUES (2)")
    store.sql("REVOKE ALL ON pam_totp.state FROM pamtotp_server")
    before = store.dump()
    proc = env.setup("store", "init", "--grant", "pamtotp_server", "--store", store.admin, check=False)
    assert proc.returncode == 1
    assert proc.stderr == ("pam-totp-setup: the store's schema is version 2, made by a newer pam-totp; "
                           "this one knows version 1\n")
    assert proc.stdout == ""
    # Nothing was granted or changed.
    assert store.dump() == before
    assert store.sql("SELECT has_table_privilege('pamtotp_server', 'pam_totp.state', 'UPDATE')").strip() == "f"


def test_commands_refuse_a_database_without_the_schema_or_with_a_newer_one(env, empty_store):
    """Before `store init`, and on a schema a newer pam-totp made, every command but init stops with
    a message that says why, and writes nothing."""
    env.enroll("bob", key=KEY2)  # in a file, for store import
    missing = f"pam-totp-setup: store {empty_store.admin}: the database has no pam_totp schema: run pam-totp-setup store init\n"
    commands = [("status", "--user", "alice"), ("enroll", "--user", "alice", "--key", KEY, "--no-verify"),
                ("reset", "--user", "alice"), ("unlock", "--user", "alice"), ("store", "import"), ("store", "export")]
    for command in commands:
        proc = env.setup(*command, "--store", empty_store.admin, check=False)
        assert proc.returncode == 1 and proc.stderr == missing, (command, proc.stderr)
    assert empty_store.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'pam_totp'").strip() == "0"
    env.setup("store", "init", "--store", empty_store.admin)
    empty_store.sql("INSERT INTO pam_totp.schema_version VALUES (2)")
    before = empty_store.dump()
    newer = "pam-totp-setup: the store's schema is version 2, made by a newer pam-totp; this one knows version 1\n"
    for command in commands:
        proc = env.setup(*command, "--store", empty_store.admin, check=False)
        assert proc.returncode == 1 and proc.stderr == newer, (command, proc.stderr)
    assert empty_store.dump() == before


# --- every subcommand with --store ----------------------------------------------------------------

def test_enroll_into_the_store_and_replace_only_with_force(env, store):
    data = enroll_in_store(env, store)
    assert data["file"] == f"store {store.admin}" and data["verified"] is True
    assert not os.path.exists(env.enrollment_path("alice")), "with a store, no enrollment file is written"
    text = store.sql("SELECT enrollment FROM pam_totp.enrollments WHERE user_name = 'alice'")
    assert "\nversion 1\naccount alice\n" in text
    old_ids = store.recovery_ids("alice")
    assert len(old_ids) == 10 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in old_ids)
    service = store_service(env, store)
    step = this_step()
    assert env.login("alice", code_at(step), service=service).rc == PAM_SUCCESS

    before = store.dump()
    wait_for_fresh_step()
    refused = env.setup("enroll", "--user", "alice", "--key", KEY2, "--store", store.admin, code=totp(KEY2), check=False)
    assert refused.returncode != 0
    assert refused.stderr == (f"pam-totp-setup: alice is already enrolled (store {store.admin}); "
                              "use --force to replace the enrollment\n")
    assert store.dump() == before

    new = enroll_in_store(env, store, key=KEY2, extra=("--force",))
    new_ids = store.recovery_ids("alice")
    assert len(new_ids) == 10 and not new_ids & old_ids
    assert store.sql("SELECT count(*) FROM pam_totp.enrollments").strip() == "1"
    step = this_step()
    assert env.login("alice", code_at(step + 1), service=service).rc == PAM_AUTH_ERR
    assert env.login("alice", data["recovery_codes"][0], service=service).rc == PAM_AUTH_ERR
    assert env.login("alice", code_at(step + 1, KEY2), service=service).rc == PAM_SUCCESS
    assert env.login("alice", new["recovery_codes"][0], service=service).rc == PAM_SUCCESS
    assert not os.path.exists(env.enrollment_path("alice"))


def test_status_text_and_json(env, store):
    proc = env.setup("status", "--user", "alice", "--store", store.admin)
    assert proc.stdout == f"alice is not enrolled (no store {store.admin}).\n"
    data = json.loads(env.setup("status", "--user", "alice", "--json", "--store", store.admin).stdout)
    assert data == {"user": "alice", "enrolled": False, "file": f"store {store.admin}"}

    codes = enroll_in_store(env, store)["recovery_codes"]
    service = store_service(env, store)
    assert env.login("alice", codes[3], service=service).rc == PAM_SUCCESS
    assert env.login("alice", "000000", service=service).rc == PAM_AUTH_ERR
    text = env.setup("status", "--user", "alice", "--store", store.admin).stdout
    assert text.startswith(f"alice is enrolled (store {store.admin}).\n"), text
    assert "Recovery codes: 9 of 10 left" in text and "Failed attempts since the last success: 1" in text
    data = json.loads(env.setup("status", "--user", "alice", "--json", "--store", store.admin).stdout)
    assert data["enrolled"] is True and data["file"] == f"store {store.admin}"
    assert (data["recovery_codes_issued"], data["recovery_codes_left"], data["failures"]) == (10, 9, 1)
    assert (data["algorithm"], data["digits"], data["period"], data["window"]) == ("SHA1", 6, 30, 1)
    for out in (text, json.dumps(data)):
        assert KEY not in out and not any(code in out for code in codes)


def test_recovery_codes_replace_the_rows(env, store):
    old = enroll_in_store(env, store)["recovery_codes"]
    old_ids = store.recovery_ids("alice")
    refused = env.setup("recovery-codes", "--user", "alice", "--store", store.admin, code=totp(KEY, step_offset=7), check=False)
    assert refused.returncode != 0 and "nothing was changed" in refused.stderr
    assert store.recovery_ids("alice") == old_ids
    proc = env.setup("recovery-codes", "--user", "alice", "--json", "--store", store.admin, code=old[0])
    new = json.loads(proc.stdout)["recovery_codes"]
    env.sensitive.update(new)
    new_ids = store.recovery_ids("alice")
    assert len(new) == 10 and len(new_ids) == 10 and not set(new) & set(old) and not new_ids & old_ids
    service = store_service(env, store)
    for code in (old[0], old[1], old[9]):
        login = env.login("alice", code, service=service)
        assert login.rc == PAM_AUTH_ERR and login.logged(r"method=recovery reason=wrong-code"), login.log
    assert env.login("alice", new[0], service=service).rc == PAM_SUCCESS
    left = store.recovery_ids("alice")
    assert len(left) == 9 and left < new_ids


def test_show_records_the_code_in_the_store(env, store):
    codes = enroll_in_store(env, store)["recovery_codes"]
    refused = env.setup("show", "--user", "alice", "--qr", "none", "--store", store.admin, code=codes[0], check=False)
    assert refused.returncode != 0 and "otpauth://" not in refused.stdout
    step = this_step()
    proc = env.setup("show", "--user", "alice", "--qr", "none", "--store", store.admin, code=code_at(step))
    assert f"URI: otpauth://totp/Test:alice?secret={KEY}&issuer=Test" in proc.stdout
    # As root the proof was recorded in the store's state, like a login: the code cannot log in now.
    assert store.last_step("alice") == str(step)
    login = env.login("alice", code_at(step), service=store_service(env, store))
    assert login.rc == PAM_AUTH_ERR and login.logged(r"reason=replayed-code"), login.log
    assert len(store.recovery_ids("alice")) == 10, "a refused recovery code is not used up"


def test_admin_reset_removes_the_enrollment_and_its_codes(env, store):
    codes = enroll_in_store(env, store)["recovery_codes"]
    proc = env.setup("reset", "--user", "alice", "--store", store.admin)
    assert f"Removed the enrollment of alice (store {store.admin})." in proc.stdout
    assert "pam-totp-setup enroll --user alice" in proc.stdout
    assert store.sql("SELECT count(*) FROM pam_totp.enrollments").strip() == "0"
    assert store.sql("SELECT count(*) FROM pam_totp.recovery_codes").strip() == "0"
    log = open(env.setup_log).read()
    assert re.search(rf"reset: removed the enrollment of user=alice file=store {re.escape(store.admin)} by=root", log), log
    # The module finds no enrollment in the store: without nullok the login is refused like any
    # user's who is not enrolled, with nullok it is skipped.
    login = env.login("alice", codes[0], service=store_service(env, store))
    assert login.rc == PAM_AUTH_ERR
    skipped = env.login("alice", service=store_service(env, store, name="nullok", nullok=True))
    assert skipped.rc == PAM_SUCCESS and skipped.prompts == []
    assert skipped.logged(r"skipped user=alice rhost=- nullok=yes reason=not-enrolled"), skipped.log
    again = env.setup("reset", "--user", "alice", "--store", store.admin, check=False)
    assert again.returncode != 0 and "alice is not enrolled" in again.stderr


def test_unlock_clears_the_failures_kept_in_the_store(env, store):
    enroll_in_store(env, store)
    service = store_service(env, store)
    for _ in range(3):
        assert env.login("alice", "000000", service=service).rc == PAM_AUTH_ERR
    assert json.loads(env.setup("status", "--user", "alice", "--json", "--store", store.admin).stdout)["failures"] == 3
    proc = env.setup("unlock", "--user", "alice", "--store", store.admin)
    assert proc.stdout == "Cleared 3 failed attempts of alice; no source is throttled now.\n"
    assert json.loads(env.setup("status", "--user", "alice", "--json", "--store", store.admin).stdout)["failures"] == 0
    log = open(env.setup_log).read()
    assert "unlock: cleared 3 failed attempts of user=alice by=root" in log, log
    assert not os.path.exists(env.state_path("alice")), "with a store, the state directory is not used"


def test_devices_and_forget_with_the_store(env, store):
    enroll_in_store(env, store)
    service = store_service(env, store, options="remember=30d")
    step = this_step()
    first = env.login("alice", code_at(step), "y", service=service, rhost="192.0.2.10")
    assert first.rc == PAM_SUCCESS, first.log
    listed = json.loads(env.setup("devices", "--user", "alice", "--json", "--store", store.admin).stdout)["devices"]
    assert [d["device"] for d in listed] == ["address:192.0.2.10"]
    text = env.setup("devices", "--user", "alice", "--store", store.admin).stdout
    assert "Remembered devices of alice:" in text and "address:192.0.2.10" in text
    assert env.login("alice", service=service, rhost="192.0.2.10").prompts == []
    missing = env.setup("forget", "--user", "alice", "address:192.0.2.99", "--store", store.admin, check=False)
    assert missing.returncode != 0 and "alice has no remembered device address:192.0.2.99" in missing.stderr
    proc = env.setup("forget", "--user", "alice", "address:192.0.2.10", "--store", store.admin)
    assert proc.stdout == "Forgot 1 remembered device of alice.\n"
    assert env.setup("devices", "--user", "alice", "--store", store.admin).stdout == "alice has no remembered devices.\n"
    assert env.login("alice", service=service, rhost="192.0.2.10").prompts[:1] == ["Verification code: "]
    assert env.setup("forget", "--user", "alice", "--all", "--store", store.admin).stdout == "Forgot 0 remembered devices of alice.\n"


def google_authenticator(path, *options):
    subprocess.run(["google-authenticator", "-f", "-C", "-q", "-Q", "NONE", "-s", path, *options],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)
    lines = open(path).read().splitlines()
    return lines[0], [l for l in lines[1:] if re.fullmatch(r"\d{8}", l)]


def test_import_google_authenticator_into_the_store(env, store):
    path = os.path.join(env.home("alice"), ".google_authenticator")
    secret, scratch = google_authenticator(path, "-t", "-d", "-w", "3", "-r", "3", "-R", "30", "-e", "4")
    os.chown(path, 2001, 2001)
    env.sensitive.update([secret, *scratch])
    proc = env.setup("import-google-authenticator", "--user", "alice", "--store", store.admin)
    assert f"Imported {path} for alice into store {store.admin}:" in proc.stdout
    assert "4 scratch codes became recovery codes" in proc.stdout
    assert not os.path.exists(env.enrollment_path("alice"))
    assert len(store.recovery_ids("alice")) == 4
    service = store_service(env, store)
    step = this_step()
    assert env.login("alice", code_at(step, secret), service=service).rc == PAM_SUCCESS
    assert env.login("alice", scratch[0], service=service).rc == PAM_SUCCESS
    assert env.login("alice", scratch[0], service=service).rc == PAM_AUTH_ERR
    assert len(store.recovery_ids("alice")) == 3
    again = env.setup("import-google-authenticator", "--user", "alice", "--store", store.admin, check=False)
    assert again.returncode != 0 and f"alice is already enrolled (store {store.admin})" in again.stderr
    for out in (proc.stdout, proc.stderr, again.stderr):
        assert secret not in out and not any(code in out for code in scratch)


def test_store_named_in_the_site_configuration(env, store):
    with open(env.config, "w") as f:
        f.write(f"# site defaults\nissuer=Test\nstore={store.admin}\nstore_timeout=5\n")
    data = env.enroll("carol")
    assert data["file"] == f"store {store.admin}"
    assert not os.path.exists(env.enrollment_path("carol"))
    assert "carol" in store.sql("SELECT user_name FROM pam_totp.enrollments")
    assert env.setup("status", "--user", "carol").stdout.startswith(f"carol is enrolled (store {store.admin}).\n")
    # The module reads the same configuration: no store= on its line.
    env.service("cfg", stack=["auth required {module} state={state} retries=1"])
    step = this_step()
    assert env.login("carol", code_at(step), service="cfg").rc == PAM_SUCCESS
    assert store.last_step("carol") == str(step)
    assert env.login("carol", code_at(step), service="cfg").rc == PAM_AUTH_ERR
    # --store on the command line wins over the configuration's.
    other = store.pg.store_file(os.path.join(env.root, "store-other"), role="pamtotp_admin", extra="dbname=postgres")
    proc = env.setup("status", "--user", "carol", "--store", other, check=False)
    assert proc.returncode == 1 and proc.stderr == (
        f"pam-totp-setup: store {other}: the database has no pam_totp schema: run pam-totp-setup store init\n"), proc.stderr


def test_using_a_store_is_root_only(env, store):
    enroll_in_store(env, store)
    message = (f"pam-totp-setup: enrollments are kept in the store ({store.admin}), "
               "which only root can use: ask an administrator\n")
    commands = [("enroll", "--key", KEY), ("status",), ("recovery-codes",), ("show",), ("reset",), ("devices",),
                ("forget", "--all"), ("unlock",), ("import-google-authenticator",)]
    for command in commands:
        proc = env.setup(*command, "--store", store.admin, as_user="alice", code="123456", check=False)
        assert proc.returncode == 1 and proc.stderr == message, (command, proc.stderr)
        assert proc.stdout == "", command
    for command in (("init",), ("import",), ("export",)):
        proc = env.setup("store", *command, "--store", store.admin, as_user="alice", check=False)
        assert proc.returncode == 1 and proc.stderr == "pam-totp-setup: the store's file is root's: run this as root\n", proc.stderr
    # The same with store= in the site configuration.
    with open(env.config, "w") as f:
        f.write(f"store={store.admin}\n")
    proc = env.setup("status", as_user="alice", check=False)
    assert proc.returncode == 1 and proc.stderr == message, proc.stderr
    # Root without any store for the store commands.
    os.remove(env.config)
    proc = env.setup("store", "import", check=False)
    assert proc.returncode == 1 and proc.stderr == f"pam-totp-setup: no store: give --store FILE, or set store= in {env.config}\n"
    relative = env.setup("status", "--store", "store-admin", check=False)
    assert relative.returncode != 0 and "--store must be an absolute path" in relative.stderr


def test_libpq_environment_fills_in_what_the_store_file_leaves_out(env, store):
    """pam-totp-setup(1), ENVIRONMENT: libpq's variables count for the tool, so a store file that
    works for the tool may lack what a login needs; the error says what is missing."""
    bare = store.pg.store_file(os.path.join(env.root, "store-bare"),
                               text=f"host=127.0.0.1 port={store.pg.port} dbname=pamtotp user=pamtotp_admin")
    proc = env.setup("status", "--user", "alice", "--store", bare, check=False)
    assert proc.returncode == 1 and re.search(rf"^pam-totp-setup: store {re.escape(bare)}: cannot connect: .*no password supplied$",
                                              proc.stderr), proc.stderr
    saved = dict(env.environ)
    env.environ["PGPASSWORD"] = pgserver.PASSWORDS["pamtotp_admin"]
    try:
        assert env.setup("status", "--user", "alice", "--store", bare).stdout == f"alice is not enrolled (no store {bare}).\n"
    finally:
        env.environ = saved


# --- store import ---------------------------------------------------------------------------------

def test_import_carries_the_state_over_and_runs_again_without_changes(env, store):
    alice = env.enroll("alice")["recovery_codes"]
    env.enroll("bob", key=KEY2)
    env.service("files", "retries=1")
    step = this_step()
    assert env.login("alice", code_at(step), service="files").rc == PAM_SUCCESS
    assert env.login("alice", alice[0], service="files").rc == PAM_SUCCESS
    assert "used-recovery " in env.state_text("alice") and f"last-step {step}" in env.state_text("alice"), env.state_text("alice")
    files_before = {user: open(env.enrollment_path(user)).read() for user in ("alice", "bob")}

    proc = env.setup("store", "import", "--store", store.admin)
    assert f"imported alice ({env.enrollment_path('alice')})\n" in proc.stdout
    assert f"imported bob ({env.enrollment_path('bob')})\n" in proc.stdout
    assert proc.stdout.endswith("Imported 2, already in the store 0, failed 0.\n"), proc.stdout
    assert proc.stderr == ""
    assert store.sql("SELECT user_name FROM pam_totp.enrollments ORDER BY 1").split() == ["alice", "bob"]
    assert len(store.recovery_ids("alice")) == 9 and len(store.recovery_ids("bob")) == 10
    assert store.last_step("alice") == str(step) and store.last_step("bob") == ""

    service = store_service(env, store)
    replay = env.login("alice", code_at(step), service=service)
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log
    used = env.login("alice", alice[0], service=service)
    assert used.rc == PAM_AUTH_ERR and used.logged(r"reason=used-recovery-code"), used.log
    assert env.login("alice", alice[1], service=service).rc == PAM_SUCCESS
    assert env.login("alice", code_at(step + 1), service=service).rc == PAM_SUCCESS
    assert env.login("bob", code_at(step, KEY2), service=service).rc == PAM_SUCCESS
    assert store.last_step("alice") == str(step + 1) and len(store.recovery_ids("alice")) == 8

    before = store.dump()
    again = env.setup("store", "import", "--store", store.admin)
    assert "skipped alice: already in the store\n" in again.stdout and "skipped bob: already in the store\n" in again.stdout
    assert again.stdout.endswith("Imported 0, already in the store 2, failed 0.\n"), again.stdout
    assert store.dump() == before
    one = env.setup("store", "import", "--user", "alice", "--store", store.admin)
    assert one.stdout == "skipped alice: already in the store\nImported 0, already in the store 1, failed 0.\n"
    assert store.dump() == before
    # The files stay as they were.
    assert {user: open(env.enrollment_path(user)).read() for user in ("alice", "bob")} == files_before


def test_import_of_the_same_enrollment_from_another_host_keeps_its_used_codes_used(env, store):
    """One enrollment file copied to several hosts (configuration management): the first host's import
    adds it; a later host's marks what it saw used as used in the store too, and changes nothing more
    when run again."""
    codes = env.enroll("alice")["recovery_codes"]
    env.service("files", "retries=1")
    env.setup("store", "import", "--store", store.admin)
    # "Another host": a recovery code and a newer step used through the files after the first import.
    step = this_step()
    assert env.login("alice", codes[3], service="files").rc == PAM_SUCCESS
    assert env.login("alice", code_at(step + 1), service="files").rc == PAM_SUCCESS
    proc = env.setup("store", "import", "--store", store.admin)
    assert "skipped alice: already in the store with the same enrollment; the codes used here stay used\n" in proc.stdout, proc.stdout
    service = store_service(env, store)
    assert env.login("alice", codes[3], service=service).rc == PAM_AUTH_ERR
    assert env.login("alice", code_at(step + 1), service=service).rc == PAM_AUTH_ERR
    assert env.login("alice", codes[4], service=service).rc == PAM_SUCCESS
    before = store.dump()
    again = env.setup("store", "import", "--store", store.admin)
    assert "skipped alice: already in the store\n" in again.stdout and store.dump() == before


def test_import_reports_a_malformed_enrollment_and_imports_the_others(env, store):
    env.enroll("alice")
    bad = env.enrollment_path("carol")
    with open(bad, "w") as f:
        f.write("version 1\nthis is not an enrollment\n")
    os.chown(bad, 2003, 2003)
    os.chmod(bad, 0o600)
    proc = env.setup("store", "import", "--store", store.admin, check=False)
    assert proc.returncode == 1
    assert f"imported alice ({env.enrollment_path('alice')})\n" in proc.stdout
    assert proc.stdout.endswith("Imported 1, already in the store 0, failed 1.\n"), proc.stdout
    errors = proc.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("pam-totp-setup: carol: ") and bad in errors[0], proc.stderr
    assert store.sql("SELECT user_name FROM pam_totp.enrollments ORDER BY 1").split() == ["alice"]
    # A second run still fails for carol alone, and leaves alice as she is.
    before = store.dump()
    again = env.setup("store", "import", "--store", store.admin, check=False)
    assert again.returncode == 1 and again.stdout.endswith("Imported 0, already in the store 1, failed 1.\n")
    assert store.dump() == before


# --- store export ---------------------------------------------------------------------------------

def test_export_writes_files_the_module_uses_and_skips_existing_ones(env, store):
    codes = enroll_in_store(env, store)["recovery_codes"]
    service = store_service(env, store)
    step = this_step()
    assert env.login("alice", code_at(step), service=service).rc == PAM_SUCCESS
    assert env.login("alice", codes[0], service=service).rc == PAM_SUCCESS
    # A user the store has who has no account on this host.
    store.sql("INSERT INTO pam_totp.enrollments (user_name, enrollment) "
              "SELECT 'dave', replace(enrollment, 'account alice', 'account dave') FROM pam_totp.enrollments")

    proc = env.setup("store", "export", "--store", store.admin)
    path = env.enrollment_path("alice")
    assert f"exported alice ({path})\n" in proc.stdout and "skipped dave: no such account here\n" in proc.stdout
    assert proc.stdout.endswith("Exported 1, skipped 1, failed 0.\n"), proc.stdout
    st = os.stat(path)
    assert (st.st_uid, st.st_mode & 0o777) == (2001, 0o600)
    assert "account alice\n" in open(path).read()
    state = env.state_text("alice")
    assert f"last-step {step}" in state and "used-recovery " in state, state

    env.service("files", "retries=1")
    replay = env.login("alice", code_at(step), service="files")
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log
    used = env.login("alice", codes[0], service="files")
    assert used.rc == PAM_AUTH_ERR and used.logged(r"reason=used-recovery-code"), used.log
    assert env.login("alice", code_at(step + 1), service="files").rc == PAM_SUCCESS
    assert env.login("alice", codes[1], service="files").rc == PAM_SUCCESS

    written = open(path).read()
    state_after = env.state_text("alice")
    again = env.setup("store", "export", "--store", store.admin)
    assert f"skipped alice: {path} exists (--force replaces it)\n" in again.stdout
    assert again.stdout.endswith("Exported 0, skipped 2, failed 0.\n"), again.stdout
    assert open(path).read() == written and env.state_text("alice") == state_after
    # --force writes the store's enrollment again (here the same one).
    forced = env.setup("store", "export", "--user", "alice", "--force", "--store", store.admin)
    assert forced.stdout == f"exported alice ({path})\nExported 1, skipped 0, failed 0.\n"
    assert open(path).read() == written


# --- secrets --------------------------------------------------------------------------------------

def test_no_secret_reaches_the_output_or_the_log(env, store):
    codes = enroll_in_store(env, store)["recovery_codes"]
    env.enroll("bob", key=KEY2)
    settings_key = store.sql("SELECT value FROM pam_totp.settings").strip()
    secrets = [KEY, KEY2, settings_key, *pgserver.PASSWORDS.values(), *codes]
    outputs = []
    for args in [("status", "--user", "alice"), ("status", "--user", "alice", "--json"), ("devices", "--user", "alice"),
                 ("unlock", "--user", "alice"), ("store", "init", "--grant", "pamtotp_server"), ("store", "import"),
                 ("store", "export", "--user", "alice"), ("reset", "--user", "bob")]:
        proc = env.setup(*args, "--store", store.admin)
        outputs += [proc.stdout, proc.stderr]
    # Store files the tool refuses, or whose password is wrong: the error says why, not what is in them.
    wrong = store.pg.store_file(os.path.join(env.root, "store-wrong"),
                                text=store.pg.conninfo("pamtotp_admin").replace(pgserver.PASSWORDS["pamtotp_admin"], "wrong-pw-q7x"))
    readable = store.pg.store_file(os.path.join(env.root, "store-readable"), role="pamtotp_admin")
    os.chmod(readable, 0o644)
    garbled = store.pg.store_file(os.path.join(env.root, "store-garbled"),
                                  text="host=127.0.0.1 password=garbled-pw-k3v 'unterminated")
    secrets += ["wrong-pw-q7x", "garbled-pw-k3v"]
    env.sensitive.update(["wrong-pw-q7x", "garbled-pw-k3v"])
    for path, message in ((wrong, r"password authentication failed"), (readable, r"group or others"),
                          (garbled, r"store")):
        for args in (("status", "--user", "alice"), ("store", "init")):
            proc = env.setup(*args, "--store", path, check=False)
            assert proc.returncode != 0 and re.search(message, proc.stderr), (path, proc.stderr)
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
            outputs += [proc.stdout, proc.stderr]
    text = "\n".join(outputs) + open(env.setup_log).read()
    for secret in secrets:
        assert secret not in text, "a secret reached the tool's output or log"
    # The store keeps no recovery code, only identifiers of their hashes.
    everything = "\n".join(store.dump().values())
    assert not any(code in everything for code in codes)


@pytest.mark.parametrize("text", [
    "host=127.0.0.1 dbname=pamtotp user=pamtotp_admin password=half secret-part-x9",
    "host=127.0.0.1 password=half secret-part-x9=more dbname=pamtotp",
    "postgresql://pamtotp_admin:half secret-part-x9@127.0.0.1/pamtotp?sslmode",
    "postgresql://pamtotp_admin:secret-part-x9@[127.0.0.1/pamtotp",
])
def test_a_malformed_store_file_is_reported_without_its_password(env, store, text):
    """libpq quotes what it cannot parse in a connection string: with a space in an unquoted password,
    part of the password. The tool's message and the module's log line leave the quoted part out."""
    env.sensitive.add("secret-part-x9")
    path = store.pg.store_file(os.path.join(env.root, "store-spaced"), text=text)
    proc = env.setup("status", "--user", "alice", "--store", path, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"pam-totp-setup: store {path}: the connection string is malformed"), proc.stderr
    assert "secret-part-x9" not in proc.stderr and "half" not in proc.stderr, proc.stderr
    env.service("spaced", stack=[f"auth required {{module}} state={{state}} store={path}"])
    login = env.login("alice", "123456", service="spaced")
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"store error user=alice .*the connection string is malformed"), login.log
    assert "secret-part-x9" not in login.log and "half" not in login.log
