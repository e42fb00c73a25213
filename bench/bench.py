#!/usr/bin/env python3
"""make bench: pam_totp.so against pam_google_authenticator.so and pam_oath.so (and pam_permit.so, the
floor), side by side in one interleaved run, each configured for the same work: TOTP, window ±1,
replay prevention, throttling where the module has it. Every login uses a valid code for its user;
users are many (one login per user per 30-second step, the realistic load).

Runs as root in a private mount namespace (pamtester reads /etc/pam.d, so the namespace gets its own
copy); users come from nss_wrapper, for every module alike. Prints a table and writes
docs/BENCHMARKS.md.
"""
import base64
import hashlib
import hmac
import json
import os
import platform
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
import testbed  # noqa: E402

BUILD = os.path.join(ROOT, "build")
MODULE = os.path.join(BUILD, "pam_totp.so")
PAMDRIVE = os.path.join(BUILD, "pamdrive")
SECDIR = subprocess.run(["sh", "-c", "dirname $(ldconfig -p | awk '/libpam\\.so\\.0 / {print $NF; exit}')"],
                        capture_output=True, text=True).stdout.strip() + "/security"
MODULES = ["permit", "google-authenticator", "oath", "totp"]
USERS = int(os.environ.get("BENCH_USERS", "150"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def totp(secret, offset=0):
    counter = int(time.time() // 30) + offset
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000).zfill(6)


def wait_for_step(margin):
    """Waits for the start of a 30-second step if fewer than `margin` seconds are left in this one."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.3)


class World:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="pamtotp-bench-")
        os.chmod(self.root, 0o755)
        for d in ("pam.d", "ga", "totp", "oath", "state", "home"):
            os.makedirs(os.path.join(self.root, d), mode=0o700 if d != "home" else 0o755)
        self.pamd = os.path.join(self.root, "pam.d")
        # Each module has its own supply: a user logs in at most once per step with each module.
        self.users = [f"bench{i:04d}" for i in range(USERS * ROUNDS + USERS + 2 * (8 + 32) + 8)]
        self.secret = {u: hashlib.sha1(u.encode()).digest() for u in self.users}
        passwd = ["root:x:0:0:root:/root:/bin/sh"] + [f"{u}:x:{3000 + i}:{3000 + i}::/nonexistent:/bin/sh" for i, u in enumerate(self.users)]
        group = ["root:x:0:"] + [f"{u}:x:{3000 + i}:" for i, u in enumerate(self.users)]
        open(os.path.join(self.root, "passwd"), "w").write("\n".join(passwd) + "\n")
        open(os.path.join(self.root, "group"), "w").write("\n".join(group) + "\n")
        self.env = dict(os.environ, LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=os.path.join(self.root, "passwd"),
                        NSS_WRAPPER_GROUP=os.path.join(self.root, "group"))
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
            path = os.path.join(self.root, "totp", u)
            # Root-owned and central, so it names its account, as pam-totp-setup writes it.
            open(path, "w").write(f"version 1\naccount {u}\ntype totp\nalgorithm SHA1\ndigits 6\nperiod 30\nsecret {b32}\nend\n")
            os.chmod(path, 0o600)
        open(os.path.join(self.root, "oath", "users.oath"), "w").write("\n".join(oath) + "\n")
        os.chmod(os.path.join(self.root, "oath", "users.oath"), 0o600)
        lines = {
            "permit": "auth required pam_permit.so",
            "google-authenticator": f"auth required pam_google_authenticator.so secret={self.root}/ga/${{USER}} user=root",
            "oath": f"auth required pam_oath.so usersfile={self.root}/oath/users.oath window=1 digits=6",
            "totp": f"auth required {MODULE} secret={self.root}/totp/%u state={self.root}/state config=/nonexistent",
        }
        for name, line in lines.items():
            open(os.path.join(self.pamd, "bench-" + name), "w").write(line + "\n")
        open(os.path.join(self.pamd, "other"), "w").write("auth required pam_deny.so\n")
        self.next_user = {m: 0 for m in MODULES}

    def take(self, module, n):
        users = self.users[self.next_user[module]:self.next_user[module] + n]
        self.next_user[module] += n
        assert len(users) == n, "not enough bench users"
        return users


def answer(proc, code):
    """Gives pamtester the code; pam_permit never asks, so pamtester may already be gone."""
    try:
        proc.stdin.write((code + "\n").encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass


def cold(world, module, user):
    """One pamtester process: wall time (ms), success."""
    code = totp(world.secret[user])
    start = time.perf_counter()
    proc = subprocess.Popen(["pamtester", "bench-" + module, user, "authenticate"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=world.env)
    answer(proc, code)
    status = proc.wait()
    return (time.perf_counter() - start) * 1000, status == 0


def peak_rss(world, module, user):
    """Peak RSS (kB) of one pamtester login, measured by GNU time: a small parent, so the figure is
    pamtester's own (ru_maxrss of a child of this Python process would include Python's size)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "RSS %M", "pamtester", "bench-" + module, user, "authenticate"],
                          input=totp(world.secret[user]) + "\n", capture_output=True, text=True, env=world.env)
    return int(re.search(r"RSS (\d+)", proc.stderr).group(1))


