"""pam_totp.so through a real libpam stack: the logins an admin and an attacker would try."""
import os
import re
import subprocess

import pytest
from pamtotp_it import (KEY, MODULE, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_IGNORE,
                      PAM_SERVICE_ERR, PAM_SUCCESS, oathtool, totp, wait_for_fresh_step)

WRONG = "The verification code does not match."


def wrong_code(key=KEY):
    """A six-digit code that is none of the codes in the window."""
    window = {totp(key, step_offset=o) for o in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(100000, 999999, 7919)) if c not in window)


def test_right_code_from_oathtool(env):
    env.enroll()
    wait_for_fresh_step()
    login = env.login("alice", oathtool(KEY), rhost="192.0.2.7")
    assert login.rc == PAM_SUCCESS
    assert login.prompts == ["Verification code: "]
    assert login.logged(r"success user=alice rhost=192\.0\.2\.7 method=totp")
    assert "last-step" in env.state_text("alice")


@pytest.mark.parametrize("algorithm,digits,period", [("SHA256", 8, 60), ("SHA512", 7, 15), ("SHA1", 6, 30)])
def test_every_algorithm_with_oathtool(env, algorithm, digits, period):
    args = [f"--totp={algorithm.lower()}", f"--digits={digits}", f"--time-step-size={period}s"]
    env.enroll(extra=["--algorithm", algorithm, "--digits", str(digits), "--period", str(period)],
               generator=lambda: subprocess.run(["oathtool", "-b", *args, KEY], capture_output=True, text=True).stdout.strip())
    wait_for_fresh_step(period)
    code = subprocess.run(["oathtool", "-b", *args, KEY], capture_output=True, text=True).stdout.strip()
    assert len(code) == digits
    assert env.login("alice", code).rc == PAM_SUCCESS


def test_wrong_code_is_refused_after_retries(env):
    env.enroll()
    login = env.login("alice", wrong_code(), wrong_code(), wrong_code())
    assert login.rc == PAM_AUTH_ERR
    assert login.prompts == ["Verification code: "] * 3
    assert login.errors == [WRONG] * 3
    assert login.out.count("DELAY: ") == 1 and "DELAY: 0 " not in login.out
    for attempt in (1, 2, 3):
        assert login.logged(rf"failure user=alice rhost=- attempt={attempt}/3 method=totp reason=wrong-code")
    assert "failures 3" in env.state_text("alice")


def test_retry_then_success_with_spaces(env):
    env.enroll()
    wait_for_fresh_step()
    code = totp(KEY)
    login = env.login("alice", wrong_code(), f" {code[:3]} {code[3:]} ")
    assert login.rc == PAM_SUCCESS
    assert login.errors == [WRONG]
    assert "failures 0" in env.state_text("alice")


def test_retries_option(env):
    env.enroll()
    env.service("test", "retries=1")
    login = env.login("alice", wrong_code(), wrong_code())
    assert login.rc == PAM_AUTH_ERR
    assert len(login.prompts) == 1


def test_replayed_code_is_refused(env):
    env.enroll()
    wait_for_fresh_step()
    code = totp(KEY)
    assert env.login("alice", code).rc == PAM_SUCCESS
    env.service("test", "retries=1")
    again = env.login("alice", code)
    assert again.rc == PAM_AUTH_ERR
    assert again.logged(r"reason=replayed-code")
    # An earlier step's code, still inside the window, is refused too.
    earlier = env.login("alice", totp(KEY, step_offset=-1))
    assert earlier.rc != PAM_SUCCESS
    assert earlier.logged(r"reason=replayed-code")


def test_window_option(env):
    env.enroll()
    wait_for_fresh_step()
    env.service("test", "window=0 retries=1")
    assert env.login("alice", totp(KEY, step_offset=-1)).rc == PAM_AUTH_ERR
    env.service("test", "window=3 retries=1")
    assert env.login("alice", totp(KEY, step_offset=-3)).rc == PAM_SUCCESS


def test_recovery_code_works_once(env):
    data = env.enroll()
    code = data["recovery_codes"][0]
    login = env.login("alice", code.upper().replace("-", " "))
    assert login.rc == PAM_SUCCESS
    assert login.logged(r"success user=alice rhost=- method=recovery recovery-codes-left=9")
    assert login.infos and "9 recovery codes left" in login.infos[0]
    env.service("test", "retries=1")
    again = env.login("alice", code)
    assert again.rc == PAM_AUTH_ERR
    assert again.logged(r"method=recovery reason=used-recovery-code")
    assert env.login("alice", data["recovery_codes"][1]).rc == PAM_SUCCESS


def test_nullok_ignores_users_who_are_not_enrolled(env):
    env.service("test", stack=["auth required {module} state={state} nullok", "auth required pam_permit.so"])
    login = env.login("bob")
    assert login.rc == PAM_SUCCESS
    assert login.prompts == []
    assert login.logged(r"skipped user=bob rhost=- nullok=yes reason=not-enrolled")
    unknown = env.login("nosuchuser")
    assert unknown.prompts == [] and unknown.logged(r"reason=unknown-user")


