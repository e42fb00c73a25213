"""Issue 11: what an outside attack review found, each through the real PAM stack. One account has
one state whatever the spelling; failures from elsewhere never lock the user out of their familiar
places; a client cannot tell who exists or is enrolled; weak codes are throttled like TOTP codes;
throttling holds however many sources there are; a clock that jumped forward is recovered from."""
import os
import re
import time

from pamtotp_it import (BUILD, KEY, PAM_AUTH_ERR, PAM_SUCCESS, totp, wait_for_fresh_step)

CASEFOLD = os.path.join(BUILD, "libnss_casefold.so")
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
THROTTLED = "Too many wrong codes from here."
LOCKED = "this account's codes are locked"
WRONG = totp(KEY, step_offset=9)
# An SSH key, as sshd puts it into SSH_AUTH_INFO_0 with AuthenticationMethods publickey,keyboard-interactive.
AUTH_INFO = "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9eZkCx0fc9z2uWkQ8lqf0cq7Vv2yqGz4rO0aWc1m8b"


def defaults(env, extra="", options="retries=1"):
    """The module with its default throttling and, unless `options` say otherwise, one attempt per
    login; other throttling options go into the configuration file, where pam-totp-setup sees them too."""
    open(env.config, "w").write("".join(option + "\n" for option in extra.split()))
    env.service("test", stack=["auth required {module} state={state} " + options])


def case_insensitive(env):
    """The user database ignores case from now on, as SSSD and LDAP do."""
    env.environ["LD_PRELOAD"] = CASEFOLD + " " + env.environ["LD_PRELOAD"]


def test_one_account_one_state_whatever_the_spelling(env):
    env.enroll()
    case_insensitive(env)
    defaults(env)
    wait_for_fresh_step()
    code = totp(KEY)
    first = env.login("ALICE", code, rhost="198.51.100.1")
    assert first.rc == PAM_SUCCESS and first.logged(r"success user=alice "), first.log
    # The same code under another spelling is the same account's replay.
    again = env.login("alice", code, rhost="198.51.100.2")
    assert again.rc == PAM_AUTH_ERR and again.logged("reason=replayed-code"), again.log
    assert env.login("Alice", code, rhost="198.51.100.3").rc == PAM_AUTH_ERR
    assert sorted(f for f in os.listdir(env.state) if f.endswith(".state")) == ["alice.state"]


def test_a_locked_account_is_locked_under_every_spelling(env):
    env.enroll()
    case_insensitive(env)
    defaults(env, "max_failures=3")
    for index, name in enumerate(["ALICE", "Alice", "aLiCe"]):
        assert env.login(name, WRONG, rhost=f"203.0.113.{index + 1}").rc == PAM_AUTH_ERR
    wait_for_fresh_step()
    for name in ["alice", "ALICE"]:
        locked = env.login(name, totp(KEY), rhost="203.0.113.50")
        assert locked.rc == PAM_AUTH_ERR and LOCKED in " ".join(locked.errors), name


def test_central_enrollment_is_found_under_another_spelling_even_with_nullok(env):
    os.makedirs(env.central, mode=0o700)
    template = env.central + "/%u"
    env.enroll(extra=("--secret", template))
    case_insensitive(env)
    defaults(env, options=f"retries=1 secret={template} nullok")
    # Not "not enrolled": the code is asked for, and a wrong one refused.
    login = env.login("ALICE", WRONG)
    assert login.rc == PAM_AUTH_ERR and login.prompts == ["Verification code: "], login.out + login.log
    wait_for_fresh_step()
    assert env.login("ALICE", totp(KEY)).rc == PAM_SUCCESS


