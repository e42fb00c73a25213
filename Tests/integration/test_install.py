"""Issue 12, item 3: `make install` puts pam-totp-setup where users find it (PREFIX/bin, on every
user's PATH), not in sbin, and installs the fail2ban filter and the disabled jail; `make uninstall`
removes all of it, and the sbin copy an earlier install left.

Issue 15: it also installs the self-service portal (pam-totp-web in sbin, its templates and static
files, both systemd units with this PREFIX's paths, the commented /etc/pam-totp-web.conf and the
nginx site, each only where there is none, and pam-totp-web(8)); `systemd-analyze verify` accepts
the installed units (offline: no systemd needs to run here) and rates their exposure low.

Runs the real Makefile into a DESTDIR (`-o build`: the release build is already there), so nothing on
the machine changes."""
import glob
import os
import re
import shutil
import subprocess

import pytest
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
    # Only the portal's daemon is in sbin; the tool users run is not.
    assert [path for path in installed if path.startswith("usr/local/sbin/")] == ["usr/local/sbin/pam-totp-web"]
    assert os.access(dest / "usr/local/bin/pam-totp-setup", os.X_OK)
    assert "etc/fail2ban/filter.d/pam-totp.conf" in installed
    assert "etc/fail2ban/jail.d/pam-totp.conf" in installed
    assert open(dest / "etc/fail2ban/filter.d/pam-totp.conf").read() == open(os.path.join(ROOT, "fail2ban/filter.d/pam-totp.conf")).read()

    # The copy an install before this change left in sbin goes too.
    (dest / "usr/local/sbin/pam-totp-setup").write_bytes(b"old")
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert files_under(dest) == []


PORTAL_UNITS = ["pam-totp-web.service", "pam-totp-web-helper.service"]


def repo_files(pattern):
    return sorted(os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, pattern)))


def test_install_puts_the_portal_in_place_without_overwriting_an_admins_files(tmp_path):
    assert os.path.exists(os.path.join(ROOT, "build", "pam-totp-web")), "run `make build` first"
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    installed = files_under(dest)
    assert os.access(dest / "usr/local/sbin/pam-totp-web", os.X_OK)
    templates = repo_files("web/templates/*.mustache")
    static = repo_files("web/static/*")
    assert templates and {"web/static/style.css", "web/static/copy.js"} <= set(static)
    for source in templates + static:
        target = "usr/local/share/pam-totp-web/" + source[len("web/"):]
        assert open(dest / target, "rb").read() == open(os.path.join(ROOT, source), "rb").read(), target
    for name in PORTAL_UNITS:
        assert f"usr/local/lib/systemd/system/{name}" in installed
    assert "usr/local/share/man/man8/pam-totp-web.8" in installed
    assert "usr/local/share/doc/pam-totp/pam.d-examples/pam-totp-web" in installed
    assert "usr/local/share/doc/pam-totp/nginx/pam-totp-web.conf" in installed
    assert "usr/local/share/doc/pam-totp/PORTAL.md" in installed
    # The site is available, not enabled: enabling it (with a certificate) is the admin's step.
    assert open(dest / "etc/nginx/sites-available/pam-totp-web").read() == open(os.path.join(ROOT, "web/nginx/pam-totp-web.conf")).read()
    assert not os.path.exists(dest / "etc/nginx/sites-enabled")
    config = dest / "etc/pam-totp-web.conf"
    assert config.read_text() == open(os.path.join(ROOT, "web/pam-totp-web.conf")).read()
    assert config.stat().st_mode & 0o777 == 0o644  # the web user reads it; no one but root writes it
    web_unit = (dest / "usr/local/lib/systemd/system/pam-totp-web.service").read_text()
    assert ("ExecStart=/usr/local/sbin/pam-totp-web --config /etc/pam-totp-web.conf --templates "
            "/usr/local/share/pam-totp-web/templates --static /usr/local/share/pam-totp-web/static") in web_unit

    # An admin's edited configuration and site survive a second install and the uninstall; an
    # enabled site is never removed (nginx would not start with a dangling link).
    config.write_text(config.read_text() + "setup_networks = 192.0.2.0/24\n")
    site = dest / "etc/nginx/sites-available/pam-totp-web"
    site.write_text(site.read_text() + "# edited\n")
    edited = {config: config.read_text(), site: site.read_text()}
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert {path: path.read_text() for path in edited} == edited
    out = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local").stdout
    assert "left /etc/pam-totp-web.conf in place" in out and "left /etc/nginx/sites-available/pam-totp-web in place" in out
    assert files_under(dest) == ["etc/nginx/sites-available/pam-totp-web", "etc/pam-totp-web.conf"]

    # Unedited, both go; enabled, the site stays.
    shutil.rmtree(dest)
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    os.makedirs(dest / "etc/nginx/sites-enabled")
    os.symlink("../sites-available/pam-totp-web", dest / "etc/nginx/sites-enabled/pam-totp-web")
    out = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local").stdout
    assert "it is enabled" in out
    assert files_under(dest) == ["etc/nginx/sites-available/pam-totp-web", "etc/nginx/sites-enabled/pam-totp-web"]
    os.remove(dest / "etc/nginx/sites-enabled/pam-totp-web")
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert files_under(dest) == []


def exposure(path):
    """systemd-analyze security's overall exposure of a unit file (0 best, 10 worst), offline."""
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(path)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert found, proc.stdout + proc.stderr
    return float(found.group(1))


def test_systemd_accepts_the_installed_units_and_rates_them_well_sandboxed(tmp_path):
    """As the Debian package installs them (PREFIX=/usr). systemd-analyze verify reads the files
    without a running systemd; it checks every directive and that ExecStart names an executable, so
    the units' absolute paths are pointed into DESTDIR (only that prefix changes)."""
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr", "UNITDIR=/lib/systemd/system")
    checked = tmp_path / "units"
    checked.mkdir()
    for name in PORTAL_UNITS:
        text = (dest / "lib/systemd/system" / name).read_text()
        execs = re.findall(r"^ExecStart=(\S+)", text, re.M)
        assert execs in (["/usr/sbin/pam-totp-web"], ["/usr/bin/pam-totp-setup"]), execs
        assert os.access(str(dest) + execs[0], os.X_OK)
        (checked / name).write_text(text.replace(f"ExecStart={execs[0]}", f"ExecStart={dest}{execs[0]}"))
    if "ReadWritePaths=/var/lib/pam-totp\n" not in (checked / "pam-totp-web-helper.service").read_text():
        raise AssertionError("the helper's unit does not let it write the state directory")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(checked / n) for n in PORTAL_UNITS]],
                          capture_output=True, text=True, timeout=60, cwd=checked)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr
    # The web process: no capability, no home, loopback only; the helper is root, with what PAM
    # and the enrollments need (each unit says why). systemd calls below 4.5 "OK".
    assert exposure(checked / "pam-totp-web.service") <= 2.0
    assert exposure(checked / "pam-totp-web-helper.service") <= 3.0