def test_nullok_returns_ignore(env):
    # With nothing else in the stack, PAM_IGNORE leaves libpam no verdict, and it refuses.
    env.service("test", stack=["auth [ignore=ignore default=die] {module} state={state} nullok", "auth requisite pam_deny.so"])
    assert env.login("bob").rc != PAM_SUCCESS


def test_not_enrolled_without_nullok_is_prompted_and_refused(env):
    for user in ("bob", "nosuchuser"):
        login = env.login(user, "123456", "234567", "345678")
        assert login.rc == PAM_AUTH_ERR
        assert login.prompts == ["Verification code: "] * 3, "the prompt must not reveal who is enrolled"
        assert login.errors == [WRONG] * 3


def test_central_layout(env):
    template = env.central + "/%u"
    env.service("test", f"secret={template}")
    wait_for_fresh_step()
    env.setup("enroll", "--user", "carol", "--secret", template, "--key", KEY, "--json", code=totp(KEY))
    path = os.path.join(env.central, "carol")
    st = os.stat(path)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)
    assert os.stat(env.central).st_mode & 0o777 == 0o700
    assert env.login("carol", totp(KEY)).rc == PAM_SUCCESS
    # Read as root there, so the owner check itself must catch someone else's file.
    os.chown(path, 2002, 2002)
    login = env.login("carol", totp(KEY, step_offset=1))
    assert login.rc == PAM_AUTH_ERR and login.logged(r"owned by uid 2002, expected the user or root")


@pytest.mark.parametrize("damage,reason", [
    ("chmod-group", r"lets group or others access it"),
    ("chmod-other", r"lets group or others access it"),
    ("wrong-owner", r"Permission denied"),  # read as alice, bob's 0600 file cannot even be opened
    ("wrong-owner-readable", r"owned by uid 2002"),
    ("symlink", r"symbolic link"),
    ("directory", r"is a directory"),
    ("fifo", r"is a FIFO"),
    ("hardlink", r"hard links"),
    ("unreadable-home", r"Permission denied"),
    ("huge", r"too large"),
])
def test_insecure_or_unreadable_enrollment_is_refused_even_with_nullok(env, damage, reason):
    env.enroll()
    path = env.enrollment_path("alice")
    if damage == "chmod-group":
        os.chmod(path, 0o640)
    elif damage == "chmod-other":
        os.chmod(path, 0o604)
    elif damage == "wrong-owner":
        os.chown(path, 2002, 2002)
    elif damage == "wrong-owner-readable":
        os.chown(path, 2002, 2002)
        os.chmod(path, 0o604)
    elif damage == "symlink":
        os.rename(path, path + ".real")
        os.symlink(path + ".real", path)
    elif damage in ("directory", "fifo"):
        os.remove(path)
        os.mkdir(path) if damage == "directory" else os.mkfifo(path, 0o600)
        os.chown(path, 2001, 2001)
    elif damage == "hardlink":
        os.link(path, path + ".second")
    elif damage == "unreadable-home":
        os.chown(env.home("alice"), 2002, 2002)
    elif damage == "huge":
        with open(path, "a") as f:
            f.write("#" * 70000 + "\n")
    env.service("test", stack=["auth required {module} state={state} nullok", "auth required pam_permit.so"])
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTH_ERR, login.log
    assert login.prompts == []
    assert login.logged(r"refused user=alice rhost=- .*reason=insecure-or-unreadable-enrollment") and login.logged(reason), login.log


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("version 1", "version 9"),
    lambda t: t.replace("\nend\n", "\n"),
    lambda t: t[: len(t) // 2],
    lambda t: t.replace("digits 6", "digits 12"),
    lambda t: t.replace("\n", "\r\n"),
    lambda t: t.replace("type totp", "type totp\x00"),
    lambda t: t.replace("secret ", "secret 1"),
])
def test_malformed_enrollment_is_refused(env, edit):
    env.enroll()
    path = env.enrollment_path("alice")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(edit(text))
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTH_ERR
    assert login.logged(r"refused user=alice .*reason=malformed-enrollment"), login.log


@pytest.mark.parametrize("options,message", [
    ("bogus", r"unknown option 'bogus'"),
    ("window=99", r"option 'window=99'"),
    ("retries=", r"option 'retries' needs a value"),
    ("nullok=1", r"option 'nullok' takes no value"),
    ("[prompt=Password and code: ]", r"option 'prompt=Password and code: ': .*must not start with 'Password'"),
    ("secret=relative", r"option 'secret=relative': expected an absolute path"),
])
def test_bad_options_fail_the_login_loudly(env, options, message):
    env.enroll()
    env.service("test", stack=["auth required {module} state={state} " + options, "auth required pam_permit.so"])
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_SERVICE_ERR
    assert login.prompts == []
    assert login.logged(r"configuration error: " + message), login.log


def test_prompt_option(env):
    env.enroll()
    wait_for_fresh_step()
    env.service("test", "[prompt=Authenticator code: ]")
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_SUCCESS and login.prompts == ["Authenticator code: "]


