"""Two real sshd servers that share nothing but one real PostgreSQL database (store=FILE).

Each server runs in a network namespace of its own (`ip netns`, a veth pair to the root namespace),
with its own private /etc/pam.d, state directory and log, as two hosts behind one name would; the
only thing they share is the database, which listens on 127.0.0.1 (for the tool) and on the root
side of each veth pair (for the servers). The stack is pam.d-examples/sshd-key-code with
`store=FILE store_timeout=2`. A code accepted by one server is refused by the other within the same
30-second step; a recovery code used on one is gone on the other; 32 logins at once with one valid
code, half on each server, accept exactly one; with the database stopped or frozen (before the
prompt, or while the user types the code) every login is refused within the bound and sshd keeps
serving; started again, logins work and nothing recorded before is lost.

Creates network namespaces, veth links, users and servers: run it under the machine's test lock,
`flock /tmp/pamtotp-system.lock python3 -m pytest -q Tests/e2e/test_store_e2e.py`. Everything is
removed at the end, also when a test fails. Ports: PAMTOTP_STORE_PG_PORT (default 25435) for
PostgreSQL, PAMTOTP_STORE_SSH_PORT1/2 (22041, 22042) for the servers; addresses 10.231.1.0/24 and
10.231.2.0/24, refused if the machine already uses them.
"""
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import types

import pytest
from e2e_support import KEY, port

import pgserver
import testbed
from testbed import ASKPASS, Sshd, oathtool, ssh, wait_for_step

STORE_TIMEOUT = 2


# How long a refused ssh login may take, per PAM conversation that met the database down: the module
# waits at most STORE_TIMEOUT (libpq's connect_timeout for a connection, poll() for a statement),
# and sshd then pads a failed authentication to a power-of-two multiple of a small per-user delay
# (OpenSSH's ensure_minimum_time_since), which can double it; two seconds for ssh itself.
def refusal_bound(conversations):
    return conversations * 2 * STORE_TIMEOUT + 2


