"""Issue 12, the tool's part: where each user's enrollment is on a host with central and home
enrollments (item 4), secrets in files whatever the umask (5), the QR code on an 80×24 screen (8),
`sudo pam-totp-setup` (9), google-authenticator's used codes (10), and the smaller points of item 13.
Each test failed before its fix."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
import struct

import pexpect
import pytest
from pamtotp_it import (KEY, MODULE, PAM_AUTH_ERR, PAM_SUCCESS, SETUP, totp, wait_for_fresh_step)

KEY2 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def mixed_host(env):
    """A host serving VPN users (central enrollments) and SSH/sudo users (home ones) at once, with
    the README's /etc/pam-totp.conf and a sudo-like stack."""
    template = env.central + "/%u:~/.pam_totp"
    with open(env.config, "w") as f:
        f.write(f"secret={template}\nissuer=Test\n")
    env.service("sudo", stack=["auth required pam_permit.so", "auth required {module} state={state} throttle_free=20"])
    return template


def test_a_host_with_central_and_home_enrollments_serves_both(env):
    mixed_host(env)
    # The admin enrolls a VPN user: into the first location, the central one.
    env.enroll("carol")
    assert os.path.exists(os.path.join(env.central, "carol"))
    # An SSH user enrolls themself: into the first location they can write, their home.
    wait_for_fresh_step()
    proc = env.setup("enroll", "--key", KEY2, "--json", code=totp(KEY2), as_user="alice")
    env.sensitive.update([KEY2, *json.loads(proc.stdout)["recovery_codes"]])
    assert json.loads(proc.stdout)["file"] == env.enrollment_path("alice")
    assert not os.path.exists(os.path.join(env.central, "alice"))
    # The module finds each where it is.
    assert env.login("alice", totp(KEY2), service="sudo").rc == PAM_SUCCESS
    assert env.login("carol", totp(KEY), service="sudo").rc == PAM_SUCCESS
    assert env.login("bob", "123456", service="sudo").rc != PAM_SUCCESS
    # The user's own commands work on their own enrollment, with no "Permission denied".
    status = env.setup("status", as_user="alice")
    assert f"alice is enrolled ({env.enrollment_path('alice')})" in status.stdout, status.stderr
    # Root sees both, each where it is.
    assert f"carol is enrolled ({env.central}/carol)" in env.setup("status", "--user", "carol").stdout
    assert f"alice is enrolled ({env.enrollment_path('alice')})" in env.setup("status", "--user", "alice").stdout
    # A central user cannot see into root's directory: told so, not "Permission denied", and
    # nothing about whether an enrollment is there.
    status = env.setup("status", as_user="carol")
    assert status.returncode == 0 and "Permission denied" not in status.stderr
    assert "carol is not enrolled" in status.stdout and "only root can see" in status.stdout
    # A central enrollment is the user's even if a home one exists too (the admin's comes first).
    wait_for_fresh_step()
    env.enroll("alice", key=KEY, extra=("--secret", env.central + "/%u"))
    assert env.login("alice", totp(KEY2), service="sudo").rc != PAM_SUCCESS
    assert env.login("alice", totp(KEY, step_offset=1), service="sudo").rc == PAM_SUCCESS


def test_a_refused_central_enrollment_does_not_fall_through_to_the_home_one(env):
    mixed_host(env)
    env.enroll("alice", key=KEY2, extra=("--secret", "~/.pam_totp"))
    env.enroll("alice", key=KEY, extra=("--secret", env.central + "/%u"))
    os.chmod(os.path.join(env.central, "alice"), 0o644)
    login = env.login("alice", totp(KEY2), service="sudo")
    assert login.rc == PAM_AUTH_ERR and login.logged(r"reason=insecure-or-unreadable-enrollment"), login.log


@pytest.mark.parametrize("template", ["/var/lib/pam-totp/shared", "/var/lib/pam-totp/users/%u:/srv/all-users"])
def test_a_location_shared_by_all_users_is_refused_by_tool_and_module(env, template):
    proc = env.setup("status", "--user", "alice", "--secret", template, check=False)
    assert proc.returncode != 0 and "must contain %u" in proc.stderr, proc.stderr
    env.service("test", f"secret={template}")
    login = env.login("alice", "123456")
    assert login.rc != PAM_SUCCESS and login.logged(r"must contain %u"), login.log


