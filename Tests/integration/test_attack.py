"""Issue 6: throttling that an attacker cannot turn against the user, and bad input, tried
systematically through the real PAM stack. Each case names its expected outcome."""
import os
import re
import time

import pytest
from pamtotp_it import (KEY, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_SERVICE_ERR, PAM_SUCCESS,
                        totp, wait_for_fresh_step)

THROTTLED = re.compile(r"Too many wrong codes from here\. Try again in (\d+) seconds\.")
# The line a fail2ban filter matches (README, "Log lines"): user and source of every failure.
FAIL2BAN = re.compile(r"pam_totp\(\S+:auth\): failure user=(?P<user>\S+) rhost=(?P<host>\S+) ")


def defaults(env, extra=""):
    """The module with its default throttling (the fixture's default service relaxes it). Other
    throttling options go into the configuration file, where pam-totp-setup sees them too."""
    open(env.config, "w").write("".join(option + "\n" for option in extra.split()))
    env.service("test", stack=["auth required {module} state={state} retries=1"])


def test_a_source_is_throttled_after_three_failures_but_another_still_gets_in(env):
    env.enroll()
    defaults(env)
    wrong = totp(KEY, step_offset=9)
    for attempt in range(3):
        login = env.login("alice", wrong, rhost="203.0.113.5")
        assert login.rc == PAM_AUTH_ERR and login.prompts == ["Verification code: "], attempt
        assert FAIL2BAN.search(login.log).group("host") == "203.0.113.5"
    # The attacker's source now waits, and is refused without even a prompt, whatever it would type.
    blocked = env.login("alice", totp(KEY), rhost="203.0.113.5")
    assert blocked.rc == PAM_AUTH_ERR and blocked.prompts == []
    assert 25 <= int(THROTTLED.search(" ".join(blocked.errors)).group(1)) <= 30
    assert blocked.logged(r"failure user=alice rhost=203\.0\.113\.5 reason=throttled retry-after=\d+")
    # The user, elsewhere, is not locked out.
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="198.51.100.20").rc == PAM_SUCCESS
    # IPv4-mapped and plain forms are one source.
    assert env.login("alice", "000000", rhost="::ffff:203.0.113.5").prompts == []


def test_delays_double_up_to_the_maximum(env):
    env.enroll()
    defaults(env, "throttle_delay=1 throttle_max_delay=4")
    wrong = totp(KEY, step_offset=9)
    for _ in range(3):
        env.login("alice", wrong, rhost="203.0.113.6")
    waits = []
    for _ in range(4):
        blocked = env.login("alice", wrong, rhost="203.0.113.6")
        waits.append(int(THROTTLED.search(" ".join(blocked.errors)).group(1)))
        time.sleep(waits[-1] + 0.1)
        assert env.login("alice", wrong, rhost="203.0.113.6").prompts == ["Verification code: "]
    assert waits == [1, 2, 4, 4]


def test_a_distributed_attack_locks_codes_but_a_recovery_code_still_works(env):
    codes = env.enroll()["recovery_codes"]
    defaults(env, "max_failures=5")
    wrong = totp(KEY, step_offset=9)
    for index in range(5):
        assert env.login("alice", wrong, rhost=f"203.0.113.{10 + index}").rc == PAM_AUTH_ERR
    wait_for_fresh_step()
    locked = env.login("alice", totp(KEY), rhost="198.51.100.30")
    assert locked.rc == PAM_AUTH_ERR
    assert "this account's codes are locked" in " ".join(locked.errors)
    assert locked.logged(r"failure user=alice rhost=198\.51\.100\.30 attempt=1/1 method=totp reason=locked")
    status = env.setup("status", "--user", "alice").stdout
    assert "LOCKED" in status and "Failed attempts since the last success: 5" in status
    # The user's recovery code opens the lock; afterwards the app's codes work again.
    assert env.login("alice", codes[0], rhost="198.51.100.30").rc == PAM_SUCCESS
    assert env.login("alice", totp(KEY, step_offset=1), rhost="198.51.100.31").rc == PAM_SUCCESS


