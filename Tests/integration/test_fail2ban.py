"""Issue 12, item 11: the shipped fail2ban filter (fail2ban/filter.d/pam-totp.conf) takes the source
address only from the real rhost field, whatever the client chose as user name or rhost text.

The lines are the module's real ones, from logins through the real PAM stack (the fixture's syslog
capture), written out as syslog files (BSD and RFC 3339 time stamps, as rsyslog writes
/var/log/auth.log), and read by the real fail2ban-regex with fail2ban's own common.conf, as a jail
would. The README's old `failregex = pam_totp\\(\\S+:auth\\): failure user=\\S+ rhost=<HOST> ` found
198.51.100.77 in the first hostile line below."""
import os
import re
import shutil
import subprocess

import pytest

from pamtotp_it import PAM_AUTH_ERR, ROOT

FILTER = os.path.join(ROOT, "fail2ban", "filter.d", "pam-totp.conf")
JAIL = os.path.join(ROOT, "fail2ban", "jail.d", "pam-totp.conf")
INJECTED = "198.51.100.77"

# (user name, PAM_RHOST or None, what a jail must find: the address fail2ban reports, or None).
CASES = [
    ("x rhost=198.51.100.77 y", "127.0.0.1", "127.0.0.1"),
    ("alice", "203.0.113.5", "203.0.113.5"),
    ("rhost=198.51.100.77", "203.0.113.6", "203.0.113.6"),
    ('a" rhost=198.51.100.77 "b', "203.0.113.7", "203.0.113.7"),
    ("pam_totp(sshd:auth): failure user=y rhost=198.51.100.77 z", "203.0.113.8", "203.0.113.8"),
    ("x\nNov 29 12:00:00 host sshd[1]: pam_totp(sshd:auth): failure user=y rhost=198.51.100.77 ", "203.0.113.9", "203.0.113.9"),
    ("\x1b[2K\rrhost=198.51.100.77", "203.0.113.10", "203.0.113.10"),
    (("rhost=198.51.100.77 " * 60).strip(), "203.0.113.11", "203.0.113.11"),
    ("rhost=198.51.100.77" * 40, "203.0.113.12", "203.0.113.12"),
    ("", "203.0.113.13", "203.0.113.13"),
    ("bob", "2001:db8::5", "2001:db8::5"),
    ("bob", "::ffff:192.0.2.44", "192.0.2.44"),
    ("bob", "gw.example.net", "gw.example.net"),
    # A local login (rhost=-) is nobody to ban.
    ("bob", None, None),
    # Hostile rhost text (an application that sets PAM_RHOST from what a client says): never matched.
    ("bob", "1.2.3.4 rhost=198.51.100.77", None),
    ("bob", "rhost=198.51.100.77", None),
    ("bob", '198.51.100.77"', None),
    ("bob", "198.51.100.77\n", None),
    ("bob", "\x1b[31m198.51.100.77", None),
    ("bob", "-", None),
]


@pytest.fixture
def fail2ban_config(tmp_path):
    """A fail2ban configuration directory with fail2ban's own common.conf and the shipped filter, as
    /etc/fail2ban is once the filter is installed."""
    if shutil.which("fail2ban-regex") is None:
        pytest.fail("fail2ban-regex is missing: run `make deps`")
    os.makedirs(tmp_path / "filter.d")
    shutil.copy("/etc/fail2ban/filter.d/common.conf", tmp_path / "filter.d")
    shutil.copy(FILTER, tmp_path / "filter.d")
    return tmp_path


def found(config, lines, tmp_path, name):
    """What fail2ban-regex reports for `lines`, one address per line that matched, in order."""
    log = tmp_path / name
    log.write_text("".join(line + "\n" for line in lines))
    # -r: report host names as written rather than resolving them (a test needs no DNS).
    proc = subprocess.run(["fail2ban-regex", "-c", str(config), "-r", "-o", "ip", str(log), "pam-totp"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def module_failure_lines(login):
    return [m.group(1) for m in re.finditer(r"^LOG \d+: (pam_totp\(\S+:auth\): failure .*)$", login.log, re.M)]


def test_the_filter_finds_exactly_the_real_source_of_every_real_failure_line(env, fail2ban_config, tmp_path):
    env.enroll("alice")
    env.service("sshd", "retries=1")
    messages, expected = [], []
    for user, rhost, address in CASES:
        login = env.login(user, "000000", service="sshd", rhost=rhost)
        assert login.rc == PAM_AUTH_ERR, login.log
        lines = module_failure_lines(login)
        assert len(lines) == 1, login.log
        messages.append(lines[0])
        if address:
            expected.append(address)
    # The module's quoting is what the filter relies on: the hostile name is one quoted value.
    assert messages[0].startswith('pam_totp(sshd:auth): failure user="x rhost=198.51.100.77 y" rhost=127.0.0.1 ')

    syslog = [f"Nov 29 12:00:{i % 60:02d} debian sshd[{1000 + i}]: {m}" for i, m in enumerate(messages)]
    rfc3339 = [f"2026-11-29T12:00:{i % 60:02d}.123456+00:00 debian sshd[{1000 + i}]: {m}" for i, m in enumerate(messages)]
    for name, lines in (("auth.log", syslog), ("auth-rfc3339.log", rfc3339)):
        addresses = found(fail2ban_config, lines, tmp_path, name)
        assert addresses == expected, (name, addresses)
        assert INJECTED not in addresses


def test_other_events_and_lines_from_elsewhere_are_not_failures(fail2ban_config, tmp_path):
    lines = [
        "Nov 29 12:00:00 debian sshd[1]: pam_totp(sshd:auth): success user=alice rhost=203.0.113.5 method=totp",
        "Nov 29 12:00:00 debian sshd[1]: pam_totp(sshd:auth): refused user=alice rhost=203.0.113.5 reason=enrollment-path",
        "Nov 29 12:00:00 debian sshd[1]: pam_totp(sshd:auth): skipped user=alice rhost=203.0.113.5 nullok=yes reason=not-enrolled",
        # Another program's line that quotes a failure does not count: the module's tag must come right
        # after the syslog header.
        "Nov 29 12:00:00 debian sshd[1]: Invalid user pam_totp(sshd:auth): failure user=x rhost=198.51.100.77 from 203.0.113.5",
        "Nov 29 12:00:00 debian sshd[1]: pam_totp(sshd:auth): failure user=alice rhost=203.0.113.5 reason=throttled retry-after=30",
    ]
    assert found(fail2ban_config, lines, tmp_path, "auth.log") == ["203.0.113.5"]


def test_the_readme_shows_the_shipped_filter_and_the_jail_bans_nobody_until_enabled():
    failregex = re.search(r"^failregex = (.+)$", open(FILTER).read(), re.M).group(1)
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert failregex in readme
    assert r"failure user=\S+ rhost=<HOST>" not in readme
    jail = open(JAIL).read()
    assert re.search(r"^\[pam-totp\]$", jail, re.M) and re.search(r"^enabled\s*=\s*false$", jail, re.M)
    assert re.search(r"^filter\s*=\s*pam-totp$", jail, re.M)
