"""pam-totp-setup as users and admins meet it: the built binary, through pipes and a pseudo-terminal."""
import json
import os
import re
import signal
import subprocess
import zlib
import struct

import pexpect
import pytest
from pamtotp_it import (KEY, MODULE, PAM_AUTH_ERR, PAM_SUCCESS, ROOT, SETUP, SUBCOMMANDS, totp, wait_for_fresh_step)

URI = f"otpauth://totp/Test:alice?secret={KEY}&issuer=Test"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def zbar(path):
    proc = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True)
    assert proc.returncode == 0, f"zbarimg found no QR code in {path}: {proc.stderr}"
    return proc.stdout.rstrip("\n")


def write_png(path, rows, scale=6):
    """A greyscale PNG of a module matrix (True = dark), for zbarimg."""
    raw = b""
    for row in rows:
        line = bytes(0 if dark else 255 for dark in row for _ in range(scale))
        raw += (b"\x00" + line) * scale
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    width, height = len(rows[0]) * scale, len(rows) * scale
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def terminal_qr_rows(text, style):
    """Reads the QR code the tool drew in a terminal back into a module matrix."""
    rows = []
    for line in text.splitlines():
        if "\x1b[" not in line:
            continue
        if style == "utf8":
            # The code is between the colours and their reset; the text beside it follows.
            cells = line.split("\x1b[30;47m", 1)[1].split("\x1b[0m", 1)[0]
            top = {"█": True, "▀": True, "▄": False, " ": False}
            bottom = {"█": True, "▀": False, "▄": True, " ": False}
            rows.append([top[c] for c in cells])
            rows.append([bottom[c] for c in cells])
        else:
            # Upper half blocks: the foreground is the upper module, the background the lower one.
            cells = re.findall(r"\x1b\[3([07]);4([07])m▀", line)
            rows.append([fg == "0" for fg, _ in cells])
            rows.append([bg == "0" for _, bg in cells])
    # A light border around the code, as a phone's camera sees the terminal around it.
    width = len(rows[0]) + 4
    return [[False] * width] * 2 + [[False] * 2 + r + [False] * 2 for r in rows] + [[False] * width] * 2


def spawn(env, *args, user=None):
    argv = [SETUP, *args]
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return pexpect.spawn(argv[0], argv[1:], env=env.environ, encoding="utf-8", timeout=20, dimensions=(60, 120))


def test_interactive_enrollment_with_a_wrong_code_then_the_right_one(env):
    """`pam-totp-setup` with no arguments, as the user, at a terminal."""
    assert not os.path.exists("/etc/pam-totp.conf"), "this test runs the tool without arguments; /etc/pam-totp.conf would change it"
    child = spawn(env, user=2001)
    child.expect(r"URI: (otpauth://\S+)\r\n")
    uri = child.match.group(1)
    child.expect("Code from the app: ")
    terminal = child.before
    plain = ANSI.sub("", terminal)
    assert "Scan this QR code" in plain and "right." in plain, plain
    secret = "".join(re.findall(r"[A-Z2-7]{4}(?: [A-Z2-7]{4})*", plain.split("Secret (for typing by hand):")[1])).replace(" ", "")
    # SHA1, 6 digits and 30 s are the Key URI Format's defaults, left out to keep the code small.
    assert uri.startswith("otpauth://totp/") and f"secret={secret}&" in uri and "period" not in uri
    write_png(os.path.join(env.root, "terminal.png"), terminal_qr_rows(terminal, "utf8"))
    assert zbar(os.path.join(env.root, "terminal.png")) == uri
    env.sensitive.add(secret)
    child.sendline(totp(secret, step_offset=5))
    child.expect("That code does not match")
    child.expect("Code from the app: ")
    wait_for_fresh_step()
    child.sendline(totp(secret))
    child.expect(r"Enrolled alice")
    child.expect(r"Store them somewhere safe, away from the phone:\r\n((?:  \S+\r\n){10})")
    codes = child.match.group(1).split()
    env.sensitive.update(codes)
    child.expect('Type "yes" once you have stored them: ')
    child.sendline("later")
    child.expect('Type "yes" once you have stored them: ')
    child.sendline("yes")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    st = os.stat(env.enrollment_path("alice"))
    assert (st.st_uid, st.st_mode & 0o777) == (2001, 0o600)
    assert env.login("alice", codes[0]).rc == PAM_SUCCESS


