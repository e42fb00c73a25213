"""Issue 12, item 12: the README's Troubleshooting advice finds the module's log lines in the journal.

pam_syslog logs with the application's identifier (sshd, sudo), so the old advice, `journalctl -t sshd
-t pam_totp`, selects by a `pam_totp` tag that no line carries (and, for sshd, every other sshd line).
The module's real lines (from logins through the real PAM stack) are written into a real journal
file, as journald would store them, by systemd-journal-remote, and read with the real journalctl
(`--file`, since the test must not write into the machine's journal)."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from pamtotp_it import PAM_AUTH_ERR, ROOT

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def module_lines(login):
    return re.findall(r"^LOG \d+: (pam_totp\(.*)$", login.log, re.M)


def export_entry(index, identifier, message):
    """One entry in the Journal Export Format (systemd's JOURNAL_EXPORT_FORMATS), as sent by a
    syslog(3) caller: identifier, authpriv facility, message."""
    return "".join(f"{k}={v}\n" for k, v in [
        ("__CURSOR", f"s=0;i={index}"), ("__REALTIME_TIMESTAMP", int(time.time() * 1e6) + index),
        ("__MONOTONIC_TIMESTAMP", index + 1), ("_BOOT_ID", "0123456789abcdef0123456789abcdef"),
        ("_HOSTNAME", "debian"), ("_PID", 1000 + index), ("SYSLOG_IDENTIFIER", identifier),
        ("SYSLOG_FACILITY", 10), ("PRIORITY", 5), ("MESSAGE", message)]) + "\n"


def journalctl(journal, *args):
    proc = subprocess.run(["journalctl", "--file", journal, "-o", "cat", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_troubleshooting_commands_find_the_module_lines_in_a_real_journal(env):
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.fail(f"{JOURNAL_REMOTE} is missing: run `make deps`")
    env.enroll("alice")
    env.service("sshd", "retries=1")
    env.service("sudo", "retries=1")
    ssh = module_lines(env.login("alice", "000000", service="sshd", rhost="203.0.113.5"))
    sudo = module_lines(env.login("alice", "000000", service="sudo"))
    assert len(ssh) == 1 and len(sudo) == 1
    assert env.login("bob", "000000", service="sshd").rc == PAM_AUTH_ERR

    entries = [("sshd", "Accepted publickey for alice from 203.0.113.5 port 4242 ssh2"), ("sshd", ssh[0]),
               ("sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/true"), ("sudo", sudo[0])]
    work = tempfile.mkdtemp(prefix="pamtotp-journal-")
    try:
        export = os.path.join(work, "entries.export")
        with open(export, "w") as f:
            f.write("".join(export_entry(i, ident, message) for i, (ident, message) in enumerate(entries)))
        journal = os.path.join(work, "test.journal")
        subprocess.run([JOURNAL_REMOTE, "-o", journal, export], check=True, capture_output=True, timeout=60)

        readme = open(os.path.join(ROOT, "README.md")).read()
        troubleshooting = readme[readme.index("## Troubleshooting"):]
        assert "`journalctl -g pam_totp`" in troubleshooting and "`-t sshd`" in troubleshooting
        assert "-t pam_totp" not in readme
        # All services' lines, and nothing else; then one service's.
        assert journalctl(journal, "-g", "pam_totp") == [ssh[0], sudo[0]]
        assert journalctl(journal, "-t", "sshd", "-g", "pam_totp") == [ssh[0]]
        # What the old advice relied on: no line carries a pam_totp tag.
        assert journalctl(journal, "-t", "pam_totp") == []
    finally:
        shutil.rmtree(work)
