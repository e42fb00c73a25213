"""Issue 14: pam_totp.so with store=FILE, loaded through a real libpam stack (build/pamdrive),
against real PostgreSQL servers (tools/pgserver.py: initdb in a temporary directory, a port above
20000, stopped by its PID), set up and filled by the real tool (build/pam-totp-setup --store).

Two "servers" are two PAM services, each with a state directory of its own, sharing one database:
what one accepts the other must refuse. The module connects as the least-privilege role
(`store init --grant pamtotp_server`); the tool as the database's owner. One PostgreSQL serves the
whole file (started once, destroyed at the end); each test starts from empty pam_totp tables.

Ports: $PAMTOTP_PG_PORT_IT (25433) for the plain server, $PAMTOTP_PG_TLS_PORT_IT (25443) for the
TLS one, $PAMTOTP_PG_DEAD_PORT_IT (25444, nothing listens), $PAMTOTP_PG_HOLE_PORT_IT (25445, a
socket that accepts and never answers) and $PAMTOTP_PG_RELAY_PORT_IT (25446, a relay that cuts a
client off)."""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from pamtotp_it import (KEY, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, PAMDRIVE, ROOT, SETUP, totp,
                        wait_for_fresh_step)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import pgserver  # noqa: E402
import testbed  # noqa: E402

# Every wait for the database is bounded by store_timeout (2 s here, per host for a connection):
# a refusal must come well within this, whatever the database does.
TIMEOUT = 2
BOUND = 8.0
TABLES = ("schema_version", "settings", "enrollments", "recovery_codes", "state")