def test_admin_unlock_clears_the_lock_and_the_throttling(env):
    env.enroll()
    defaults(env, "max_failures=3")
    for _ in range(3):
        env.login("alice", "000000", rhost="203.0.113.40")
    status = env.setup("status", "--user", "alice", "--json").stdout
    assert '"locked":true' in status and '"throttled_sources":["203.0.113.40"]' in status
    out = env.setup("unlock", "--user", "alice").stdout
    assert "Cleared 3 failed attempts of alice" in out
    assert re.search(r"unlock: cleared 3 failed attempts of user=alice by=root", open(env.setup_log).read())
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="203.0.113.40").rc == PAM_SUCCESS
    assert env.setup("unlock", "--user", "alice", as_user="bob", check=False).returncode != 0


def test_a_success_does_not_clear_another_sources_throttle(env):
    env.enroll()
    defaults(env)
    for _ in range(3):
        env.login("alice", "000000", rhost="203.0.113.50")
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="198.51.100.50").rc == PAM_SUCCESS
    assert env.login("alice", totp(KEY, step_offset=1), rhost="203.0.113.50").prompts == []


def test_a_pam_rhost_cannot_inject_into_the_state_file(env):
    env.enroll()
    defaults(env)
    env.login("alice", "000000", rhost="evil\nfailures 0\nend\nsource 0 0 x")
    state = open(os.path.join(env.state, "alice.state")).read()
    assert "source 1 " in state and "host:evil%0Afailures%200%0Aend" in state
    assert env.setup("status", "--user", "alice").returncode == 0


# --- bad input, table-driven ----------------------------------------------------------------------

def answer_cases(env):
    big = os.path.join(env.root, "big")
    open(big, "w").write("1" * (1 << 20))
    return [
        # (what the user types, expected log reason)
        ("", "malformed-input"),
        ("@file:" + big, "malformed-input"),
        ("abcdef", "malformed-input"),
        ("12345", "malformed-input"),
        ("1234567", "malformed-input"),
        ("١٢٣٤٥٦", "malformed-input"),  # Arabic-Indic digits
        ("１２３４５６", "malformed-input"),  # full-width digits
        ("%s%s%n%n", "malformed-input"),
        ("000000", "wrong-code"),
        ("000 000", "wrong-code"),
        ("000-000", "wrong-code"),
        ("00000000", "wrong-code"),  # 8 digits: shaped like an imported scratch code, hashed, wrong
        ("zzzz-zzzz-zzzz", "wrong-code"),
    ]


def test_every_kind_of_answer_is_refused_with_its_reason(env):
    env.enroll()
    for answer, reason in answer_cases(env):
        login = env.login("alice", answer, rhost=f"192.0.2.{len(answer) % 200}")
        assert login.rc == PAM_AUTH_ERR or login.rc == PAM_CONV_ERR, answer
        assert login.logged(rf"reason={reason}"), (answer, login.log)
        env.setup("unlock", "--user", "alice")


def test_the_enrollment_truncated_at_every_byte_is_refused(env):
    env.enroll()
    path = env.enrollment_path("alice")
    whole = open(path, "rb").read()
    for length in range(len(whole)):
        with open(path, "wb") as f:
            f.write(whole[:length])
        login = env.login("alice", "123456")
        assert login.rc == PAM_AUTH_ERR and login.logged("reason=malformed-enrollment"), length
    with open(path, "wb") as f:
        f.write(whole)
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS


KEYS = ["version", "type", "algorithm", "digits", "period", "secret", "id", "issuer", "created", "recovery-kdf", "recovery", "end"]
OUT_OF_RANGE = {"version": "2", "type": "sms", "algorithm": "MD5", "digits": "5", "period": "301", "secret": "AAAA",
                "id": "xyz", "issuer": "%ZZ", "created": "2026-13-01T00:00:00Z", "recovery-kdf": "pbkdf2-sha256 1 00",
                "recovery": "00"}


@pytest.mark.parametrize("key", KEYS)
def test_every_enrollment_field_missing_duplicated_or_out_of_range_is_refused(env, key):
    env.enroll()
    path = env.enrollment_path("alice")
    lines = open(path).read().splitlines(keepends=True)
    line = next(l for l in lines if l.split(" ")[0].strip() == key)
    optional = key in ("id", "issuer", "created", "recovery")
    variants = {"missing": [l for l in lines if l is not line] if key != "recovery" else [l for l in lines if not l.startswith("recovery")],
                "duplicated": lines[:lines.index(line) + 1] + [line] + lines[lines.index(line) + 1:]}
    if key in OUT_OF_RANGE:
        variants["out of range"] = [f"{key} {OUT_OF_RANGE[key]}\n" if l is line else l for l in lines]
    for name, variant in variants.items():
        open(path, "w").write("".join(variant))
        login = env.login("alice", "123456", "123456", "123456")
        if name == "missing" and optional or (name == "duplicated" and key == "recovery"):
            assert login.rc != PAM_SUCCESS and not login.logged("malformed-enrollment") or key == "recovery", (key, name)
        else:
            assert login.rc == PAM_AUTH_ERR and login.logged("reason=malformed-enrollment"), (key, name, login.log)