# --- item 9: sudo pam-totp-setup -----------------------------------------------------------------

def sudo_setup(env, *args, sudo_user="alice", sudo_uid="2001", code=None):
    environ = dict(env.environ, SUDO_USER=sudo_user, SUDO_UID=sudo_uid, SUDO_GID=sudo_uid, SUDO_COMMAND=SETUP)
    return subprocess.run([SETUP, *args, "--config", env.config, "--state", env.state], env=environ,
                          input=(code + "\n") if code else "", capture_output=True, text=True, timeout=60)


def test_sudo_acts_on_the_user_who_ran_sudo(env):
    env.enroll("alice")
    proc = sudo_setup(env, "devices")
    assert proc.returncode == 0 and "alice has no remembered devices" in proc.stdout, proc.stderr
    assert "alice is enrolled" in sudo_setup(env, "status").stdout
    # As sudo sets them: a SUDO_USER that is not the account of SUDO_UID is refused.
    proc = sudo_setup(env, "status", sudo_user="alice", sudo_uid="2002")
    assert proc.returncode != 0 and "is not the account of SUDO_UID" in proc.stderr
    # --user still acts on whom it names, root included.
    assert "root is not enrolled" in sudo_setup(env, "status", "--user", "root").stdout
    # Removing one's own enrollment through sudo needs the proof a user gives.
    proc = sudo_setup(env, "reset", code="000000")
    assert proc.returncode != 0 and os.path.exists(env.enrollment_path("alice"))


# --- item 5: files that hold secrets are 0600 whatever the umask --------------------------------

def test_json_redirected_to_a_file_is_private_under_umask_022(env):
    out = os.path.join(env.root, "alice.json")
    png = os.path.join(env.root, "alice.png")
    environ = dict(env.environ)
    script = (f"umask 022; {SETUP} enroll --user alice --key {KEY} --no-verify --qr none --qr-png {png} "
              f"--json --config {env.config} --state {env.state} > {out}")
    subprocess.run(["sh", "-c", script], env=environ, check=True, capture_output=True, text=True)
    data = json.load(open(out))
    env.sensitive.update([KEY, *data["recovery_codes"]])
    for path in (out, png, env.enrollment_path("alice")):
        assert os.stat(path).st_mode & 0o777 == 0o600, path
    # The same for `show` and `recovery-codes` into a file (each proven with its own code).
    wait_for_fresh_step()
    for offset, command in enumerate(("show", "recovery-codes")):
        target = os.path.join(env.root, command + ".txt")
        script = f"umask 022; {SETUP} {command} --user alice --config {env.config} --state {env.state} > {target}"
        subprocess.run(["sh", "-c", script], env=environ, input=totp(KEY, step_offset=offset) + "\n", check=True,
                       capture_output=True, text=True)
        assert os.stat(target).st_mode & 0o777 == 0o600, command


# --- item 8: the QR code on an 80×24 screen -----------------------------------------------------

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def screen_qr_modules(lines, ansi):
    """The module matrix of the QR code on a captured screen: `utf8` from the block characters,
    `ansi` from the colours of each upper half block."""
    rows = []
    fg = bg = None  # a terminal's colours carry over from one line to the next
    for line in lines:
        top, bottom = [], []
        if ansi:
            for match in re.finditer(r"\x1b\[([0-9;]*)m|(.)", line):
                if match.group(2) is None:
                    for p in (match.group(1) or "0").split(";"):
                        p = int(p or 0)
                        if p == 0:
                            fg = bg = None
                        elif 30 <= p <= 37 or p == 39:
                            fg = p
                        elif 40 <= p <= 47 or p == 49:
                            bg = p
                elif match.group(2) == "▀" and fg in (30, 37) and bg in (40, 47):
                    top.append(fg == 30)
                    bottom.append(bg == 40)
        else:
            plain = SGR.sub("", line)
            cells = re.match(r"[ █▀▄]*", plain).group(0)
            if not any(c in cells for c in "█▀▄"):
                continue
            top = [c in "█▀" for c in cells]
            bottom = [c in "█▄" for c in cells]
        if top:
            rows += [top, bottom]
    width = max(len(r) for r in rows)
    return [r + [False] * (width - len(r)) for r in rows]


