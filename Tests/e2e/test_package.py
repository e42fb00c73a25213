"""Issue 12: the Debian package (`make deb`) passes lintian without errors, installs where Debian puts
PAM modules and tools, works as installed, and purges cleanly. Issue 15: so does the second package,
pam-totp-web (the portal), whose postinst creates the system user pam-totp-web and which enables
and starts nothing.

The test installs the package on this machine with apt-get, so it changes the real system: run it
under the lock the engineers share (`flock /tmp/pamtotp-system.lock python3 -m pytest …`; it does
not take the lock itself, since a flock in a child of the holder would wait forever). A login goes
through the installed module by its bare name, as a pam.d line on the machine would name it:
build/pamdrive runs a private pam.d directory naming `pam_totp.so`, which libpam looks up in its own
module directory; the user comes from nss_wrapper, as in Tests/integration. Anything the package
would replace that was on the machine before (a module or fail2ban files from `make install`) is
moved aside and put back; the state directory, which a purge keeps on purpose (README, "Building
and testing"), is removed afterwards if it did not exist before."""
import base64
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
PAMDRIVE = os.path.join(BUILD, "pamdrive")
SYSLOG_CAPTURE = os.path.join(BUILD, "libsyslog_capture.so")
MULTIARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True).stdout.strip()
MODULE = f"/lib/{MULTIARCH}/security/pam_totp.so"
STATEDIR = "/var/lib/pam-totp"
KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
USER, UID = "pamtotp-pkg", 2901

# What Debian's layout puts where (checked against `dpkg -L`).
EXPECTED = [
    MODULE,
    "/usr/bin/pam-totp-setup",
    "/usr/share/man/man1/pam-totp-setup.1.gz",
    "/usr/share/man/man8/pam_totp.8.gz",
    "/usr/share/doc/pam-totp/README.md.gz",
    "/usr/share/doc/pam-totp/FILEFORMAT.md.gz",
    "/usr/share/doc/pam-totp/copyright",
    "/usr/share/doc/pam-totp/pam.d-examples/sshd-key-code",
    "/usr/share/doc/pam-totp/pam.d-examples/sshd-password-code",
    "/usr/share/doc/pam-totp/pam.d-examples/ocserv",
    "/usr/share/doc/pam-totp/pam.d-examples/sudo",
    "/usr/share/doc/pam-totp/pam.d-examples/login",
    "/usr/share/doc/pam-totp/sshd_config.d/10-pam-totp-key-code.conf",
    "/usr/share/doc/pam-totp/sshd_config.d/10-pam-totp-password-code.conf",
    "/usr/lib/tmpfiles.d/pam-totp.conf",
    "/usr/share/bash-completion/completions/pam-totp-setup",
    "/usr/share/zsh/vendor-completions/_pam-totp-setup",
    "/usr/share/fish/vendor_completions.d/pam-totp-setup.fish",
    "/etc/fail2ban/filter.d/pam-totp.conf",
    "/etc/fail2ban/jail.d/pam-totp.conf",
    STATEDIR,
]
# What the portal's package puts where.
EXPECTED_WEB = [
    "/usr/sbin/pam-totp-web",
    "/usr/share/pam-totp-web/static/style.css",
    "/usr/share/pam-totp-web/static/copy.js",
    "/lib/systemd/system/pam-totp-web.service",
    "/lib/systemd/system/pam-totp-web-helper.service",
    "/usr/share/man/man8/pam-totp-web.8.gz",
    "/etc/pam-totp-web.conf",
    "/etc/nginx/sites-available/pam-totp-web",
]
# The portal's documentation is in pam-totp's (as the README's recipes name it).
EXPECTED += [
    "/usr/share/doc/pam-totp/pam.d-examples/pam-totp-web",
    "/usr/share/doc/pam-totp/PORTAL.md.gz",
]
WEB_CONFFILES = ["/etc/pam-totp-web.conf", "/etc/nginx/sites-available/pam-totp-web"]
WEB_USER = "pam-totp-web"
# Files the packages own that a `make install` may have put there unpackaged.
REPLACED = [MODULE, "/etc/fail2ban/filter.d/pam-totp.conf", "/etc/fail2ban/jail.d/pam-totp.conf", *WEB_CONFFILES]


def run(*argv, check=True, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)
    if check:
        assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"
    return proc


