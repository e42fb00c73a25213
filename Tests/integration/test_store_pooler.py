"""The store behind a pooler on the server (docs/SEVERAL-SERVERS.md, "Many logins: a pooler on each
server"): a real PgBouncer, set up by running the guide's blocks as written (tools/pgbouncer.py says
what is substituted and why), as Debian's unit runs it (user postgres), on a Unix socket in a
temporary directory only root and postgres can enter, in front of a real PostgreSQL with TLS
(tools/pgserver.py). The module (build/pamdrive, real libpam) uses the guide's store file,
`host=<socket dir> port=6432 dbname=pamtotp user=root`, with no password: PgBouncer lets root in by
its peer credentials and logs in to PostgreSQL as pamtotp_server, with SCRAM over TLS (verify-full).

Two "servers" are two PAM services with state directories of their own, as in test_store.py.
PgBouncer listens on no TCP port; PostgreSQL on $PAMTOTP_PG_PORT_POOLER (25450), and for the
failover a primary and a standby on $PAMTOTP_PG_PORT_POOLER_PRIMARY (25451) and
$PAMTOTP_PG_PORT_POOLER_STANDBY (25452). Every process is stopped by the PID it was started with.
"""
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from test_store import Partition, abandoned_lock_is_ended, enroll, fresh_code, start_login, timed_login
from pamtotp_it import KEY, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, PAMDRIVE, ROOT, SETUP, totp, wait_for_fresh_step

sys.path.insert(0, os.path.join(ROOT, "tools"))
import pgbouncer  # noqa: E402
import pgserver  # noqa: E402
import testbed  # noqa: E402

# store_timeout for these tests, and the most any refusal may take (test_store.py's).
TIMEOUT = 2
BOUND = 8.0
ORPHANS = ("SELECT count(*) FROM pg_stat_activity WHERE usename = 'pamtotp_server' AND application_name = 'pam_totp' "
           "AND state = 'idle in transaction'")


