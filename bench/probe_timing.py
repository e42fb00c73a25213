#!/usr/bin/env python3
"""make bench-probe: does the module's timing tell a client who is enrolled? (issue 11, item 3)

Three kinds of user are refused without `nullok`: an unknown name (no account), an account with no
enrollment, and an enrolled account. A client who can tell them apart by how long the module takes
learns who is enrolled. This measures, in process, per login of three wrong codes (`retries=3`):

  first  pam_start → the first prompt
  next1  wrong answer 1 handed back → the second prompt
  next2  wrong answer 2 handed back → the third prompt
  end    wrong answer 3 handed back → pam_authenticate returns (the failure delay is not slept:
         build/pamdrive's delay hook only records it)

Timestamps come from `build/pamdrive -t` (CLOCK_MONOTONIC, taken inside the conversation function),
one pamdrive process per login, as sshd starts one PAM process per connection. The classes take
turns login by login (round robin, random order within each round), so machine noise falls on all
alike. Each class has U = N / PROBE_LOGINS_PER_USER users (default 4 logins each); round r uses each
class's user r mod U, so the three users of a round have the same history (the first U rounds are
first logins; a first login's next1 includes creating the user's state), and every login comes from a
source address never seen before. With `throttle_free=20 max_failures=100` and 3 failures per login
(so at most 33 logins per user), throttling stays out of the measurement and is the same for all.

Per interval and class: median, p10, p90, mean. Per pair of classes: the Mann-Whitney U test (normal
approximation with tie correction) and the two-sample Kolmogorov-Smirnov distance with a permutation
p-value, both in plain Python, at Bonferroni-corrected α = 0.01 / 3 pairs; a pair is "separated" if
either test rejects. Also the review's check: is every sample of one class below every sample of the
other? Tested at n = 50 (the first 50 rounds; the review's sample size through sshd) and at n = N.

Needs root (the module runs as root under sshd); users come from nss_wrapper and the PAM stack from a
private directory (pam_start_confdir), so nothing in /etc is read or changed. Prints the tables and
writes docs/PROBE-TIMING.md. PROBE_SAMPLES sets N (default 200).
Enrolling is most of the run time (the tool hashes 10 recovery codes with PBKDF2 per user).
"""
import base64
import concurrent.futures
import hashlib
import itertools
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import MODULE, PAMDRIVE, ROOT, machine, totp, wait_for_step  # noqa: E402

