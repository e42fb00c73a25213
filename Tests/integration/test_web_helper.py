"""`pam-totp-setup web-helper`, the portal's privileged helper (docs/PORTAL.md), driven through its
socket by a small client of the protocol, as pam-totp-web speaks it.

Real parts: the helper is build/pam-totp-setup, run as root with --pam-dir pointing at a scratch
pam.d that holds pam.d-examples/pam-totp-web (the built module's path substituted); users are
throwaway accounts (useradd/chpasswd), so pam_unix checks real passwords; codes come from oathtool;
the module's own logins, for shared throttling, replay and remembered devices, go through
build/pamdrive on the same pam.d and state.
"""
import base64
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import testbed  # noqa: E402

PAMDRIVE = os.path.join(testbed.BUILD, "pamdrive")
KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "Corr3ct-horse"
SERVICE = "pam-totp-web"
PLAIN = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/@,+")


def encode(verb, **fields):
    """One protocol line (PortalMessage.encoded()): `VERB key=value`, values percent-encoded."""
    parts = [verb]
    for key, value in fields.items():
        raw = value.encode() if isinstance(value, str) else value
        parts.append(key.replace("_", "-") + "=" + "".join(chr(b) if b in PLAIN else f"%{b:02X}" for b in raw))
    return (" ".join(parts) + "\n").encode()


def decode(line):
    verb, *rest = line.split(" ")
    fields = {}
    for part in rest:
        key, _, value = part.partition("=")
        fields[key] = re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), value.encode()).decode()
    return verb, fields


class Connection:
    """One connection to the helper: a browser session as pam-totp-web would open it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(30)
        self.buffer = b""
        self.notes = []

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, verb, **fields):
        self.send_raw(encode(verb, **fields))

    def receive(self):
        """The next answer line as (verb, fields), or None when the helper closed the connection."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return decode(line.decode())

    def request(self, verb, **fields):
        self.send(verb, **fields)
        return self.receive()

    def closed(self):
        return self.receive() is None

    def login(self, user, password=PASSWORD, rhost="127.0.0.1", code=None, remember="no"):
        """LOGIN, answering the code prompts with `code` (a string, or a list for several prompts)
        and the remember question with `remember`. Returns the DONE fields; NOTEs go to self.notes."""
        codes = list(code) if isinstance(code, (list, tuple)) else [code]
        self.send("LOGIN", user=user, rhost=rhost, password=password)
        while True:
            answer = self.receive()
            assert answer is not None, "the helper closed the connection during the login"
            verb, fields = answer
            if verb == "NOTE":
                self.notes.append(fields)
            elif verb == "PROMPT":
                if fields["kind"] == "code":
                    value = codes.pop(0) if codes else ""
                elif fields["kind"] == "remember":
                    self.remember_days = fields["days"]
                    value = remember
                else:
                    value = ""
                self.send("ANSWER", value=value or "")
            else:
                assert verb == "DONE", answer
                return fields

    def close(self):
        self.sock.close()


