#!/usr/bin/env python3
"""make bench: every target of issue 13, measured in one interleaved run of pam_totp.so against
pam_google_authenticator.so and pam_oath.so, with pam_permit.so as the floor (the cost of a process
and of libpam). Each module is configured for the same work: TOTP, window ±1, replay prevention,
throttling where the module has it. Every login uses a valid code for its user.

A variant of pam_totp.so built only for this (make bench-tools: the same objects linked with
bench/variants.c) runs alongside, to measure what durability costs (docs/DESIGN.md, "Durability"):
totp-syncall fsyncs every state write, file and directory, as the module did before it did so only
for writes a crash must not lose.

Runs as root in a private mount namespace: pamtester reads /etc/pam.d, and the C library's own user
database (nss_files) reads /etc/passwd and /etc/group, so the namespace gets its own of each (bind
mounts; the machine's files are not touched). The users are the system's as far as every module can
tell, looked up as on a real server. (nss_wrapper, which the tests use, parses its whole file at a
process's first lookup, some 4,600 instructions per line: with 700 users about 1 ms per cold login of
a module that looks the user up, as pam-totp and google-authenticator do and pam_oath does not.) Prints the results, with ratios and a verdict
per target, and writes docs/BENCHMARKS.md. Environment: BENCH_ROUNDS (cold rounds, default 3),
BENCH_PER_ROUND (logins per module per cold round, default 100), BENCH_THROUGHPUT_LOGINS (per module,
level and round, default 320), BENCH_SKIP_SSH=1 leaves out the real-sshd part, BENCH_PG_PORT (default
25437) the port of the PostgreSQL server started for the store's rows.

The PostgreSQL store (issue 14) runs in the same interleaved blocks and rounds: pam_totp.so itself with
store=FILE, against a throwaway PostgreSQL (tools/pgserver.py, initdb in a temporary directory, on
127.0.0.1) holding the same enrollments (`pam-totp-setup store import` of the files), as the servers'
least-privilege role: over TCP with SCRAM-SHA-256 and no TLS; the same with TLS (sslmode=verify-full);
and, as a reference only, with a `trust` line in pg_hba.conf for that role (no authentication: not a
setup to use); and through a local PgBouncer, set up as docs/SEVERAL-SERVERS.md says
(tools/pgbouncer.py: a Unix socket only root reaches, peer authentication, transaction pooling, its
pooled connections to PostgreSQL with SCRAM-SHA-256 and TLS verify-full). Each of these has a
database of its own, so that no row's logins replay another's. A further cold row names a port where nothing listens: the login loads libpq and is refused at once,
which separates loading libpq from connecting. Two PAM services with separate state directories and
one database stand for two hosts, for the concurrency check.
"""
import base64
import fcntl
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import pgbouncer  # noqa: E402
import pgserver  # noqa: E402
import testbed  # noqa: E402

BUILD = os.path.join(ROOT, "build")
MODULE = os.path.join(BUILD, "pam_totp.so")
PAMDRIVE = os.path.join(BUILD, "pamdrive")
SETUP = os.path.join(BUILD, "pam-totp-setup")
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
AUDIT_OFF = os.path.join(BUILD, "libaudit_off.so")
CORE_BENCH = os.path.join(ROOT, ".build-bench", "release", "pam-totp-bench")
SYSTEM_LOCK = "/tmp/pamtotp-system.lock"
SECDIR = subprocess.run(["sh", "-c", "dirname $(ldconfig -p | awk '/libpam\\.so\\.0 / {print $NF; exit}')"],
                        capture_output=True, text=True).stdout.strip() + "/security"

# The modules compared, and the variants of ours measured beside them (never targets themselves).
MODULES = ["permit", "google-authenticator", "oath", "totp"]
VARIANTS = ["totp-syncall"]
# pam_totp.so with store=: each row in its own database (store_setup).
STORE = ["totp-store", "totp-store-tls", "totp-store-trust", "totp-store-pooler"]
STORE_DOWN = "totp-store-down"
BASE = MODULES + VARIANTS
ALL = BASE + STORE
COLD = ALL + [STORE_DOWN]
STORE_DATABASES = {"totp-store": "pamtotp", "totp-store-tls": "pamtotp_tls", "totp-store-trust": "pamtotp_trust",
                   "totp-store-pooler": "pamtotp_pooler", "hosts": "pamtotp_hosts"}
HOSTS = ("bench-host1", "bench-host2")  # libpam lower-cases service names
PATHS = {
    "permit": os.path.join(SECDIR, "pam_permit.so"),
    "google-authenticator": os.path.join(SECDIR, "pam_google_authenticator.so"),
    "oath": os.path.join(SECDIR, "pam_oath.so"),
    "totp": MODULE,
    "totp-syncall": os.path.join(BUILD, "bench", "pam_totp-syncall.so"),
    **{m: MODULE for m in STORE + [STORE_DOWN]},
}
PACKAGES = {"google-authenticator": "libpam-google-authenticator", "oath": "libpam-oath"}

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "100"))
THROUGHPUT_LOGINS = int(os.environ.get("BENCH_THROUGHPUT_LOGINS", "320"))
THROUGHPUT_ROUNDS = 3
LEVELS = (8, 32)
WARM_CYCLES = 100
WARM_RUN = 50
WARM_SKIP = 5
RECOVERY_USERS = 4
STACK = 64 * 1024
# Each login takes a user that has not logged in with that module in the current 30-second step, so
# no code is ever a replay; a step lets this many logins per module.
POOL = 2 * THROUGHPUT_LOGINS + 64
rng = random.Random(13)


