"""A whole login fits in a small thread stack (issue 13, "Stack"). ocserv runs PAM inside a coroutine
with a 96 KiB stack; a module that needed more would crash the server's authentication process.

`build/pamdrive -S BYTES` runs pam_authenticate on a thread with a stack of BYTES (glibc's guard page
below it turns an overflow into SIGSEGV) and reports the high-water mark (the thread fills its unused
stack with a pattern first). Every kind of login the module has, with every policy on, runs on a
64 KiB stack: a TOTP code after a wrong one, a remembered device, a trusted network, a recovery code
(the first use of libcrypto, loaded on demand in that very call), an HOTP resynchronisation, and a
name that is no account.

Each runs twice: as libpam really runs (Debian's libpam writes an audit record after the modules
return, formatted by libaudit in about 28 kB of stack, the largest single use whatever the module), and
with libpam's audit off (build/libaudit_off.so), which measures the module's own path. The test then
runs the deepest kind on a stack too small for what was measured, to show that the measurement and
the guard page are real: that login must die of SIGSEGV.

The logs go to the C library's syslog here, not to libsyslog_capture.so: glibc's syslog formats on the
stack, as it does inside sshd and ocserv.
"""
import json
import os
import re
import signal
import subprocess

from pamtotp_it import BUILD, KEY, PAM_AUTH_ERR, PAM_SUCCESS, PAMDRIVE, totp, wait_for_fresh_step

AUDIT_OFF = os.path.join(BUILD, "libaudit_off.so")
STACK = 64 * 1024
# An SSH key line, as sshd puts it in SSH_AUTH_INFO_0: the remembered device.
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
# Every policy the module has, at once (pam_totp(8)); forward_pass puts pam_permit.so after it.
# nullok_until is past, so it is checked and a name that is no account still meets the decoy.
POLICIES = ("forward_pass message_prompt debug remember=30d trusted=10.0.0.0/8 groups=staff,contractors "
            "exempt_groups=contractors window=1 retries=3 hotp_window=5 throttle_free=3 throttle_delay=30 "
            "throttle_max_delay=600 max_failures=10 nullok_until=2020-01-01")


def hotp(counter):
    return subprocess.run(["oathtool", "-b", "-c", str(counter), KEY], capture_output=True, text=True, check=True).stdout.strip()


def wrong_code():
    """A 6-digit code that is none of the key's codes from 20 steps back to 20 ahead."""
    near = {totp(KEY, step_offset=offset) for offset in range(-20, 21)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 10**6)) if code not in near)


def login_on_stack(env, size, user, *answers, limit=None, audit=True, rhost=None, auth_info=None):
    """One pamdrive process running pam_authenticate on a `size`-byte thread stack, of which it may
    use only `limit` bytes if given: (result or -signal, high-water mark in bytes or None, output)."""
    argv = [PAMDRIVE, "-S", str(size), "-c", env.pamd, "-s", "test", "-u", user] + (["-L", str(limit)] if limit else [])
    if rhost:
        argv += ["-r", rhost]
    if auth_info:
        argv += ["-e", f"SSH_AUTH_INFO_0=publickey {auth_info}\n"]
    environ = dict(env.environ, LD_PRELOAD="libnss_wrapper.so" + ("" if audit else " " + AUDIT_OFF))
    env.sensitive.update(a for a in answers if len(a) >= 6)
    proc = subprocess.run(argv + list(answers), env=environ, capture_output=True, text=True, timeout=60)
    env.logs.append(proc.stderr)
    used = re.search(r"^STACK_USED (\d+)$", proc.stdout, re.M)
    return proc.returncode, int(used.group(1)) if used else None, proc.stdout


def test_every_kind_of_login_fits_in_a_64_kib_stack(env):
    alice = env.enroll()
    env.setup("enroll", "--user", "bob", "--key", KEY, "--hotp", "--json", code=hotp(0))
    env.service("test", stack=[f"auth required {{module}} state={{state}} {POLICIES}", "auth required pam_permit.so"])
    password = "pass word-1"
    wrong = wrong_code()
    wait_for_fresh_step()
    recovery = iter(alice["recovery_codes"])
    hotp_counter = iter(range(40, 1000, 100))
    # Each kind, for run 0 (libpam as it is) and run 1 (its audit off): (user, answers, rhost, SSH key,
    # expected result). Every call makes its answers anew: codes and recovery codes get used up.
    kinds = {
        # The first run remembers the SSH key ("y"); the second comes from an address with no key.
        "totp after a wrong code": lambda run: ("alice", [password + wrong, password + totp(KEY, step_offset=run), "y"],
                                                f"192.0.2.{10 + run}", None if run else PUBKEY, PAM_SUCCESS),
        # One answer only: were the device not remembered, the password would be read as password and
        # code, refused, and the next prompt would find no answer.
        "remembered device": lambda _: ("alice", [password], "192.0.2.50", PUBKEY, PAM_SUCCESS),
        "trusted network": lambda _: ("alice", [password], "10.1.2.3", None, PAM_SUCCESS),
        "recovery code": lambda _: ("alice", [password + next(recovery)], "198.51.100.7", None, PAM_SUCCESS),
        "hotp resync": lambda _: (lambda c: ("bob", [password + hotp(c), password + hotp(c + 1), "n"], "192.0.2.30", None,
                                             PAM_SUCCESS))(next(hotp_counter)),
        "no such account": lambda run: ("mallory", [password + wrong] * 3, f"192.0.2.{40 + run}", None, PAM_AUTH_ERR),
    }
    measured = {}
    for name, make in kinds.items():
        for run, audit in ((0, True), (1, False)):
            user, answers, rhost, key, expected = make(run)
            rc, used, out = login_on_stack(env, STACK, user, *answers, audit=audit, rhost=rhost, auth_info=key)
            assert rc == expected, f"{name} (audit {'on' if audit else 'off'}) on a {STACK}-byte stack: {rc}\n{out}"
            assert used is not None and used < STACK
            measured[(name, audit)] = used
    report = {name: {"with libpam's audit": measured[(name, True)], "module's path": measured[(name, False)]} for name in kinds}
    print("stack high-water marks (bytes):", json.dumps(report, indent=1))
    if os.environ.get("PAMTOTP_STACK_REPORT"):
        with open(os.environ["PAMTOTP_STACK_REPORT"], "w") as f:
            json.dump({"stack": STACK, "kinds": report}, f)

    # The deepest of the module's own paths, left a quarter less stack than it measured (pamdrive -L:
    # less than the smallest thread stack glibc makes): it must crash, or the figures above measure
    # nothing.
    deepest = max(kinds, key=lambda name: measured[(name, False)])
    small = measured[(deepest, False)] * 3 // 4
    user, answers, rhost, key, _ = kinds[deepest](2)
    rc, used, out = login_on_stack(env, STACK, user, *answers, limit=small, audit=False, rhost=rhost, auth_info=key)
    assert rc == -signal.SIGSEGV, f"{deepest} measured {measured[(deepest, False)]} bytes, yet ran in {small}: {rc}\n{out}"