class Helper:
    """One running helper with its own web configuration."""

    def __init__(self, bed, web_user, name, extra=(), **settings):
        self.bed = bed
        self.path = os.path.join(bed.root, f"{name}.sock")
        self.config = os.path.join(bed.root, f"{name}.conf")
        lines = [f"helper = {self.path}", f"web_user = {web_user.name}", "setup_networks = 127.0.0.0/8, 198.51.100.0/24",
                 "listen = unix:/run/pam-totp-web/http.sock", "contact = the IT desk"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        with open(self.config, "w") as f:
            f.write("# test configuration\n" + "\n".join(lines) + "\n")
        os.chmod(self.config, 0o644)
        self.proc = subprocess.Popen(
            [testbed.SETUP, "web-helper", "--web-config", self.config, "--config", bed.config, "--state", bed.data,
             "--pam-dir", bed.pamd, *extra],
            env=dict(os.environ, LD_PRELOAD=testbed.SYSLOG_CAPTURE, SYSLOG_CAPTURE_FILE=bed.syslog),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"the helper did not start: {self.proc.communicate()[1]}")
            time.sleep(0.05)

    def connect(self):
        return Connection(self.path)

    def stop(self):
        """SIGTERM, as systemd stops it; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        return self.proc.returncode


class World:
    def __init__(self, bed, helper, web_user):
        self.bed, self.helper, self.web_user = bed, helper, web_user
        self.sensitive = {PASSWORD, KEY}
        self.count = 0

    def user(self, enrolled=False):
        self.count += 1
        user = self.bed.user(f"ptwh{os.getpid() % 10000}u{self.count}", PASSWORD)
        if enrolled:
            result = self.bed.enroll(user, KEY)
            user.recovery = result["recovery_codes"]
            self.sensitive.update(user.recovery)
        return user

    def code(self, offset=0):
        code = testbed.oathtool(KEY, offset)
        self.sensitive.add(code)
        return code

    def module_login(self, user, *responses, rhost="127.0.0.1"):
        """A login by the module itself (build/pamdrive) on the same stack and state: what sshd or
        ocserv would see. Returns (result code, output)."""
        proc = subprocess.run([PAMDRIVE, "-c", self.bed.pamd, "-s", SERVICE, "-u", user.name, "-r", rhost, *responses],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LD_PRELOAD=testbed.SYSLOG_CAPTURE, SYSLOG_CAPTURE_FILE=self.bed.syslog))
        return proc.returncode, proc.stdout


@pytest.fixture(scope="module")
def world():
    try:
        testbed.check_prerequisites()
    except testbed.Missing as missing:
        pytest.skip(str(missing))
    if not os.path.exists(PAMDRIVE):
        pytest.skip("build/pamdrive is missing: run `make harness`")
    bed = testbed.Bed(prefix="pamtotp-webhelper-")
    try:
        bed.install_example("pam-totp-web", SERVICE)
        web_user = bed.user(f"ptwh{os.getpid() % 10000}web", PASSWORD)
        helper = Helper(bed, web_user, "helper")
        bed.servers.append(helper)
        yield World(bed, helper, web_user)
    finally:
        bed.close()


def test_login_with_password_and_code(world):
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    done = conn.login(user.name, code=world.code(), remember="no")
    assert done == {"result": "ok", "enrolled": "yes", "code": "yes"}
    assert conn.remember_days == "30"
    verb, status = conn.request("STATUS")
    assert verb == "OK"
    assert status["user"] == user.name and status["enrolled"] == "yes"
    assert (status["type"], status["algorithm"], status["digits"], status["period"]) == ("totp", "SHA1", "6", "30")
    assert status["recovery-left"] == "10" and status["devices"] == "" and status["setup-allowed"] == "yes"
    assert abs(int(status["created"]) - time.time()) < 120
    assert conn.request("BYE") == ("OK", {})
    assert conn.closed()


def test_not_enrolled_user_logs_in_with_the_password_alone(world):
    user = world.user()
    conn = world.helper.connect()
    assert conn.login(user.name) == {"result": "ok", "enrolled": "no", "code": "no"}
    verb, status = conn.request("STATUS")
    assert (verb, status["enrolled"], status["devices"]) == ("OK", "no", "")


def test_wrong_password_wrong_code_and_unknown_user_are_one_reason(world):
    user = world.user(enrolled=True)
    # Wrong password: the code is still asked for (pam_unix is "required"), and the answer is "auth".
    conn = world.helper.connect()
    assert conn.login(user.name, password="wrong-Password1", code=world.code()) == {"result": "fail", "reason": "auth"}
    assert conn.closed()
    conn = world.helper.connect()
    assert conn.login(user.name, code=["000000", "111111", "222222"]) == {"result": "fail", "reason": "auth"}
    assert {"kind": "wrong-code"} in conn.notes
    assert conn.closed()
    conn = world.helper.connect()
    assert conn.login("ptwhnosuchuser", code="123456") == {"result": "fail", "reason": "auth"}
    assert conn.closed()


def test_recovery_code_at_login(world):
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    done = conn.login(user.name, code=user.recovery[0])
    assert done == {"result": "ok", "enrolled": "yes", "code": "yes"}
    assert {"kind": "recovery-accepted", "remaining": "9"} in conn.notes
    assert conn.request("STATUS")[1]["recovery-left"] == "9"


def test_a_code_the_module_accepted_is_refused_by_the_helper(world):
    user = world.user(enrolled=True)
    code = world.code()
    rc, out = world.module_login(user, PASSWORD, code, "n")
    assert rc == 0, out
    conn = world.helper.connect()
    assert conn.login(user.name, code=[code, code, code])["result"] == "fail"
    assert {"kind": "replayed"} in conn.notes


def test_throttling_is_shared_with_the_module(world):
    user = world.user(enrolled=True)
    rhost = "203.0.113.7"
    conn = world.helper.connect()
    assert conn.login(user.name, rhost=rhost, code=world.code(-1))["result"] == "ok"
    refusals = [conn.request("DELETE", code=code) for code in ("000001", "000002", "000003", "000004")]
    assert refusals[:3] == [("ERR", {"reason": "mismatch"})] * 3
    assert refusals[3][0] == "ERR" and refusals[3][1]["reason"] == "throttled" and int(refusals[3][1]["seconds"]) > 0
    # The module now refuses this address unchecked, even with the right code...
    rc, out = world.module_login(user, PASSWORD, world.code(), "n", rhost=rhost)
    assert rc != 0 and "Too many wrong codes from here" in out
    # ...and so does a login through the helper, which says so.
    conn = world.helper.connect()
    done = conn.login(user.name, rhost=rhost, code=world.code(1))
    assert done["result"] == "fail" and done["reason"] == "throttled" and int(done["seconds"]) > 0
    # Another address is not throttled.
    assert world.module_login(user, PASSWORD, world.code(1), "n", rhost="203.0.113.8")[0] == 0


def test_setup_verify_remember_and_the_module_skips_the_code(world):
    user = world.user()
    conn = world.helper.connect()
    assert conn.login(user.name)["enrolled"] == "no"
    assert conn.request("SETUP-SHOW") == ("ERR", {"reason": "no-pending"})
    assert conn.request("REMEMBER") == ("ERR", {"reason": "no-pending"})
    verb, shown = conn.request("SETUP-BEGIN")
    assert verb == "OK", shown
    secret = shown["secret"]
    world.sensitive.add(secret)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert shown["account"] == user.name and shown["issuer"]
    assert shown["uri"].startswith(f"otpauth://totp/") and f"secret={secret}" in shown["uri"]
    assert base64.b64decode(shown["qr"]).startswith(b"\x89PNG\r\n\x1a\n")
    testbed.wait_for_step()
    assert conn.request("SETUP-VERIFY", code="000000") == ("ERR", {"reason": "mismatch"})
    assert conn.request("SETUP-VERIFY", code="not a code") == ("ERR", {"reason": "mismatch"})
    assert world.helper.connect().login(user.name)["enrolled"] == "no", "nothing is saved before the code verifies"
    assert conn.request("SETUP-SHOW")[1]["secret"] == secret, "the same secret stays after a wrong code"
    code = testbed.oathtool(secret)
    world.sensitive.add(code)
    verb, saved = conn.request("SETUP-VERIFY", code=code)
    assert verb == "OK", saved
    recovery = saved["recovery"].split(",")
    world.sensitive.update(recovery)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert conn.request("SETUP-BEGIN") == ("ERR", {"reason": "already-enrolled"})
    verb, remembered = conn.request("REMEMBER")
    assert verb == "OK" and abs(int(remembered["until"]) - time.time() - 30 * 86400) < 120
    status = conn.request("STATUS")[1]
    assert status["enrolled"] == "yes" and status["recovery-left"] == "10"
    assert status["devices"].startswith("address:127.0.0.1@")
    # The module skips the code from that address, and asks for it from another.
    rc, out = world.module_login(user, PASSWORD, rhost="127.0.0.1")
    assert rc == 0 and "PROMPT_OFF: Verification code" not in out, out
    rc, out = world.module_login(user, PASSWORD, "", rhost="127.0.0.2")
    assert rc != 0 and "Verification code" in out
    # A recovery code from the portal works at the module.
    rc, out = world.module_login(user, PASSWORD, recovery[0], rhost="127.0.0.3")
    assert rc == 0, out


def test_the_setup_code_is_recorded_so_the_module_refuses_it_afterwards(world):
    user = world.user()
    conn = world.helper.connect()
    assert conn.login(user.name)["enrolled"] == "no"
    verb, shown = conn.request("SETUP-BEGIN")
    world.sensitive.add(shown["secret"])
    testbed.wait_for_step()
    code = testbed.oathtool(shown["secret"])
    world.sensitive.add(code)
    verb, saved = conn.request("SETUP-VERIFY", code=code)
    assert verb == "OK", saved
    world.sensitive.update(saved["recovery"].split(","))
    rc, out = world.module_login(user, PASSWORD, code, code, code, rhost="192.0.2.200")
    assert rc != 0 and "PAM_SUCCESS" not in out, out


def test_changes_hold_the_users_lock_and_refuse_an_enrollment_that_changed(world):
    """DELETE reads the enrollment, then decides and removes it under the user's state lock (the
    module's), comparing the enrollment first: one replaced meanwhile (here by `enroll --force` while
    the test holds the lock) is left alone. SETUP-VERIFY is create-only in the same way."""
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    assert conn.login(user.name, code=world.code(-1))["result"] == "ok"
    lock = os.open(os.path.join(world.bed.data, f"{user.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        conn.send("DELETE", code=world.code(0))
        time.sleep(1)
        replaced = world.bed.enroll(user, KEY, "--force")
        world.sensitive.update(replaced["recovery_codes"])
    finally:
        os.close(lock)
    assert conn.receive() == ("ERR", {"reason": "unavailable"})
    status = conn.request("STATUS")[1]
    assert status["enrolled"] == "yes" and status["recovery-left"] == "10", "the new enrollment is still there"
    assert "delete refused: user=" + user.name in world.bed.log() and "the enrollment changed meanwhile" in world.bed.log()
    # Setup: an enrollment that appears between SETUP-BEGIN and SETUP-VERIFY is not replaced.
    other = world.user()
    conn = world.helper.connect()
    assert conn.login(other.name)["enrolled"] == "no"
    verb, shown = conn.request("SETUP-BEGIN")
    world.sensitive.add(shown["secret"])
    testbed.wait_for_step()
    code = testbed.oathtool(shown["secret"])
    lock = os.open(os.path.join(world.bed.data, f"{other.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        conn.send("SETUP-VERIFY", code=code)
        time.sleep(1)
        enrolled = world.bed.enroll(other, KEY)
        world.sensitive.update(enrolled["recovery_codes"])
    finally:
        os.close(lock)
    assert conn.receive() == ("ERR", {"reason": "already-enrolled"})
    assert world.module_login(other, PASSWORD, world.code(1), "n", rhost="192.0.2.201")[0] == 0, "the tool's enrollment stands"


def test_new_recovery_codes_and_delete(world):
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    assert conn.login(user.name, code=world.code(-1))["result"] == "ok"
    assert conn.request("RECOVERY-NEW", code=user.recovery[0]) == ("ERR", {"reason": "mismatch"}), "a recovery code is no current code"
    used = world.code(0)
    verb, renewed = conn.request("RECOVERY-NEW", code=used)
    assert verb == "OK"
    fresh = renewed["recovery"].split(",")
    world.sensitive.update(fresh)
    assert len(fresh) == 10 and not set(fresh) & set(user.recovery)
    assert conn.request("DELETE", code=user.recovery[1]) == ("ERR", {"reason": "mismatch"}), "the old codes are gone"
    assert conn.request("DELETE", code=used) == ("ERR", {"reason": "mismatch"}), "a used code is not accepted again"
    assert conn.request("DELETE", code=fresh[0]) == ("OK", {})
    assert conn.request("STATUS")[1]["enrolled"] == "no"
    assert conn.request("DELETE", code=fresh[1]) == ("ERR", {"reason": "not-enrolled"})
    assert conn.request("RECOVERY-NEW", code="123456") == ("ERR", {"reason": "not-enrolled"})
    # Delete with a current code.
    other = world.user(enrolled=True)
    conn = world.helper.connect()
    assert conn.login(other.name, code=world.code(-1))["result"] == "ok"
    assert conn.request("DELETE", code=world.code(1)) == ("OK", {})
    assert world.module_login(other, PASSWORD)[0] == 0, "not enrolled any more: nullok lets the password alone in"


def test_forget_a_remembered_device(world):
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    assert conn.login(user.name, rhost="198.51.100.9", code=world.code(), remember="y")["result"] == "ok"
    devices = conn.request("STATUS")[1]["devices"].split(",")
    assert len(devices) == 1 and devices[0].startswith("address:198.51.100.9@")
    assert conn.request("FORGET", device="address:198.51.100.10") == ("ERR", {"reason": "no-such-device"})
    assert conn.request("FORGET", device="address:198.51.100.9") == ("OK", {})
    assert conn.request("STATUS")[1]["devices"] == ""
    assert conn.request("FORGET", device="not-a-device") == ("ERR", {"reason": "bad-request"})
    assert conn.closed()


def test_setup_is_refused_outside_setup_networks(world):
    user = world.user()
    conn = world.helper.connect()
    assert conn.login(user.name, rhost="192.0.2.44")["result"] == "ok"
    assert conn.request("STATUS")[1]["setup-allowed"] == "no"
    assert conn.request("SETUP-BEGIN") == ("ERR", {"reason": "network"})
    assert conn.request("SETUP-VERIFY", code="123456") == ("ERR", {"reason": "no-pending"})


def test_system_accounts_are_refused_before_their_password_and_no_ruser_is_set(world):
    """The example stack keeps uids below 1000 out (pam_succeed_if, requisite), even with the right
    password; and the helper sets PAM_RHOST but not PAM_RUSER (pam_warn logs both)."""
    system = world.user()
    free = next(uid for uid in range(990, 900, -1) if subprocess.run(["getent", "passwd", str(uid)]).returncode != 0)
    subprocess.run(["usermod", "-u", str(free), system.name], check=True, capture_output=True)
    conn = world.helper.connect()
    assert conn.login(system.name) == {"result": "fail", "reason": "auth"}
    text = open(os.path.join(world.bed.pamd, SERVICE)).read()
    with open(os.path.join(world.bed.pamd, "pam-totp-web-warn"), "w") as f:
        f.write("auth optional pam_warn.so\n" + text)
    helper = Helper(world.bed, world.web_user, "warn", pam_service="pam-totp-web-warn")
    world.bed.servers.append(helper)
    user = world.user()
    assert helper.connect().login(user.name, rhost="198.51.100.77")["result"] == "ok"
    warned = [line for line in world.bed.log().splitlines() if "pam_warn" in line and f"user=[{user.name}]" in line]
    assert warned and "rhost=[198.51.100.77]" in warned[0] and "ruser=[<unknown>]" in warned[0], warned
    helper.stop()


def test_no_core_file_for_the_helper_and_its_sessions(world):
    """RLIMIT_CORE 0 in the helper and in a session's child (both also not dumpable)."""
    conn = world.helper.connect()
    assert conn.request("STATUS") == ("ERR", {"reason": "not-logged-in"})
    pid = world.helper.proc.pid
    children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    assert children
    for process in [pid, *children]:
        limits = open(f"/proc/{process}/limits").read()
        assert re.search(r"Max core file size\s+0\s+0\s", limits), limits
    assert conn.request("BYE") == ("OK", {})