def totp(secret, offset=0, step=None):
    counter = (int(time.time() // 30) if step is None else step) + offset
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000).zfill(6)


def wait_for_step(margin):
    """Waits for the start of a 30-second step if fewer than `margin` seconds are left in this one."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.3)


class World:
    """A temporary directory with nss_wrapper users, each module's enrollments and state, and a
    pam.d with one service per module (bench-MODULE)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="pamtotp-bench-")
        os.chmod(self.root, 0o755)
        # ext4's "top directory" flag: each module's directories go to block groups of their own, as
        # directories in different places of a real system would, so that one module's inode churn (a
        # new file per login, the old one deleted) does not slow another's file creation. (Without a
        # journal ext4 skips inodes deleted in the last minutes when it allocates one.)
        subprocess.run(["chattr", "+T", self.root], capture_output=True)
        for d in ("pam.d", "ga", "totp", "oath", "home"):
            os.makedirs(os.path.join(self.root, d), mode=0o700 if d != "home" else 0o755)
        self.pamd = os.path.join(self.root, "pam.d")
        self.users = [f"bench{i:04d}" for i in range(POOL)]
        self.recovery_users = [f"benchrec{i}" for i in range(RECOVERY_USERS)]
        self.secret = {u: hashlib.sha1(u.encode()).digest() for u in self.users + self.recovery_users}
        accounts = self.users + self.recovery_users
        passwd = ["root:x:0:0:root:/root:/bin/sh"] + [f"{u}:x:{3000 + i}:{3000 + i}::/nonexistent:/bin/sh" for i, u in enumerate(accounts)]
        group = ["root:x:0:"] + [f"{u}:x:{3000 + i}:" for i, u in enumerate(accounts)]
        # The database's own account (tools/pgserver.py runs PostgreSQL and psql as it), last.
        for entries, database in ((passwd, "passwd"), (group, "group")):
            line = subprocess.run(["getent", database, "postgres"], capture_output=True, text=True).stdout.strip()
            if line:
                entries.append(line)
        open(os.path.join(self.root, "passwd"), "w").write("\n".join(passwd) + "\n")
        open(os.path.join(self.root, "group"), "w").write("\n".join(group) + "\n")
        # The system's user database, once main() has bind-mounted these files over /etc/passwd and
        # /etc/group in the namespace.
        self.env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "NSS_WRAPPER_PASSWD", "NSS_WRAPPER_GROUP")}
        oath = []
        for u in self.users:
            b32 = base64.b32encode(self.secret[u]).decode().rstrip("=")
            # google-authenticator: TOTP, window 3 (±1), reuse refused, rate limit on.
            path = os.path.join(self.root, "ga", u)
            open(path, "w").write(f"{b32}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n")
            os.chmod(path, 0o600)
            # pam_oath: TOTP, 30 s, 6 digits, one users file (its design), window 1.
            oath.append(f"HOTP/T30/6\t{u}\t-\t{self.secret[u].hex()}")
            # pam-totp: central enrollment; defaults are window ±1, replay prevention, throttling.
            # Root-owned and central, so it names its account, as pam-totp-setup writes it.
            path = os.path.join(self.root, "totp", u)
            open(path, "w").write(f"version 1\naccount {u}\ntype totp\nalgorithm SHA1\ndigits 6\nperiod 30\nsecret {b32}\nend\n")
            os.chmod(path, 0o600)
        open(os.path.join(self.root, "oath", "users.oath"), "w").write("\n".join(oath) + "\n")
        os.chmod(os.path.join(self.root, "oath", "users.oath"), 0o600)
        self.secret_template = f"{self.root}/totp/%u"
        lines = {
            "permit": "auth required pam_permit.so",
            "google-authenticator": f"auth required pam_google_authenticator.so secret={self.root}/ga/${{USER}} user=root",
            "oath": f"auth required pam_oath.so usersfile={self.root}/oath/users.oath window=1 digits=6",
        }
        # Ours and its variants read the same enrollments; each keeps its own state directory.
        for name in ("totp", *VARIANTS):
            lines[name] = f"auth required {PATHS[name]} secret={self.secret_template} state={self.state(name)} config=/nonexistent"
        for name, line in lines.items():
            open(os.path.join(self.pamd, "bench-" + name), "w").write(line + "\n")
        open(os.path.join(self.pamd, "other"), "w").write("auth required pam_deny.so\n")
        self.last_step = {m: {} for m in COLD + ["hosts"]}

    def state(self, module):
        return os.path.join(self.root, "state-" + module)

    def take(self, module, n):
        """`n` users that have not logged in with `module` in this step, with this step's codes; waits
        for the next step if there are not enough."""
        while True:
            step = int(time.time() // 30)
            free = [u for u in self.users if self.last_step[module].get(u, -1) < step]
            if len(free) >= n:
                chosen = free[:n]
                for u in chosen:
                    self.last_step[module][u] = step
                return [(u, totp(self.secret[u], step=step)) for u in chosen]
            time.sleep(30 - time.time() % 30 + 0.3)

    def enroll_recovery_users(self):
        """Enrolls the recovery-code users with the real tool; returns each one's recovery codes."""
        codes = {}
        for u in self.recovery_users:
            key = base64.b32encode(self.secret[u]).decode()
            wait_for_step(3)
            proc = subprocess.run([SETUP, "enroll", "--user", u, "--key", key, "--json", "--qr", "none", "--secret",
                                   self.secret_template, "--state", self.state("totp"), "--config", "/nonexistent"],
                                  input=totp(self.secret[u]) + "\n", capture_output=True, text=True, env=self.env, timeout=120)
            if proc.returncode != 0:
                raise SystemExit(f"bench: enrolling {u} failed: {proc.stderr}")
            codes[u] = json.loads(proc.stdout)["recovery_codes"]
        return codes


def loadgen(world, logins, jobs=1):
    """Runs `logins` [(module, user, answer)] through build/bench/loadgen: per login (µs, exit status,
    peak RSS kB), and the total wall time (µs)."""
    path = os.path.join(world.root, "logins")
    with open(path, "w") as f:
        for module, user, answer in logins:
            f.write(f"bench-{module} {user} {answer}\n")
    out = subprocess.run([LOADGEN, "-j", str(jobs), path], env=world.env, capture_output=True, text=True, check=True).stdout
    rows = [tuple(int(x) for x in m) for m in re.findall(r"^LOGIN \d+ (\d+) (\d+) (\d+) (\d+)$", out, re.M)]
    total = int(re.search(r"^TOTAL_US (\d+)$", out, re.M).group(1))
    assert len(rows) == len(logins), out
    return [(end - start, status, rss) for start, end, status, rss in rows], total


def cold(world):
    """Rounds of blocks; each block runs every module once, back to back, in a random order, so a
    module's overhead is taken against pam_permit's of the same block."""
    times = {m: [] for m in COLD}
    refused = {m: 0 for m in COLD}
    rss = {m: [] for m in COLD}
    overhead = {m: [] for m in COLD}
    for _ in range(ROUNDS):
        wait_for_step(20)
        users = {m: world.take(m, PER_ROUND) for m in COLD}
        order = []
        for i in range(PER_ROUND):
            block = list(COLD)
            rng.shuffle(block)
            order.append(block)
        plan = [(m, *users[m][i]) for i, block in enumerate(order) for m in block]
        results, _ = loadgen(world, plan)
        index = 0
        for block in order:
            got = {}
            for m in block:
                us, status, kb = results[index]
                index += 1
                got[m] = us / 1000
                times[m].append(us / 1000)
                rss[m].append(kb)
                refused[m] += status != 0
            for m in COLD:
                overhead[m].append(got[m] - got["permit"])
    return times, overhead, refused, rss


def throughput(world):
    """THROUGHPUT_LOGINS logins of as many users, `level` at a time, per module, level and round
    (modules in a random order each time): successful logins per second, median over the rounds."""
    rates = {(m, level): [] for m in ALL for level in LEVELS}
    attempts = {(m, level): [] for m in ALL for level in LEVELS}
    refused = {(m, level): 0 for m in ALL for level in LEVELS}
    for _ in range(THROUGHPUT_ROUNDS):
        for level in LEVELS:
            modules = list(ALL)
            rng.shuffle(modules)
            for m in modules:
                wait_for_step(5)
                plan = [(m, u, code) for u, code in world.take(m, THROUGHPUT_LOGINS)]
                results, total = loadgen(world, plan, jobs=level)
                ok = sum(1 for _, status, _ in results if status == 0)
                rates[(m, level)].append(ok / (total / 1e6))
                attempts[(m, level)].append(len(results) / (total / 1e6))
                refused[(m, level)] += len(results) - ok
    return ({k: statistics.median(v) for k, v in rates.items()}, {k: statistics.median(v) for k, v in attempts.items()},
            refused)


def same_code(world):
    """`level` logins at once of one user with one valid code: how many succeeded (exactly one should)."""
    accepted = {}
    for level in LEVELS:
        for m in ("google-authenticator", "oath", "totp"):
            wait_for_step(8)
            user, code = world.take(m, 1)[0]
            # The refused logins count as failures (pam-totp throttles the user, google-authenticator's
            # rate limit trips), so the user is not taken again.
            world.last_step[m][user] = float("inf")
            results, _ = loadgen(world, [(m, user, code)] * level, jobs=level)
            accepted[(m, level)] = sum(1 for _, status, _ in results if status == 0)
    return accepted


def warm(world):
    """build/pamdrive -f: pam_start/pam_authenticate/pam_end cycles in one process, WARM_SKIP +
    WARM_RUN per run (the first WARM_SKIP, which touch the module's pages and meet what the run before
    left behind, are not counted). Each run is a process of its own, and the modules take turns in a
    random order in each of WARM_CYCLES / WARM_RUN rounds, so that the machine's drift falls on all
    alike. Before each run the file systems are synced: one module's writes, written back later,
    would slow the next module's file operations, charging it with another's work. `kept`: the module
    kept loaded (pamdrive -p), so a cycle is the module's work; otherwise libpam loads and unloads it
    at every pam_start and pam_end, as in a server that runs PAM in a long-lived process. Per
    (module, kept): the counted cycles' times (µs)."""
    times = {(m, kept): [] for m in ALL for kept in (True, False)}
    refused = {m: 0 for m in ALL}
    path = os.path.join(world.root, "cycles")
    for _ in range(WARM_CYCLES // WARM_RUN):
        runs = [(m, kept) for m in ALL for kept in (True, False)]
        rng.shuffle(runs)
        for m, kept in runs:
            wait_for_step(3)
            open(path, "w").write("".join(f"{u} {code}\n" for u, code in world.take(m, WARM_SKIP + WARM_RUN)))
            os.sync()
            argv = [PAMDRIVE, "-c", world.pamd, "-s", "bench-" + m, "-f", path] + (["-p", PATHS[m]] if kept else [])
            out = subprocess.run(argv, env=world.env, capture_output=True, text=True, check=True).stdout
            cycles = [(int(us), int(rc)) for us, rc in re.findall(r"CYCLE_US (\d+) (-?\d+)", out)]
            assert len(cycles) == WARM_SKIP + WARM_RUN, out[-500:]
            times[(m, kept)] += [us for us, _ in cycles[WARM_SKIP:]]
            for _, rc in cycles:
                if rc != 0:
                    refused[m] += 1
                    print(f"bench: warm login with {m} refused: PAM result {rc}", flush=True)
    return times, refused


def recovery(world, codes):
    """Cold logins with a recovery code (the first PBKDF2 of the process: libcrypto is loaded then),
    each paired with a pam_permit login: (login ms, above pam_permit ms), refused."""
    plan = []
    for u, mine in codes.items():
        for code in mine[:5]:
            plan += [("permit", u, code), ("totp", u, code)]
    results, _ = loadgen(world, plan)
    logins = [results[i + 1][0] / 1000 for i in range(0, len(results), 2)]
    above = [(results[i + 1][0] - results[i][0]) / 1000 for i in range(0, len(results), 2)]
    refused = sum(1 for i in range(1, len(results), 2) if results[i][1] != 0)
    return logins, above, refused


def stack(world):
    """The high-water mark of one TOTP login per module on a 64 KiB thread (pamdrive -S), as libpam runs
    and with its audit record off (the module's own path); and the full test of every kind of login
    with every policy on (Tests/integration/test_stack.py), whose figures it reports."""
    marks = {}
    for m in MODULES:
        for audit in (True, False):
            user, code = world.take(m, 1)[0]
            env = dict(world.env, **({} if audit else {"LD_PRELOAD": AUDIT_OFF}))
            proc = subprocess.run([PAMDRIVE, "-S", str(STACK), "-c", world.pamd, "-s", "bench-" + m, "-u", user, code], env=env,
                                  capture_output=True, text=True)
            used = re.search(r"^STACK_USED (\d+)$", proc.stdout, re.M)
            marks[(m, audit)] = (int(used.group(1)) if used else None, proc.returncode)
    report = os.path.join(world.root, "stack.json")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(ROOT, "Tests", "integration", "test_stack.py")],
                          env=dict(os.environ, PAMTOTP_STACK_REPORT=report), capture_output=True, text=True, cwd=ROOT)
    full = json.load(open(report)) if os.path.exists(report) else None
    return marks, proc.returncode == 0, full, proc.stdout[-3000:]


