"""What users see when the module refuses them, through the real clients (issue 12, items 1 and 7):
ssh in an 80x24 terminal, sudo at a terminal, openconnect; and sshd with Debian's stock
PasswordAuthentication, which answers the code prompt with the password."""
import os
import re
import subprocess

import pexpect
from e2e_support import KEY, port
from test_local_services import sudo_argv
from testbed import Ocserv, Sshd, oathtool, ssh, wait_for_step

SSH_PORT = ("PAMTOTP_SSH_PORT", 22022)
OCSERV_PORT = ("PAMTOTP_OCSERV_PORT", 24443)
THROTTLED = "Too many wrong codes from here. Try again in"
WRONG = "The verification code does not match."


def terminal(argv):
    """The command in a pseudo-terminal of 80 columns and 24 rows, as a user's."""
    return pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80), encoding="utf-8", timeout=30)


def test_a_throttled_ssh_user_is_told_why_and_for_how_long(bed):
    user = bed.user("pamtotp-msg")
    bed.enroll(user, KEY)
    bed.install_example("sshd-password-code", "sshd")
    server = bed.start(Sshd(bed, port(*SSH_PORT), "keyboard-interactive", allow=[user.name]))
    wait_for_step()
    ssh(bed, server.port, user, password=[user.password], code=[oathtool(KEY, offset=10)] * 3)
    child = terminal(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                      "-o", "PubkeyAuthentication=no", "-p", str(server.port), f"{user.name}@127.0.0.1", "id", "-un"])
    try:
        child.expect("Password: ")
        child.sendline(user.password)
        # sshd sends the messages of a failed PAM round as the text of a keyboard-interactive request
        # without prompts, which ssh prints (at its default LogLevel) before asking again.
        child.expect(THROTTLED + r" \d+ seconds\.")
    finally:
        child.close(force=True)
    assert re.search(rf"failure user={user.name} rhost=127\.0\.0\.1 reason=throttled", bed.log())


def test_sudo_shows_a_wrong_code_although_it_asks_for_silence(bed):
    if not os.path.exists("/usr/bin/sudo"):
        raise AssertionError("sudo is not installed: run `make deps`")
    user = bed.user("pamtotp-msgsudo")
    bed.enroll(user, KEY)
    bed.install_example("sudo", "sudo")
    wait_for_step()
    # sudo's own defaults, pam_silent among them.
    child = terminal(sudo_argv(bed, user, "id", "-un"))
    try:
        child.expect("password for")
        child.sendline(user.password)
        child.expect("Verification code: ")
        child.sendline(oathtool(KEY, offset=10))
        child.expect_exact(WRONG)
        child.expect("Verification code: ")
        child.sendline(oathtool(KEY))
        child.expect("root")
    finally:
        child.close(force=True)


def test_openconnect_shows_why_the_login_failed(bed):
    user = bed.user("pamtotp-msgvpn", home=False)
    bed.enroll(user, KEY, "--secret", f"{bed.data}/users/%u")
    with open(bed.config, "w") as f:
        f.write(f"secret={bed.data}/users/%u\n")
    bed.install_example("ocserv", "ocserv")
    server = bed.start(Ocserv(bed, port(*OCSERV_PORT)))
    wait_for_step()
    wrong = oathtool(KEY, offset=10)
    # ocserv shows only the text of each prompt, as the message of its next form; with
    # pam.d-examples/ocserv's message_prompt the module's messages go there, and the last one gets
    # a form of its own.
    out = openconnect_output(server, user, [user.password, wrong, wrong, wrong, ""])
    assert out.count(WRONG) == 3 and "Press Enter to continue." in out, out
    out = openconnect_output(server, user, [user.password, ""])
    assert THROTTLED in out, out


def openconnect_output(server, user, answers):
    args = ["openconnect", "--authenticate", "--passwd-on-stdin", "--servercert", server.pin,
            "-u", user.name, f"https://127.0.0.1:{server.port}/"]
    proc = subprocess.run(args, input="".join(a + "\n" for a in answers), capture_output=True, text=True, timeout=60)
    assert "COOKIE=" not in proc.stdout
    return proc.stdout + proc.stderr


def test_stock_password_authentication_is_refused_with_a_clear_line_and_no_lockout(bed):
    """Debian's sshd_config: PasswordAuthentication yes, KbdInteractiveAuthentication no. sshd's
    password method answers the code prompt with the password; the module refuses it unchecked."""
    user = bed.user("pamtotp-msgpw")
    bed.enroll(user, KEY)
    bed.install_example("sshd-password-code", "sshd")
    server = Sshd(bed, port(*SSH_PORT), "any", password_authentication=True, allow=[user.name])
    text = open(server.config).read().replace("KbdInteractiveAuthentication yes", "KbdInteractiveAuthentication no")
    open(server.config, "w").write(text)
    bed.start(server)
    for _ in range(4):
        rc, _, prompts = ssh(bed, server.port, user, password=[user.password] * 3)
        assert rc != 0
    log = bed.log()
    assert re.search(rf"refused user={user.name} rhost=127\.0\.0\.1 reason=password-as-code error=\".*KbdInteractiveAuthentication yes", log), log
    assert "failure user=" not in log and "reason=throttled" not in log and "reason=malformed-input" not in log
    path = os.path.join(bed.data, user.name + ".state")
    state = open(path).read() if os.path.exists(path) else ""
    assert not re.search(r"^(failures [1-9]|unfamiliar-failures [1-9]|source )", state, re.M), state