def test_requests_need_a_login(world):
    conn = world.helper.connect()
    for verb, fields in (("STATUS", {}), ("SETUP-BEGIN", {}), ("DELETE", {"code": "123456"}), ("FORGET", {"device": "address:1.2.3.4"})):
        assert conn.request(verb, **fields) == ("ERR", {"reason": "not-logged-in"})
    assert conn.request("BYE") == ("OK", {})


def test_not_fresh_and_unanswered_prompts(world):
    helper = Helper(world.bed, world.web_user, "short", fresh_login=2, session_idle=5, answer_timeout=10)
    world.bed.servers.append(helper)
    user = world.user(enrolled=True)
    conn = helper.connect()
    assert conn.login(user.name, code=world.code(-1))["result"] == "ok"
    time.sleep(3)
    assert conn.request("DELETE", code=world.code(0)) == ("ERR", {"reason": "not-fresh"})
    assert conn.request("RECOVERY-NEW", code=world.code(0)) == ("ERR", {"reason": "not-fresh"})
    assert conn.request("STATUS")[0] == "OK", "a session that is not fresh still shows the status"
    # A code prompt not answered within answer_timeout (not fresh_login, not session_idle) ends the
    # connection: logins parked at the code prompt (a wrong password is asked for the code too) free
    # their sessions.
    conn = helper.connect()
    conn.send("LOGIN", user=user.name, rhost="127.0.0.1", password="wrong-Password1")
    assert conn.receive() == ("PROMPT", {"kind": "code"})
    started = time.time()
    assert conn.closed() and 9 < time.time() - started < 20
    # A session without a request for session_idle seconds ends.
    conn = helper.connect()
    started = time.time()
    assert conn.closed() and 4 < time.time() - started < 15
    # SIGTERM ends the helper, its sessions with it, and removes the socket.
    conn = helper.connect()
    assert conn.request("STATUS") == ("ERR", {"reason": "not-logged-in"})
    assert helper.stop() == 0
    assert conn.closed() and not os.path.exists(helper.path)