def state_directory_scaling(world):
    """Warm logins (module kept loaded) as the state directory fills up: two files per user who ever
    logged in, and up to 2 x 1024 for names that are no account. A write that listed the directory
    (as the module did before its state's temporary file got a fixed name) grew with it. Run last: it
    leaves the files there."""
    module = "totp"
    directory = world.state(module)
    path = os.path.join(world.root, "cycles")
    result = {}
    for files in (0, 2048, 20000):
        for i in range(len(os.listdir(directory)), files):
            open(os.path.join(directory, f"filler{i:06d}.state"), "w").close()
        wait_for_step(5)
        open(path, "w").write("".join(f"{u} {code}\n" for u, code in world.take(module, WARM_CYCLES // 2)))
        out = subprocess.run([PAMDRIVE, "-c", world.pamd, "-s", "bench-" + module, "-f", path, "-p", PATHS[module]], env=world.env,
                             capture_output=True, text=True, check=True).stdout
        result[len(os.listdir(directory))] = statistics.median(int(us) for us in re.findall(r"CYCLE_US (\d+) 0", out))
    return result


def real_server(world):
    """Median wall time of a full ssh password+code login to a private sshd, per module. Creates
    throwaway users (useradd) and a server port, so it holds the machine's test lock meanwhile."""
    with open(SYSTEM_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"bench: waiting for {SYSTEM_LOCK} (another session's system tests)", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _real_server()


def _real_server():
    bed = testbed.Bed(prefix="pamtotp-bench-ssh-")
    results = {}
    try:
        users = [bed.user(f"pamtotp-b{i}") for i in range(8)]
        secrets = {u.name: hashlib.sha1(u.name.encode()).digest() for u in users}
        oath = []
        os.makedirs(os.path.join(bed.root, "ga"), mode=0o700)
        os.makedirs(os.path.join(bed.root, "totp"), mode=0o700)
        for u in users:
            b32 = base64.b32encode(secrets[u.name]).decode().rstrip("=")
            p = os.path.join(bed.root, "ga", u.name)
            open(p, "w").write(f"{b32}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n")
            os.chmod(p, 0o600)
            oath.append(f"HOTP/T30/6\t{u.name}\t-\t{secrets[u.name].hex()}")
            p = os.path.join(bed.root, "totp", u.name)
            open(p, "w").write(f"version 1\naccount {u.name}\ntype totp\nalgorithm SHA1\ndigits 6\nperiod 30\nsecret {b32}\nend\n")
            os.chmod(p, 0o600)
        open(os.path.join(bed.root, "oath.users"), "w").write("\n".join(oath) + "\n")
        os.chmod(os.path.join(bed.root, "oath.users"), 0o600)
        second = {
            "permit": "auth required pam_permit.so",
            "google-authenticator": f"auth required pam_google_authenticator.so secret={bed.root}/ga/${{USER}} user=root",
            "oath": f"auth required pam_oath.so usersfile={bed.root}/oath.users window=1 digits=6",
            "totp": f"auth required {MODULE} secret={bed.root}/totp/%u state={bed.data} config=/nonexistent",
        }
        port = testbed.free_port("BENCH_SSH_PORT", 22099)
        for module in MODULES:
            with open(os.path.join(bed.pamd, "sshd"), "w") as f:
                f.write(f"auth required pam_unix.so nodelay\n{second[module]}\naccount required pam_permit.so\nsession required pam_permit.so\n")
            server = bed.start(testbed.Sshd(bed, port, "keyboard-interactive", allow=[u.name for u in users]))
            wait_for_step(12)
            times = []
            for u in users:
                start = time.perf_counter()
                rc, _, _ = testbed.ssh(bed, port, u, password=[u.password], code=[totp(secrets[u.name])] if module != "permit" else [])
                times.append((time.perf_counter() - start) * 1000)
                if rc != 0:
                    raise SystemExit(f"bench: ssh login with {module} failed:\n{bed.log()[-2000:]}")
            server.stop()
            bed.servers.remove(server)
            results[module] = statistics.median(times)
    finally:
        bed.close()
    return results


class StoreSetup:
    """The PostgreSQL server of the store's rows: one database per row and one for the two hosts,
    each with the schema (`store init --grant pamtotp_server`) and the pool's enrollments (`store
    import` of the files the other rows read), and the services that use them."""

    def __init__(self, world):
        self.world = world
        self.dir = os.path.join(world.root, "store")
        os.makedirs(self.dir, mode=0o700)
        self.pg = pgserver.PostgreSQL("BENCH_PG_PORT", 25437, tls=True)
        self.bouncer = None

    def start(self):
        pg, world = self.pg, self.world
        pg.start()
        # The reference row: no authentication for the servers' role on its own database (checked
        # before the scram-sha-256 lines, which pgserver wrote for everything else).
        hba = os.path.join(pg.data, "pg_hba.conf")
        text = open(hba).read()
        with open(hba, "w") as f:
            f.write(f"host {STORE_DATABASES['totp-store-trust']} pamtotp_server 127.0.0.1/32 trust\n" + text)
        pg.psql("SELECT pg_reload_conf()")
        empty = os.path.join(self.dir, "no-state")
        os.makedirs(empty, mode=0o700)
        for database in STORE_DATABASES.values():
            if database != "pamtotp":
                pg.psql(f"CREATE DATABASE {database} OWNER pamtotp_admin")
            admin = self.file(f"admin-{database}", "pamtotp_admin", database, tls=False)
            for args in (["store", "init", "--grant", "pamtotp_server"],
                         ["store", "import", "--secret", world.secret_template, "--state", empty]):
                proc = subprocess.run([SETUP, *args, "--store", admin, "--config", "/nonexistent"], capture_output=True,
                                      text=True, env=world.env, timeout=600)
                if proc.returncode != 0:
                    raise SystemExit(f"bench: pam-totp-setup {' '.join(args[:2])} on {database} failed: {proc.stderr}")
            enrolled = int(pg.psql("SELECT count(*) FROM pam_totp.enrollments", database))
            if enrolled != len(world.users):
                raise SystemExit(f"bench: {database} holds {enrolled} enrollments, not {len(world.users)}")
        files = {
            "totp-store": self.file("plain", "pamtotp_server", STORE_DATABASES["totp-store"], tls=False),
            "totp-store-tls": self.file("tls", "pamtotp_server", STORE_DATABASES["totp-store-tls"], tls=True),
            "totp-store-trust": self.file("trust", "pamtotp_server", STORE_DATABASES["totp-store-trust"], tls=False,
                                          password=False),
        }
        # The guide's PgBouncer, its `pamtotp` leading to this row's database; the guide's store file.
        self.bouncer = pgbouncer.PgBouncer(pg, database=STORE_DATABASES["totp-store-pooler"]).install().start()
        files["totp-store-pooler"] = self.bouncer.store_file()
        # Nothing listens there: connect() is refused at once, after libpq was loaded.
        closed = testbed.free_port("BENCH_PG_CLOSED_PORT", 25438)
        files[STORE_DOWN] = pg.store_file(os.path.join(self.dir, "down.conf"),
                                          text=f"host=127.0.0.1 port={closed} dbname=pamtotp user=pamtotp_server sslmode=disable")
        hosts = self.file("hosts", "pamtotp_server", STORE_DATABASES["hosts"], tls=False)
        services = {m: (files[m], world.state(m)) for m in files}
        services.update({h: (hosts, world.state(h)) for h in HOSTS})
        for name, (store, state) in services.items():
            service = name if name.startswith("bench-") else "bench-" + name
            with open(os.path.join(world.pamd, service), "w") as f:
                f.write(f"auth required {MODULE} store={store} state={state} config=/nonexistent\n")
        return self

    def file(self, name, role, database, tls, password=True):
        text = f"host=127.0.0.1 port={self.pg.port} dbname={database} user={role}"
        if password:
            text += f" password={pgserver.PASSWORDS[role]}"
        text += f" sslmode=verify-full sslrootcert={self.pg.ca}" if tls else " sslmode=disable"
        return self.pg.store_file(os.path.join(self.dir, name + ".conf"), text=text)

    def state_rows(self, users):
        """(last_step, version, state text) of each user's row in the two hosts' database."""
        names = ",".join(f"'{u}'" for u in users)
        out = self.pg.psql(f"SELECT user_name, coalesce(last_step, -1), version, replace(state, E'\\n', '|') FROM pam_totp.state "
                           f"WHERE user_name IN ({names})", STORE_DATABASES["hosts"])
        rows = {}
        for line in out.splitlines():
            user, last, version, state = line.split("|", 3)
            rows[user] = (int(last), int(version), state)
        return rows

    def destroy(self):
        if self.bouncer:
            self.bouncer.destroy()
        self.pg.destroy()


def two_hosts(world, store):
    """Two PAM services with state directories of their own and one database, as two servers.
    One user, one valid code, 32 logins at once spread over both: how many were accepted. Then 32
    users, each logging in with its code on both hosts at once (64 logins, 32 at a time): each must
    be accepted exactly once, and each user's row must hold both decisions, the acceptance and the
    refusal, as a user's row does after the same two logins one after the other."""
    wait_for_step(10)
    user, code = world.take("hosts", 1)[0]
    world.last_step["hosts"][user] = float("inf")
    results, _ = loadgen(world, [(HOSTS[i % 2][len("bench-"):], user, code) for i in range(32)], jobs=32)
    one_code = sum(1 for _, status, _ in results if status == 0)
    # The reference: the same two logins, one after the other.
    wait_for_step(10)
    step = int(time.time() // 30)
    (reference, code), *pairs = world.take("hosts", 33)
    for host in HOSTS:
        loadgen(world, [(host[len("bench-"):], reference, code)])
    plan = []
    for u, c in pairs:
        order = list(HOSTS)
        rng.shuffle(order)
        plan += [(host[len("bench-"):], u, c) for host in order]
    results, _ = loadgen(world, plan, jobs=32)
    accepted = {u: 0 for u, _ in pairs}
    for (_, u, _), (_, status, _) in zip(plan, results):
        accepted[u] += status == 0
    rows = store.state_rows([reference] + [u for u, _ in pairs])

    def shape(user):
        # What the two decisions recorded, without the times (ten-digit numbers).
        last, version, state = rows.get(user, (None, None, ""))
        return last, version, re.sub(r"\b\d{10}\b", "T", state)
    expected = shape(reference)
    return {"one_code": one_code, "users": len(pairs), "exactly_once": sum(1 for u in accepted if accepted[u] == 1),
            "complete": sum(1 for u, _ in pairs if shape(u) == expected), "reference_ok": expected[0] == step,
            "reference": expected}


def store_split(world):
    """Where a store login's time goes, seen from the conversation (pamdrive -t): from pam_start to
    the prompt (loading the module and libpq, connecting, reading the enrollment, the locked read
    before the prompt) and from the answer to the end (the decision: lock, write, commit), against
    the file store; logins of each module in turn. Medians (ms) per module and part."""
    modules = ["totp", "totp-store", "totp-store-trust", "totp-store-tls", "totp-store-pooler"]
    parts = {m: {"before": [], "after": []} for m in modules}
    for _ in range(2):
        wait_for_step(10)
        users = {m: world.take(m, 25) for m in modules}
        for i in range(25):
            for m in modules:
                user, code = users[m][i]
                out = subprocess.run([PAMDRIVE, "-t", "-c", world.pamd, "-s", "bench-" + m, "-u", user, code], env=world.env,
                                     capture_output=True, text=True).stdout
                marks = dict(re.findall(r"^(START|PROMPT|ANSWER|END)_US (\d+)$", out, re.M))
                if len(marks) == 4 and "RESULT: 0 " in out:
                    parts[m]["before"].append((int(marks["PROMPT"]) - int(marks["START"])) / 1000)
                    parts[m]["after"].append((int(marks["END"]) - int(marks["ANSWER"])) / 1000)
    return {m: {k: statistics.median(v) if v else float("nan") for k, v in p.items()} for m, p in parts.items()}


def stripped_size(path):
    copy = os.path.join(tempfile.gettempdir(), f"bench-size-{os.getpid()}.so")
    subprocess.run(["strip", "--strip-unneeded", "-o", copy, path], check=True)
    size = os.path.getsize(copy)
    os.remove(copy)
    return size


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", out)


def machine(directory=None):
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    memory = int(re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read()).group(1)) // 1024
    versions = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libpam0g", "libpam-google-authenticator",
                               "libpam-oath", "openssh-server", "libssl3", "libpq5", "postgresql", "pgbouncer"],
                              capture_output=True, text=True).stdout.strip()
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    debian = open("/etc/debian_version").read().strip()
    where = ""
    if directory:
        fs = subprocess.run(["df", "--output=source,fstype", directory], capture_output=True, text=True).stdout.split()[-2:]
        if len(fs) == 2:
            journal = ""
            if fs[1] == "ext4" and os.path.isdir("/proc/fs/jbd2"):
                device = os.path.basename(fs[0])
                journal = ", with a journal" if any(e.startswith(device + "-") for e in os.listdir("/proc/fs/jbd2")) else ", no journal"
            elif fs[1] == "ext4":
                journal = ", no journal"
            options = next((line.split()[3] for line in open("/proc/mounts") if line.split()[0] == fs[0]), "")
            where = f"; files on {fs[1]}{journal} ({fs[0]}, {options})"
    return (f"{cpu.group(1) if cpu else platform.processor()}, {os.cpu_count()} cores, {memory} MiB, Linux {platform.release()}, "
            f"Debian {debian}{where}; {swift}; " + "; ".join(versions.splitlines()))


def commit():
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/BENCHMARKS.md",
                            ":!docs/PROBE-TIMING.md"], capture_output=True, text=True).stdout.strip()
    return (head or "unknown") + (" with uncommitted changes" if dirty else "")