def warm(world, module, users):
    path = os.path.join(world.root, "cycles")
    open(path, "w").write("".join(f"{u} {totp(world.secret[u])}\n" for u in users))
    out = subprocess.run([PAMDRIVE, "-c", world.pamd, "-s", "bench-" + module, "-f", path], env=world.env,
                         capture_output=True, text=True, check=True).stdout
    cycles = [(int(us), int(rc)) for us, rc in re.findall(r"CYCLE_US (\d+) (-?\d+)", out)]
    return [us for us, _ in cycles], sum(1 for _, rc in cycles if rc != 0)


def concurrent(world, module, users, same_user):
    """len(users) logins at once (or as many of one user with one code): logins/s, wrongly refused,
    wrongly accepted twice."""
    procs = []
    start = time.perf_counter()
    for u in users:
        user = users[0] if same_user else u
        procs.append(subprocess.Popen(["pamtester", "bench-" + module, user, "authenticate"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=world.env))
        answer(procs[-1], totp(world.secret[user]))
    results = [p.wait() for p in procs]
    elapsed = time.perf_counter() - start
    ok = results.count(0)
    if same_user:
        return len(users) / elapsed, (1 if ok == 0 and module != "permit" else 0), max(0, ok - 1) if module != "permit" else 0
    return len(users) / elapsed, len(users) - ok, 0


def real_server(world):
    """Median wall time of a full ssh password+code login to the test sshd, per module."""
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


def stripped_size(module):
    path = MODULE if module == "totp" else os.path.join(SECDIR, {"permit": "pam_permit.so", "google-authenticator":
                                                                 "pam_google_authenticator.so", "oath": "pam_oath.so"}[module])
    copy = os.path.join(tempfile.gettempdir(), "bench-size.so")
    subprocess.run(["strip", "--strip-unneeded", "-o", copy, path], check=True)
    size = os.path.getsize(copy)
    os.remove(copy)
    return size


def machine():
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    memory = int(re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read()).group(1)) // 1024
    versions = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libpam0g", "libpam-google-authenticator",
                               "libpam-oath", "openssh-server", "libssl3"], capture_output=True, text=True).stdout.strip()
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    debian = open("/etc/debian_version").read().strip()
    return (f"{cpu.group(1) if cpu else platform.processor()}, {os.cpu_count()} cores, {memory} MiB, Linux {platform.release()}, "
            f"Debian {debian}; {swift}; " + "; ".join(versions.splitlines()))