def test_at_most_max_sessions_at_once(world):
    helper = Helper(world.bed, world.web_user, "few", max_sessions=3)
    world.bed.servers.append(helper)
    sessions = []
    for _ in range(3):
        sessions.append(helper.connect())
        assert sessions[-1].request("STATUS") == ("ERR", {"reason": "not-logged-in"})
    assert helper.connect().closed(), "the 4th session is refused"
    assert "refused a connection: 3 sessions are open already (max_sessions)" in world.bed.log()
    for conn in sessions:
        assert conn.request("BYE") == ("OK", {})
        conn.close()
    time.sleep(1.5)
    assert helper.connect().request("BYE") == ("OK", {})
    helper.stop()


def test_a_peer_other_than_the_web_user_and_root_is_refused(world):
    script = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX);s.settimeout(10)\n"
        "try:\n s.connect(sys.argv[1]);s.sendall(b'BYE\\n');print(repr(s.recv(100)))\n"
        "except OSError as e:\n print('refused', e)\n")
    nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script,
                             world.helper.path], capture_output=True, text=True, timeout=30)
    assert "OK" not in nobody.stdout and nobody.returncode == 0, nobody
    # Past the socket's mode (CAP_DAC_OVERRIDE), SO_PEERCRED still refuses another uid.
    capable = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=+dac_override",
                              "--ambient-caps=+dac_override", sys.executable, "-c", script, world.helper.path],
                             capture_output=True, text=True, timeout=30)
    assert "OK" not in capable.stdout and "Permission denied" not in capable.stdout, capable
    assert "refused a connection from uid 65534" in world.bed.log()
    # The socket itself is the web user's, 0600; the web user gets an answer.
    info = os.stat(world.helper.path)
    assert info.st_uid == world.web_user.uid and info.st_mode & 0o777 == 0o600
    uid = world.web_user.uid
    web = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable, "-c", script,
                          world.helper.path], capture_output=True, text=True, timeout=30)
    assert "b'OK\\n'" in web.stdout, web