def test_failures_from_elsewhere_never_lock_the_user_out_of_a_familiar_place(env):
    env.enroll()
    defaults(env)
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="192.0.2.10").rc == PAM_SUCCESS
    # The review's attack: 102 wrong codes from 34 addresses, 3 each (the free attempts of each).
    for index in range(34):
        for _ in range(3):
            assert env.login("alice", WRONG, rhost=f"203.0.113.{index + 1}").rc == PAM_AUTH_ERR
    # Unfamiliar places are locked, as NIST SP 800-63B asks of the account's 100 failures ...
    wait_for_fresh_step()
    stranger = env.login("alice", totp(KEY), rhost="198.51.100.99")
    assert stranger.rc == PAM_AUTH_ERR and LOCKED in " ".join(stranger.errors), stranger.out
    # ... but the user, from where they logged in before, gets in with the right code.
    home = env.login("alice", totp(KEY, step_offset=1), rhost="192.0.2.10")
    assert home.rc == PAM_SUCCESS, home.out + home.log
    status = env.setup("status", "--user", "alice").stdout
    assert "LOCKED for unfamiliar places" in status and "192.0.2.10" in status, status


def test_the_ssh_key_the_user_logged_in_with_is_familiar_from_any_address(env):
    env.enroll()
    defaults(env, "max_failures=3")
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="192.0.2.10", env=[AUTH_INFO]).rc == PAM_SUCCESS
    for index in range(3):
        env.login("alice", WRONG, rhost=f"203.0.113.{index + 1}")
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="198.51.100.7").rc == PAM_AUTH_ERR
    travelling = env.login("alice", totp(KEY, step_offset=1), rhost="198.51.100.8", env=[AUTH_INFO])
    assert travelling.rc == PAM_SUCCESS, travelling.out + travelling.log


def test_familiar_places_have_their_own_ceiling(env):
    env.enroll()
    defaults(env, "max_failures=3 throttle_free=20")
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY), rhost="192.0.2.10").rc == PAM_SUCCESS
    for _ in range(3):
        env.login("alice", WRONG, rhost="192.0.2.10")
    wait_for_fresh_step()
    locked = env.login("alice", totp(KEY), rhost="192.0.2.10")
    assert locked.rc == PAM_AUTH_ERR and LOCKED in " ".join(locked.errors)
    # An unfamiliar place is judged by its own count, which the familiar failures did not raise.
    assert env.login("alice", totp(KEY, step_offset=1), rhost="198.51.100.8").rc == PAM_SUCCESS


def conversation(login):
    """What a client sees of a login: the module's prompts and messages, in order."""
    return [line for line in login.out.splitlines() if line.split(":")[0] in ("PROMPT_OFF", "PROMPT_ON", "ERROR", "INFO")]


def test_unknown_unenrolled_and_enrolled_users_look_alike(env):
    env.enroll("alice")
    defaults(env, options="retries=3")
    seen = {}
    for user, host in [("alice", "203.0.113.1"), ("bob", "203.0.113.2"), ("nosuchuser", "203.0.113.3")]:
        runs = [env.login(user, WRONG, WRONG, WRONG, rhost=host)]
        runs.append(env.login(user, WRONG, WRONG, WRONG, rhost=host))
        runs.append(env.login(user, "kf7q-m2xd-9pwa", rhost=host))
        seen[user] = [(run.rc, conversation(run)) for run in runs]
    # Three wrong codes, then the source waits, whoever the name is.
    assert seen["alice"][0][1] == ["PROMPT_OFF: Verification code: ", "ERROR: The verification code does not match."] * 3
    assert THROTTLED in seen["alice"][1][1][0]
    strip = lambda runs: [(rc, [re.sub(r"\d+ seconds", "N seconds", line) for line in lines]) for rc, lines in runs]
    assert strip(seen["alice"]) == strip(seen["bob"]) == strip(seen["nosuchuser"]), seen
    # Names that are no account share a bucket's state; none has a file of its own.
    assert any(f.startswith("unknown ") for f in os.listdir(env.state))
    assert not os.path.exists(os.path.join(env.state, "nosuchuser.state"))