def main():
    if os.environ.get("PAMTOTP_BENCH_INSIDE") != "1":
        # pamtester reads /etc/pam.d: run in a private mount namespace with a copy of it.
        os.environ["PAMTOTP_BENCH_INSIDE"] = "1"
        os.execvp("unshare", ["unshare", "-m", sys.executable, "-u", *sys.argv])
    world = World()
    subprocess.run(["mount", "--bind", world.pamd, "/etc/pam.d"], check=True)
    print(f"bench: {len(world.users)} users per module, {ROUNDS} x {USERS} cold logins per module, interleaved")
    cold_ms = {m: [] for m in MODULES}
    rss = {m: [] for m in MODULES}
    failures = {m: 0 for m in MODULES}
    ratios = {m: [] for m in MODULES}
    for _ in range(ROUNDS):
        wait_for_step(25)
        users = {m: world.take(m, USERS) for m in MODULES}
        for index in range(USERS):
            pair = {}
            for module in MODULES:
                ms, ok = cold(world, module, users[module][index])
                cold_ms[module].append(ms)
                failures[module] += 0 if ok else 1
                pair[module] = ms
            for module in MODULES:
                ratios[module].append(pair[module] / pair["google-authenticator"])
    print("bench: cold logins done", flush=True)
    warm_us, warm_failures = {}, {}
    for module in MODULES:
        wait_for_step(15)
        warm_us[module], warm_failures[module] = warm(world, module, world.take(module, USERS))
    wait_for_step(10)
    for module in MODULES:
        rss[module] = [peak_rss(world, module, user) for user in world.take(module, 8)]
    core = json.loads(subprocess.run([os.path.join(ROOT, ".build-bench/release/pam-totp-bench")], capture_output=True, text=True,
                                     check=True).stdout)
    print("bench: warm logins and core done", flush=True)
    conc = {}
    for level in (8, 32):
        for module in MODULES:
            wait_for_step(10)
            many = concurrent(world, module, world.take(module, level), same_user=False)
            one = concurrent(world, module, world.take(module, level), same_user=True)
            conc[(module, level)] = (many, one)
    print("bench: concurrency done", flush=True)
    # The real server part needs the machine's own pam.d (chpasswd, the bed's copy of it).
    subprocess.run(["umount", "/etc/pam.d"], check=True)
    ssh_ms = real_server(world)
    sizes = {m: stripped_size(m) for m in MODULES}
    shutil.rmtree(world.root, ignore_errors=True)

    def spread(values):
        q = statistics.quantiles(values, n=10)
        return f"{q[0]:.2f}-{q[-1]:.2f}"

    lines = ["| module | cold login median (ms) | p10-p90 (ms) | ratio to google-authenticator (median of pairs) | refused |",
             "|---|---|---|---|---|"]
    for m in MODULES:
        lines.append(f"| {m} | {statistics.median(cold_ms[m]):.2f} | {spread(cold_ms[m])} | {statistics.median(ratios[m]):.2f} | {failures[m]} |")
    lines += ["", "| module | warm login median (µs) | p10-p90 (µs) | refused |", "|---|---|---|---|"]
    for m in MODULES:
        lines.append(f"| {m} | {statistics.median(warm_us[m]):.0f} | {spread(warm_us[m])} | {warm_failures[m]} |")
    lines += ["", "| module | peak RSS of a cold login (kB, median) | module size on disk, stripped (bytes) | ssh password+code login (ms, median) |",
              "|---|---|---|---|"]
    for m in MODULES:
        lines.append(f"| {m} | {statistics.median(rss[m]):.0f} | {sizes[m]} | {ssh_ms[m]:.1f} |")
    lines += ["", "| module | parallel | many users: logins/s | correct codes refused | one user, one code: none accepted | accepted more than once |",
              "|---|---|---|---|---|---|"]
    for (m, level), (many, one) in conc.items():
        lines.append(f"| {m} | {level} | {many[0]:.0f} | {many[1]} | {one[1]} | {one[2]} |")
    lines += ["", f"Core (in process, pam-totp): verify one TOTP code (window ±1) {core['totp_verify_us']:.1f} µs; "
              f"verify one recovery code (PBKDF2-HMAC-SHA256, {core['recovery_iterations']} iterations, against 10 hashes) "
              f"{core['recovery_verify_ms']:.1f} ms."]
    table = "\n".join(lines)
    print(table)
    ga_cold = statistics.median(ratios["totp"])
    ga_warm = statistics.median(warm_us["totp"]) / statistics.median(warm_us["google-authenticator"])
    rss_delta = (statistics.median(rss["totp"]) - statistics.median(rss["google-authenticator"])) / 1024
    errors = sum(one[1] + one[2] + many[1] for (m, _), (many, one) in conc.items() if m == "totp")
    verdict = [
        f"- Cold login: pam-totp / google-authenticator = {ga_cold:.2f} (target at most 1.25): {'met' if ga_cold <= 1.25 else 'MISSED'}",
        f"- Warm login: {ga_warm:.2f} x google-authenticator's median (target at most 1.00): {'met' if ga_warm <= 1.0 else 'MISSED'}",
        f"- Peak RSS: {rss_delta:+.1f} MB against google-authenticator (target at most +4 MB): {'met' if rss_delta <= 4 else 'MISSED'}",
        f"- Concurrency: {errors} correct codes refused or codes accepted twice (target 0): {'met' if errors == 0 else 'MISSED'}",
        f"- Recovery code check: {core['recovery_verify_ms']:.1f} ms (target under 100 ms): {'met' if core['recovery_verify_ms'] < 100 else 'MISSED'}",
    ]
    print("\n".join(verdict))
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write(f"""# Benchmarks

Written by `make bench` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Re-run it to refresh this file.

Machine: {machine()}.

Every module is configured for the same work: TOTP, window ±1, replay prevention, and throttling
where the module has it (google-authenticator `RATE_LIMIT 3 30`; pam-totp's defaults; pam_oath has
none). Each login uses a valid code for its user, each user logs in once per 30-second step, and the
modules take turns login by login. Users come from nss_wrapper for every module alike; enrollments
are central files read as root. `pam_permit.so` is the floor: the cost of the process and of libpam.

## Targets

{chr(10).join(verdict)}

## Results

{table}

How each figure is measured:
1. Cold login: one `pamtester SERVICE USER authenticate` process per login, wall time from fork to
   exit; the ratio is taken pair by pair (the same user, back to back) and its median reported.
2. Warm login: `build/pamdrive -f`, many pam_start/pam_authenticate/pam_end cycles in one process.
3. Core: `Bench/` (`pam-totp-bench`), in process.
4. Memory: peak RSS of a cold pamtester login, by GNU time (`%M`); size of the module after
   `strip --strip-unneeded`.
5. Concurrency: that many pamtester processes at once, for as many users (all must succeed), and
   for one user all with the same valid code (exactly one must succeed; the refused ones wait out
   their module's failure delay, so no logins/s is given for that case).
6. Real server: `ssh` (SSH_ASKPASS) password+code logins to a private sshd on 127.0.0.1 with
   `pam_unix.so` and the module.

## Probe timing

Whether the time the module takes after a wrong code tells unknown, unenrolled and enrolled users
apart (issue 11, item 3) is measured by `make bench-probe`, which `make bench` runs after this file is
written: distributions and tests in [PROBE-TIMING.md](PROBE-TIMING.md).
""")


if __name__ == "__main__":
    main()