@pytest.mark.parametrize("line", [
    b"garbage\n",
    b"FOO\n",
    b"LOGIN user=a%0Ab rhost=127.0.0.1 password=x\n",
    b"LOGIN user=root rhost=not-an-address password=x\n",
    b"LOGIN user=root rhost=127.0.0.1 password=a%00b\n",
    b"LOGIN user=root rhost=127.0.0.1\n",
    b"LOGIN user=root rhost=127.0.0.1 password=x password=y\n",
    b"STATUS extra=1\n",
    b"LOGIN user=" + b"A" * 70000 + b"\n",
    b"\xff\xfe\n",
])
def test_malformed_lines_close_the_connection(world, line):
    conn = world.helper.connect()
    conn.send_raw(line)
    answer = conn.receive()
    assert answer is None or answer == ("ERR", {"reason": "bad-request"})
    assert conn.closed()
    # The helper is still there.
    assert world.helper.connect().request("BYE") == ("OK", {})


def test_hostile_answers_during_the_login(world):
    user = world.user(enrolled=True)
    conn = world.helper.connect()
    hostile = ["1234\n56", "%00%00", "x" * 5000, "\u00e9\u0000"]
    assert conn.login(user.name, code=hostile)["result"] == "fail"
    # Three wrong codes: the module now throttles 127.0.0.1, and says so before any prompt.
    conn = world.helper.connect()
    done = conn.login(user.name, code=world.code())
    assert done["reason"] == "throttled" and conn.notes[0]["kind"] == "throttled"
    conn = world.helper.connect()
    conn.send("LOGIN", user=user.name, rhost="127.0.0.9", password=PASSWORD)
    assert conn.receive() == ("PROMPT", {"kind": "code"})
    conn.send("STATUS")  # not an ANSWER
    assert conn.closed()
    assert world.helper.connect().request("BYE") == ("OK", {})


