"""Issue 12, item 3: `make install` puts pam-totp-setup where users find it (PREFIX/bin, on every
user's PATH), not in sbin, and installs the fail2ban filter and the disabled jail; `make uninstall`
removes all of it, and the sbin copy an earlier install left.

Runs the real Makefile into a DESTDIR (`-o build`: the release build is already there), so nothing on
the machine changes."""
import os
import subprocess

from pamtotp_it import ROOT, SETUP


def make(*args):
    proc = subprocess.run(["make", "-s", "-C", ROOT, "-o", "build", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def files_under(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_install_puts_the_tool_on_the_users_path_and_uninstall_removes_everything(tmp_path):
    assert os.path.exists(SETUP), "run `make build` first"
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    installed = files_under(dest)
    assert "usr/local/bin/pam-totp-setup" in installed
    assert not any(path.startswith("usr/local/sbin/") for path in installed)
    assert os.access(dest / "usr/local/bin/pam-totp-setup", os.X_OK)
    assert "etc/fail2ban/filter.d/pam-totp.conf" in installed
    assert "etc/fail2ban/jail.d/pam-totp.conf" in installed
    assert open(dest / "etc/fail2ban/filter.d/pam-totp.conf").read() == open(os.path.join(ROOT, "fail2ban/filter.d/pam-totp.conf")).read()

    # The copy an install before this change left in sbin goes too.
    os.makedirs(dest / "usr/local/sbin")
    (dest / "usr/local/sbin/pam-totp-setup").write_bytes(b"old")
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert files_under(dest) == []
