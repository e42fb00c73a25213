"""Issue 6: the module's memory behaviour. Every main path under valgrind memcheck (no invalid
access, no use of uninitialised memory, nothing definitely lost), and 1000 pam_start /
pam_authenticate / pam_end cycles in one process without the resident set growing."""
import os
import re
import shutil
import subprocess

import pytest
from pamtotp_it import KEY, PAMDRIVE, totp, wait_for_fresh_step


def valgrind(env, *responses, service="test", rhost=None):
    if not shutil.which("valgrind"):
        pytest.fail("valgrind is not installed: run `make deps`")
    argv = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
            PAMDRIVE, "-c", env.pamd, "-s", service, "-u", "alice", *responses] + (["-r", rhost] if rhost else [])
    # nss_wrapper stays preloaded; valgrind's own preloads are added by it.
    proc = subprocess.run(argv, env=env.environ, capture_output=True, text=True, timeout=300)
    # Only the module's log lines: valgrind itself echoes the command line, answers included.
    env.logs.append("\n".join(line for line in proc.stderr.splitlines() if line.startswith("LOG ")))
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", proc.stderr)
    assert summary and summary.group(1) == "0", proc.stderr[-3000:]
    assert "definitely lost: 0 bytes" in proc.stderr or "no leaks are possible" in proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def test_every_main_path_is_clean_under_valgrind(env):
    codes = env.enroll()["recovery_codes"]
    wait_for_fresh_step()
    assert "RESULT: 0" in valgrind(env, totp(KEY))                         # a code
    assert "RESULT: 7" in valgrind(env, "000000", "12", "x" * 600)          # wrong, malformed, overlong
    assert "RESULT: 0" in valgrind(env, codes[0])                           # a recovery code
    env.service("test", "remember=30d trusted=10.0.0.0/8 nullok retries=1")
    assert "RESULT: 0" in valgrind(env, rhost="10.1.1.1")                   # trusted network
    assert "RESULT: 0" in valgrind(env, totp(KEY, step_offset=1), "y", rhost="192.0.2.9")  # remember the device
    assert "RESULT: 0" in valgrind(env, rhost="192.0.2.9")                  # remembered device
    env.service("test", "forward_pass")
    assert "RESULT: 7" in valgrind(env, "password000000", "p", "q")          # one field, wrong
    open(env.enrollment_path("alice"), "a").write("junk\n")
    assert "RESULT: 7" in valgrind(env, "123456")                           # malformed enrollment
    env.service("test", "bogus")
    assert "RESULT: 3" in valgrind(env)                                     # bad option


def test_a_thousand_cycles_in_one_process_do_not_grow(env):
    env.enroll()
    # A wrong code each time: the whole path (files, HMAC, state write) runs in every cycle.
    env.service("test", "retries=1 throttle_free=20 max_failures=100")
    proc = subprocess.run([PAMDRIVE, "-c", env.pamd, "-s", "test", "-u", "alice", "-n", "1000", "000000"],
                          env=env.environ, capture_output=True, text=True, timeout=600)
    env.logs.append(proc.stderr)
    rss = {int(n): int(kb) for n, kb in re.findall(r"^RSS_KB (\d+) (\d+)$", proc.stdout, re.M)}
    assert set(rss) == {10, 100, 1000}, proc.stdout[-500:]
    assert proc.stdout.count("RESULT: 7 ") == 1000
    # After warm-up, 900 more cycles may not add more than 256 KiB (a leak of even 300 bytes per
    # cycle would show).
    assert rss[1000] - rss[100] <= 256, rss