class NetworkNamespace:
    """`ip netns add NAME` and a veth pair: ROOT_ADDRESS/24 (and the clients' addresses) in the root
    namespace, INSIDE/24 in the namespace (with lo up). `remove()` deletes both."""

    def __init__(self, name, link, root_address, inside_address, clients=()):
        self.name, self.link = name, link
        self.root_address, self.address = root_address, inside_address
        # More addresses on the root side: other clients, since the module throttles a user per
        # source after three failures (a refused ssh login is three, one per prompt).
        self.clients = list(clients)
        self.created = False

    def create(self):
        def ip(*args):
            subprocess.run(["ip", *args], check=True, capture_output=True, text=True)
        ip("netns", "add", self.name)
        self.created = True
        ip("link", "add", self.link + "r", "type", "veth", "peer", "name", self.link + "n")
        ip("link", "set", self.link + "n", "netns", self.name)
        for address in [self.root_address, *self.clients]:
            ip("addr", "add", address + "/24", "dev", self.link + "r")
        ip("link", "set", self.link + "r", "up")
        ip("-n", self.name, "addr", "add", self.address + "/24", "dev", self.link + "n")
        ip("-n", self.name, "link", "set", self.link + "n", "up")
        ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def remove(self):
        if not self.created:
            return
        subprocess.run(["ip", "link", "del", self.link + "r"], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        self.created = False


def check_addresses_free(subnets):
    used = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    for subnet in subnets:
        prefix = subnet.rsplit(".", 1)[0] + "."
        if re.search(r"inet " + re.escape(prefix), used):
            pytest.fail(f"addresses in {subnet} are already in use on this machine; refusing to run beside them")


class Site:
    """Two hosts (network namespaces with an sshd each) and the database they share."""

    def __init__(self, stack):
        self.stack = stack
        try:
            testbed.check_prerequisites()
        except testbed.Missing as missing:
            pytest.fail(str(missing))
        if not shutil.which("ip"):
            pytest.fail("ip (iproute2) is not installed: run `make deps`")
        check_addresses_free(["10.231.1.0/24", "10.231.2.0/24"])
        tag = str(os.getpid() % 100000)
        self.hosts = []
        for n in (1, 2):
            ns = NetworkNamespace(f"pamtotp-{tag}-{n}", f"pt{tag}{n}", f"10.231.{n}.1", f"10.231.{n}.2",
                                  [f"10.231.{n}.{c}" for c in (11, 12, 13)])
            stack.callback(ns.remove)
            self.hosts.append(ns.create())
        try:
            self.pg = pgserver.PostgreSQL("PAMTOTP_STORE_PG_PORT", 25435,
                                          listen=("127.0.0.1", *(h.root_address for h in self.hosts)))
        except testbed.Missing as missing:
            pytest.fail(str(missing))
        stack.callback(self.pg.destroy)
        self.pg.start()
        # The tool's store file (the admin role), kept apart from both hosts.
        self.tool_dir = tempfile.mkdtemp(prefix="pamtotp-e2e-store-tool-")
        stack.callback(shutil.rmtree, self.tool_dir, True)
        self.admin_store = self.pg.store_file(os.path.join(self.tool_dir, "store.conf"), role="pamtotp_admin")
        init = self.tool("store", "init", "--grant", "pamtotp_server")
        assert init.returncode == 0, init.stderr
        # Each host: its own scratch directory (pam.d, state directory, log), its own store file
        # naming the database by the root side of its veth pair, its own sshd in its namespace.
        self.beds, self.servers = [], []
        for n, host in enumerate(self.hosts, start=1):
            bed = testbed.Bed(prefix=f"pamtotp-e2e-store{n}-")
            stack.callback(bed.close)
            self.beds.append(bed)
            store = self.pg.store_file(os.path.join(bed.root, "store.conf"), host=host.root_address)
            bed.install_example("sshd-key-code", "sshd", f"store={store} store_timeout={STORE_TIMEOUT}")
            # MaxStartups: the parallel test's 16 clients per server must all reach PAM.
            server = Sshd(bed, port(f"PAMTOTP_STORE_SSH_PORT{n}", 22040 + n), "publickey,keyboard-interactive",
                          address=host.address, netns=host.name, options=["MaxStartups 64:30:128"])
            self.servers.append(bed.start(server))

    def tool(self, *args, stdin=""):
        """build/pam-totp-setup against the store, as the admin role."""
        return subprocess.run([testbed.SETUP, *args, "--store", self.admin_store, "--config", "/nonexistent"],
                              input=stdin, capture_output=True, text=True, timeout=60)

    def user(self, name):
        """A throwaway account enrolled in the store (once, for both hosts), with a key authorized on
        both servers; returns (user, recovery codes, {server index: key})."""
        user = self.beds[0].user(name)
        wait_for_step()
        proc = self.tool("enroll", "--user", user.name, "--key", KEY, "--json", "--qr", "none", stdin=oathtool(KEY) + "\n")
        assert proc.returncode == 0, proc.stderr
        keys = {i: server.authorize(user) for i, server in enumerate(self.servers)}
        return user, json.loads(proc.stdout)["recovery_codes"], keys

    def login(self, i, user, key, code, client=0, where=None):
        """ssh to host i's server from the root side of its link, from its address number `client`
        (0: the link's own, 10.231.N.1; 1, 2, 3: 10.231.N.11, .12, .13): (exit status, seconds,
        prompts). `where`: a directory for the client's askpass (default: the host's scratch
        directory), one per client that runs at the same time as others."""
        host = self.hosts[i]
        source = [host.root_address, *host.clients][client]
        start = time.monotonic()
        rc, out, prompts = ssh(types.SimpleNamespace(root=where) if where else self.beds[i], self.servers[i].port, user,
                               code=[code], identity=key, source=source, host=host.address)
        elapsed = time.monotonic() - start
        if rc == 0:
            assert out == user.name
        return rc, elapsed, prompts

    def last_step(self, user):
        rows = self.pg.psql(f"SELECT last_step FROM pam_totp.state WHERE user_name = '{user.name}'", "pamtotp").strip()
        return int(rows) if rows else None

    def recovery_left(self, user):
        return int(self.pg.psql(f"SELECT count(*) FROM pam_totp.recovery_codes WHERE user_name = '{user.name}'", "pamtotp"))


@pytest.fixture(scope="module")
def site():
    with contextlib.ExitStack() as stack:
        yield Site(stack)


def step():
    return int(time.time() // 30)


def test_the_two_servers_share_no_state_directory_and_see_the_database_only(site):
    # Each host has its own network: a host's address is not reachable from the other's namespace.
    for i, host in enumerate(site.hosts):
        other = site.hosts[1 - i]
        probe = subprocess.run(["ip", "netns", "exec", host.name, "ping", "-c1", "-W1", other.address],
                               capture_output=True)
        assert probe.returncode != 0
    # The two servers' state directories differ, and neither gets a file from a login.
    assert site.beds[0].data != site.beds[1].data
    user, _, keys = site.user("pamtotp-st0")
    wait_for_step(margin=8)
    for i in (0, 1):
        rc, _, _ = site.login(i, user, keys[i], oathtool(KEY, offset=i))
        assert rc == 0, site.beds[i].log()
    assert os.listdir(site.beds[0].data) == [] and os.listdir(site.beds[1].data) == []
    for i in (0, 1):
        assert re.search(rf"success user={user.name} rhost=10\.231\.{i + 1}\.1 method=totp", site.beds[i].log())


def test_a_code_accepted_by_one_server_is_refused_by_the_other_in_the_same_step(site):
    user, _, keys = site.user("pamtotp-st1")
    wait_for_step(margin=10)
    now = step()
    code = oathtool(KEY)
    rc, _, _ = site.login(0, user, keys[0], code)
    assert rc == 0, site.beds[0].log()
    rc, _, prompts = site.login(1, user, keys[1], code)
    assert step() == now, "the 30-second step ended during the test; the refusal below proves nothing"
    assert rc != 0 and any("Verification code" in p for p in prompts)
    assert re.search(rf"failure user={user.name} rhost=10\.231\.2\.1 .*reason=replayed-code", site.beds[1].log())
    assert f"success user={user.name}" not in site.beds[1].log()
    assert site.last_step(user) == now
    # And the other way round with the next step's code (inside the window of ±1).
    rc, _, _ = site.login(1, user, keys[1], oathtool(KEY, offset=1), client=1)
    assert rc == 0, site.beds[1].log()
    assert site.login(0, user, keys[0], oathtool(KEY, offset=1))[0] != 0
    assert re.search(rf"failure user={user.name} rhost=10\.231\.1\.1 .*reason=replayed-code", site.beds[0].log())
    assert site.last_step(user) == now + 1


def test_a_recovery_code_used_on_one_server_is_gone_on_the_other(site):
    user, recovery, keys = site.user("pamtotp-st2")
    assert site.recovery_left(user) == 10
    rc, _, _ = site.login(1, user, keys[1], recovery[0])
    assert rc == 0, site.beds[1].log()
    assert f"success user={user.name} rhost=10.231.2.1 method=recovery recovery-codes-left=9" in site.beds[1].log()
    assert site.recovery_left(user) == 9
    rc, _, _ = site.login(0, user, keys[0], recovery[0])
    assert rc != 0
    assert re.search(rf"failure user={user.name} .*reason=used-recovery-code", site.beds[0].log())
    # Another one still works on the first server, and counts from what the second left.
    rc, _, _ = site.login(0, user, keys[0], recovery[1], client=1)
    assert rc == 0, site.beds[0].log()
    assert f"success user={user.name} rhost=10.231.1.11 method=recovery recovery-codes-left=8" in site.beds[0].log()
    assert site.recovery_left(user) == 8


def test_database_down_refuses_within_the_bound_then_nothing_is_lost(site):
    user, recovery, keys = site.user("pamtotp-st3")
    wait_for_step(margin=25)
    before = step()
    first = oathtool(KEY)
    assert site.login(0, user, keys[0], first)[0] == 0, site.beds[0].log()
    assert site.login(1, user, keys[1], recovery[0])[0] == 0, site.beds[1].log()
    assert site.last_step(user) == before and site.recovery_left(user) == 9

    successes = [bed.log().count(f"success user={user.name}") for bed in site.beds]

    def refused_by_both(why):
        for i in (0, 1):
            errors = site.beds[i].log().count(f"store error user={user.name}")
            rc, elapsed, prompts = site.login(i, user, keys[i], oathtool(KEY, offset=1))
            log = site.beds[i].log()
            assert rc != 0, f"{why}: a login got in on server {i + 1}:\n{log}"
            # Refused before any prompt, with the log line the guide tells admins to look for, once
            # per PAM conversation that sshd ran for this connection.
            assert not any("Verification code" in p for p in prompts), prompts
            conversations = log.count(f"store error user={user.name}") - errors
            assert conversations >= 1, log[-2000:]
            bound = refusal_bound(conversations)
            assert elapsed < bound, f"{why}: server {i + 1} took {elapsed:.1f} s (bound {bound} s)"
            assert log.count(f"success user={user.name}") == successes[i], log[-2000:]
            # sshd is still there and still serving: it did not hang or die.
            assert site.servers[i].process.poll() is None
            with socket.create_connection((site.hosts[i].address, site.servers[i].port), timeout=5) as s:
                assert s.recv(64).startswith(b"SSH-2.0-")
            print(f"{why}: server {i + 1} refused in {elapsed:.2f} s ({conversations} PAM conversation(s))")

    # Stopped: nothing listens, the connection is refused at once.
    site.pg.stop()
    refused_by_both("database stopped")
    # Frozen (SIGSTOP on every postgres process): connections are accepted by the kernel and then
    # nothing answers; libpq's connect_timeout (store_timeout) ends each wait.
    site.pg.restart()
    site.pg.pause()
    try:
        refused_by_both("database frozen")
    finally:
        site.pg.resume()
    site.pg.stop()
    site.pg.restart()
    # Back: nothing recorded before the outage was lost, and nothing was recorded during it.
    assert site.last_step(user) == before and site.recovery_left(user) == 9
    still_in_window = step() <= before + 1
    assert site.login(1, user, keys[1], first, client=1)[0] != 0
    if still_in_window:
        assert re.search(rf"failure user={user.name} rhost=10\.231\.2\.11 .*reason=replayed-code", site.beds[1].log())
    assert site.login(0, user, keys[0], recovery[0], client=1)[0] != 0
    assert re.search(rf"failure user={user.name} rhost=10\.231\.1\.11 .*reason=used-recovery-code", site.beds[0].log())
    # Logins work again, on both servers, and the newest step moves forward once.
    wait_for_step(margin=8)
    now = step()
    code = oathtool(KEY, offset=1)
    rc, _, _ = site.login(1, user, keys[1], code)
    assert rc == 0, site.beds[1].log()
    assert site.login(0, user, keys[0], code, client=2)[0] != 0
    assert site.last_step(user) == now + 1
    assert site.login(0, user, keys[0], recovery[1])[0] == 0, site.beds[0].log()
    assert site.recovery_left(user) == 8


def test_32_logins_with_one_code_spread_over_both_servers_accept_exactly_one(site):
    user, _, keys = site.user("pamtotp-st4")
    clients = [tempfile.mkdtemp(prefix="client-", dir=site.tool_dir) for _ in range(32)]
    wait_for_step(margin=15)
    now = step()
    code = oathtool(KEY)
    results = [None] * len(clients)
    start = threading.Barrier(len(clients))

    def client(k):
        start.wait()
        # Half to each server, from four addresses per link.
        results[k] = site.login(k % 2, user, keys[k % 2], code, client=(k // 2) % 4, where=clients[k])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results), "an ssh client did not finish"
    assert step() == now, "the 30-second step ended during the test; run it again"
    logs = site.beds[0].log() + site.beds[1].log()
    accepted = [k for k, (rc, _, _) in enumerate(results) if rc == 0]
    assert len(accepted) == 1, (accepted, logs[-3000:])
    assert logs.count(f"success user={user.name} ") == 1
    # Every client got as far as the module (sshd dropped none before authentication): each was
    # prompted for the code or told it must wait (throttled: the refusals before it were failures).
    assert all(prompts for _, _, prompts in results), [prompts for _, _, prompts in results]
    assert logs.count("reason=replayed-code") >= 1
    assert site.last_step(user) == now


HOLDING_ASKPASS = ASKPASS.replace("queue = answers.get(kind) or []", """queue = answers.get(kind) or []
import os, time
hold = os.path.join(os.path.dirname(path), "hold")
if kind == "code" and os.path.exists(hold):
    # The user is at the prompt: say so, and type the code once the test lets go.
    open(os.path.join(os.path.dirname(path), "asked"), "w").close()
    deadline = time.time() + 30
    while os.path.exists(hold) and time.time() < deadline:
        time.sleep(0.02)""")


def test_database_frozen_while_the_user_types_the_code(site):
    user, _, keys = site.user("pamtotp-st5")
    where = tempfile.mkdtemp(prefix="client-", dir=site.tool_dir)
    with open(os.path.join(where, "askpass"), "w") as f:
        f.write(HOLDING_ASKPASS)
    os.chmod(os.path.join(where, "askpass"), 0o755)
    open(os.path.join(where, "hold"), "w").close()
    wait_for_step(margin=20)
    now = step()
    code = oathtool(KEY)
    result = []
    thread = threading.Thread(target=lambda: result.append(site.login(0, user, keys[0], code, where=where)))
    thread.start()
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(where, "asked")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.path.exists(os.path.join(where, "asked")), "the code prompt never came"
    # The module connected before the prompt; now the database stops answering, and the code is typed.
    errors = site.beds[0].log().count(f"error user={user.name}")
    site.pg.pause()
    try:
        frozen = time.monotonic()
        os.remove(os.path.join(where, "hold"))
        thread.join(timeout=60)
        elapsed = time.monotonic() - frozen
    finally:
        site.pg.resume()
    assert result, "ssh did not return within 60 s"
    rc, _, prompts = result[0]
    log = site.beds[0].log()
    assert rc != 0, log[-2000:]
    assert f"success user={user.name}" not in log
    new = [line for line in log.splitlines() if f"error user={user.name}" in line][errors:]
    assert new, log[-2000:]
    assert f"no answer from the store within {STORE_TIMEOUT} s" in new[0], new
    assert elapsed < refusal_bound(len(new)), f"{elapsed:.1f} s for {len(new)} PAM conversation(s)"
    print(f"frozen at the prompt: refused {elapsed:.2f} s after the code was typed; {new}")
    assert site.servers[0].process.poll() is None
    # Nothing was recorded: the database never saw the decision, so the same code still works.
    assert site.last_step(user) is None
    if step() == now:
        rc, _, _ = site.login(1, user, keys[1], code)
        assert rc == 0, site.beds[1].log()
        assert site.last_step(user) == now