SETUP = os.path.join(ROOT, "build", "pam-totp-setup")
SAMPLES = int(os.environ.get("PROBE_SAMPLES", "200"))
LOGINS_PER_USER = int(os.environ.get("PROBE_LOGINS_PER_USER", "4"))
USERS = -(-SAMPLES // LOGINS_PER_USER)
CLASSES = ["unknown", "unenrolled", "enrolled"]
PAIRS = list(itertools.combinations(CLASSES, 2))
INTERVALS = {"first": "pam_start → first prompt", "next1": "wrong answer 1 → prompt 2",
             "next2": "wrong answer 2 → prompt 3", "end": "wrong answer 3 → end"}
ALPHA = 0.01
PERMUTATIONS = 2000
rng = random.Random(11)


class World:
    """A temporary directory with nss_wrapper users, central enrollments, a state directory and a
    private pam.d. Names are drawn at random for the three classes, so no class is, say, always
    last in the passwd file."""

    def __init__(self, n):
        self.root = tempfile.mkdtemp(prefix="pamtotp-probe-")
        os.chmod(self.root, 0o755)
        for d in ("pam.d", "users", "state"):
            os.mkdir(os.path.join(self.root, d), 0o700)
        names = [f"probe{i:04d}" for i in range(3 * n)]
        rng.shuffle(names)
        self.users = {c: names[i * n:(i + 1) * n] for i, c in enumerate(CLASSES)}
        accounts = sorted(self.users["unenrolled"] + self.users["enrolled"])
        passwd = ["root:x:0:0:root:/root:/bin/sh"] + [f"{u}:x:{3000 + i}:{3000 + i}::/nonexistent:/bin/sh" for i, u in enumerate(accounts)]
        group = ["root:x:0:"] + [f"{u}:x:{3000 + i}:" for i, u in enumerate(accounts)]
        open(os.path.join(self.root, "passwd"), "w").write("\n".join(passwd) + "\n")
        open(os.path.join(self.root, "group"), "w").write("\n".join(group) + "\n")
        self.env = dict(os.environ, LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=os.path.join(self.root, "passwd"),
                        NSS_WRAPPER_GROUP=os.path.join(self.root, "group"))
        self.secret = f"{self.root}/users/%u"
        self.state = os.path.join(self.root, "state")
        with open(os.path.join(self.root, "pam.d", "probe"), "w") as f:
            f.write(f"auth required {MODULE} secret={self.secret} state={self.state} config=/nonexistent "
                    "retries=3 throttle_free=20 max_failures=100\n")
        open(os.path.join(self.root, "pam.d", "other"), "w").write("auth required pam_deny.so\n")

    def enroll(self, user):
        """As Env.enroll in the integration tests: the real tool, the key given, the code on stdin
        (default recovery codes, so the enrollment file is a real one)."""
        key = base64.b32encode(hashlib.sha1(user.encode()).digest()).decode()
        wait_for_step(3)
        proc = subprocess.run([SETUP, "enroll", "--user", user, "--key", key, "--json", "--qr", "none", "--secret", self.secret,
                               "--state", self.state, "--config", "/nonexistent"], input=totp(hashlib.sha1(user.encode()).digest()) + "\n",
                              capture_output=True, text=True, env=self.env, timeout=60)
        if proc.returncode != 0:
            raise SystemExit(f"probe: enrolling {user} failed: {proc.stderr}")

    def login(self, user, source):
        """One login with three wrong codes: the four intervals (µs) and the transcript (what the
        client is told, with the randomised failure delay's value left out)."""
        secret = hashlib.sha1(user.encode()).digest()
        valid = {totp(secret, offset) for offset in range(-2, 3)}
        wrong = []
        while len(wrong) < 3:
            code = f"{rng.randrange(10 ** 6):06d}"
            if code not in valid and code not in wrong:
                wrong.append(code)
        out = subprocess.run([PAMDRIVE, "-t", "-c", os.path.join(self.root, "pam.d"), "-s", "probe", "-u", user, "-r", source, *wrong],
                             capture_output=True, text=True, env=self.env, timeout=60).stdout
        stamps = {k: [int(v) for v in re.findall(rf"^{k}_US (\d+)$", out, re.M)] for k in ("START", "PROMPT", "ANSWER", "END")}
        if len(stamps["PROMPT"]) != 3 or len(stamps["ANSWER"]) != 3 or not stamps["START"] or not stamps["END"]:
            raise SystemExit(f"probe: login of {user} did not go prompt, answer x3:\n{out}")
        p, a = stamps["PROMPT"], stamps["ANSWER"]
        intervals = {"first": p[0] - stamps["START"][0], "next1": p[1] - a[0], "next2": p[2] - a[1], "end": stamps["END"][0] - a[2]}
        transcript = re.sub(r"^DELAY: \d+", "DELAY: *", re.sub(r"^[A-Z]+_US .*\n", "", out, flags=re.M), flags=re.M)
        return intervals, transcript


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U test, normal approximation with tie and continuity correction: (U, p)."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    n1, n2, n = len(a), len(b), len(a) + len(b)
    rank_sum, ties, i = 0.0, 0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        t = j - i + 1
        ties += t ** 3 - t
        rank_sum += sum(1 for k in range(i, j + 1) if pooled[k][1] == 0) * (i + j + 2) / 2
        i = j + 1
    u = rank_sum - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance == 0:
        return u, 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return u, math.erfc(max(z, 0) / math.sqrt(2))


def kolmogorov_smirnov(a, b):
    """Two-sample KS distance and its permutation p-value (PERMUTATIONS random relabellings)."""
    pooled = sorted([(v, 1) for v in a] + [(v, 0) for v in b])
    values = [v for v, _ in pooled]
    ends = [i for i in range(len(values)) if i + 1 == len(values) or values[i + 1] != values[i]]
    na, n = len(a), len(values)

    def distance(labels):
        counts = list(itertools.accumulate(labels))  # how many of a up to each position
        return max(abs(counts[i] * n - (i + 1) * na) for i in ends) / (na * (n - na))

    labels = [label for _, label in pooled]
    d = distance(labels)
    beyond = 0
    for _ in range(PERMUTATIONS):
        rng.shuffle(labels)
        beyond += distance(labels) >= d - 1e-12
    return d, (beyond + 1) / (PERMUTATIONS + 1)


def report(samples, n):
    """The statistics of the first n rounds, as Markdown lines, and the verdict."""
    alpha = ALPHA / len(PAIRS)
    lines = [f"### n = {n} per class", "", "| interval | class | median (µs) | p10 | p90 | mean |", "|---|---|---|---|---|---|"]
    for key, label in INTERVALS.items():
        for c in CLASSES:
            values = samples[c][key][:n]
            q = statistics.quantiles(values, n=10)
            lines.append(f"| {label} | {c} | {statistics.median(values):.0f} | {q[0]:.0f} | {q[-1]:.0f} | {statistics.mean(values):.0f} |")
    lines += ["", f"| interval | pair | Mann-Whitney p | KS distance | KS p (permutation) | every sample apart | verdict (α = {ALPHA} / {len(PAIRS)}) |",
              "|---|---|---|---|---|---|---|"]
    separated = {}
    for key, label in INTERVALS.items():
        for x, y in PAIRS:
            a, b = samples[x][key][:n], samples[y][key][:n]
            _, p_mw = mann_whitney(a, b)
            d, p_ks = kolmogorov_smirnov(a, b)
            apart = max(a) < min(b) or max(b) < min(a)
            verdict = "separated" if min(p_mw, p_ks) < alpha else f"not separated at α={ALPHA}"
            if verdict == "separated":
                separated.setdefault(label, []).append(f"{x}/{y}")
            lines.append(f"| {label} | {x} / {y} | {p_mw:.2g} | {d:.3f} | {p_ks:.2g} | {'yes' if apart else 'no'} | {verdict} |")
    summary = "; ".join(f"{label}: {', '.join(pairs)}" for label, pairs in separated.items())
    return lines, f"separated ({summary})" if separated else "not separated (no pair in any interval)"


def main():
    if os.geteuid() != 0:
        raise SystemExit("probe: needs root, as the module runs under sshd")
    for tool in (MODULE, PAMDRIVE, SETUP):
        if not os.path.exists(tool):
            raise SystemExit(f"probe: {tool} is missing: run `make build harness` first")
    if not 1 <= LOGINS_PER_USER <= 33:
        raise SystemExit("probe: PROBE_LOGINS_PER_USER must be 1 to 33: 3 failures each must stay below max_failures=100")
    started, load = time.time(), os.getloadavg()[0]
    world = World(USERS)
    try:
        print(f"probe: {USERS} users per class; enrolling {USERS}", flush=True)
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
            list(pool.map(world.enroll, world.users["enrolled"]))
        print(f"probe: enrolled in {time.time() - started:.0f} s; {SAMPLES} rounds of one login per class, three wrong codes each", flush=True)
        samples = {c: {k: [] for k in INTERVALS} for c in CLASSES}
        transcripts = {c: set() for c in CLASSES}
        for r in range(SAMPLES):
            for c in rng.sample(CLASSES, len(CLASSES)):
                intervals, transcript = world.login(world.users[c][r % USERS], f"10.{r // 250}.{r % 250}.{CLASSES.index(c) + 1}")
                transcripts[c].add(transcript)
                for k, v in intervals.items():
                    samples[c][k].append(v)
    finally:
        shutil.rmtree(world.root, ignore_errors=True)
    same = len(set.union(*transcripts.values())) == 1
    lines = [f"Prompts, messages and result identical for all classes: {'yes' if same else 'NO'}"]
    if not same:
        lines += ["", *(f"- {c}: `{t!r}`" for c in CLASSES for t in sorted(transcripts[c]))]
    verdicts = []
    for n in sorted({min(50, SAMPLES), SAMPLES}):
        table, verdict = report(samples, n)
        lines += ["", *table]
        verdicts.append(f"- n = {n} per class: {verdict}")
    text = "\n".join(lines)
    print(text)
    print("\n".join(verdicts))
    module = hashlib.sha256(open(MODULE, "rb").read()).hexdigest()[:16]
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(ROOT, "docs", "PROBE-TIMING.md"), "w") as f:
        f.write(f"""# Probe timing: unknown, unenrolled and enrolled users

Written by `make bench-probe` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - started:.0f} s) against
`build/pam_totp.so` of `{commit}` (sha256 {module}…). Re-run it to refresh this file; what is measured
and how is in `bench/probe_timing.py`.

Machine: {machine()}. Load average (1 min) {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end:
other work on the machine widens every class's spread alike, since the classes take turns.

Issue 11, item 3: without `nullok`, a client must not be able to tell an unknown name, an account
without an enrollment and an enrolled account apart, by what the module says or by how long it
takes. Each class had {SAMPLES} logins of three wrong codes by {USERS} users, interleaved; the tests are two-sided,
at α = {ALPHA} with Bonferroni correction over the {len(PAIRS)} pairs, and a pair counts as separated if
the Mann-Whitney or the Kolmogorov-Smirnov test rejects.

## Verdict

{chr(10).join(verdicts)}

## Results

{text}
""")


if __name__ == "__main__":
    main()