def test_with_the_postgresql_store(world):
    """One pass with enrollments and state in PostgreSQL (store=), as a portal on another host would
    keep them: login with a code, new recovery codes, delete, set up again."""
    import pgserver
    postgres = pgserver.PostgreSQL("PAMTOTP_PG_PORT_WEBHELPER", 25437)
    try:
        postgres.start()
        admin = postgres.store_file(os.path.join(world.bed.root, "store-admin"), role="pamtotp_admin")
        server = postgres.store_file(os.path.join(world.bed.root, "store-server"), role="pamtotp_server")
        world.sensitive.update(pgserver.PASSWORDS.values())
        init = world.bed.setup("store", "init", "--grant", "pamtotp_server", "--store", admin)
        assert init.returncode == 0, init.stderr
        world.bed.install_example("pam-totp-web", "pam-totp-web-store", extra=f"store={server}")
        helper = Helper(world.bed, world.web_user, "store", extra=("--store", admin), pam_service="pam-totp-web-store")
        world.bed.servers.append(helper)
        user = world.user()
        enrolled = world.bed.enroll(user, KEY, "--store", admin)
        world.sensitive.update(enrolled["recovery_codes"])
        conn = helper.connect()
        assert conn.login(user.name, code=world.code(-1)) == {"result": "ok", "enrolled": "yes", "code": "yes"}
        assert conn.request("STATUS")[1]["recovery-left"] == "10"
        verb, renewed = conn.request("RECOVERY-NEW", code=world.code(0))
        assert verb == "OK"
        codes = renewed["recovery"].split(",")
        world.sensitive.update(codes)
        assert postgres.psql(f"SELECT count(*) FROM pam_totp.recovery_codes WHERE user_name = '{user.name}'",
                             "pamtotp").strip() == "10"
        assert conn.request("DELETE", code=codes[0]) == ("OK", {})
        assert postgres.psql(f"SELECT count(*) FROM pam_totp.enrollments WHERE user_name = '{user.name}'",
                             "pamtotp").strip() == "0"
        verb, shown = conn.request("SETUP-BEGIN")
        assert verb == "OK"
        world.sensitive.add(shown["secret"])
        code = testbed.oathtool(shown["secret"])
        world.sensitive.add(code)
        verb, saved = conn.request("SETUP-VERIFY", code=code)
        assert verb == "OK" and len(saved["recovery"].split(",")) == 10
        world.sensitive.update(saved["recovery"].split(","))
        # The module, through the store, now asks that user for the new enrollment's code.
        rc, out = world.module_login(user, PASSWORD, saved["recovery"].split(",")[0], rhost="127.0.0.5")
        assert rc == 0, out
        helper.stop()
    finally:
        postgres.destroy()