def write_png(path, rows, scale=6, border=4):
    width = len(rows[0]) + 2 * border
    rows = [[False] * width] * border + [[False] * border + r + [False] * border for r in rows] + [[False] * width] * border
    raw = b""
    for row in rows:
        raw += (b"\x00" + bytes(0 if dark else 255 for dark in row for _ in range(scale))) * scale

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width * scale, len(rows) * scale, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("style", ["utf8", "ansi"])
def test_the_qr_code_and_the_prompt_share_one_80x24_screen(env, style):
    """The README's issuer, a user, a 160-bit secret: run in tmux at 80×24 as a person would, the
    screen at "Code from the app:" holds the whole QR code (decoded with zbarimg from the captured
    screen to exactly the URI) and the secret."""
    with open(env.config, "w") as f:
        f.write("issuer=Example University\n")
    socket = f"pamtotp-it-{os.getpid()}"
    environment = " ".join(f"{k}='{v}'" for k, v in env.environ.items() if k.startswith(("LD_PRELOAD", "NSS_WRAPPER")))
    command = (f"env {environment} TERM=xterm {SETUP} enroll --user alice --key {KEY} --qr {style} "
               f"--config {env.config} --state {env.state}")
    subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", command], check=True)
    try:
        screen = ""
        for _ in range(100):
            screen = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-e"], capture_output=True, text=True).stdout
            if "Code from the app: " in screen:
                break
            time.sleep(0.1)
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= 24 and "Code from the app:" in lines[-1], screen
        plain = [SGR.sub("", line) for line in lines]
        assert any(KEY[:4] + " " + KEY[4:8] in line for line in plain), "the secret is on the screen"
        uri = "otpauth://totp/Example%20University:alice?secret=" + KEY + "&issuer=Example%20University"
        picture = os.path.join(env.root, "screen.png")
        write_png(picture, screen_qr_modules(lines[:-1], style == "ansi"))
        decoded = subprocess.run(["zbarimg", "--raw", "-q", picture], capture_output=True, text=True)
        assert decoded.stdout.rstrip("\n") == uri, (decoded.stderr, "\n".join(plain))
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


# --- item 10: google-authenticator's DISALLOW_REUSE ---------------------------------------------