def init_store(pg, directory):
    """`store init --grant pamtotp_server` with the owner's role, straight to the database (the tool
    does not use the pooler); returns the tool's store file."""
    admin = pg.store_file(os.path.join(directory, "admin.conf"), role="pamtotp_admin")
    proc = subprocess.run([SETUP, "store", "init", "--grant", "pamtotp_server", "--store", admin, "--config",
                           os.path.join(directory, "no-such.conf")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return admin


class Pooled:
    """PostgreSQL with the schema, and PgBouncer in front of it as the guide sets it up."""

    def __init__(self, pg, bouncer, admin):
        self.pg, self.bouncer, self.admin = pg, bouncer, admin
        self.file = bouncer.store_file()

    def sql(self, statement):
        return self.pg.psql(statement, "pamtotp")

    def value(self, statement):
        return self.sql(statement).strip()


@pytest.fixture(scope="module")
def world():
    if os.geteuid() != 0:
        pytest.fail("the integration tests must run as root, as the module does under sshd")
    directory = tempfile.mkdtemp(prefix="pamtotp-pooler-it-")
    pg = bouncer = None
    try:
        pg = pgserver.PostgreSQL("PAMTOTP_PG_PORT_POOLER", 25450, tls=True).start()
        admin = init_store(pg, directory)
        bouncer = pgbouncer.PgBouncer(pg).install().start()
        yield Pooled(pg, bouncer, admin)
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    finally:
        if bouncer:
            bouncer.destroy()
        if pg:
            pg.destroy()
        shutil.rmtree(directory)


@pytest.fixture
def pooled(world, env):
    """Empty tables, PostgreSQL and PgBouncer running, and two servers through the pooler: service
    `test` (state in env.state) and service `b` (state in a directory of its own)."""
    if world.pg.proc is None or world.pg.proc.poll() is not None:
        world.pg.restart()
    world.pg.resume()
    if world.bouncer.proc is None or world.bouncer.proc.poll() is not None:
        world.bouncer.stop()
        world.bouncer.start()
    world.bouncer.resume()
    world.sql("TRUNCATE pam_totp.enrollments, pam_totp.recovery_codes, pam_totp.state")
    env.sensitive.update(pgserver.PASSWORDS.values())
    env.state_b = os.path.join(env.root, "state-b")
    servers(env, world.file)
    yield world
    for directory in (env.state, env.state_b):
        assert not os.path.exists(directory) or os.listdir(directory) == [], os.listdir(directory)


def servers(env, file):
    env.service("test", stack=[f"auth required {{module}} state={{state}} store={file} store_timeout={TIMEOUT} "
                               f"retries=1 throttle_free=20"])
    env.service("b", stack=[f"auth required {{module}} state={env.state_b} config={{config}} store={file} "
                            f"store_timeout={TIMEOUT} retries=1 throttle_free=20"])


def psql(conninfo, sql="SELECT current_user", as_user=None):
    """psql with libpq's defaults (no ~/.pgpass, no environment): as root, or as `as_user`."""
    argv = ["psql", conninfo, "-XAtc", sql]
    if as_user:
        argv = ["setpriv", f"--reuid={as_user}", "--regid=nogroup", "--clear-groups", *argv]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=dict(environ, HOME="/nonexistent"))


def listening_tcp(pid):
    """The TCP sockets in LISTEN state that process `pid` holds (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                found.append(fields[1])
    return found


# 1. The guide's setup.

def test_the_guide_as_written_pools_logins_through_a_root_only_socket(env, pooled):
    bouncer = pooled.bouncer
    store = open(pooled.file).read()
    assert "password=" not in store and f"host={bouncer.socket_dir} port=6432 dbname=pamtotp user=root" in store
    # Only the socket: no TCP port; a directory only postgres (and root) can enter; a socket only its owner can open.
    assert listening_tcp(bouncer.proc.pid) == []
    st = os.stat(bouncer.socket_dir)
    assert (st.st_uid, oct(st.st_mode & 0o7777)) == (pwd.getpwnam(bouncer.user).pw_uid, "0o700")
    assert oct(os.stat(bouncer.socket).st_mode & 0o777) == "0o600"
    # The password is in PgBouncer's userlist, which only postgres reads.
    userlist = os.stat(bouncer.path("etc/pgbouncer/userlist.txt"))
    assert (userlist.st_uid, oct(userlist.st_mode & 0o777)) == (pwd.getpwnam(bouncer.user).pw_uid, "0o600")

    codes = enroll(env, pooled)["recovery_codes"]
    code, step = fresh_code()
    login = env.login("alice", code)
    assert login.rc == PAM_SUCCESS, login.log + bouncer.log()
    # The other server refuses the same code: one truth, through the pooler.
    replay = env.login("alice", code, service="b")
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log
    assert env.login("alice", codes[0], service="b").rc == PAM_SUCCESS
    assert env.login("alice", codes[0]).rc == PAM_AUTH_ERR
    assert pooled.value("SELECT last_step FROM pam_totp.state WHERE user_name = 'alice'") == str(step)
    # What reached PostgreSQL: PgBouncer's connections, as pamtotp_server, over TLS, and only a few.
    rows = pooled.pg.psql("SELECT a.usename, a.client_addr, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
                          "WHERE a.datname = 'pamtotp'").split()
    assert rows and all(row == "pamtotp_server|127.0.0.1|t" for row in rows), rows
    assert len(rows) <= int(bouncer.setting("default_pool_size"))


def test_32_concurrent_logins_through_the_pooler_accept_one_code_once(env, pooled):
    enroll(env, pooled)
    code, step = fresh_code()
    procs = [start_login(env, "alice", code, service="test" if n % 2 else "b", rhost=f"192.0.2.{n + 1}") for n in range(32)]
    results = [env.finish(p) for p in procs]
    rcs = [r.rc for r in results]
    assert rcs.count(PAM_SUCCESS) == 1, (rcs, [r.log for r in results if r.rc not in (PAM_SUCCESS, PAM_AUTH_ERR)])
    others = [r for r in results if r.rc != PAM_SUCCESS]
    assert all(r.rc == PAM_AUTH_ERR and r.logged(r"reason=replayed-code") for r in others), [r.log for r in others]
    assert not any(re.search(r"store error|state error", r.log) for r in results)
    last_step, version, state = pooled.sql(
        "SELECT last_step, version, state FROM pam_totp.state WHERE user_name = 'alice'").split("|", 2)
    assert last_step == str(step) and version == "32", (last_step, version)
    assert re.search(r"^failures 31$", state, re.M), state
    # 32 logins at once, and never more database connections than the pool.
    assert int(pooled.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'pamtotp'")) <= int(
        pooled.bouncer.setting("default_pool_size"))


def test_only_root_reaches_the_pooler(env, pooled):
    bouncer = pooled.bouncer
    as_root = f"host={bouncer.socket_dir} port=6432 dbname=pamtotp user=root"
    assert psql(as_root).stdout.strip() == "pamtotp_server"
    # Another user cannot open the socket at all; PgBouncer's own user can, and is refused.
    refused = psql(as_root, as_user="nobody")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused.stderr
    # Were the directory and the socket open to all by mistake, PgBouncer would still let no one but
    # root in, and root only as the user root to the database pamtotp.
    os.chmod(bouncer.socket_dir, 0o755)
    os.chmod(bouncer.socket, 0o777)
    try:
        for user, conninfo, why in [
                ("nobody", as_root, "unix socket login rejected"), (bouncer.user, as_root, "unix socket login rejected"),
                ("nobody", as_root.replace("user=root", "user=nobody"), "login rejected"),
                ("nobody", as_root.replace("user=root", "user=pamtotp_server"), "login rejected"),
                (None, as_root.replace("user=root", "user=pamtotp_server"), "login rejected"),
                (None, as_root.replace("dbname=pamtotp", "dbname=postgres"), "login rejected"),
                (None, as_root.replace("dbname=pamtotp", "dbname=pgbouncer"), "not allowed")]:
            refused = psql(conninfo, as_user=user)
            assert refused.returncode != 0 and f"FATAL:  {why}" in refused.stderr, (user, conninfo, refused.stderr)
    finally:
        os.chmod(bouncer.socket_dir, 0o700)
        os.chmod(bouncer.socket, 0o600)
    # And the module, as root, still gets in.
    enroll(env, pooled)
    code, _ = fresh_code()
    assert env.login("alice", code).rc == PAM_SUCCESS


# 2. Transaction pooling and the module's transactions.

def test_no_setting_of_the_module_stays_on_a_pooled_connection(env, pooled):
    """Each transaction sets idle_in_transaction_session_timeout for itself (set_config(…, true)):
    a session setting would stay on the pooled connection for whoever gets it next, and would not
    be on the connection a later transaction of the same login runs on."""
    enroll(env, pooled)
    code, _ = fresh_code()
    procs = [start_login(env, "alice", code, service="test" if n % 2 else "b", rhost=f"192.0.2.{n + 1}") for n in range(16)]
    assert [env.finish(p).rc for p in procs].count(PAM_SUCCESS) == 1
    # As many clients at once as the pool has connections, each in a transaction: together they see
    # every pooled connection.
    size = int(pooled.bouncer.setting("default_pool_size"))
    conninfo = f"host={pooled.bouncer.socket_dir} port=6432 dbname=pamtotp user=root"
    argv = ["psql", conninfo, "-XAt", "-c", "BEGIN", "-c",
            "SELECT pg_backend_pid(), current_setting('idle_in_transaction_session_timeout'), pg_sleep(1)", "-c", "COMMIT"]
    readers = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(size)]
    seen = {}
    for reader in readers:
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        pid, setting, _ = [line for line in out.splitlines() if "|" in line][0].split("|")
        seen[pid] = setting
    assert len(seen) >= 2 and set(seen.values()) == {"0"}, seen


class Relay(Partition):
    """A relay on a Unix socket (in a directory of its own, root's) to PgBouncer's socket
    (test_store.Partition): as if the module's process had frozen or its host vanished while
    holding a row lock."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="pamtotp-relay-")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(os.path.join(self.dir, ".s.PGSQL.6432"))
        listener.listen()

        def connect():
            server = socket.socket(socket.AF_UNIX)
            server.connect(target)
            return server
        super().__init__(listener, connect)

    def close(self):
        super().close()
        shutil.rmtree(self.dir)


def test_a_login_that_goes_silent_holding_a_row_lock_through_the_pooler_does_not_lock_the_user_out(env, pooled):
    """PgBouncer keeps the database connection of a client that went quiet in a transaction (it has
    no idle_transaction_timeout here): the transaction's own idle_in_transaction_session_timeout,
    set through the pooler, must end it on the database."""
    codes = enroll(env, pooled)["recovery_codes"]
    code, step = fresh_code()
    assert env.login("alice", code).rc == PAM_SUCCESS
    relay = Relay(pooled.bouncer.socket)
    try:
        path = pooled.pg.store_file(os.path.join(env.root, "relay.conf"),
                                    text=f"host={relay.dir} port=6432 dbname=pamtotp user=root")
        abandoned_lock_is_ended(env, path, relay, step, lambda: pooled.value(ORPHANS))
    finally:
        relay.close()
    assert env.login("alice", codes[0]).rc == PAM_SUCCESS


# 3. Outages: bounded, closed, nothing lost.

def test_a_stopped_pooler_refuses_at_once_and_logins_work_when_it_is_back(env, pooled):
    codes = enroll(env, pooled)["recovery_codes"]
    code, _ = fresh_code()
    pooled.bouncer.stop()
    try:
        login, seconds = timed_login(env, "alice", code)
    finally:
        pooled.bouncer.start()
    assert login.rc == PAM_AUTHINFO_UNAVAIL and seconds < 1.5, (login.rc, seconds, login.log)
    assert login.prompts == []
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*No such file or directory'), login.log
    assert env.login("alice", code).rc == PAM_SUCCESS
    assert env.login("alice", codes[0]).rc == PAM_SUCCESS


def test_a_frozen_pooler_refuses_within_the_bound(env, pooled):
    enroll(env, pooled)
    code, _ = fresh_code()
    pooled.bouncer.pause()
    try:
        login, seconds = timed_login(env, "alice", code)
    finally:
        pooled.bouncer.resume()
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.log
    assert TIMEOUT - 0.5 <= seconds < BOUND, seconds
    assert login.logged(r'store error user=alice rhost=- error="store \S+: cannot connect: .*timeout'), login.log
    assert env.login("alice", code).rc == PAM_SUCCESS


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_a_database_down_behind_the_pooler_refuses_within_the_bound_and_nothing_is_lost(env, pooled, outage):
    codes = enroll(env, pooled)["recovery_codes"]
    code, _ = fresh_code(margin=15)
    assert env.login("alice", code).rc == PAM_SUCCESS
    env.service("nullok", stack=[f"auth required {{module}} state={{state}} store={pooled.file} store_timeout={TIMEOUT} nullok",
                                 "auth required pam_permit.so"])
    if outage == "stopped":
        pooled.pg.stop()
    else:
        pooled.pg.pause()
    try:
        refused = [timed_login(env, "alice", codes[0]), timed_login(env, "bob", service="nullok")]
    finally:
        if outage == "stopped":
            pooled.pg.restart()
        else:
            pooled.pg.resume()
    for login, seconds in refused:
        assert login.rc == PAM_AUTHINFO_UNAVAIL and seconds < BOUND, (login.rc, seconds, login.log)
        assert login.logged(r"(store|state) error user=(alice|bob) "), login.log
    # Back: logins work again within about server_login_retry (1 s), and nothing was lost.
    retry = float(pooled.bouncer.setting("server_login_retry"))
    deadline = time.monotonic() + retry + 2 * TIMEOUT + 1
    while True:
        login = env.login("alice", codes[0])
        if login.rc == PAM_SUCCESS or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert login.rc == PAM_SUCCESS, login.log + pooled.bouncer.log()
    replay = env.login("alice", code)
    assert replay.rc == PAM_AUTH_ERR and replay.logged(r"reason=replayed-code"), replay.log


# 4. Failover: the pooler names the primary; the module's store file does not change.

def test_failover_behind_the_pooler_changes_nothing_on_the_module_and_loses_nothing(env, tmp_path):
    primary = pgserver.PostgreSQL("PAMTOTP_PG_PORT_POOLER_PRIMARY", 25451, tls=True).start()
    standby = bouncer = None
    try:
        # The standby's postgresql.conf, copied from the primary's, names the primary's certificate
        # and key: both are "localhost" to PgBouncer's verify-full, with the same CA.
        standby = pgserver.PostgreSQL("PAMTOTP_PG_PORT_POOLER_STANDBY", 25452).start(standby_of=primary)
        admin = init_store(primary, str(tmp_path))
        bouncer = pgbouncer.PgBouncer(primary).install().start()
        file = bouncer.store_file()
        before = open(file).read()
        env.service("test", stack=[f"auth required {{module}} state={{state}} store={file} store_timeout={TIMEOUT} "
                                   f"retries=1 throttle_free=20"])
        codes = env.enroll("alice", extra=["--store", admin])["recovery_codes"]
        env.sensitive.update(pgserver.PASSWORDS.values())
        code, _ = fresh_code()
        assert env.login("alice", code).rc == PAM_SUCCESS
        assert env.login("alice", codes[0]).rc == PAM_SUCCESS

        primary.stop()
        down, seconds = timed_login(env, "alice", codes[1])
        assert down.rc == PAM_AUTHINFO_UNAVAIL and seconds < BOUND, (down.rc, seconds, down.log)
        standby.promote()
        # The primary's name now leads to the promoted standby: here, pgbouncer.ini's host line, reloaded.
        ini = open(bouncer.ini).read()
        old = f"host=localhost port={primary.port} "
        assert ini.count(old) == 1
        open(bouncer.ini, "w").write(ini.replace(old, f"host=localhost port={standby.port} "))
        bouncer.reload()
        deadline = time.monotonic() + 10
        while True:
            login = env.login("alice", codes[1])
            if login.rc == PAM_SUCCESS or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert login.rc == PAM_SUCCESS, login.log + bouncer.log()
        assert open(file).read() == before
        # What was accepted before the failover stays used (synchronous replication, as the guide says).
        assert env.login("alice", code).rc == PAM_AUTH_ERR
        assert env.login("alice", codes[0]).rc == PAM_AUTH_ERR
    finally:
        if bouncer:
            bouncer.destroy()
        if standby:
            standby.destroy()
        primary.destroy()