class Database:
    """A started PostgreSQL with the pam_totp schema: the tool's store file (the owner's role) and the
    servers' (the least-privilege role)."""

    def __init__(self, server, directory):
        self.server = server
        self.directory = directory
        self.admin = server.store_file(os.path.join(directory, "admin.conf"), role="pamtotp_admin")
        self.file = server.store_file(os.path.join(directory, "server.conf"))
        # A configuration file that does not exist: the machine's /etc/pam-totp.conf never counts.
        proc = subprocess.run([SETUP, "store", "init", "--grant", "pamtotp_server", "--store", self.admin,
                               "--config", os.path.join(directory, "no-such.conf")],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "version 1" in proc.stdout

    @property
    def port(self):
        return self.server.port

    def sql(self, statement):
        """Runs SQL as the superuser in the pam_totp database; the rows as text."""
        return self.server.psql(statement, "pamtotp")

    def value(self, statement):
        return self.sql(statement).strip()

    def server_log(self):
        try:
            with open(os.path.join(self.server.dir, "server.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def started(port_variable, default_port, **kwargs):
    server = pgserver.PostgreSQL(port_variable, default_port, **kwargs)
    directory = tempfile.mkdtemp(prefix="pamtotp-store-it-")
    try:
        server.start()
        return Database(server, directory)
    except BaseException:
        server.destroy()
        shutil.rmtree(directory)
        raise


def destroyed(database):
    database.server.destroy()
    shutil.rmtree(database.directory)


@pytest.fixture(scope="module")
def pg():
    if os.geteuid() != 0:
        pytest.fail("the integration tests must run as root, as the module does under sshd")
    try:
        database = started("PAMTOTP_PG_PORT_IT", 25433)
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    yield database
    destroyed(database)


@pytest.fixture(scope="module")
def tls_pg():
    try:
        database = started("PAMTOTP_PG_TLS_PORT_IT", 25443, tls=True)
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    yield database
    destroyed(database)


def quote(text):
    """A string literal for psql: every quote doubled, backslashes as they are (standard strings)."""
    return "'" + text.replace("'", "''") + "'"


def empty(database):
    database.sql("TRUNCATE pam_totp.enrollments, pam_totp.recovery_codes, pam_totp.state")


@pytest.fixture
def store(pg, env):
    """Empty tables, and two servers: service `test` (state in env.state) and service `b` (state in a
    directory of its own), both with store= and retries=1 (one answer per login)."""
    # A test that failed half-way may have left it stopped or frozen.
    if pg.server.proc is None or pg.server.proc.poll() is not None:
        pg.server.restart()
    pg.server.resume()
    empty(pg)
    env.sensitive.update(pgserver.PASSWORDS.values())
    env.state_b = os.path.join(env.root, "state-b")
    servers(env, pg.file)
    yield pg
    # Whatever the test did, the schema is whole and the servers wrote nothing into their state dirs.
    assert pg.value("SELECT count(*) FROM pg_tables WHERE schemaname = 'pam_totp'") == str(len(TABLES))
    for directory in (env.state, env.state_b):
        assert not os.path.exists(directory) or os.listdir(directory) == [], os.listdir(directory)


def servers(env, file):
    env.service("test", stack=[f"auth required {{module}} state={{state}} store={file} store_timeout={TIMEOUT} "
                               f"retries=1 throttle_free=20"])
    env.service("b", stack=[f"auth required {{module}} state={env.state_b} config={{config}} store={file} "
                            f"store_timeout={TIMEOUT} retries=1 throttle_free=20"])


def enroll(env, database, user="alice"):
    return env.enroll(user, extra=["--store", database.admin])


def status(env, database, user="alice"):
    return json.loads(env.setup("status", "--user", user, "--json", "--store", database.admin).stdout)


def timed_login(env, *args, **kwargs):
    started_at = time.monotonic()
    login = env.login(*args, **kwargs)
    return login, time.monotonic() - started_at


def start_login(env, user, *responses, service="test", rhost=None):
    env.sensitive.update(r for r in responses if len(r) >= 6)
    argv = [PAMDRIVE, "-c", env.pamd, "-s", service, "-u", user] + (["-r", rhost] if rhost else [])
    return subprocess.Popen(argv + list(responses), env=env.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fresh_code(margin=3):
    """The current code and its step, with at least `margin` seconds left in the step."""
    wait_for_fresh_step(margin=margin)
    now = time.time()
    return totp(KEY, at=now), int(now // 30)


# 1. Two servers, one truth.

def test_a_code_accepted_by_one_server_is_refused_by_the_other(env, store):
    codes = enroll(env, store)["recovery_codes"]
    assert store.value("SELECT count(*) FROM pam_totp.recovery_codes WHERE user_name = 'alice'") == str(len(codes))
    code, step = fresh_code()
    first = env.login("alice", code, service="test")
    assert first.rc == PAM_SUCCESS, first.log
    assert first.logged(r"success user=alice rhost=- method=totp")
    assert store.value("SELECT last_step FROM pam_totp.state WHERE user_name = 'alice'") == str(step)

    again = env.login("alice", code, service="b")
    assert again.rc == PAM_AUTH_ERR, again.log
    assert again.logged(r"failure user=alice rhost=- attempt=1/1 method=totp reason=replayed-code")
    # The earlier step of the window too: B knows what A accepted.
    earlier = env.login("alice", totp(KEY, at=step * 30, step_offset=-1), service="b")
    assert earlier.rc == PAM_AUTH_ERR and earlier.logged(r"reason=replayed-code"), earlier.log

    # A recovery code used through A is gone for B, and the tool counts it as used.
    used = env.login("alice", codes[0], service="test")
    assert used.rc == PAM_SUCCESS, used.log
    assert used.logged(rf"success user=alice rhost=- method=recovery recovery-codes-left={len(codes) - 1}")
    refused = env.login("alice", codes[0], service="b")
    assert refused.rc == PAM_AUTH_ERR, refused.log
    assert refused.logged(r"method=recovery reason=used-recovery-code"), refused.log
    assert status(env, store)["recovery_codes_left"] == len(codes) - 1
    # Another one works through B, and A then sees two used.
    assert env.login("alice", codes[1], service="b").rc == PAM_SUCCESS
    assert env.login("alice", codes[1], service="test").rc == PAM_AUTH_ERR
    assert status(env, store)["recovery_codes_left"] == len(codes) - 2
    assert store.value("SELECT count(*) FROM pam_totp.recovery_codes WHERE user_name = 'alice'") == str(len(codes) - 2)
    # Nothing about the account was kept in either server's files (checked by the fixture as well).
    assert env.state_text("alice") is None


def test_an_enrollment_in_the_store_needs_no_file_and_a_file_does_not_count(env, store):
    # A file enrollment with another key, on this host: a store login never reads it.
    env.enroll("bob", key="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    enroll(env, store, "bob")
    assert not os.path.exists(env.enrollment_path("alice"))
    enroll(env, store, "alice")
    code, _ = fresh_code()
    assert env.login("alice", code, service="b").rc == PAM_SUCCESS
    wrong = env.login("bob", totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), service="test")
    assert wrong.rc == PAM_AUTH_ERR and wrong.logged(r"reason=wrong-code"), wrong.log
    assert env.login("bob", totp(KEY), service="test").rc == PAM_SUCCESS
    # An unenrolled account in the store is refused like any other, with or without files.
    carol = env.login("carol", totp(KEY), service="test")
    assert carol.rc == PAM_AUTH_ERR and carol.logged(r"reason=not-enrolled"), carol.log
    # bob's file enrollment was not read, and nothing went into the state directory (the fixture checks).
    assert os.path.exists(env.enrollment_path("bob"))


# 2. Many logins at once, through both servers, with one code.

def test_32_concurrent_logins_through_two_servers_accept_one_code_once(env, store):
    enroll(env, store)
    code, step = fresh_code()
    # Each from an address of its own, as from many clients: no source is throttled.
    procs = [start_login(env, "alice", code, service="test" if n % 2 else "b", rhost=f"192.0.2.{n + 1}") for n in range(32)]
    results = [env.finish(p) for p in procs]
    rcs = [r.rc for r in results]
    assert rcs.count(PAM_SUCCESS) == 1, rcs
    # Every other one was a plain refusal of a replay: no crash (a signal), no store or state error.
    others = [r for r in results if r.rc != PAM_SUCCESS]
    assert all(r.rc == PAM_AUTH_ERR for r in others), [(r.rc, r.log) for r in others if r.rc != PAM_AUTH_ERR]
    assert all(r.logged(r"reason=replayed-code") for r in others), [r.log for r in others if "replayed" not in r.log]
    assert not any(re.search(r"store error|state error", r.log) for r in results)
    row = store.sql("SELECT last_step, version, state FROM pam_totp.state WHERE user_name = 'alice'").split("|", 2)
    assert row[0] == str(step)
    # No update was lost: one write per login (the success, then 31 failures), all of them counted.
    assert row[1] == "32", row
    assert re.search(r"^failures 31$", row[2], re.M), row[2]


# 3. Outages: bounded, closed, and nothing lost.

def test_a_frozen_database_refuses_within_the_bound_then_works_again(env, store):
    enroll(env, store)
    env.service("nullok", stack=[f"auth required {{module}} state={{state}} store={store.file} store_timeout={TIMEOUT} nullok",
                                 "auth required pam_permit.so"])
    code, _ = fresh_code()
    store.server.pause()
    try:
        login, seconds = timed_login(env, "alice", code)
        # bob has no enrollment: nullok must not let him in while that cannot be known.
        unenrolled, nullok_seconds = timed_login(env, "bob", code, service="nullok")
    finally:
        store.server.resume()
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.out + login.log
    assert TIMEOUT - 0.5 <= seconds < BOUND, seconds
    assert login.prompts == [], "nobody is asked for a code that cannot be checked"
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*timeout'), login.log
    assert unenrolled.rc == PAM_AUTHINFO_UNAVAIL and nullok_seconds < BOUND, (unenrolled.rc, nullok_seconds)
    assert unenrolled.logged(r"store error user=bob "), unenrolled.log
    # Thawed: the same code works, the refused login consumed nothing; and nullok lets bob in now
    # that the store says he has no enrollment.
    assert env.login("alice", code).rc == PAM_SUCCESS
    thawed = env.login("bob", service="nullok")
    assert thawed.rc == PAM_SUCCESS and thawed.logged(r"skipped user=bob rhost=- nullok=yes reason=not-enrolled"), thawed.log


def login_with_a_pause_at_the_prompt(env, code, at_prompt, after=lambda: None):
    """A login whose answer comes only once `at_prompt` has run: pamdrive reads it from a FIFO when
    the prompt comes, which is after the module has connected, read the enrollment and released the
    state row. `after` runs once the login is over, whatever happened. (rc, out, err, seconds from
    the answer to the end.)"""
    fifo = os.path.join(env.root, "answer")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    env.sensitive.add(code)
    proc = subprocess.Popen([PAMDRIVE, "-c", env.pamd, "-s", "test", "-u", "alice",
                             "@file:" + fifo], env=env.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        writer = None
        deadline = time.monotonic() + 10
        while writer is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until pamdrive opens it
            except OSError:
                time.sleep(0.01)
        assert writer is not None, "pamdrive never reached the prompt"
        try:
            at_prompt()
            started_at = time.monotonic()
            os.write(writer, code.encode())
            os.close(writer)
            out, err = proc.communicate(timeout=30)
            seconds = time.monotonic() - started_at
        finally:
            after()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    env.logs.append(err)
    assert "PROMPT_OFF: Verification code: " in out
    return proc.returncode, out, err, seconds


def test_a_database_frozen_mid_login_refuses_within_the_bound(env, store):
    """Connected, then frozen while the user types the code: the request's own bound applies."""
    enroll(env, store)
    code, _ = fresh_code()
    rc, out, err, seconds = login_with_a_pause_at_the_prompt(env, code, store.server.pause, store.server.resume)
    assert rc == PAM_AUTHINFO_UNAVAIL, out + err
    assert TIMEOUT - 0.5 <= seconds < BOUND, seconds
    assert re.search(rf'state error user=alice rhost=- error="store \S+: no answer from the store within {TIMEOUT} s', err), err
    # Nothing was recorded: the same code works now.
    assert env.login("alice", code).rc == PAM_SUCCESS


def test_a_database_restarted_while_the_user_types_is_reached_again(env, store):
    """The database restarts (or fails over) while the user types the code: the connection the
    login opened is gone, and the module locks the state row on a new one, once; the code is
    accepted and recorded, and a replay is refused."""
    enroll(env, store)
    code, _ = fresh_code()
    rc, out, err, _ = login_with_a_pause_at_the_prompt(env, code, store.server.restart)
    assert rc == PAM_SUCCESS, out + err
    assert "store error" not in err and "state error" not in err, err
    assert env.login("alice", code, service="b").rc == PAM_AUTH_ERR


class Partition:
    """A relay to the database (`listener` accepts the module's connection, `connect` opens the
    database's side) that lets one connection through until the client has sent a statement
    containing `marker` and had its answer, then cuts the client off and keeps the server's side
    open without a word: as if the client's host had vanished from the network while holding a row
    lock (no FIN, no RST reaches the database)."""

    def __init__(self, listener, connect, marker=b"FOR UPDATE"):
        self.listener, self.connect, self.marker = listener, connect, marker
        self.kept = []
        self.cut = threading.Event()
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        server = self.connect()
        self.kept.append(server)

        def down():
            try:
                while data := server.recv(65536):
                    if not self.cut.is_set():
                        client.sendall(data)
            except OSError:
                pass
        threading.Thread(target=down, daemon=True).start()
        try:
            while data := client.recv(65536):
                server.sendall(data)
                if self.marker in data:
                    time.sleep(0.3)  # the answer goes back: the client holds the lock
                    break
        except OSError:
            pass
        self.cut.set()
        client.close()

    def close(self):
        self.listener.close()
        for s in self.kept:
            s.close()
        self.thread.join(timeout=5)

    @classmethod
    def tcp(cls, target_port):
        """On 127.0.0.1, to the database's port."""
        port = testbed.free_port("PAMTOTP_PG_RELAY_PORT_IT", 25446)
        relay = cls(socket.create_server(("127.0.0.1", port)),
                    lambda: socket.create_connection(("127.0.0.1", target_port), timeout=30))
        relay.port = port
        return relay


ORPHANS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pam_totp' AND state = 'idle in transaction'"


def abandoned_lock_is_ended(env, path, relay, step, orphans):
    """A login through `relay` (store file `path`) that is cut off holding alice's row lock leaves
    its transaction open (`orphans()` counts such transactions); a login meanwhile waits at most the
    bound; the database ends the abandoned transaction by itself, soon."""
    env.service("relay", stack=[f"auth required {{module}} state={{state}} store={path} store_timeout={TIMEOUT}"])
    following = totp(KEY, at=step * 30, step_offset=1)
    # The login goes on after the cut (it finds the connection lost and tries a new one, which the
    # relay never answers): the abandoned transaction is looked for meanwhile, before the
    # database's own bound ends it.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(timed_login, env, "alice", following, service="relay")
        assert relay.cut.wait(10), "the relay never saw the row locked"
        seen = 0
        deadline = time.monotonic() + TIMEOUT
        while seen == 0 and time.monotonic() < deadline:
            seen = int(orphans())
            time.sleep(0.05)
        cut_off, seconds = pending.result(timeout=60)
    assert seen == 1, "the relay should have left a transaction open"
    assert cut_off.rc == PAM_AUTHINFO_UNAVAIL and seconds < BOUND, (seconds, cut_off.log)
    assert cut_off.logged(r"state error user=alice "), cut_off.log
    # Meanwhile a login waits for the row at most the bound: refused, or let in if the database
    # ended the abandoned transaction within that time.
    login, seconds = timed_login(env, "alice", following)
    assert seconds < BOUND, seconds
    assert login.rc == PAM_SUCCESS or login.logged(
        rf'state error user=alice rhost=- error="store \S+: no answer from the store within {TIMEOUT} s'), login.log
    deadline = time.monotonic() + 3 * TIMEOUT + 2
    while orphans() != "0" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert orphans() == "0", "an abandoned transaction still holds alice's row"


def test_a_server_that_vanishes_holding_a_row_lock_does_not_lock_the_user_out(env, store):
    """A server that disappears mid-login (power, network) cannot tell the database: its
    transaction, holding the user's row lock, would stay open until TCP keepalive gives up (hours
    with the defaults), and every server would refuse the user meanwhile. The database must end it
    itself, soon after the module's own bound."""
    codes = enroll(env, store)["recovery_codes"]
    code, step = fresh_code()
    assert env.login("alice", code).rc == PAM_SUCCESS  # alice has a state row now
    relay = Partition.tcp(store.port)
    try:
        path = store.server.store_file(os.path.join(env.root, "relay.conf"),
                                       text=f"host=127.0.0.1 port={relay.port} dbname=pamtotp user=pamtotp_server "
                                            f"password={pgserver.PASSWORDS['pamtotp_server']} sslmode=disable")
        abandoned_lock_is_ended(env, path, relay, step, lambda: store.value(ORPHANS))
    finally:
        relay.close()
    assert env.login("alice", codes[0]).rc == PAM_SUCCESS


def test_a_stopped_database_refuses_at_once_and_loses_nothing_when_restarted(env, store):
    codes = enroll(env, store)["recovery_codes"]
    env.service("nullok", stack=[f"auth required {{module}} state={{state}} store={store.file} store_timeout={TIMEOUT} nullok",
                                 "auth required pam_permit.so"])
    env.service("trusted", stack=[f"auth required {{module}} state={{state}} store={store.file} store_timeout={TIMEOUT} "
                                  "trusted=192.0.2.0/24"])
    env.service("exempt", stack=[f"auth required {{module}} state={{state}} config={{config}} store={store.file} "
                                 f"store_timeout={TIMEOUT} exempt_groups=staff", "auth required pam_permit.so"])
    code, step = fresh_code()
    assert env.login("alice", code, service="b").rc == PAM_SUCCESS
    assert env.login("alice", codes[0]).rc == PAM_SUCCESS
    store.server.stop()
    try:
        login, seconds = timed_login(env, "alice", totp(KEY, at=step * 30, step_offset=1))
        assert login.rc == PAM_AUTHINFO_UNAVAIL, login.out + login.log
        assert seconds < TIMEOUT, seconds
        assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*Connection refused'), login.log
        unenrolled = env.login("bob", code, service="nullok")
        assert unenrolled.rc == PAM_AUTHINFO_UNAVAIL and unenrolled.logged(r"store error user=bob "), unenrolled.log
        # What is decided before the store is touched still works (pam_totp(8), "Several servers").
        trusted = env.login("alice", service="trusted", rhost="192.0.2.9")
        assert trusted.rc == PAM_SUCCESS and trusted.logged(r"code skipped: trusted network"), trusted.log
        exempt = env.login("alice", service="exempt")
        assert exempt.rc == PAM_SUCCESS and exempt.logged(r"skipped user=alice rhost=- reason=exempt-group"), exempt.log
        # ... but not from an untrusted address, nor for someone outside the exempt group.
        assert env.login("alice", code, service="trusted", rhost="198.51.100.1").rc == PAM_AUTHINFO_UNAVAIL
        assert env.login("bob", code, service="exempt").rc == PAM_AUTHINFO_UNAVAIL
    finally:
        store.server.restart()
    # Nothing was lost: the last accepted step is still a replay, the used recovery code still used.
    replay = env.login("alice", code)
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log
    assert env.login("alice", codes[0], service="b").rc == PAM_AUTH_ERR
    assert status(env, store)["recovery_codes_left"] == len(codes) - 1
    assert env.login("alice", totp(KEY, at=step * 30, step_offset=1)).rc == PAM_SUCCESS


# 4. The store file is checked like every private file.

@pytest.mark.parametrize("problem", ["group-readable", "not-root", "missing", "symlink", "no-connection-string"])
def test_an_unsafe_or_missing_store_file_is_refused(env, store, problem):
    enroll(env, store)
    path = os.path.join(env.root, "etc", "store.conf")
    if problem == "missing":
        os.makedirs(os.path.dirname(path))
        expected = r"no such file"
    elif problem == "symlink":
        os.makedirs(os.path.dirname(path))
        os.symlink(store.file, path)
        expected = r"is a symbolic link"
    elif problem == "no-connection-string":
        store.server.store_file(path, text="# nothing here\n\n   # still nothing")
        expected = r"the file holds no connection string"
    else:
        store.server.store_file(path)
        if problem == "group-readable":
            os.chmod(path, 0o640)
            expected = r"mode 640 lets group or others access it"
        else:
            os.chown(path, env.uids["alice"], env.uids["alice"])
            expected = r"owned by uid 2001"
    servers(env, path)
    code, _ = fresh_code()
    for service in ("test", "b"):
        login = env.login("alice", code, service=service)
        assert login.rc == PAM_AUTHINFO_UNAVAIL, login.out + login.log
        assert login.prompts == []
        assert re.search(rf'store error user=alice rhost=- error="[^"]*{expected}', login.log), login.log
    # The tool refuses it too, and says why.
    proc = env.setup("status", "--user", "alice", "--store", path, check=False)
    assert proc.returncode != 0 and re.search(expected, proc.stderr), proc.stderr
    # With the right file, the same code works: the refusals consumed nothing.
    servers(env, store.file)
    assert env.login("alice", code).rc == PAM_SUCCESS


# 5. Hostile names and hostile rows.

# Names an account can have (printable ASCII, no '/', ':' or blank): they reach the SQL as parameters.
HOSTILE_ACCOUNTS = ["x'OR'1'='1", "x');DROP(TABLE)pam_totp.state;--", "back\\slash\\", '"quoted"', "%s%n%x%s",
                    "$1", "$$;$q$", "E'\\x27'"]
# Names that cannot be accounts: the module places them among the shared unknown rows, never as data.
HOSTILE_NAMES = ["x'; DROP TABLE pam_totp.state; --", "al'ice\"", "alice\\", "ålice\u202e😀", "y" * 300,
                 "bob\nalice", "alice\r", "%s%s%s%s%n", "alice\t", "alice "]


def test_hostile_account_names_are_only_data(env, store):
    enroll(env, store)
    for uid, name in enumerate(HOSTILE_ACCOUNTS, start=2300):
        env.add_user(name, uid)
        enroll(env, store, name)
        code, step = fresh_code()
        login = env.login(name, code)
        assert login.rc == PAM_SUCCESS, (name, login.log)
        replay = env.login(name, code, service="b")
        assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), (name, replay.log)
        assert store.value(f"SELECT last_step FROM pam_totp.state WHERE user_name = {quote(name)}") == str(step), name
    names = store.sql("SELECT user_name FROM pam_totp.enrollments ORDER BY user_name").splitlines()
    assert sorted(names) == sorted(HOSTILE_ACCOUNTS + ["alice"])
    # alice's row (made empty by her enrollment) was never touched by any of them.
    assert store.value("SELECT state || '|' || version FROM pam_totp.state WHERE user_name = 'alice'") == "|0"
    code, _ = fresh_code()
    assert env.login("alice", code).rc == PAM_SUCCESS


def test_hostile_names_that_are_no_account_are_denied_and_change_nothing(env, store):
    enroll(env, store)
    code, _ = fresh_code()
    before = store.sql("SELECT user_name, enrollment FROM pam_totp.enrollments")
    for name in HOSTILE_NAMES:
        for service in ("test", "b"):
            login = env.login(name, code, service=service)
            assert login.rc == PAM_AUTH_ERR, (name, login.rc, login.log)
            assert not login.logged(r"store error|state error|success"), (name, login.log)
            assert login.logged(r"reason=unknown-user") or login.logged(r"reason=wrong-code"), (name, login.log)
    assert store.sql("SELECT user_name, enrollment FROM pam_totp.enrollments") == before
    # Their failures are kept only in the shared rows for names that are no account.
    keys = store.sql("SELECT user_name FROM pam_totp.state WHERE user_name <> 'alice'").splitlines()
    assert keys and all(re.fullmatch(r"unknown \d+", k) for k in keys), keys
    # alice's code was never consumed by them.
    assert env.login("alice", code).rc == PAM_SUCCESS


@pytest.mark.parametrize("state", [
    "version 1\nlast-step banana\nend\n",
    "version 1\nlast-step 1'; DROP TABLE pam_totp.state; --\nend\n",
    "version 1\nlast-step 99999999999999999999999999\nend\n",
    "version 1\nfailures -1\nend\n",
    "version 1\nno-such-key 1\nend\n",
    "version 99\nlast-step 1\nend\n",
    "last-step 1\nend\n",
    "version 1\nlast-step 1\nlast-step 2\nend\n",
    "version 1\n" + "recent-step 1\n" * 100 + "end\n",
    "version 1\nlast-step 1\n",
    "version 1\nlast-step 1\nend\nfailures 0\n",
    "version 1\nsource \u202e 1 2\nend\n",
    "version 1\nlast-step 1\r\nend\n",
    "version 1\nused-recovery %s%s%n\nend\n",
])
def test_a_malformed_state_row_is_refused(env, store, state):
    enroll(env, store)
    code, step = fresh_code()
    store.sql(f"INSERT INTO pam_totp.state (user_name, state) VALUES ('alice', {quote(state)}) "
              "ON CONFLICT (user_name) DO UPDATE SET state = EXCLUDED.state")
    for service in ("test", "b"):
        login = env.login("alice", code, service=service)
        assert login.rc == PAM_AUTHINFO_UNAVAIL, (login.rc, login.log)
        assert login.logged(r'state error user=alice rhost=- error="store \S+: the state is malformed: '), login.log
    # Left as it was: a refused login writes nothing.
    assert store.value(f"SELECT state = {quote(state)} FROM pam_totp.state WHERE user_name = 'alice'") == "t"
    assert store.value("SELECT last_step FROM pam_totp.state WHERE user_name = 'alice'") == ""


def test_an_enrollment_row_of_another_account_is_refused(env, store):
    enroll(env, store, "bob")
    # An admin's mistake or an attack: bob's enrollment text filed under alice's name.
    store.sql("INSERT INTO pam_totp.enrollments (user_name, enrollment) "
              "SELECT 'alice', enrollment FROM pam_totp.enrollments WHERE user_name = 'bob'")
    code, _ = fresh_code()
    login = env.login("alice", code)
    assert login.rc != PAM_SUCCESS, login.log
    assert login.logged(r"refused user=alice rhost=- reason=enrollment-account"), login.log


# 6. TLS.

def test_tls_with_verify_full(env, store, tls_pg):
    empty(tls_pg)
    enroll(env, tls_pg)
    servers(env, tls_pg.file)
    code, _ = fresh_code()
    login = env.login("alice", code)
    assert login.rc == PAM_SUCCESS, login.log
    assert tls_pg.value("SELECT count(*) FROM pam_totp.state WHERE user_name = 'alice'") == "1"
    # The plain server knows nothing of it.
    assert store.value("SELECT count(*) FROM pam_totp.enrollments") == "0"
    base = f"port={tls_pg.port} dbname=pamtotp user=pamtotp_server password={pgserver.PASSWORDS['pamtotp_server']}"

    # Another CA, made here, which never signed the server's certificate.
    other = os.path.join(env.root, "other-ca")
    os.makedirs(other)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=another CA",
                    "-keyout", os.path.join(other, "ca.key"), "-out", os.path.join(other, "ca.crt")],
                   check=True, capture_output=True, timeout=60)
    cases = {
        "wrong-ca": (f"host=127.0.0.1 {base} sslmode=verify-full sslrootcert={other}/ca.crt", r"certificate verify failed"),
        # The certificate names localhost and 127.0.0.1; the address is right, the name is not.
        "wrong-name": (f"host=db.pamtotp.invalid hostaddr=127.0.0.1 {base} sslmode=verify-full sslrootcert={tls_pg.server.ca}",
                       r"does not match host name .db\.pamtotp\.invalid."),
    }
    for case, (text, expected) in cases.items():
        path = tls_pg.server.store_file(os.path.join(env.root, case + ".conf"), text=text)
        servers(env, path)
        login, seconds = timed_login(env, "alice", totp(KEY, step_offset=1))
        assert login.rc == PAM_AUTHINFO_UNAVAIL, (case, login.log)
        assert seconds < BOUND
        assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*' + expected), (case, login.log)
    # Reached through the hostname in the certificate, verify-full works as well.
    path = tls_pg.server.store_file(os.path.join(env.root, "localhost.conf"),
                                    text=f"host=localhost hostaddr=127.0.0.1 {base} sslmode=verify-full sslrootcert={tls_pg.server.ca}")
    servers(env, path)
    assert env.login("alice", totp(KEY, step_offset=1)).rc == PAM_SUCCESS


# 7. Several hosts.

@pytest.fixture
def hole():
    """A port that accepts connections and never answers (a host that hangs)."""
    port = testbed.free_port("PAMTOTP_PG_HOLE_PORT_IT", 25445)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    yield port
    s.close()


def test_several_hosts_the_first_dead_or_hanging(env, store, hole):
    enroll(env, store)
    dead = testbed.free_port("PAMTOTP_PG_DEAD_PORT_IT", 25444)
    password = pgserver.PASSWORDS["pamtotp_server"]
    common = f"dbname=pamtotp user=pamtotp_server password={password} target_session_attrs=read-write"
    code, step = fresh_code()

    def login_with(name, text, *answers):
        path = store.server.store_file(os.path.join(env.root, name + ".conf"), text=text)
        servers(env, path)
        return timed_login(env, "alice", *answers)

    login, seconds = login_with("dead-first", f"host=127.0.0.1,127.0.0.1 port={dead},{store.port}\n{common}", code)
    assert login.rc == PAM_SUCCESS, login.log
    assert seconds < TIMEOUT
    # A first host that hangs costs one bound, then the second answers.
    login, seconds = login_with("hanging-first", f"host=127.0.0.1,127.0.0.1 port={hole},{store.port}\n{common}",
                                totp(KEY, at=step * 30, step_offset=1))
    assert login.rc == PAM_SUCCESS, login.log
    assert TIMEOUT - 0.5 <= seconds < BOUND, seconds
    # Only dead or hanging hosts: refused, within the bound for each.
    login, seconds = login_with("dead-only", f"host=127.0.0.1 port={dead}\n{common}", code)
    assert login.rc == PAM_AUTHINFO_UNAVAIL and seconds < TIMEOUT, (seconds, login.log)
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*Connection refused'), login.log
    login, seconds = login_with("hanging-only", f"host=127.0.0.1 port={hole}\n{common}", code)
    assert login.rc == PAM_AUTHINFO_UNAVAIL and TIMEOUT - 0.5 <= seconds < BOUND, (seconds, login.log)
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*timeout'), login.log
    login, seconds = login_with("both-bad", f"host=127.0.0.1,127.0.0.1 port={hole},{dead}\n{common}", code)
    assert login.rc == PAM_AUTHINFO_UNAVAIL and seconds < BOUND, (seconds, login.log)
    # One line names each host and its reason; libpq's hints ("Is the server running…?") are left out.
    # (A value over 200 bytes loses its middle in the log: the end, the last host's reason, stays.)
    assert login.logged(rf'store error .*timeout expired; connection to server at .*port {dead} failed: Connection refused"'), login.log
    assert "Is the server running" not in login.log


def test_several_hosts_a_read_only_one_is_passed_over(env, store, tls_pg):
    """target_session_attrs=read-write: a host whose sessions are read-only (as a standby's are) is
    skipped for the next; named alone, it is refused, and without the attribute the write fails closed."""
    empty(tls_pg)
    enroll(env, tls_pg)
    enroll(env, store)
    password = pgserver.PASSWORDS["pamtotp_server"]
    tls_pg.sql("ALTER DATABASE pamtotp SET default_transaction_read_only = on")
    try:
        code, step = fresh_code()
        common = f"dbname=pamtotp user=pamtotp_server password={password} sslmode=prefer"
        path = store.server.store_file(os.path.join(env.root, "read-only-first.conf"),
                                       text=f"host=127.0.0.1,127.0.0.1 port={tls_pg.port},{store.port}\n{common}\n"
                                            "target_session_attrs=read-write")
        servers(env, path)
        login = env.login("alice", code)
        assert login.rc == PAM_SUCCESS, login.log
        assert store.value("SELECT last_step FROM pam_totp.state WHERE user_name = 'alice'") == str(step)
        path = store.server.store_file(os.path.join(env.root, "read-only.conf"),
                                       text=f"host=127.0.0.1 port={tls_pg.port} {common} target_session_attrs=read-write")
        servers(env, path)
        login = env.login("alice", totp(KEY, at=step * 30, step_offset=1))
        assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
        assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*read-only'), login.log
        # Without the attribute the read-only host is used: the enrollment is read, the first write
        # fails, and the login is refused.
        path = store.server.store_file(os.path.join(env.root, "read-only-any.conf"), text=f"host=127.0.0.1 port={tls_pg.port} {common}")
        servers(env, path)
        login = env.login("alice", totp(KEY, at=step * 30, step_offset=1))
        assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
        assert login.logged(r'state error user=alice rhost=- error="store \S+: .*read-only transaction'), login.log
        assert tls_pg.value("SELECT count(*) FROM pam_totp.state WHERE version > 0") == "0"
    finally:
        tls_pg.server.psql("ALTER DATABASE pamtotp RESET default_transaction_read_only")


# 8. libpq only with a store.

def test_libpq_is_loaded_only_with_a_store(env, store):
    env.enroll("alice")  # a file enrollment, for the service without store=
    enroll(env, store)
    env.service("files", stack=[f"auth required {{module}} state={env.root}/state-files config={{config}} retries=1"])
    code, _ = fresh_code()
    debug = {"LD_DEBUG": "files"}
    files = env.login("alice", code, service="files", process_env=debug)
    assert files.rc == PAM_SUCCESS, files.log
    assert "pam_totp.so" in files.log, "LD_DEBUG=files shows what is loaded"
    assert "libpq" not in files.log
    with_store = env.login("alice", code, process_env=debug)
    assert with_store.rc == PAM_SUCCESS, with_store.log
    assert re.search(r"file=libpq\.so\.5 \[0\];  dynamically loaded by .*pam_totp\.so", with_store.log), with_store.log
    # A refused file login (a replay), and a name that is no account: no libpq either.
    assert "libpq" not in env.login("alice", code, service="files", process_env=debug).log
    assert "libpq" not in env.login("nosuchuser", code, service="files", process_env=debug).log


# 9. Secrets stay out of the logs.

def test_no_secret_reaches_a_log(env, store):
    data = enroll(env, store)
    code, step = fresh_code()
    assert env.login("alice", code).rc == PAM_SUCCESS
    assert env.login("alice", code, service="b").rc == PAM_AUTH_ERR
    assert env.login("alice", data["recovery_codes"][2], service="b").rc == PAM_SUCCESS
    assert env.login("alice", data["recovery_codes"][2]).rc == PAM_AUTH_ERR
    assert env.login("alice", "kf7q-m2xd-9pwa").rc == PAM_AUTH_ERR
    env.setup("status", "--user", "alice", "--store", store.admin)
    # New recovery codes through the tool, proved with an old one: the old set stops working at once.
    fresh = json.loads(env.setup("recovery-codes", "--user", "alice", "--store", store.admin, "--json",
                                 code=data["recovery_codes"][3]).stdout)["recovery_codes"]
    env.sensitive.update(fresh)
    assert env.login("alice", data["recovery_codes"][4], service="b").rc == PAM_AUTH_ERR
    assert env.login("alice", fresh[0], service="b").rc == PAM_SUCCESS
    assert status(env, store)["recovery_codes_left"] == len(fresh) - 1
    # A store whose password is wrong: the error says why, and not what.
    wrong = store.server.store_file(os.path.join(env.root, "wrong.conf"),
                                    text=f"host=127.0.0.1 port={store.port} dbname=pamtotp user=pamtotp_server "
                                         "password=not-the-password-7c1e")
    env.sensitive.add("not-the-password-7c1e")
    servers(env, wrong)
    refused = env.login("alice", totp(KEY, at=step * 30, step_offset=1))
    assert refused.rc == PAM_AUTHINFO_UNAVAIL and refused.logged(r"password authentication failed"), refused.log
    secrets = {KEY, code, *data["recovery_codes"], *fresh, *pgserver.PASSWORDS.values(), "not-the-password-7c1e"}
    capture = "\n".join(env.logs) + (open(env.setup_log).read() if os.path.exists(env.setup_log) else "")
    assert "LOG " in capture
    for secret in secrets:
        assert secret not in capture
        # Nor in PostgreSQL's own log (statements are logged there on error, never their parameters).
        assert secret not in store.server_log()


@pytest.mark.parametrize("text", [
    # libpq's reasons for refusing a connection string quote what they could not read (libpq 15:
    # `missing "=" after "..."`, `invalid percent-encoded token: "..."`, the whole URI, ...).
    "host=127.0.0.1 port={port} dbname=pamtotp user=pamtotp_server password={password} {password}-typo",
    "host=127.0.0.1 port={port} dbname=pamtotp user=pamtotp_server password='{password}",
    "postgresql://pamtotp_server:{password}@[127.0.0.1:{port}/pamtotp",
    "postgresql://pamtotp_server:{password}%zz@127.0.0.1:{port}/pamtotp",
    "postgresql://pamtotp_server@127.0.0.1:{port}/pamtotp?{password}",
])
def test_a_malformed_store_file_does_not_log_its_password(env, store, text):
    enroll(env, store)
    password = "pw-in-a-bad-file-4kq9"
    env.sensitive.add(password)
    path = store.server.store_file(os.path.join(env.root, "bad.conf"), text=text.format(port=store.port, password=password))
    servers(env, path)
    code, _ = fresh_code()
    login = env.login("alice", code)
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
    assert login.logged(r'store error user=alice rhost=- error="store \S+: the connection string is malformed'), login.log
    assert password not in login.log
    # The tool reads the same file the same way.
    proc = env.setup("status", "--user", "alice", "--store", path, check=False)
    assert proc.returncode != 0 and "the connection string is malformed" in proc.stderr, proc.stderr
    assert password not in proc.stderr + proc.stdout


@pytest.mark.parametrize("variable", ["PGHOSTADDR=127.0.0.1", "PGPORT=1", "PGSSLMODE=disable", "PGSERVICE=evil", "PGPASSWORD=x-y-z-secret"])
def test_libpq_environment_variables_are_refused_not_used(env, store, variable):
    """Inside sudo -E or su, the module's process has the caller's environment, from which libpq would
    fill in what the store file leaves out (which server, which CA): the module refuses to connect,
    and logs the variable's name, never its value."""
    enroll(env, store)
    code, _ = fresh_code()
    name, value = variable.split("=", 1)
    env.sensitive.add("x-y-z-secret")
    login = env.login("alice", code, service="test", process_env={name: value})
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
    assert login.logged(rf"store error user=alice rhost=- error=\"store \S+: the environment sets {name}, which would choose"), login.log
    assert value not in login.log or len(value) < 3
    # Without it, the same code works: nothing was recorded.
    assert env.login("alice", code, service="test").rc == PAM_SUCCESS


def test_a_database_without_the_schema_is_a_store_error(env, store):
    enroll(env, store)
    store.value("ALTER SCHEMA pam_totp RENAME TO pam_totp_away")
    try:
        login = env.login("alice", "123456", service="test")
        assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
        assert login.logged(r'store error user=alice rhost=- error="store \S+: the database has no pam_totp schema \(run pam-totp-setup store init\)'), login.log
    finally:
        store.value("ALTER SCHEMA pam_totp_away RENAME TO pam_totp")


@pytest.mark.parametrize("tls", [False, True])
def test_a_store_login_fits_in_a_64_kib_stack(env, store, tls_pg, tls):
    """ocserv runs PAM on a 96 KiB coroutine stack (test_stack.py): a store login goes through libpq's
    connection (name lookup, SCRAM, with TLS the OpenSSL handshake) and must fit in 64 KiB too."""
    from test_stack import STACK, login_on_stack
    database = tls_pg if tls else store
    empty(database)
    codes = enroll(env, database)["recovery_codes"]
    servers(env, database.file)
    code, _ = fresh_code()
    used = {}
    for name, answer in (("totp", code), ("recovery", codes[0]), ("replayed", code)):
        rc, high, out = login_on_stack(env, STACK, "alice", answer)
        assert rc == (PAM_AUTH_ERR if name == "replayed" else PAM_SUCCESS), f"{name} on a {STACK}-byte stack: {rc}\n{out}"
        used[name] = high
    print(f"store login stack high-water marks, {'TLS' if tls else 'plain'} (bytes):", used)
    assert all(high is not None and high < STACK for high in used.values()), used


@pytest.mark.parametrize("text", [
    "host=127.0.0.1 port={port}password={password} dbname=pamtotp user=pamtotp_server",
    "postgresql://pamtotp_server:Xk9/{password}@127.0.0.1:{port}/pamtotp",
])
def test_a_mistyped_value_is_logged_without_what_libpq_quotes(env, store, text):
    """A store file libpq parses but whose values it then rejects ('invalid integer value "…" for
    connection option "port"'): the quoted part may be part of the password, and is left out."""
    enroll(env, store)
    password = "pw-mistyped-7hq2"
    env.sensitive.add(password)
    path = store.server.store_file(os.path.join(env.root, "mistyped.conf"), text=text.format(port=store.port, password=password))
    servers(env, path)
    login = env.login("alice", "123456")
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: '), login.log
    assert password not in login.log and "Xk9" not in login.log, login.log


def test_the_callers_home_chooses_nothing(env, store, tls_pg):
    """Inside su, HOME is the caller's: libpq would read ~/.pg_service.conf, ~/.pgpass and
    ~/.postgresql/root.crt there. The module refuses service= and takes those files from the home of
    the user it runs as (root's), so a store file that leaves sslrootcert out trusts no CA of the
    caller's, and one that names a service is refused."""
    empty(tls_pg)
    enroll(env, tls_pg)
    home = os.path.join(env.root, "caller-home")
    os.makedirs(os.path.join(home, ".postgresql"))
    shutil.copy(tls_pg.server.ca, os.path.join(home, ".postgresql", "root.crt"))
    with open(os.path.join(home, ".pg_service.conf"), "w") as f:
        f.write(f"[evil]\nhost=127.0.0.1\nport={tls_pg.port}\ndbname=pamtotp\nuser=pamtotp_server\n"
                f"password={pgserver.PASSWORDS['pamtotp_server']}\nsslmode=verify-full\nsslrootcert={tls_pg.server.ca}\n")
    base = f"host=localhost port={tls_pg.port} dbname=pamtotp user=pamtotp_server password={pgserver.PASSWORDS['pamtotp_server']}"
    code, _ = fresh_code()
    cases = {
        "no-rootcert": (base + " sslmode=verify-full", r"not exist; Either provide the file or change sslmode"),
        "service": ("service=evil", r"the store file names a service"),
    }
    for name, (text, expected) in cases.items():
        path = tls_pg.server.store_file(os.path.join(env.root, name + ".conf"), text=text)
        servers(env, path)
        login = env.login("alice", code, process_env={"HOME": home})
        assert login.rc == PAM_AUTHINFO_UNAVAIL, (name, login.log)
        assert login.logged(expected), (name, login.log)
        assert home not in login.log, (name, login.log)


def test_an_enrollment_replaced_while_the_user_types_is_not_decided_with_the_old_one(env, store):
    """An admin re-enrolls (or resets) the user while a login waits at the prompt: the code of the
    enrollment the login read before the prompt is refused, not decided with the old secret."""
    enroll(env, store)
    code, _ = fresh_code()
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    env.sensitive.add(other)

    def reenroll():
        env.setup("enroll", "--user", "alice", "--key", other, "--force", "--no-verify", "--json", "--store", store.admin)

    rc, out, err, _ = login_with_a_pause_at_the_prompt(env, code, reenroll)
    assert rc == PAM_AUTHINFO_UNAVAIL, out + err
    assert re.search(r'state error user=alice rhost=- error="store \S+: the enrollment changed during the login', err), err
    # The new enrollment works at once; the old code does not.
    assert env.login("alice", code, service="b").rc == PAM_AUTH_ERR
    assert env.login("alice", totp(other), service="b").rc == PAM_SUCCESS