def test_names_that_are_no_account_cannot_make_files_without_end(env):
    defaults(env)
    for index in range(300):
        env.login(f"nosuchuser{index}", WRONG, rhost="203.0.113.1")
    files = os.listdir(env.state)
    # A fixed number of shared files (1024 at most), a key of this host's own, and nothing else.
    assert all(re.fullmatch(r"unknown (\d+)\.(state|lock)|unknown key", f) and (f == "unknown key" or int(f.split()[1].split(".")[0]) < 1024)
               for f in files), files
    assert len([f for f in files if f.endswith(".state")]) < 300
    assert oct(os.stat(os.path.join(env.state, "unknown key")).st_mode & 0o777) == "0o600"
    # Each name is still throttled on its own: another name from the same source gets its prompt.
    for _ in range(3):
        env.login("nosuchuser0", WRONG, rhost="203.0.113.2")
    assert env.login("nosuchuser0", WRONG, rhost="203.0.113.2").prompts == []
    assert env.login("nosuchuser1", WRONG, rhost="203.0.113.2").prompts == ["Verification code: "]


def test_unknown_and_unenrolled_users_reach_the_same_lock(env):
    env.enroll("alice")
    defaults(env, "max_failures=2")
    messages = {}
    for user in ["alice", "bob", "nosuchuser"]:
        for index in range(2):
            env.login(user, WRONG, rhost=f"203.0.113.{index + 1}")
        messages[user] = conversation(env.login(user, WRONG, rhost="203.0.113.9"))
    assert any(LOCKED in line for line in messages["alice"])
    assert messages["alice"] == messages["bob"] == messages["nosuchuser"]


def test_imported_scratch_codes_are_locked_like_codes(env):
    home = env.home("alice")
    with open(os.path.join(home, ".google_authenticator"), "w") as f:
        f.write(f"{KEY}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n23456789\n")
    os.chown(os.path.join(home, ".google_authenticator"), 2001, 2001)
    os.chmod(os.path.join(home, ".google_authenticator"), 0o600)
    env.setup("import-google-authenticator", "--user", "alice")
    env.sensitive.update(["12345678", "23456789"])
    defaults(env, "max_failures=3")
    for index in range(3):
        guess = env.login("alice", f"{87654320 + index}", rhost=f"203.0.113.{index + 1}")
        assert guess.rc == PAM_AUTH_ERR and guess.logged("method=recovery reason=wrong-code"), guess.log
    # Locked: an 8-digit guess is refused unchecked, even the real scratch code.
    blocked = env.login("alice", "12345678", rhost="203.0.113.20")
    assert blocked.rc == PAM_AUTH_ERR and blocked.logged("reason=locked"), blocked.log
    # The lock is lifted as before, and then the scratch code works once.
    env.setup("unlock", "--user", "alice")
    assert env.login("alice", "12345678", rhost="203.0.113.21").rc == PAM_SUCCESS


def test_a_recovery_code_is_hashed_outside_the_users_lock(env):
    env.enroll()
    defaults(env)
    # A set whose hashing takes seconds: the login that hashes it must not hold the user's lock.
    path = env.enrollment_path("alice")
    text = open(path).read()
    text = re.sub(r"recovery-kdf pbkdf2-sha256 \d+ ", "recovery-kdf pbkdf2-sha256 9000000 ", text)
    with open(path, "w") as f:
        f.write(text)
    wait_for_fresh_step(margin=6)
    slow = env.start_login("alice", "kf7q-m2xd-9pwa")
    time.sleep(0.3)
    started = time.monotonic()
    fast = env.login("alice", totp(KEY), rhost="198.51.100.4")
    elapsed = time.monotonic() - started
    assert fast.rc == PAM_SUCCESS and elapsed < 1.0, (elapsed, fast.log)
    assert slow.poll() is None, "the recovery code's hashing finished too soon to show anything"
    assert env.finish(slow).rc == PAM_AUTH_ERR