def check_prerequisites():
    missing = [f"{PACKAGES[m]} ({PATHS[m]})" for m in PACKAGES if not os.path.exists(PATHS[m])]
    if missing:
        raise SystemExit(f"bench: reference module missing: {', '.join(missing)}; `make bench` installs it")
    for path in (MODULE, PAMDRIVE, SETUP, LOADGEN, AUDIT_OFF, CORE_BENCH, *(PATHS[v] for v in VARIANTS)):
        if not os.path.exists(path):
            raise SystemExit(f"bench: {path} is missing: run `make bench`")
    try:
        pgserver.bindir()
    except testbed.Missing as missing:
        raise SystemExit(f"bench: {missing}")
    if not os.path.exists(pgbouncer.PGBOUNCER):
        raise SystemExit("bench: pgbouncer is missing: run `make bench`")
    for program in ("pamtester", "strip", "readelf"):
        if not shutil.which(program):
            raise SystemExit(f"bench: {program} is missing: run `make bench`")
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (the modules read root-owned files, as under sshd)")


def verdict(met, text, margin):
    return f"{'met' if met else 'MISSED'}: {text} ({margin})"


def over(value, limit, unit, fmt="{:.2f}"):
    """How far `value` is from `limit` (lower is better), in `unit` and in percent."""
    delta = value - limit
    pct = f", {abs(delta) / limit * 100:.0f}%" if limit else ""
    if delta <= 0:
        return f"{fmt.format(-delta)} {unit} to spare{pct}"
    return f"missed by {fmt.format(delta)} {unit}{pct}"