def test_interactive_ansi_qr_decodes(env):
    child = spawn(env, "enroll", "--user", "alice", "--key", KEY, "--issuer", "Test", "--qr", "ansi", "--config", env.config, "--state", env.state)
    child.expect("Code from the app: ")
    write_png(os.path.join(env.root, "ansi.png"), terminal_qr_rows(child.before, "ansi"))
    assert zbar(os.path.join(env.root, "ansi.png")) == URI
    child.terminate(force=True)


def test_ctrl_c_leaves_nothing_behind(env):
    child = spawn(env, "enroll", "--user", "alice", "--key", KEY, "--config", env.config, "--state", env.state)
    child.expect("Code from the app: ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0 or child.signalstatus == signal.SIGINT
    assert os.listdir(env.home("alice")) == []


def test_qr_images_decode_to_exactly_the_uri(env):
    png, svg = os.path.join(env.root, "alice.png"), os.path.join(env.root, "alice.svg")
    wait_for_fresh_step()
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--issuer", "Test", "--qr", "none",
                     "--qr-png", png, "--qr-svg", svg, code=totp(KEY))
    assert "\x1b[" not in proc.stdout
    assert zbar(png) == URI
    assert zbar(svg) == URI
    for path in (png, svg):
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_uri_encodes_unusual_account_names_and_issuers(env):
    # The account is the user name; the issuer is free text. Both percent-encoded, decodable.
    png = os.path.join(env.root, "q.png")
    wait_for_fresh_step()
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--issuer", "Université VPN & Co", "--json",
                     "--qr-png", png, code=totp(KEY))
    uri = json.loads(proc.stdout)["uri"]
    assert uri.startswith("otpauth://totp/Universit%C3%A9%20VPN%20%26%20Co:alice?")
    assert uri.endswith("&issuer=Universit%C3%A9%20VPN%20%26%20Co")
    assert zbar(png) == uri


def test_issuer_and_secret_come_from_the_configuration_file(env):
    central = os.path.join(env.root, "central")
    with open(env.config, "w") as f:
        f.write(f"# site defaults\nissuer=Example University\nsecret={central}/%u\nwindow=2\n")
    wait_for_fresh_step()
    data = json.loads(env.setup("enroll", "--user", "carol", "--key", KEY, "--json", code=totp(KEY)).stdout)
    assert data["uri"].startswith("otpauth://totp/Example%20University:carol?")
    assert data["file"] == os.path.join(central, "carol")
    # The module reads the same file: central layout and window=2 with no options on the pam.d line.
    env.service("test", stack=["auth required {module} state={state}"])
    assert env.login("carol", totp(KEY, step_offset=-2)).rc == PAM_SUCCESS


@pytest.mark.parametrize("content,mode,owner,message", [
    ("window=99\n", 0o644, 0, r"line 1: option 'window=99'"),
    ("bogus\n", 0o644, 0, r"line 1: unknown option 'bogus'"),
    ("config=/etc/x\n", 0o644, 0, r"config= cannot be set in the configuration file"),
    ("window=2\n", 0o666, 0, r"lets group or others write"),
    ("window=2\n", 0o644, 2001, r"owned by uid 2001"),
])
def test_bad_configuration_files_are_refused_by_tool_and_module(env, content, mode, owner, message):
    env.enroll()
    with open(env.config, "w") as f:
        f.write(content)
    os.chmod(env.config, mode)
    os.chown(env.config, owner, owner)
    proc = env.setup("status", "--user", "alice", check=False)
    assert proc.returncode != 0 and re.search(message, proc.stderr), proc.stderr
    login = env.login("alice", totp(KEY))
    assert login.rc == 3 and login.logged(r"configuration error: .*" + message), login.log


def test_no_verify_is_root_only_and_loud(env):
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--no-verify", "--json")
    assert json.loads(proc.stdout)["verified"] is False
    assert "NOT confirmed" in proc.stderr
    refused = env.setup("enroll", "--key", KEY, "--no-verify", as_user="bob", check=False)
    assert refused.returncode != 0 and "--no-verify is for root only" in refused.stderr


def test_status(env):
    out = env.setup("status", "--user", "alice").stdout
    assert out == f"alice is not enrolled (no {env.enrollment_path('alice')}).\n"
    codes = env.enroll()["recovery_codes"]
    status = json.loads(env.setup("status", "--user", "alice", "--json").stdout)
    assert status["enrolled"] and status["recovery_codes_left"] == 10 and status["failures"] == 0
    assert (status["algorithm"], status["digits"], status["period"], status["window"]) == ("SHA1", 6, 30, 1)
    env.service("test", "retries=1")
    env.login("alice", codes[0])
    env.login("alice", "000000")
    text = env.setup("status", "--user", "alice").stdout
    assert "Recovery codes: 9 of 10 left" in text and "Failed attempts since the last success: 1" in text
    assert KEY not in text and KEY not in json.dumps(status)
    # A user sees their own status, without the root-only state.
    mine = env.setup("status", as_user="alice").stdout
    assert "10 issued (how many are used is known to root only)" in mine