def test_a_code_google_authenticator_just_accepted_is_refused_after_the_import(env):
    path = os.path.join(env.home("alice"), ".google_authenticator")
    subprocess.run(["google-authenticator", "-f", "-C", "-q", "-Q", "NONE", "-t", "-d", "-w", "3", "-r", "3", "-R", "30",
                    "-e", "0", "-s", path], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    os.chown(path, 2001, 2001)
    secret = open(path).read().splitlines()[0]
    env.sensitive.add(secret)
    env.service("google", stack=[f"auth required pam_google_authenticator.so secret={path} user=alice"])
    wait_for_fresh_step(margin=8)
    code = totp(secret)
    assert env.login("alice", code, service="google").rc == PAM_SUCCESS
    assert re.search(r'" DISALLOW_REUSE \d+', open(path).read()), "google-authenticator recorded the code as used"
    env.setup("import-google-authenticator", "--user", "alice")
    env.service("test", "retries=1")
    login = env.login("alice", code)
    assert login.rc == PAM_AUTH_ERR and login.logged("reason=replayed-code"), login.log
    # The next code works.
    assert env.login("alice", totp(secret, step_offset=1)).rc == PAM_SUCCESS


def test_a_user_importing_a_fresh_used_code_without_root_is_refused(env):
    path = os.path.join(env.home("alice"), ".google_authenticator")
    step = int(time.time() // 30)
    with open(path, "w") as f:
        f.write(f'{KEY}\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 3\n" DISALLOW_REUSE {step - 1} {step}\n" TOTP_AUTH\n')
    os.chown(path, 2001, 2001)
    os.chmod(path, 0o600)
    proc = env.setup("import-google-authenticator", as_user="alice", check=False)
    assert proc.returncode != 0 and "run this with sudo" in proc.stderr, proc.stderr
    assert not os.path.exists(env.enrollment_path("alice"))


# --- item 13 ------------------------------------------------------------------------------------

def test_no_verify_and_qr_none_do_not_ask_to_scan_or_type_a_code(env):
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--no-verify", "--qr", "none")
    assert "Scan this QR code" not in proc.stdout and "Then type the code" not in proc.stdout, proc.stdout
    assert "without a confirmation code" in proc.stdout


def test_status_says_no_last_failure_time_after_zero_failures(env):
    env.enroll("alice")
    env.service("test", "retries=1")
    wait_for_fresh_step()
    assert env.login("alice", "000000").rc == PAM_AUTH_ERR
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS
    out = env.setup("status", "--user", "alice").stdout
    assert "Failed attempts since the last success: 0\n" in out, out


def test_wrong_codes_at_enrollment_keep_the_secret_the_user_scanned(env):
    child = pexpect.spawn(SETUP, ["enroll", "--user", "alice", "--config", env.config, "--state", env.state],
                          env=env.environ, encoding="utf-8", timeout=20, dimensions=(24, 80))
    child.expect("Code from the app: ")
    beside = SGR.sub("", child.before).split("Secret (for typing by hand):")[1]
    secret = "".join(re.findall(r"[A-Z2-7]{4}(?: [A-Z2-7]{4})*", beside)).replace(" ", "")
    assert len(secret) == 32
    env.sensitive.add(secret)
    for attempt in range(3):
        if attempt:
            child.expect("Code from the app: ")
        child.sendline(totp(secret, step_offset=7))
        child.expect("does not match")
    child.expect("The secret stays the same")
    child.expect("Code from the app: ")
    child.sendline("")
    child.expect("No code was given")
    child.expect("Code from the app: ")
    wait_for_fresh_step()
    child.sendline(totp(secret))
    child.expect("Enrolled alice")
    child.expect('Type "yes"')
    child.sendline("yes")
    child.expect(pexpect.EOF)
    assert env.login("alice", totp(secret, step_offset=1)).rc == PAM_SUCCESS


def test_a_user_replacing_their_enrollment_must_prove_it_like_reset(env):
    env.enroll("alice")
    wait_for_fresh_step()
    proc = env.setup("enroll", "--force", "--key", KEY2, "--json", code=totp(KEY2), as_user="alice", check=False)
    assert proc.returncode != 0 and "nothing was changed" in proc.stderr, proc.stderr
    assert KEY2 not in proc.stdout + proc.stderr
    proc = env.setup("enroll", "--force", "--key", KEY2, "--json", code=totp(KEY) + "\n" + totp(KEY2), as_user="alice")
    env.sensitive.update([KEY2, *json.loads(proc.stdout)["recovery_codes"]])
    assert env.login("alice", totp(KEY2)).rc == PAM_SUCCESS


def test_reset_warns_that_logins_now_fail_and_says_what_to_do(env):
    env.enroll("alice")
    wait_for_fresh_step()
    out = env.setup("reset", code=totp(KEY), as_user="alice").stdout
    assert "WARNING: logins that need a code now fail" in out and "run pam-totp-setup" in out, out
    env.enroll("alice")
    out = env.setup("reset", "--user", "alice").stdout
    assert "pam-totp-setup enroll --user alice" in out, out


def test_a_bad_qr_png_path_is_refused_before_the_secret_is_shown(env):
    proc = env.setup("enroll", "--user", "alice", "--qr-png", "/nonexistent-dir/alice.png", check=False)
    assert proc.returncode != 0 and "/nonexistent-dir/alice.png" in proc.stderr
    assert "Secret" not in proc.stdout and "otpauth://" not in proc.stdout, proc.stdout


def test_an_empty_answer_is_no_code_given_not_a_wrong_code(env):
    env.enroll("alice")
    proc = env.setup("reset", code=" ", as_user="alice", check=False)
    assert proc.returncode != 0 and "no code was given" in proc.stderr, proc.stderr
    proc = env.setup("enroll", "--user", "bob", code=" ", check=False)
    assert proc.returncode != 0 and "no code was given" in proc.stderr, proc.stderr