def totp(key, step_offset=0):
    secret = base64.b32decode(key)
    mac = hmac.new(secret, struct.pack(">Q", int(time.time() // 30) + step_offset), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**6).zfill(6)


def installed(package):
    proc = run("dpkg-query", "-W", "-f=${Status}", package, check=False)
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def package_paths():
    """The packages `make deb` built (pam-totp, pam-totp-web); built here if missing or older than
    the release build."""
    def found():
        return [glob.glob(os.path.join(BUILD, "deb", f"{name}_*.deb")) for name in ("pam-totp", "pam-totp-web")]
    debs = found()
    newest_build = max(os.path.getmtime(os.path.join(BUILD, f)) for f in ("pam_totp.so", "pam-totp-setup", "pam-totp-web"))
    if any(len(d) != 1 or os.path.getmtime(d[0]) < newest_build for d in debs):
        run("make", "-s", "-C", ROOT, "-o", "build", "deb")
        debs = found()
    assert all(len(d) == 1 for d in debs), debs
    return debs[0][0], debs[1][0]


def user_exists(name):
    return run("getent", "passwd", name, check=False).returncode == 0


@pytest.fixture
def machine():
    """Moves aside what the package would replace and puts it back afterwards, with the purge done
    even if the test failed half-way."""
    for tool in (PAMDRIVE, SYSLOG_CAPTURE):
        if not os.path.exists(tool):
            pytest.fail(f"{tool} is missing: run `make build harness` first")
    for package in ("pam-totp", "pam-totp-web"):
        if installed(package):
            pytest.fail(f"a {package} package is installed on this machine; the test would purge it")
    state_existed = os.path.exists(STATEDIR)
    web_user_existed = user_exists(WEB_USER)
    aside = tempfile.mkdtemp(prefix="pamtotp-pkg-aside-")
    moved = []
    for path in REPLACED:
        if os.path.lexists(path):
            target = os.path.join(aside, str(len(moved)))
            shutil.move(path, target)
            moved.append((path, target))
    try:
        yield
    finally:
        for package in ("pam-totp-web", "pam-totp"):
            if installed(package):
                run("apt-get", "purge", "-y", "-q", package, check=False, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        # The postinst's system user stays at purge, as Debian's packages leave theirs; the test
        # removes it if it made it.
        if not web_user_existed and user_exists(WEB_USER):
            run("userdel", WEB_USER, check=False)
            run("groupdel", WEB_USER, check=False)
        if not state_existed:
            shutil.rmtree(STATEDIR, ignore_errors=True)
        for path, target in moved:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.move(target, path)
        shutil.rmtree(aside)


class World:
    """A user from nss_wrapper with a home in a temporary directory, and a private pam.d directory
    whose service names the module by its bare name, so libpam loads the installed one."""

    def __init__(self, root):
        self.root = root
        self.home = os.path.join(root, "home")
        os.makedirs(self.home)
        os.chown(self.home, UID, UID)
        os.chmod(self.home, 0o700)
        with open(os.path.join(root, "passwd"), "w") as f:
            f.write(f"root:x:0:0:root:/root:/bin/sh\n{USER}:x:{UID}:{UID}::{self.home}:/bin/sh\n")
        with open(os.path.join(root, "group"), "w") as f:
            f.write(f"root:x:0:\n{USER}:x:{UID}:\n")
        # An empty site configuration, so the machine's /etc/pam-totp.conf (if any) never counts.
        self.config = os.path.join(root, "pam-totp.conf")
        open(self.config, "w").close()
        self.pamd = os.path.join(root, "pam.d")
        os.makedirs(self.pamd)
        with open(os.path.join(self.pamd, "pkgtest"), "w") as f:
            f.write(f"auth required pam_totp.so retries=1 config={self.config}\n")
        self.log = os.path.join(root, "syslog")
        self.environ = dict(os.environ, LD_PRELOAD="libnss_wrapper.so " + SYSLOG_CAPTURE, SYSLOG_CAPTURE_FILE=self.log,
                            NSS_WRAPPER_PASSWD=os.path.join(root, "passwd"), NSS_WRAPPER_GROUP=os.path.join(root, "group"))

    def login(self, code):
        proc = subprocess.run([PAMDRIVE, "-c", self.pamd, "-s", "pkgtest", "-u", USER, "-r", "192.0.2.7", code],
                              env=self.environ, capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout + proc.stderr + (open(self.log).read() if os.path.exists(self.log) else "")


@pytest.fixture
def world():
    # Not pytest's tmp_path: its parents are 0700, and the module reads the home as the user.
    root = tempfile.mkdtemp(prefix="pamtotp-pkg-")
    os.chmod(root, 0o755)
    yield World(root)
    shutil.rmtree(root)


def test_the_package_passes_lintian_installs_the_debian_way_works_and_purges_cleanly(machine, world):
    deb, web_deb = package_paths()
    # Version: the tool's own, as debian/changelog says (make deb refuses a mismatch).
    tool_version = run(os.path.join(BUILD, "pam-totp-setup"), "--version").stdout.strip()
    assert run("dpkg-deb", "-f", deb, "Version").stdout.strip() == tool_version
    assert run("dpkg-deb", "-f", web_deb, "Version").stdout.strip() == tool_version

    lintian = run("lintian", "--fail-on", "error", deb, web_deb, check=False)
    assert lintian.returncode == 0 and not re.search(r"^E: ", lintian.stdout, re.M), lintian.stdout + lintian.stderr

    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", deb, web_deb, env=env)
    owned = run("dpkg", "-L", "pam-totp").stdout.split("\n")
    for path in EXPECTED:
        assert path in owned, path
        assert os.path.exists(path), path
    files = [p for p in owned if p and not os.path.isdir(p)]
    web_owned = run("dpkg", "-L", "pam-totp-web").stdout.split("\n")
    for path in EXPECTED_WEB:
        assert path in web_owned, path
        assert os.path.exists(path), path
    web_files = [p for p in web_owned if p and not os.path.isdir(p)]
    # The nginx example, compressed or not (dh_compress takes documentation above 4 kB).
    assert {"/usr/share/doc/pam-totp/nginx/pam-totp-web.conf", "/usr/share/doc/pam-totp/nginx/pam-totp-web.conf.gz"} & set(owned)
    assert os.access("/usr/sbin/pam-totp-web", os.X_OK)
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "pam-totp-web").stdout
    for path in WEB_CONFFILES:
        assert path in conffiles, conffiles  # never overwritten without asking
    assert stat.S_IMODE(os.stat("/etc/pam-totp-web.conf").st_mode) == 0o644
    # The postinst made the system user the unit runs as; nothing is enabled or started.
    entry = run("getent", "passwd", WEB_USER).stdout.strip().split(":")
    assert int(entry[2]) < 1000 and entry[5] == "/nonexistent" and entry[6] == "/usr/sbin/nologin", entry
    unit_text = open("/lib/systemd/system/pam-totp-web.service").read()
    assert "ExecStart=/usr/sbin/pam-totp-web --config /etc/pam-totp-web.conf --templates /usr/share/pam-totp-web/templates" in unit_text
    assert f"User={WEB_USER}" in unit_text
    enabled = glob.glob("/etc/systemd/system/*/pam-totp-web*.service")
    assert enabled == [], enabled
    assert not os.path.lexists("/etc/nginx/sites-enabled/pam-totp-web")
    state = os.stat(STATEDIR)
    assert stat.S_IMODE(state.st_mode) == 0o700 and state.st_uid == 0
    assert os.access("/usr/bin/pam-totp-setup", os.X_OK)
    assert run("/usr/bin/pam-totp-setup", "--version").stdout.strip() == tool_version
    assert run("man", "-w", "pam_totp").stdout.strip() == "/usr/share/man/man8/pam_totp.8.gz"
    # The installed filter works in place, with the machine's fail2ban configuration (if installed).
    if shutil.which("fail2ban-regex"):
        line = ('Nov 29 12:00:00 debian sshd[1]: pam_totp(sshd:auth): failure user="x rhost=198.51.100.77 y" '
                "rhost=203.0.113.5 attempt=1/3 method=totp reason=wrong-code")
        assert run("fail2ban-regex", "-r", "-o", "ip", line, "pam-totp").stdout.split() == ["203.0.113.5"]

    # Enroll with the installed tool, log in through the installed module (by its bare name).
    code = totp(KEY)
    if 30 - time.time() % 30 < 4:
        time.sleep(4)
        code = totp(KEY)
    enrolled = run("/usr/bin/pam-totp-setup", "enroll", "--user", USER, "--key", KEY, "--json", "--issuer", "Test",
                   "--config", world.config, input=code + "\n", env=world.environ)
    assert json.loads(enrolled.stdout)["file"] == os.path.join(world.home, ".pam_totp")
    # The enrollment used this step's code; the next step's is inside the default window of ±1.
    rc, out = world.login(totp(KEY, step_offset=1))
    assert rc == 0, out
    assert re.search(rf"pam_totp\(pkgtest:auth\): success user={USER} rhost=192\.0\.2\.7 method=totp", out), out
    assert os.path.exists(os.path.join(STATEDIR, USER + ".state"))

    run("apt-get", "purge", "-y", "-q", "pam-totp-web", "pam-totp", env=env)
    assert not installed("pam-totp") and not installed("pam-totp-web")
    left = [p for p in files + web_files if os.path.lexists(p)]
    assert left == [], left
    assert not os.path.exists("/usr/share/doc/pam-totp")
    # Kept on purpose: users' state (and central enrollments, if any) in the state directory, and
    # the enrollment in the user's home.
    assert os.listdir(STATEDIR) and os.path.exists(os.path.join(world.home, ".pam_totp"))
    # The module is gone: the same stack now fails to load it.
    os.remove(world.log)
    rc, out = world.login(totp(KEY, step_offset=1))
    assert rc != 0 and "success" not in out, out