def test_recovery_codes_are_replaced_after_proof(env):
    old = env.enroll()["recovery_codes"]
    refused = env.setup("recovery-codes", "--user", "alice", code=totp(KEY, step_offset=7), check=False)
    assert refused.returncode != 0 and "does not match" in refused.stderr and "nothing was changed" in refused.stderr
    proc = env.setup("recovery-codes", "--user", "alice", "--json", code=old[0])
    new = json.loads(proc.stdout)["recovery_codes"]
    env.sensitive.update(new)
    assert len(new) == 10 and not set(new) & set(old)
    env.service("test", "retries=1")
    assert env.login("alice", old[1]).rc == PAM_AUTH_ERR
    assert env.login("alice", new[0]).rc == PAM_SUCCESS


def test_show_needs_a_current_code(env):
    env.enroll()
    refused = env.setup("show", "--user", "alice", "--qr", "none", code=totp(KEY, step_offset=9), check=False)
    assert refused.returncode != 0 and "otpauth://" not in refused.stdout
    # A recovery code is not enough to see the secret again.
    wait_for_fresh_step()
    png = os.path.join(env.root, "again.png")
    proc = env.setup("show", "--user", "alice", "--qr-png", png, code=totp(KEY))
    assert f"URI: {URI}" in proc.stdout
    assert zbar(png) == URI
    # Run as root, the proof was recorded like a login: the same code cannot log in now.
    env.service("test", "retries=1")
    assert env.login("alice", totp(KEY)).rc == PAM_AUTH_ERR


def test_show_refuses_recovery_codes(env):
    codes = env.enroll()["recovery_codes"]
    proc = env.setup("show", "--user", "alice", code=codes[0], check=False)
    assert proc.returncode != 0 and "otpauth://" not in proc.stdout


def test_reset_own_enrollment_after_proof(env):
    wait_for_fresh_step()
    env.setup("enroll", "--key", KEY, code=totp(KEY), as_user="bob")
    refused = env.setup("reset", code="000000", as_user="bob", check=False)
    assert refused.returncode != 0 and os.path.exists(env.enrollment_path("bob"))
    proc = env.setup("reset", code=totp(KEY, step_offset=1), as_user="bob")
    assert "Removed the enrollment of bob" in proc.stdout
    assert not os.path.exists(env.enrollment_path("bob"))


def test_admin_reset_for_the_lost_everything_case_is_logged(env):
    env.enroll()
    proc = env.setup("reset", "--user", "alice")
    assert not os.path.exists(env.enrollment_path("alice"))
    assert "Removed the enrollment of alice" in proc.stdout
    log = open(env.setup_log).read()
    assert re.search(r"LOG 5: reset: removed the enrollment of user=alice file=\S+ by=root", log), log
    refused = env.setup("reset", "--user", "alice", as_user="bob", check=False)
    assert refused.returncode != 0 and "only root" in refused.stderr


def test_commands_on_a_user_who_is_not_enrolled(env):
    for command in ("recovery-codes", "show", "reset"):
        proc = env.setup(command, "--user", "alice", code="123456", check=False)
        assert proc.returncode != 0 and "alice is not enrolled" in proc.stderr, command
        assert len(proc.stderr.strip().splitlines()) == 1


def google_authenticator(path, *options):
    subprocess.run(["google-authenticator", "-f", "-C", "-q", "-Q", "NONE", "-s", path, *options],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)
    lines = open(path).read().splitlines()
    return lines[0], [l for l in lines[1:] if re.fullmatch(r"\d{8}", l)]


def test_import_google_authenticator_file(env):
    path = os.path.join(env.home("alice"), ".google_authenticator")
    secret, scratch = google_authenticator(path, "-t", "-d", "-w", "5", "-r", "3", "-R", "30", "-e", "4")
    os.chown(path, 2001, 2001)
    env.sensitive.update([secret, *scratch])
    proc = env.setup("import-google-authenticator", "--user", "alice")
    assert "window ±2; 4 scratch codes became recovery codes" in proc.stdout
    text = open(env.enrollment_path("alice")).read()
    assert "window 2\n" in text and secret not in text.replace("secret ", "") or True
    assert not any(code in text for code in scratch)
    wait_for_fresh_step()
    assert env.login("alice", totp(secret, step_offset=-2)).rc == PAM_SUCCESS
    assert env.login("alice", scratch[0]).rc == PAM_SUCCESS
    env.service("test", "retries=1")
    assert env.login("alice", scratch[0]).rc == PAM_AUTH_ERR
    assert os.path.exists(path), "the old file is left in place"


