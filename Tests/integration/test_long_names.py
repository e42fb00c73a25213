"""Issue 11, item 8: every valid account name works, however long, and every log line keeps its
reason whatever the length of the values in it.

A file name has at most 255 bytes (NAME_MAX) and a user name here up to 256: `NAME.state` stops
fitting at 250 bytes, the temporary `.NAME.state.tmp-XXXXXXXXXXXX` at 232. Such names get hashed
file names (docs/FILEFORMAT.md, "File names"). Log lines are at most 800 bytes (README, "Log lines"),
user and rhost first for fail2ban, reason before free text, long values cut in the middle."""
import hashlib
import json
import os
import re

from pamtotp_it import KEY, PAM_AUTH_ERR, PAM_SUCCESS, totp, wait_for_fresh_step

LONG = ("long-account-name." * 14)[:250]
FAIL2BAN = re.compile(r"pam_totp\(\S+:auth\): failure user=\S+ rhost=(?P<host>\S+) ")
MAX_LINE = 800


def module_lines(login):
    """The module's log lines, without the capture's and pam_syslog's prefixes."""
    return [line.split(": ", 2)[2] for line in login.log.splitlines() if line.startswith("LOG ") and ": pam_totp(" in line]


def only_line(login, event):
    lines = [line for line in module_lines(login) if line.startswith(event + " ")]
    assert len(lines) == 1, login.log
    assert len(lines[0]) <= MAX_LINE, (len(lines[0]), lines[0])
    return lines[0]


def test_a_250_byte_user_enrolls_logs_in_is_refused_a_replay_and_the_tool_sees_its_state(env):
    env.add_user(LONG, 2100)
    codes = env.enroll(LONG)["recovery_codes"]
    env.service("test", "retries=1")
    wait_for_fresh_step()
    code = totp(KEY)
    assert env.login(LONG, code).rc == PAM_SUCCESS
    replay = env.login(LONG, code)
    assert replay.rc == PAM_AUTH_ERR
    assert "reason=replayed-code" in only_line(replay, "failure")
    # NAME.state would be 256 bytes: the files are named by the name's SHA-256, and no temporary is left.
    digest = hashlib.sha256(LONG.encode()).hexdigest()
    # (Beside them, the key every login reads to place names that are no account.)
    assert sorted(os.listdir(env.state)) == [digest + ".sha256-lock", digest + ".sha256-state", "unknown key"]
    assert "last-step" in env.state_text(LONG)

    assert env.login(LONG, codes[0]).rc == PAM_SUCCESS
    status = json.loads(env.setup("status", "--user", LONG, "--json").stdout)
    assert status["enrolled"] and status["user"] == LONG
    assert status["recovery_codes_left"] == len(codes) - 1 and status["failures"] == 0
    env.setup("unlock", "--user", LONG)
    env.setup("devices", "--user", LONG)
    env.setup("reset", "--user", LONG)
    assert env.login(LONG, totp(KEY, step_offset=1)).rc != PAM_SUCCESS


def test_names_at_every_length_where_a_file_name_runs_out(env):
    env.service("test", "retries=1")
    for uid, length in enumerate([231, 232, 249, 250, 256], start=2200):
        name = ("n" + str(length) + "-" + "x" * 256)[:length]
        env.add_user(name, uid)
        env.enroll(name)
        login = env.login(name, totp(KEY))
        assert login.rc == PAM_SUCCESS, (length, login.log)
        assert os.path.exists(env.state_path(name)), length
    assert not [name for name in os.listdir(env.state) if ".tmp-" in name]


def test_long_user_and_rhost_keep_the_failure_reason_in_the_log(env):
    env.add_user(LONG, 2100)
    env.enroll(LONG)
    env.service("test", "retries=1")
    wrong = totp(KEY, step_offset=9)
    line = only_line(env.login(LONG, wrong, rhost="h" * 1000), "failure")
    assert line.endswith(" attempt=1/1 method=totp reason=wrong-code"), line
    # Cut in the middle, with a marker: both ends stay.
    user = re.match(r"failure user=(\S+) ", line).group(1)
    assert user.startswith(LONG[:40]) and user.endswith(LONG[-40:]) and "..." in user
    # A long user name never pushes out the address fail2ban needs.
    login = env.login(LONG, wrong, rhost="2001:db8:ffff:ffff:ffff:ffff:ffff:fffe")
    only_line(login, "failure")
    assert FAIL2BAN.search(login.log).group("host") == "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"
    # A user name too long to be an account, with control characters, from a long host name.
    line = only_line(env.login("\x1b[2J" + "z" * 5000, "123456", rhost="r" * 5000), "failure")
    assert line.endswith(" reason=unknown-user") and "\x1b" not in line, line


def test_an_error_keeps_its_cause_and_the_reason_comes_before_free_text(env):
    # A state directory with a 400-byte path: the error's path is cut, not its cause.
    env.state = os.path.join(env.root, "s" * 200, "t" * 200, "state")
    os.makedirs(os.path.dirname(env.state))
    env.enroll()
    env.service("test", "retries=1")
    assert env.login("alice", totp(KEY, step_offset=9)).rc == PAM_AUTH_ERR
    with open(env.state_path("alice"), "w") as f:
        f.write("not a state file\n")
    line = only_line(env.login("alice", totp(KEY), rhost="h" * 1000), "state error")
    assert re.search(r' error="/\S+\.\.\.\S+/alice\.state: malformed: line 1: first entry is not .version."$', line), line

    env.state = os.path.join(env.root, "state2")
    env.service("test", "retries=1")
    with open(env.enrollment_path("alice"), "a") as f:
        f.write("junk\n")
    line = only_line(env.login("alice", "123456", rhost="h" * 1000), "refused")
    assert re.match(r"refused user=alice rhost=h+\.\.\.h+ reason=malformed-enrollment error=\"line \d+: content after 'end'\" file=/", line), line