@pytest.mark.parametrize("mode", [0o400, 0o600, 0o200, 0o000, 0o700, 0o4600, 0o2600, 0o1600, 0o640, 0o620, 0o610, 0o604, 0o602, 0o601])
def test_every_permission_bit(env, mode):
    env.enroll()
    os.chmod(env.enrollment_path("alice"), mode)
    wait_for_fresh_step()
    login = env.login("alice", totp(KEY))
    # Readable by its owner and by nobody else: accepted; anything else refused with its reason.
    if mode & 0o077 == 0 and mode & 0o400:
        assert login.rc == PAM_SUCCESS, oct(mode)
    else:
        assert login.rc == PAM_AUTH_ERR and login.logged(r"reason=insecure-or-unreadable-enrollment"), oct(mode)


def test_the_state_file_truncated_at_every_byte_fails_closed(env):
    env.enroll()
    env.login("alice", "000000", rhost="192.0.2.1")
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS
    path = os.path.join(env.state, "alice.state")
    whole = open(path, "rb").read()
    for length in range(len(whole)):
        open(path, "wb").write(whole[:length])
        login = env.login("alice", totp(KEY, step_offset=1))
        assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"state error user=alice .*malformed"), length


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink", "hardlink", "wrong-owner", "group-readable"])
def test_unsafe_state_files_fail_closed(env, kind):
    env.enroll()
    env.login("alice", "000000")
    path = os.path.join(env.state, "alice.state")
    os.remove(path)
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "directory":
        os.mkdir(path, 0o700)
    elif kind == "symlink":
        open(path + ".real", "w").write("version 1\nend\n")
        os.chmod(path + ".real", 0o600)
        os.symlink(path + ".real", path)
    elif kind == "hardlink":
        open(path + ".real", "w").write("version 1\nend\n")
        os.chmod(path + ".real", 0o600)
        os.link(path + ".real", path)
    else:
        open(path, "w").write("version 1\nend\n")
        os.chmod(path, 0o600 if kind == "wrong-owner" else 0o640)
        if kind == "wrong-owner":
            os.chown(path, 2001, 2001)
    wait_for_fresh_step()
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"state error user=alice"), (kind, login.log)


OPTIONS = ["secret", "state", "window", "retries", "prompt", "config", "issuer", "remember", "trusted", "nullok_until",
           "groups", "exempt_groups", "hotp_window", "throttle_free", "throttle_delay", "throttle_max_delay", "max_failures"]
FLAGS = ["nullok", "debug", "remember_ask", "remember_always", "forward_pass", "use_first_pass", "try_first_pass"]


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_missing_empty_huge_or_out_of_range(env, option):
    env.enroll()
    bad = {"window": "11", "retries": "0", "hotp_window": "101", "throttle_free": "21", "throttle_delay": "0",
           "throttle_max_delay": "86401", "max_failures": "101", "remember": "0d", "nullok_until": "2027-02-29",
           "trusted": "10.0.0.0/33", "secret": "relative", "state": "relative", "config": "relative", "groups": "a b",
           "exempt_groups": ",", "prompt": "\x01", "issuer": "a:b"}[option]
    for value in [option, option + "=", f"[{option}=" + "x" * 5000 + "]", f"[{option}={bad}]"]:
        env.service("test", stack=["auth required {module} state={state} " + value, "auth required pam_permit.so"])
        login = env.login("alice", "123456")
        assert login.rc == PAM_SERVICE_ERR and login.prompts == [], (value[:40], login.log)
        assert login.logged(r"configuration error: option '" + option), (value[:40], login.log)


@pytest.mark.parametrize("flag", FLAGS)
def test_flags_with_values_are_refused(env, flag):
    env.service("test", stack=[f"auth required {{module}} state={{state}} {flag}=1", "auth required pam_permit.so"])
    login = env.login("alice", "123456")
    assert login.rc == PAM_SERVICE_ERR and login.logged(rf"option '{flag}' takes no value")