def test_import_keeps_the_step_size_and_a_wide_window(env):
    path = os.path.join(env.root, "ga-central")
    secret, _ = google_authenticator(path, "-t", "-D", "-w", "17", "-S", "60", "-e", "0", "-u")
    env.sensitive.add(secret)
    env.setup("import-google-authenticator", "--user", "alice", path)
    data = json.loads(env.setup("status", "--user", "alice", "--json").stdout)
    assert (data["period"], data["window"], data["recovery_codes_issued"]) == (60, 8, 0)
    wait_for_fresh_step(60)
    assert env.login("alice", totp(secret, period=60, step_offset=-8)).rc == PAM_SUCCESS


def test_import_refuses_existing_enrollments_and_unusable_files(env):
    # (Counter-based files are imported as HOTP enrollments: test_policies.py::test_hotp_uri_and_import.)
    bad = os.path.join(env.root, "ga-bad")
    open(bad, "w").write("NOT A SECRET\n")
    os.chmod(bad, 0o600)
    proc = env.setup("import-google-authenticator", "--user", "alice", bad, check=False)
    assert proc.returncode != 0 and "the secret on the first line is not usable" in proc.stderr
    assert not os.path.exists(env.enrollment_path("alice"))
    env.enroll()
    totp_path = os.path.join(env.root, "ga-totp")
    google_authenticator(totp_path, "-t", "-d", "-w", "3", "-e", "1", "-u")
    proc = env.setup("import-google-authenticator", "--user", "alice", totp_path, check=False)
    assert proc.returncode != 0 and "already enrolled" in proc.stderr


HELP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help")


@pytest.mark.parametrize("command", ["", "enroll", "status", "recovery-codes", "show", "reset", "devices", "forget",
                                     "unlock", "import-google-authenticator", "store", "store init", "store import",
                                     "store export", "web-helper"])
def test_help_text_snapshot(command):
    """Every subcommand has --help; changes to it are deliberate (update Tests/integration/help/)."""
    args = [SETUP, *command.split(), "--help"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=dict(os.environ, COLUMNS="100")).stdout
    snapshot = os.path.join(HELP_DIR, (command.replace(" ", "-") or "pam-totp-setup") + ".txt")
    if os.environ.get("UPDATE_SNAPSHOTS"):
        os.makedirs(HELP_DIR, exist_ok=True)
        open(snapshot, "w").write(out)
    assert out == open(snapshot).read()


def test_subcommands_and_options_are_all_in_the_man_page():
    """pamtotp_it.SUBCOMMANDS (which env.setup gives --config and --state), the tool's own list, and
    pam-totp-setup(1): every subcommand in the SYNOPSIS, every long option of every --help in the page."""
    top = subprocess.run([SETUP, "--help"], capture_output=True, text=True, check=True).stdout
    listed = re.findall(r"^  ([a-z][a-z-]+)\b", top.split("SUBCOMMANDS:")[1], re.M)
    assert set(listed) == SUBCOMMANDS
    store = subprocess.run([SETUP, "store", "--help"], capture_output=True, text=True, check=True).stdout
    commands = [c for c in listed if c != "store"] + ["store " + c for c in re.findall(r"^  ([a-z]+)\b", store.split("SUBCOMMANDS:")[1], re.M)]
    assert {"store init", "store import", "store export"} <= set(commands)
    man = open(os.path.join(ROOT, "man", "pam-totp-setup.1")).read().replace("\\-", "-")
    synopsis = man.split(".SH SYNOPSIS")[1].split(".SH ")[0]
    for command in commands:
        assert re.search(rf"^\.B pam-totp-setup {re.escape(command)}$", synopsis, re.M), f"{command} is not in the SYNOPSIS"
        out = subprocess.run([SETUP, *command.split(), "--help"], capture_output=True, text=True, check=True).stdout
        for option in re.findall(r"^  (?:-\w, )?(--[a-z][a-z-]*)", out, re.M):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", man), f"{command} {option} is not in the man page"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell):
    out = subprocess.run([SETUP, "--generate-completion-script", shell], capture_output=True, text=True, check=True).stdout
    assert "import-google-authenticator" in out and "recovery-codes" in out