def test_a_bad_configuration_refuses_to_start(world):
    path = os.path.join(world.bed.root, "bad.conf")
    sock = os.path.join(world.bed.root, "bad.sock")

    def start(text, mode=0o644, *extra, pamd=world.bed.pamd):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return subprocess.run([testbed.SETUP, "web-helper", "--web-config", path, "--listen", sock, "--config", world.bed.config,
                               "--state", world.bed.data, "--pam-dir", pamd, *extra], capture_output=True, text=True, timeout=30)

    web = f"web_user = {world.web_user.name}\n"
    proc = start(web + "# typo\nsetup_network = any\n")
    assert proc.returncode == 1 and "line 3: unknown key 'setup_network'" in proc.stderr
    proc = start(web + "setup_networks = 10.1.2.3/8\n")
    assert proc.returncode == 1 and "line 2: setup_networks: '10.1.2.3/8' is not a network" in proc.stderr
    proc = start(web + "remember_days = 400\n")
    assert proc.returncode == 1 and "line 2: remember_days" in proc.stderr
    proc = start(web + "answer_timeout = 5\n")
    assert proc.returncode == 1 and "line 2: answer_timeout: must be a whole number from 10 to 600" in proc.stderr
    proc = start(web + "max_sessions = 0\n")
    assert proc.returncode == 1 and "line 2: max_sessions" in proc.stderr
    proc = start(web, 0o664)
    assert proc.returncode == 1 and "group or others write" in proc.stderr
    proc = start("web_user = ptwhnosuchuser\n")
    assert proc.returncode == 1 and "no such user" in proc.stderr
    with open(sock, "w") as f:
        f.write("not a socket")
    proc = start(web)
    assert proc.returncode == 1 and "is not a socket" in proc.stderr and open(sock).read() == "not a socket"
    # The PAM service must exist (libpam would use "other", without pam_totp.so: a login with the
    # password alone), be root's and not writable by others, and have an auth line with pam_totp.so.
    os.unlink(sock)
    proc = start(web + "pam_service = pam-totp-wbe\n")
    assert proc.returncode == 1 and "pam-totp-wbe is missing; libpam would use 'other'" in proc.stderr, proc.stderr
    assert f"install -m 644 -o root -g root {testbed.EXAMPLES}/pam-totp-web {world.bed.pamd}/pam-totp-wbe" in proc.stderr
    stack = open(os.path.join(world.bed.pamd, SERVICE)).read()
    pamd = os.path.join(world.bed.root, "pamd-bad")
    os.mkdir(pamd)
    service = os.path.join(pamd, SERVICE)
    for text, mode, expected in (
            (stack, 0o664, "group or others"),
            (re.sub(r"(?m)^auth(.*pam_totp)", r"#auth\1", stack), 0o644, "has no 'auth' line with pam_totp.so"),
            (re.sub(r"(?m)^auth(.*pam_totp)", r"-auth\1", stack), 0o644, "has no 'auth' line with pam_totp.so"),
            (stack.replace("pam_totp.so", "pam_totp.so.old"), 0o644, "has no 'auth' line with pam_totp.so")):
        with open(service, "w") as f:
            f.write(text)
        os.chmod(service, mode)
        proc = start(web, pamd=pamd)
        assert proc.returncode == 1 and expected in proc.stderr, (expected, proc.stderr)
        assert not os.path.exists(sock)
    os.unlink(service)
    os.symlink(os.path.join(world.bed.pamd, SERVICE), service)
    proc = start(web, pamd=pamd)
    assert proc.returncode == 1 and "is not a regular file" in proc.stderr, proc.stderr
    # The socket's directory must be root's, not writable by group or others, and not a link: else the
    # web user could swap the socket's name for a link between bind and chown (and own any file).
    web_dir = os.path.join(world.bed.root, "web-owned")
    open_dir = os.path.join(world.bed.root, "world-writable")
    link_dir = os.path.join(world.bed.root, "linked")
    os.mkdir(web_dir, 0o755)
    os.chown(web_dir, world.web_user.uid, world.web_user.uid)
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o1777)
    os.symlink(world.bed.root, link_dir)
    for directory, expected in ((web_dir, "must be root's"), (open_dir, "must be root's"), (link_dir, "a link")):
        proc = start(web, 0o644, "--listen", os.path.join(directory, "h.sock"))
        assert proc.returncode == 1 and f"the socket's directory {directory}" in proc.stderr and expected in proc.stderr, proc.stderr
        assert os.listdir(directory if directory != link_dir else web_dir) == []
    proc = start(web, 0o644, "--user", "root")
    assert proc.returncode != 0 and "--user" in proc.stderr
    assert not any(world.web_user.name in line and "listening" in line for line in proc.stderr.splitlines())


def test_nothing_secret_is_logged(world):
    log = world.bed.log()
    for event in ("listening on", "logged in: user=", "login failed: user=", "enrolled: user=", "deleted the enrollment: user=",
                  "new recovery codes: user=", "forgot a remembered device: user=", "remembered device: user="):
        assert event in log, event
    for secret in world.sensitive:
        assert secret not in log, f"{secret[:3]}… is in the log"
    assert "otpauth://" not in log
    # No session crashed on anything the tests sent (a trap would only look like a closed connection).
    assert "was ended by signal" not in log and "exited with status" not in log
    assert world.helper.proc.poll() is None
    if os.environ.get("WEB_HELPER_SHOW_LOG"):
        print(log)