@pytest.mark.parametrize("answer", ["", "abc", "12345", "1234567", "１２３４５６", "12\t34 56x", "' OR 1=1 --", "@file:big"])
def test_bad_input_is_refused_without_crashing(env, answer):
    env.enroll()
    big = os.path.join(env.root, "big")
    with open(big, "w") as f:
        f.write("1" * (1 << 20))
    login = env.login("alice", answer.replace("big", big), service="test")
    assert login.rc in (PAM_AUTH_ERR, PAM_CONV_ERR)
    # An empty answer is no code at all, and is told so; it is a failure all the same.
    assert login.errors[:1] == (["No code was given."] if answer == "" else [WRONG])
    assert login.logged(r"reason=(malformed-input|wrong-code)")


def test_conversation_failure(env):
    env.enroll()
    login = env.login("alice")  # no responses at all
    assert login.rc == PAM_CONV_ERR
    assert login.logged(r"reason=conversation-failed")


def test_concurrent_logins_with_one_code_succeed_exactly_once(env):
    env.enroll()
    wait_for_fresh_step(margin=5)
    code = totp(KEY)
    procs = [env.start_login("alice", code, service="test") for _ in range(12)]
    results = [env.finish(p) for p in procs]
    assert sorted(r.rc for r in results).count(PAM_SUCCESS) == 1, [r.rc for r in results]
    # The others were refused as replays (then had no answer left) or, after three, throttled.
    refused = (PAM_SUCCESS, PAM_CONV_ERR, PAM_AUTH_ERR)
    assert all(r.rc in refused for r in results), [(r.rc, r.log) for r in results if r.rc not in refused]


def test_concurrent_logins_with_one_recovery_code_succeed_exactly_once(env):
    code = env.enroll()["recovery_codes"][3]
    procs = [env.start_login("alice", code) for _ in range(8)]
    results = [env.finish(p) for p in procs]
    assert [r.rc for r in results].count(PAM_SUCCESS) == 1, [r.rc for r in results]


def test_state_not_writable_refuses_and_damages_nothing(env):
    env.enroll()
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY, step_offset=-1)).rc == PAM_SUCCESS
    before_state = env.state_text("alice")
    before_enrollment = open(env.enrollment_path("alice")).read()
    # A read-only bind mount of the state directory, in a private mount namespace.
    login = env.login("alice", totp(KEY), wrapper=["unshare", "-m", "sh", "-c",
                      f'mount -o bind,ro "{env.state}" "{env.state}" && exec "$0" "$@"'])
    assert login.rc == PAM_AUTHINFO_UNAVAIL, login.out + login.log
    assert login.logged(r"state error user=alice .*Read-only file system"), login.log
    assert env.state_text("alice") == before_state
    assert open(env.enrollment_path("alice")).read() == before_enrollment
    # Once writable again the same code works: nothing was consumed by the refused login.
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS


def test_state_directory_that_is_unsafe_is_refused(env):
    env.enroll()
    os.makedirs(env.state, mode=0o777)
    os.chmod(env.state, 0o777)
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL
    assert login.prompts == []
    assert login.logged(r"state error user=alice .*lets group or others write")


def test_malformed_state_fails_closed(env):
    env.enroll()
    os.makedirs(env.state, mode=0o700, exist_ok=True)
    with open(os.path.join(env.state, "alice.state"), "w") as f:
        f.write("version 1\nlast-step banana\nend\n")
    os.chmod(os.path.join(env.state, "alice.state"), 0o600)
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL
    assert login.logged(r"state error user=alice .*malformed")


def test_exports_only_pam_functions_and_needs_no_swift_runtime():
    symbols = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True, text=True, check=True).stdout
    assert sorted(line.split()[-1] for line in symbols.splitlines()) == ["pam_sm_authenticate", "pam_sm_setcred"]
    # Embedded Swift (issue 13): no Swift runtime at all, so libpam may unload the module (no NODELETE),
    # and every process that authenticates loads nothing but libc beside it: not libcrypto (loaded only
    # for recovery codes and new secrets), not libm, not libstdc++.
    dynamic = subprocess.run(["readelf", "-d", MODULE], capture_output=True, text=True, check=True).stdout
    assert "NODELETE" not in dynamic
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", dynamic)
    assert sorted(needed) == ["libc.so.6", "libpam.so.0"], needed
    assert os.path.getsize(MODULE) <= 400 * 1024, os.path.getsize(MODULE)


def test_module_survives_many_loads_in_one_process(env):
    """libpam dlcloses the module at every pam_end and loads it again at the next pam_start."""
    env.service("test", stack=["auth required {module} state={state} nullok", "auth required pam_permit.so"])
    proc = subprocess.run([os.path.join(os.path.dirname(MODULE), "pamdrive"), "-c", env.pamd, "-s", "test",
                           "-u", "bob", "-n", "200"], env=env.environ, capture_output=True, text=True, timeout=120)
    env.logs.append(proc.stderr)
    assert proc.stdout.count("RESULT: 0 ") == 200
    assert proc.stderr.count("skipped user=bob") == 200

