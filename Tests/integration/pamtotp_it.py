"""Fixtures for the integration tests: the built module loaded into a real libpam stack.

Nothing in /etc is read or changed. Users come from nss_wrapper (LD_PRELOAD with private passwd and
group files), the PAM configuration from a private directory (pam_start_confdir in build/pamdrive),
and every file lives in a temporary directory that is removed afterwards. The tests run as root, as
the module does inside sshd, so that ownership and privilege switching are real.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
MODULE = os.path.join(BUILD, "pam_totp.so")
SETUP = os.path.join(BUILD, "pam-totp-setup")
PAMDRIVE = os.path.join(BUILD, "pamdrive")
SYSLOG_CAPTURE = os.path.join(BUILD, "libsyslog_capture.so")
FREE_SCAN = os.path.join(BUILD, "libfree_scan.so")

# Linux-PAM return codes (security/_pam_types.h).
PAM_SUCCESS, PAM_SERVICE_ERR, PAM_PERM_DENIED, PAM_AUTH_ERR = 0, 3, 6, 7
PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_IGNORE = 9, 19, 25

USERS = {"alice": 2001, "bob": 2002, "carol": 2003}
SUBCOMMANDS = {"enroll", "status", "recovery-codes", "show", "reset", "devices", "forget", "unlock", "import-google-authenticator",
               "store", "web-helper"}
KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp(key, at=None, digits=6, period=30, algorithm="sha1", step_offset=0):
    """RFC 6238 in a few lines, for codes at times oathtool cannot be asked about quickly."""
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    counter = int((time.time() if at is None else at) // period) + step_offset
    mac = hmac.new(secret, struct.pack(">Q", counter), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def oathtool(key, *args):
    """A code from oathtool, the independent generator."""
    return subprocess.run(["oathtool", "--totp", "-b", *args, key], check=True, capture_output=True, text=True).stdout.strip()


def wait_for_fresh_step(period=30, margin=3):
    """Sleeps past a step boundary that is less than `margin` seconds away, so a test's codes stay in
    the step they were made for."""
    remaining = period - time.time() % period
    if remaining < margin:
        time.sleep(remaining + 0.2)


@dataclass
class Login:
    rc: int
    out: str
    log: str
    prompts: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    infos: list = field(default_factory=list)

    def logged(self, pattern):
        return re.search(pattern, self.log) is not None


class Env:
    """One test's world: users, homes, a state directory, PAM services and the tools' environment."""

    def __init__(self, root):
        self.root = root
        self.state = os.path.join(root, "state")
        self.pamd = os.path.join(root, "pam.d")
        self.central = os.path.join(root, "central")
        self.sensitive = set()
        self.logs = []
        self.setup_log = os.path.join(root, "setup-syslog")
        self.config = os.path.join(root, "pam-totp.conf")
        os.makedirs(self.pamd)
        with open(os.path.join(self.pamd, "other"), "w") as f:
            f.write("auth required pam_deny.so\n")
        self.uids = dict(USERS)
        self.homes = {}
        self.passwd = ["root:x:0:0:root:/root:/bin/sh"]
        self.group = ["root:x:0:"]
        for name, uid in USERS.items():
            self._account(name, uid)
        # Supplementary groups for the groups=/exempt_groups= tests: carol is in both.
        self.group += ["staff:x:3001:alice,carol", "contractors:x:3002:bob,carol"]
        self._write("passwd", "\n".join(self.passwd) + "\n")
        self._write("group", "\n".join(self.group) + "\n")
        self.environ = dict(os.environ, LD_PRELOAD="libnss_wrapper.so " + SYSLOG_CAPTURE,
                            NSS_WRAPPER_PASSWD=os.path.join(root, "passwd"),
                            NSS_WRAPPER_GROUP=os.path.join(root, "group"))
        self.service("test")

    def _account(self, name, uid, home=None):
        home = home or os.path.join(self.root, "home", name)
        self.homes[name] = home
        self.uids[name] = uid
        os.makedirs(home)
        os.chown(home, uid, uid)
        os.chmod(home, 0o700)
        self.passwd.append(f"{name}:x:{uid}:{uid}:{name[:32]}:{home}:/bin/sh")
        self.group.append(f"{name}:x:{uid}:")

    def add_user(self, name, uid):
        """Adds a user to this test's passwd and group files, with a home of its own (named by the uid,
        so that a name too long to be a file name still gets one)."""
        self._account(name, uid, home=os.path.join(self.root, "home", f"uid-{uid}"))
        self._write("passwd", "\n".join(self.passwd) + "\n")
        self._write("group", "\n".join(self.group) + "\n")

    def _write(self, name, text):
        with open(os.path.join(self.root, name), "w") as f:
            f.write(text)

    def home(self, user):
        return self.homes.get(user) or os.path.join(self.root, "home", user)

    def enrollment_path(self, user):
        return os.path.join(self.home(user), ".pam_totp")

    def service(self, name, options="", stack=None):
        """Writes a PAM service. `stack` lines may use {module}, {state} and {config}; the module line
        always names the test's configuration file, so the machine's /etc/pam-totp.conf never counts."""
        lines = stack or ["auth required {module} state={state} " + options]
        lines = [l.replace("{state}", "{state} config={config}", 1) if "{module}" in l and "config=" not in l else l for l in lines]
        # Most tests make several failures from one source; throttling has tests of its own
        # (test_attack.py), which write their stacks with the defaults themselves.
        lines = [l.replace("{state}", "{state} throttle_free=20", 1) if "{module}" in l and not re.search(r"throttle_|max_failures|retries=1 *$", l) and stack is None else l for l in lines]
        with open(os.path.join(self.pamd, name), "w") as f:
            for line in lines:
                f.write(line.format(module=MODULE, state=self.state, config=self.config) + "\n")

    def login(self, user, *responses, service="test", rhost=None, wrapper=(), env=(), process_env=None, silent=False):
        """One pam_authenticate through build/pamdrive. `env` goes into the PAM environment,
        `process_env` into pamdrive's own environment (LD_PRELOAD is appended to the fixture's);
        `silent` passes PAM_SILENT, as sudo does."""
        self.sensitive.update(r for r in responses if len(r) >= 6)
        argv = [*wrapper, PAMDRIVE, "-c", self.pamd, "-s", service, "-u", user] + (["-q"] if silent else [])
        if rhost:
            argv += ["-r", rhost]
        for variable in env:
            argv += ["-e", variable]
        environ = dict(self.environ)
        for name, value in (process_env or {}).items():
            environ[name] = environ[name] + " " + value if name == "LD_PRELOAD" else value
        proc = subprocess.run(argv + list(responses), env=environ, capture_output=True, text=True, timeout=60)
        self.logs.append(proc.stderr)
        return self.parse(proc.returncode, proc.stdout, proc.stderr)

    def start_login(self, user, *responses, service="test"):
        self.sensitive.update(r for r in responses if len(r) >= 6)
        return subprocess.Popen([PAMDRIVE, "-c", self.pamd, "-s", service, "-u", user, *responses],
                                env=self.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc):
        out, err = proc.communicate(timeout=60)
        self.logs.append(err)
        return self.parse(proc.returncode, out, err)

    @staticmethod
    def parse(rc, out, err):
        login = Login(rc, out, err)
        for line in out.splitlines():
            kind, _, text = line.partition(": ")
            {"PROMPT_OFF": login.prompts, "PROMPT_ON": login.prompts, "ERROR": login.errors,
             "INFO": login.infos}.get(kind, []).append(text)
        return login

    def setup(self, *args, code=None, as_user=None, check=True):
        """Runs build/pam-totp-setup with the test's configuration file; `code` goes to standard input.
        What it logs is appended to self.setup_log."""
        argv = [SETUP, *args]
        if args and args[0] in SUBCOMMANDS:
            argv += ["--config", self.config, "--state", self.state]
        if as_user:
            uid = self.uids[as_user]
            argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv]
        environ = dict(self.environ, SYSLOG_CAPTURE_FILE=self.setup_log)
        proc = subprocess.run(argv, input=(code + "\n") if code else "", env=environ,
                              capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"pam-totp-setup {args} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def enroll(self, user="alice", key=KEY, extra=(), generator=None):
        """Enrolls `user` from a known key through the real tool and returns its JSON."""
        wait_for_fresh_step()
        code = generator() if generator else totp(key)
        proc = self.setup("enroll", "--user", user, "--key", key, "--json", "--issuer", "Test", *extra, code=code)
        data = json.loads(proc.stdout)
        self.sensitive.update([key, *data["recovery_codes"]])
        return data

    def state_path(self, user):
        """Where the module keeps `user`'s state (docs/FILEFORMAT.md, "File names")."""
        if len(user.encode()) + len(".state") <= 255:
            return os.path.join(self.state, user + ".state")
        return os.path.join(self.state, hashlib.sha256(user.encode()).hexdigest() + ".sha256-state")

    def state_text(self, user):
        path = self.state_path(user)
        return open(path).read() if os.path.exists(path) else None


@pytest.fixture
def env():
    for tool in (MODULE, SETUP, PAMDRIVE, SYSLOG_CAPTURE):
        if not os.path.exists(tool):
            pytest.fail(f"{tool} is missing: run `make build harness` first")
    if os.geteuid() != 0:
        pytest.fail("the integration tests must run as root, as the module does under sshd")
    system_state_existed = os.path.exists("/var/lib/pam-totp")
    root = tempfile.mkdtemp(prefix="pamtotp-it-")
    os.chmod(root, 0o755)
    os.makedirs(os.path.join(root, "home"))
    os.chmod(os.path.join(root, "home"), 0o755)
    world = Env(root)
    yield world
    # No secret, code or recovery code may ever reach a log line.
    logs = "\n".join(world.logs) + (open(world.setup_log).read() if os.path.exists(world.setup_log) else "")
    for value in world.sensitive:
        assert value not in logs, "a secret or code reached the log"
    shutil.rmtree(root)
    assert system_state_existed or not os.path.exists("/var/lib/pam-totp"), "a test wrote into the machine's /var/lib/pam-totp"