def test_a_source_pushed_out_by_many_others_stays_throttled(env):
    env.enroll()
    defaults(env)
    for _ in range(3):
        env.login("alice", WRONG, rhost="203.0.113.200")
    # 64 and more other sources fail once each ...
    for index in range(80):
        env.login("alice", WRONG, rhost=f"198.51.{100 + index // 250}.{index % 250 + 1}")
    # ... and the first is still refused without being asked.
    again = env.login("alice", totp(KEY), rhost="203.0.113.200")
    assert again.prompts == [] and THROTTLED in " ".join(again.errors), again.out
    assert len(re.findall(r"^source ", env.state_text("alice"), re.M)) <= 64


def faked(env, offset, *responses, **kwargs):
    env.environ["LD_PRELOAD"] += " " + FAKETIME
    env.environ["FAKETIME"] = offset
    try:
        return env.login("alice", *responses, **kwargs)
    finally:
        env.environ["LD_PRELOAD"] = env.environ["LD_PRELOAD"].replace(" " + FAKETIME, "")
        del env.environ["FAKETIME"]


def test_a_clock_that_jumped_forward_is_recovered_from_without_a_replay(env):
    assert os.path.exists(FAKETIME), "libfaketime is not installed: run `make deps`"
    env.enroll()
    defaults(env, options="retries=3 window=2")
    wait_for_fresh_step(margin=8)
    now = time.time()
    before = totp(KEY, at=now)
    assert env.login("alice", before).rc == PAM_SUCCESS
    # One login while the clock is a day ahead ...
    assert faked(env, "+86400", totp(KEY, at=now + 86400)).rc == PAM_SUCCESS
    # ... then the clock is right again. The code used before the jump is still a replay,
    replay = env.login("alice", before, before, rhost="203.0.113.7")
    assert replay.rc != PAM_SUCCESS and replay.logged("reason=replayed-code"), replay.log
    # and a fresh code is confirmed by the next one, without an administrator.
    current, following = totp(KEY, at=now, step_offset=1), totp(KEY, at=now, step_offset=2)
    recovered = env.login("alice", current, following)
    assert recovered.rc == PAM_SUCCESS, recovered.out + recovered.log
    assert "Enter the next code from the app to confirm" in " ".join(recovered.errors)
    # Neither code works again, nor the one of the day ahead when its time comes.
    again = env.login("alice", following)
    assert again.rc != PAM_SUCCESS and again.logged("reason=replayed-code"), again.log
    later = faked(env, "+86400", totp(KEY, at=now + 86400))
    assert later.rc != PAM_SUCCESS and later.logged("reason=replayed-code"), later.log


def test_an_account_without_a_home_is_asked_like_any_other_with_a_list_of_locations(env):
    # A VPN user often has no usable home: with secret=CENTRAL/%u:~/.pam_totp and no central file,
    # the home location is "no enrollment here", not an error that ends the login before its prompt.
    os.makedirs(env.central, mode=0o700)
    env.passwd.append("vpnuser:x:2101:2101:vpn:relative-home:/usr/sbin/nologin")
    env._write("passwd", "\n".join(env.passwd) + "\n")
    defaults(env, options=f"retries=1 secret={env.central}/%u:~/.pam_totp")
    homeless, unknown = env.login("vpnuser", WRONG), env.login("nosuchuser", WRONG)
    assert homeless.rc == PAM_AUTH_ERR and homeless.prompts == ["Verification code: "], homeless.log
    assert conversation(homeless) == conversation(unknown)


def test_a_root_owned_file_in_a_home_must_name_its_account(env):
    # Homes can be shared (a service's, or /): a root-owned file there is tied to an account only by
    # its account line, as a central one is. (Read with the user's identity, a root-only file is
    # refused before that; the account check is there should that ever change.)
    env.enroll()
    defaults(env)
    path = env.enrollment_path("alice")
    text = re.sub(r"(?m)^account .*\n", "", open(path).read())
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, 0, 0)
    login = env.login("alice", totp(KEY, step_offset=1))
    assert login.rc == PAM_AUTH_ERR and login.logged("refused user=alice "), login.log