def under(value, floor, unit, fmt="{:.0f}"):
    """How far `value` is from `floor` (higher is better)."""
    delta = value - floor
    pct = f", {abs(delta) / floor * 100:.0f}%" if floor else ""
    if delta >= 0:
        return f"{fmt.format(delta)} {unit} to spare{pct}"
    return f"missed by {fmt.format(-delta)} {unit}{pct}"


def main():
    if os.environ.get("PAMTOTP_BENCH_INSIDE") != "1":
        check_prerequisites()
        # pamtester reads /etc/pam.d: run in a private mount namespace with a copy of it.
        os.environ["PAMTOTP_BENCH_INSIDE"] = "1"
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable, "-u", *sys.argv])
    check_prerequisites()
    load = os.getloadavg()
    started = time.time()
    world = World()
    views = {world.pamd: "/etc/pam.d", os.path.join(world.root, "passwd"): "/etc/passwd",
             os.path.join(world.root, "group"): "/etc/group"}
    for source, target in views.items():
        subprocess.run(["mount", "--bind", source, target], check=True)
    for user in (world.users[0], world.recovery_users[0]):
        if subprocess.run(["getent", "passwd", user], capture_output=True, env=world.env).returncode != 0:
            raise SystemExit(f"bench: {user} is not found through the C library's user database (nsswitch.conf, nscd?)")
    print(f"bench: load average {load[0]:.2f}; {POOL} users; {ROUNDS} x {PER_ROUND} cold blocks of {len(COLD)} modules", flush=True)
    store = StoreSetup(world)
    try:
        store.start()
        print("bench: PostgreSQL store ready", flush=True)
        # Every user logs in once with every module before anything is measured, so that each module's
        # files (or rows) for each user exist, as on a server in use (pam-totp's state directory then
        # holds two files per user), and the programs and libraries are in the page cache.
        for m in ALL:
            loadgen(world, [(m, u, code) for u, code in world.take(m, POOL)], jobs=8)
        recovery_codes = world.enroll_recovery_users()
        cold_ms, overhead, cold_refused, rss = cold(world)
        print("bench: cold logins done", flush=True)
        rates, attempts, tp_refused = throughput(world)
        print("bench: throughput done", flush=True)
        accepted = same_code(world)
        hosts = two_hosts(world, store)
        split = store_split(world)
        print("bench: two hosts and the store's split done", flush=True)
        warm_us, warm_refused = warm(world)
    finally:
        store.destroy()
    rec_ms, rec_above, rec_refused = recovery(world, recovery_codes)
    core = json.loads(subprocess.run([CORE_BENCH], capture_output=True, text=True, check=True).stdout)
    print("bench: warm logins, recovery codes and core done", flush=True)
    marks, stack_ok, stack_full, stack_out = stack(world)
    scaling = state_directory_scaling(world)
    print("bench: stack and state directory done", flush=True)
    for target in views.values():
        subprocess.run(["umount", target], check=True)
    # The real server part needs the machine's own pam.d, passwd and group (useradd, chpasswd).
    ssh_ms = {} if os.environ.get("BENCH_SKIP_SSH") == "1" else real_server(world)
    sizes = {m: stripped_size(PATHS[m]) for m in MODULES}
    state_fs = machine(world.root)
    shutil.rmtree(world.root, ignore_errors=True)
    minutes = (time.time() - started) / 60
    load_end = os.getloadavg()

    med = statistics.median

    def spread(values, fmt="{:.2f}"):
        q = statistics.quantiles(values, n=10)
        return f"{fmt.format(q[0])}–{fmt.format(q[-1])}"

    # --- the targets ------------------------------------------------------------------------------
    o = {m: med(overhead[m]) for m in COLD}
    cold_ok = o["totp"] <= o["oath"]
    lines = [verdict(cold_ok, f"cold login overhead above pam_permit, median of {len(overhead['totp'])} pairs: pam-totp "
                     f"{o['totp']:.2f} ms, pam_oath {o['oath']:.2f} ms, {o['totp'] / o['oath']:.2f}× pam_oath's "
                     f"(google-authenticator {o['google-authenticator']:.2f} ms; target at most pam_oath's)",
                     over(o["totp"], o["oath"], "ms"))]
    for level in LEVELS:
        t, ga, oa = rates[("totp", level)], rates[("google-authenticator", level)], rates[("oath", level)]
        floor = max(ga, 0.9 * oa)
        lines.append(verdict(t >= floor, f"{level} logins in parallel, many users: pam-totp {t:.0f}/s, google-authenticator "
                             f"{ga:.0f}/s ({t / ga:.2f}×), pam_oath {oa:.0f}/s ({t / oa:.2f}×; its attempts "
                             f"{attempts[('oath', level)]:.0f}/s, {tp_refused[('oath', level)]} refused) "
                             f"(target at least google-authenticator's and 0.9× pam_oath's, {floor:.0f}/s)",
                             under(t, floor, "logins/s")))
    r = {m: med(rss[m]) for m in COLD}
    lines.append(verdict(r["totp"] <= r["google-authenticator"] + 512, f"peak RSS of a cold login: pam-totp {r['totp']:.0f} kB, "
                         f"google-authenticator {r['google-authenticator']:.0f} kB ({r['totp'] - r['google-authenticator']:+.0f} kB; "
                         f"target at most +512 kB)", over(r["totp"], r["google-authenticator"] + 512, "kB", "{:.0f}")))
    lines.append(verdict(sizes["totp"] <= 400_000, f"module size on disk, stripped: {sizes['totp']:,} bytes (target at most "
                         f"400,000)", over(sizes["totp"], 400_000, "bytes", "{:,}")))
    w = {k: med(v) for k, v in warm_us.items()}
    wa = {(m, kept): w[(m, kept)] - w[("permit", kept)] for m, kept in w}
    wr = w[("totp", True)] / w[("google-authenticator", True)]
    lines.append(verdict(wr <= 0.5, f"warm login, module kept loaded, median of {len(warm_us[('totp', True)])}: pam-totp "
                         f"{w[('totp', True)]:.0f} µs, google-authenticator {w[('google-authenticator', True)]:.0f} µs, {wr:.2f}× "
                         f"(above pam_permit: {wa[('totp', True)]:.0f} and {wa[('google-authenticator', True)]:.0f} µs, "
                         f"{wa[('totp', True)] / wa[('google-authenticator', True)]:.2f}×; target at most 0.5×)",
                         over(w[("totp", True)], 0.5 * w[("google-authenticator", True)], "µs", "{:.0f}")))
    lines.append(verdict(med(rec_ms) < 100, f"recovery code: a whole cold login with one {med(rec_ms):.1f} ms "
                         f"({med(rec_above):.1f} ms above pam_permit; libcrypto loaded and PBKDF2 run in it), the check in "
                         f"process {core['recovery_verify_ms']:.1f} ms (target under 100 ms)", over(med(rec_ms), 100, "ms", "{:.1f}")))
    if stack_full:
        deepest = max(stack_full["kinds"].items(), key=lambda kv: kv[1]["module's path"])
        whole = max(v["with libpam's audit"] for v in stack_full["kinds"].values())
        stack_text = (f"every kind of login with every policy on, on a {STACK // 1024} KiB thread stack "
                      f"(Tests/integration/test_stack.py): {'passed' if stack_ok else 'FAILED'}; deepest {whole:,} bytes as "
                      f"libpam runs (its audit record), {deepest[1]['module' + chr(39) + 's path']:,} bytes on the module's path "
                      f"({deepest[0]})")
        lines.append(verdict(stack_ok and whole < STACK, stack_text, over(whole, STACK, "bytes", "{:,}")))
    else:
        lines.append(verdict(False, "stack test did not report", stack_out[-500:]))
    targets = "\n".join("- " + line for line in lines)

    # --- the tables -------------------------------------------------------------------------------
    def name(m):
        return {"totp": "**pam-totp**", "totp-syncall": "pam-totp, every write fsynced (bench build)"}.get(m, m)

    t = ["### Cold login (one pamtester process per login)", "",
         "| module | median (ms) | p10–p90 (ms) | above pam_permit, median of pairs (ms) | ratio to pam_oath's overhead | peak RSS median (kB) | refused |",
         "|---|---|---|---|---|---|---|"]
    for m in BASE:
        ratio = f"{o[m] / o['oath']:.2f}" if m != "permit" else "–"
        t.append(f"| {name(m)} | {med(cold_ms[m]):.2f} | {spread(cold_ms[m])} | {o[m]:.2f} | {ratio} | {r[m]:.0f} | {cold_refused[m]} |")
    t += ["", "### Logins per second, many users (successful logins / wall time)", "",
          "| module | " + " | ".join(f"{lv} in parallel | ratio to pam-totp's" for lv in LEVELS) + " | refused |",
          "|---|" + "---|---|" * len(LEVELS) + "---|"]
    for m in BASE:
        cells = " | ".join(f"{rates[(m, lv)]:.0f} | {rates[(m, lv)] / rates[('totp', lv)]:.2f}" for lv in LEVELS)
        t.append(f"| {name(m)} | {cells} | {sum(tp_refused[(m, lv)] for lv in LEVELS)} |")
    t += ["", "### Warm login (cycles of pam_start, pam_authenticate, pam_end in one process, modules in turn)", "",
          "| module | module kept loaded: median (µs) | p10–p90 (µs) | above pam_permit's median (µs) | ratio to google-authenticator | loaded at each pam_start: median (µs) | above pam_permit (µs) | ratio to google-authenticator | refused |",
          "|---|---|---|---|---|---|---|---|---|"]
    for m in BASE:
        t.append(f"| {name(m)} | {w[(m, True)]:.0f} | {spread(warm_us[(m, True)], '{:.0f}')} | {wa[(m, True)]:.0f} | "
                 f"{w[(m, True)] / w[('google-authenticator', True)]:.2f} | {w[(m, False)]:.0f} | {wa[(m, False)]:.0f} | "
                 f"{w[(m, False)] / w[('google-authenticator', False)]:.2f} | {warm_refused[m]} |")
    t += ["", "### Size, dependencies, stack, real server", "",
          "| module | size on disk, stripped (bytes) | NEEDED | stack high-water, TOTP login (bytes, as libpam runs / module's path) | ssh password+code login (ms, median) |",
          "|---|---|---|---|---|"]
    for m in MODULES:
        mark = f"{marks[(m, True)][0]:,} / {marks[(m, False)][0]:,}" if marks[(m, True)][0] and marks[(m, False)][0] else "failed"
        ssh_cell = f"{ssh_ms[m]:.1f}" if m in ssh_ms else "not run"
        t.append(f"| {name(m)} | {sizes[m]:,} | {', '.join(needed(PATHS[m]))} | {mark} | {ssh_cell} |")
    t += ["", "### One user, one valid code, that many logins at once (exactly one must succeed)", "",
          "| module | " + " | ".join(f"{lv} at once: accepted" for lv in LEVELS) + " |", "|---|" + "---|" * len(LEVELS)]
    for m in ("google-authenticator", "oath", "totp"):
        t.append(f"| {name(m)} | " + " | ".join(str(accepted[(m, lv)]) for lv in LEVELS) + " |")
    if stack_full:
        t += ["", f"### Stack: every kind of login, every policy on, {STACK // 1024} KiB thread (Tests/integration/test_stack.py)", "",
              "| login | high-water as libpam runs (bytes) | module's path, libpam's audit off (bytes) |", "|---|---|---|"]
        for kind, v in stack_full["kinds"].items():
            t.append(f"| {kind} | {v['with libpam' + chr(39) + 's audit']:,} | {v['module' + chr(39) + 's path']:,} |")
    t += ["", "### Warm login as the state directory fills (module kept loaded)", "",
          "| files in the state directory | median (µs) |", "|---|---|"]
    t += [f"| {files:,} | {us:.0f} |" for files, us in scaling.items()]
    t += ["", f"Recovery codes: {len(rec_ms)} cold logins, median {med(rec_ms):.1f} ms (p10–p90 {spread(rec_ms, '{:.1f}')}), "
          f"{med(rec_above):.1f} ms above pam_permit, {rec_refused} refused. In process (bench/swift): one recovery code "
          f"(PBKDF2-HMAC-SHA256, {core['recovery_iterations']} iterations, compared with 10 hashes) {core['recovery_verify_ms']:.1f} ms; "
          f"one TOTP code (window ±1) {core['totp_verify_us']:.1f} µs."]
    sync_cold = med([a - b for a, b in zip(cold_ms["totp-syncall"], cold_ms["totp"])])
    sync_warm = w[("totp-syncall", True)] - w[("totp", True)]
    durability = (f"What fsync would cost every login (bench build with every state write fsynced, file and directory, "
                  f"against the module, which fsyncs only writes a crash must not lose and none on a TOTP login): cold, "
                  f"{sync_cold:.2f} ms (median of same-block differences); warm, {sync_warm:.0f} µs (difference of medians); "
                  f"in parallel, " + ", ".join(f"{lv}: {rates[('totp-syncall', lv)]:.0f}/s against {rates[('totp', lv)]:.0f}/s"
                                               for lv in LEVELS)
                  + ". google-authenticator and pam_oath (2.6.7) each fsync their new file before renaming it, on every login, "
                  "and neither syncs the directory (strace).")
    tables = "\n".join(t)

    # --- the PostgreSQL store (issue 14) ----------------------------------------------------------
    def above(a, b):
        """Median of the same-block differences of cold logins a - b (ms)."""
        return med([x - y for x, y in zip(cold_ms[a], cold_ms[b])])

    added, added_tls = above("totp-store", "totp"), above("totp-store-tls", "totp")
    added_pooler = above("totp-store-pooler", "totp")
    store_refused = sum(tp_refused[(m, lv)] for m in STORE for lv in LEVELS) + sum(cold_refused[m] for m in STORE)
    store_targets = [verdict(added <= 10, f"cold login with store= (PostgreSQL on loopback, SCRAM-SHA-256, no TLS) against "
                             f"the file store, median of {len(cold_ms['totp'])} same-block differences: +{added:.2f} ms "
                             f"({med(cold_ms['totp-store']):.2f} ms against {med(cold_ms['totp']):.2f} ms); over TLS "
                             f"(sslmode=verify-full) +{added_tls:.2f} ms (target at most +10 ms without TLS)",
                             over(added, 10, "ms")),
                     verdict(added_pooler <= 10, f"cold login with store= through a local PgBouncer (Unix socket, peer; pooled "
                             f"connections to the same PostgreSQL with SCRAM-SHA-256 and TLS verify-full) against the file "
                             f"store, median of {len(cold_ms['totp'])} same-block differences: +{added_pooler:.2f} ms "
                             f"({med(cold_ms['totp-store-pooler']):.2f} ms against {med(cold_ms['totp']):.2f} ms), "
                             f"{added - added_pooler:.2f} ms less than straight to PostgreSQL (target at most +10 ms)",
                             over(added_pooler, 10, "ms"))]
    h = hosts
    hosts_ok = (h["one_code"] == 1 and h["exactly_once"] == h["users"] and h["complete"] == h["users"] and h["reference_ok"]
                and store_refused == 0)
    store_targets.append(verdict(
        hosts_ok, f"two hosts (two PAM services, separate state directories, one database): one valid code, 32 logins at "
        f"once over both, {h['one_code']} accepted; {h['users']} users each logging in with its code on both hosts at "
        f"once (64 logins, 32 at a time), {h['exactly_once']} accepted exactly once and {h['complete']} rows holding both "
        f"decisions as after the same two logins one after the other (reference row "
        f"{'as expected' if h['reference_ok'] else 'WRONG'}); correct codes refused in the store's cold and parallel "
        f"runs: {store_refused} (target: exactly 1; all {h['users']}; all {h['users']}; 0)",
        "no update lost, no correct code refused" if hosts_ok else "see the figures"))
    store_target_text = "\n".join("- " + line for line in store_targets)

    def store_name(m):
        return {"totp": "pam-totp, files", "totp-store": "**pam-totp, store=** (loopback, SCRAM-SHA-256, no TLS)",
                "totp-store-tls": "pam-totp, store= over TLS (sslmode=verify-full)",
                "totp-store-trust": "pam-totp, store= with `trust` (reference only: no authentication, not a setup to use)",
                "totp-store-pooler": "**pam-totp, store= through a local PgBouncer (Unix socket)**",
                STORE_DOWN: "pam-totp, store= where nothing listens (refused at once: libpq loaded, no connection)"}.get(m, m)

    compared = ["permit", "google-authenticator", "totp"]
    st = ["### Cold login (one pamtester process per login, in the same blocks as above)", "",
          "| module | median (ms) | p10–p90 (ms) | above pam_permit, median of pairs (ms) | above the file store, median of pairs (ms) | ratio to the file store's time | peak RSS median (kB) | refused |",
          "|---|---|---|---|---|---|---|---|"]
    for m in compared + STORE + [STORE_DOWN]:
        extra = f"{above(m, 'totp'):+.2f}" if m != "totp" else "–"
        st.append(f"| {store_name(m)} | {med(cold_ms[m]):.2f} | {spread(cold_ms[m])} | {o[m]:.2f} | {extra} | "
                  f"{med(cold_ms[m]) / med(cold_ms['totp']):.2f} | {r[m]:.0f} | {cold_refused[m]}"
                  f"{' (all: nothing listens)' if m == STORE_DOWN else ''} |")
    st += ["", "### Logins per second, many users (successful logins / wall time)", "",
           "| module | " + " | ".join(f"{lv} in parallel | ratio to the file store | ratio to google-authenticator" for lv in LEVELS)
           + " | refused |", "|---|" + "---|---|---|" * len(LEVELS) + "---|"]
    for m in compared + STORE:
        cells = " | ".join(f"{rates[(m, lv)]:.0f} | {rates[(m, lv)] / rates[('totp', lv)]:.2f} | "
                           f"{rates[(m, lv)] / rates[('google-authenticator', lv)]:.2f}" for lv in LEVELS)
        st.append(f"| {store_name(m)} | {cells} | {sum(tp_refused[(m, lv)] for lv in LEVELS)} |")
    st += ["", "### Warm login (pamdrive cycles in one process; every store login connects anew)", "",
           "| module | module kept loaded: median (µs) | above the file store (µs) | loaded at each pam_start: median (µs) | refused |",
           "|---|---|---|---|---|"]
    for m in compared + STORE:
        st.append(f"| {store_name(m)} | {w[(m, True)]:.0f} | {w[(m, True)] - w[('totp', True)]:+.0f} | {w[(m, False)]:.0f} | "
                  f"{warm_refused[m]} |")
    pieces = [
        ("loading libpq and the libraries it needs (OpenSSL, Kerberos, LDAP …), and a connect() refused at once",
         f"{store_name(STORE_DOWN)} − files", above(STORE_DOWN, "totp")),
        ("connecting without authentication (`trust`) and the login's statements", "trust − nothing listening",
         above("totp-store-trust", STORE_DOWN)),
        ("SCRAM-SHA-256 authentication (client and server)", "SCRAM − trust", above("totp-store", "totp-store-trust")),
        ("TLS handshake and certificate check (verify-full)", "TLS − SCRAM", above("totp-store-tls", "totp-store")),
        ("through a local PgBouncer: connecting to its socket (peer) and the login's statements through it",
         "PgBouncer − nothing listening", above("totp-store-pooler", STORE_DOWN)),
    ]
    st += ["", "### Where a store login's time goes (cold; medians of same-block differences, so they need not add up exactly)", "",
           "| piece | rows compared | ms |", "|---|---|---|"]
    st += [f"| {what} | {rows} | {ms:+.2f} |" for what, rows, ms in pieces]
    st += [f"| all of it: store= (no TLS) − files | | {added:+.2f} |", "",
           "Seen from the conversation (pamdrive -t, 50 logins each, modules in turn; medians, ms):", "",
           "| module | pam_start to the prompt (loading, connecting, enrollment, locked read) | the code's answer to the verdict (lock, decide, write, commit) |",
           "|---|---|---|"]
    st += [f"| {store_name(m)} | {v['before']:.2f} | {v['after']:.2f} |" for m, v in split.items()]
    store_tables = "\n".join(st)
    print("\n" + tables + "\n\n" + durability + "\n\nTargets (issue 13):\n" + targets)
    print("\nPostgreSQL store:\n" + store_tables + "\n\nTargets (issue 14):\n" + store_target_text)
    if not stack_ok:
        print(stack_out)

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    len_users = f"{POOL + RECOVERY_USERS:,}"
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write(f"""# Benchmarks

Written by `make bench` on {when} at commit {commit()}, in {minutes:.0f} minutes; load average
{load[0]:.2f} when it started and {load_end[0]:.2f} when it ended. Re-run it to refresh this file.

Machine: {state_fs}.

Every module is configured for the same work: TOTP, window ±1, replay prevention, and throttling
where the module has it (google-authenticator `RATE_LIMIT 3 30`; pam-totp's defaults; pam_oath has
none). Each login uses a valid code for its user, and no user logs in twice with a module within one
30-second step. The {len_users} users are in /etc/passwd and /etc/group as the C library reads them (files
bind-mounted in a private mount namespace); enrollments are central files read as root, in a temporary
directory on the file system named above. `pam_permit.so` is the floor: the
cost of a process and of libpam.

## Targets (issue 13)

{targets}

## Results

{tables}

## What the pieces of a login cost

{durability} The decision is in [DESIGN.md](DESIGN.md), "Durability".

## PostgreSQL store (issue 14)

pam_totp.so with `store=FILE` runs in the same cold blocks, parallel rounds and warm runs as the
modules above, against a throwaway PostgreSQL server on this machine (`tools/pgserver.py`: initdb in
a temporary directory, 127.0.0.1, `fsync = on`), as the servers' least-privilege role
(`store init --grant pamtotp_server`), with the pool's enrollments copied in by `pam-totp-setup store
import`. Each row has a database of its own, so no row's logins replay another's. Every store login
loads libpq (the first in its process) and opens a connection of its own: straight to PostgreSQL
(TCP on 127.0.0.1) in every row but one, and in that one to a PgBouncer on this machine, set up as
[SEVERAL-SERVERS.md](SEVERAL-SERVERS.md), "Many logins: a pooler on each server", says (its
`<!-- guide: pooler -->` block run by `tools/pgbouncer.py`): a Unix socket only root can open, peer
authentication, transaction pooling, and at most 10 pooled connections to the same PostgreSQL as
`pamtotp_server` with SCRAM-SHA-256 and TLS (verify-full), which stay open between logins.

### Targets (issue 14)

{store_target_text}

{store_tables}

How the store's figures are measured: as items 1 to 4 below, in the same blocks and rounds. The
`trust` row is a reference only, to show what authentication costs: a `trust` line in pg_hba.conf
for the servers' role lets anyone who can reach the port act as it. The row where nothing listens
(a free port) is refused by design; it measures loading libpq and what it loads, plus a refused
TCP connect. The two hosts are the services bench-host1 and bench-host2, each with a state directory
of its own, sharing one database; their logins run through loadgen (pamtester) like the others.

## How each figure is measured

1. Cold login: one `pamtester SERVICE USER authenticate` process per login, started by
   `build/bench/loadgen` (bench/loadgen.c) with the code on its standard input; wall time from spawn
   to exit. Logins run in blocks: each block runs every module once, back to back, in a random
   order; a module's overhead is its time minus pam_permit's in the same block, and the median of
   those differences is given. {ROUNDS} rounds of {PER_ROUND} blocks, each round in a fresh 30-second step.
   Before anything is measured every user has logged in once with every module, so each module's
   files for every user exist (pam-totp's state directory holds two files per user).
2. Peak RSS: `ru_maxrss` that `wait4` reports for each cold login's pamtester. loadgen starts it with
   `posix_spawn` (vfork semantics), so nothing of a copy of the parent counts: the figure is
   pamtester's, with libc, libpam, the module and what it loads. Median of the cold logins.
3. Logins per second: {THROUGHPUT_LOGINS} logins of as many users per module, run by loadgen with 8
   or 32 at once; successful logins divided by the wall time from the first start to the last exit.
   Median of {THROUGHPUT_ROUNDS} rounds; in each round the modules take turns in a random order. pam_oath
   refuses a login whose `users.oath.lock` another login holds (it creates it with `O_EXCL` and gives
   up), so its attempts per second are given beside its successes.
4. Warm login: `build/pamdrive -f`, pam_start/pam_authenticate/pam_end cycles in one process,
   {WARM_CYCLES} per module: runs of {WARM_RUN} cycles (after {WARM_SKIP} that are not counted), each run a process
   of its own, the modules taking turns in a random order in each round. Before each run the file
   systems are synced: here one module's writes slow the next module's file operations for a while,
   which interleaving cycle by cycle charged to the wrong module. "Module kept
   loaded": `pamdrive -p MODULE` holds a reference to each, so libpam's dlopen at pam_start and
   dlclose at pam_end find it mapped. "Loaded at each pam_start": as libpam does by itself.
5. Recovery code: cold logins (loadgen, pamtester) with a recovery code of users enrolled by
   `pam-totp-setup`, each paired with a pam_permit login; the in-process figure is bench/swift
   (`pam-totp-bench`), linked with TOTPCore.
6. Size: the module after `strip --strip-unneeded`; NEEDED from `readelf -d`.
7. Stack: `pamdrive -S 65536` runs pam_authenticate on a thread with a 64 KiB stack, filled with a
   pattern first; the high-water mark is how much of the pattern was overwritten. Debian's libpam
   writes an audit record after the modules return, which takes about 28 kB by itself; with
   `build/libaudit_off.so` preloaded libpam skips it, which leaves the modules' own path.
8. Durability: the bench build totp-syncall (make bench-tools) is the module's own objects linked
   with bench/variants.c and `--wrap=renameat`, which fsyncs each file before it is renamed into place
   and the directory after. It runs in every cold block, throughput round and warm run, beside the
   module.
9. State directory: warm logins after filling the module's state directory with empty files, as
   users' state and lock files (and the 1,024 shared files of names that are no account, with their
   locks) fill a real one.
10. Real server: `ssh` (SSH_ASKPASS) password+code logins to a private sshd on 127.0.0.1 with
   `pam_unix.so` and the module.

## Probe timing

Whether the time the module takes after a wrong code tells unknown, unenrolled and enrolled users
apart (issue 11, item 3) is measured by `make bench-probe`, which `make bench` runs after this file is
written: distributions and tests in [PROBE-TIMING.md](PROBE-TIMING.md).
""")


if __name__ == "__main__":
    main()
