"""Issue 5's login policies through a real libpam stack: remembered devices, trusted networks,
nullok_until, groups, one field for password and code, first-pass, hardware tokens (HOTP)."""
import datetime
import json
import os
import re
import subprocess

import pytest
from pamtotp_it import (KEY, PAM_AUTH_ERR, PAM_IGNORE, PAM_SERVICE_ERR, PAM_SUCCESS, totp, wait_for_fresh_step)

# An ed25519 public key line, as sshd puts it in SSH_AUTH_INFO_0, and its OpenSSH fingerprint.
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
ASK = "Skip the code on this device for 30 days? [y/N] "


def fingerprint(key):
    path = "/tmp/pamtotp-fp.pub"
    open(path, "w").write(key + "\n")
    out = subprocess.run(["ssh-keygen", "-lf", path], capture_output=True, text=True, check=True).stdout.split()[1]
    os.remove(path)
    return out


def fresh(env, **kwargs):
    wait_for_fresh_step()
    return totp(KEY, **kwargs)


# --- remember this device ---------------------------------------------------------------------

def test_remember_by_ssh_key_after_asking(env):
    env.enroll()
    env.service("test", "remember=30d")
    auth_info = f"SSH_AUTH_INFO_0=publickey {PUBKEY}\n"
    first = env.login("alice", fresh(env), "y", env=[auth_info], rhost="192.0.2.10")
    assert first.rc == PAM_SUCCESS and first.prompts == ["Verification code: ", ASK]
    device = f"key:{fingerprint(PUBKEY)}"
    assert first.logged(rf"remembered device user=alice rhost=192\.0\.2\.10 device={re.escape(device)} until=")
    # Same key, another address: no code.
    again = env.login("alice", env=[auth_info], rhost="198.51.100.1")
    assert again.rc == PAM_SUCCESS and again.prompts == []
    assert again.logged(rf"code skipped: remembered device user=alice rhost=198\.51\.100\.1 device={re.escape(device)}")
    # Another key: the code is asked for.
    other = env.login("alice", env=["SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"])
    assert other.rc != PAM_SUCCESS and other.prompts[:1] == ["Verification code: "]
    # The tool lists and forgets it.
    listed = json.loads(env.setup("devices", "--user", "alice", "--json").stdout)["devices"]
    assert [d["device"] for d in listed] == [device]
    env.setup("forget", "--user", "alice", device)
    assert env.login("alice", env=[auth_info]).prompts == ["Verification code: "]


def test_remember_by_address_and_answers_other_than_yes(env):
    env.enroll()
    env.service("test", "remember=12h")
    ask = "Skip the code on this device for 12 hours? [y/N] "
    no = env.login("alice", fresh(env), "sure", rhost="192.0.2.20")
    assert no.rc == PAM_SUCCESS and no.prompts == ["Verification code: ", ask]
    assert env.login("alice", rhost="192.0.2.20").prompts == ["Verification code: "]
    yes = env.login("alice", totp(KEY, step_offset=1), "YES", rhost="192.0.2.20")
    assert yes.rc == PAM_SUCCESS
    assert env.login("alice", rhost="192.0.2.20").rc == PAM_SUCCESS
    assert env.login("alice", rhost="192.0.2.21").prompts == ["Verification code: "]
    # A host name is not a device: it is never remembered, and the question is not asked.
    named = env.login("alice", totp(KEY, step_offset=-1), rhost="client.example.org")
    assert named.prompts == ["Verification code: "] or named.rc != PAM_SUCCESS


def test_no_device_no_question_and_remember_always(env):
    env.enroll()
    env.service("test", "remember=30d")
    local = env.login("alice", fresh(env))
    assert local.rc == PAM_SUCCESS and local.prompts == ["Verification code: "], "a local login has no device to remember"
    env.service("test", "remember=30d remember_always")
    always = env.login("alice", totp(KEY, step_offset=1), rhost="192.0.2.30")
    assert always.rc == PAM_SUCCESS and always.prompts == ["Verification code: "]
    assert env.login("alice", rhost="192.0.2.30").prompts == []


def test_recovery_code_never_remembers(env):
    codes = env.enroll()["recovery_codes"]
    env.service("test", "remember=30d remember_always")
    assert env.login("alice", codes[0], rhost="192.0.2.40").rc == PAM_SUCCESS
    assert env.login("alice", rhost="192.0.2.40").prompts == ["Verification code: "]


def test_expired_devices_and_reenrolling_forget(env):
    env.enroll()
    env.service("test", "remember=30d remember_always")
    assert env.login("alice", fresh(env), rhost="192.0.2.50").rc == PAM_SUCCESS
    state_path = os.path.join(env.state, "alice.state")
    text = open(state_path).read()
    expired = re.sub(r"^(device \S+ )(\d+) (\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) - 40 * 86400} {int(m.group(2)) - 86400}", text, flags=re.M)
    open(state_path, "w").write(expired)
    assert env.login("alice", rhost="192.0.2.50").prompts == ["Verification code: "]
    # Remember again, then re-enroll with the same key: the device is forgotten.
    assert env.login("alice", totp(KEY, step_offset=1), rhost="192.0.2.50").rc == PAM_SUCCESS
    assert env.login("alice", rhost="192.0.2.50").rc == PAM_SUCCESS
    env.enroll(extra=["--force"])
    assert env.login("alice", rhost="192.0.2.50").prompts == ["Verification code: "]


def test_remembered_devices_are_bounded(env):
    env.enroll()
    env.service("test", "remember=30d remember_always window=10")
    wait_for_fresh_step()
    for index in range(21):
        assert env.login("alice", totp(KEY, step_offset=index - 10), rhost=f"192.0.2.{100 + index}").rc == PAM_SUCCESS
    devices = json.loads(env.setup("devices", "--user", "alice", "--json").stdout)["devices"]
    assert len(devices) == 20 and devices[0]["device"] == "address:192.0.2.101" and devices[-1]["device"] == "address:192.0.2.120"


def test_devices_needs_root_and_forget_refuses_unknown_devices(env):
    env.enroll()
    assert "run this as root" in env.setup("devices", as_user="alice", check=False).stderr
    proc = env.setup("forget", "--user", "alice", "address:192.0.2.1", check=False)
    assert proc.returncode != 0 and "no remembered device" in proc.stderr
    assert env.setup("forget", "--user", "alice", "banana", check=False).returncode != 0


# --- trusted networks ---------------------------------------------------------------------------

@pytest.mark.parametrize("rhost,trusted", [
    ("10.1.2.3", True), ("10.255.255.255", True), ("11.0.0.0", False), ("9.255.255.255", False),
    ("192.168.7.1", True), ("192.168.8.1", False),
    ("::ffff:10.1.2.3", True), ("::ffff:11.1.2.3", False),
    ("2001:db8::1", True), ("2001:db9::1", False),
    ("campus-host.example.org", False), (None, False), ("10.1.2.3.example.org", False),
])
def test_trusted_networks(env, rhost, trusted):
    env.enroll()
    env.service("test", "trusted=10.0.0.0/8,192.168.7.0/24,2001:db8::/32 retries=1")
    login = env.login("alice", "000000", rhost=rhost)
    if trusted:
        assert login.rc == PAM_SUCCESS and login.prompts == []
        assert login.logged(r"code skipped: trusted network user=alice rhost=\S+ network=")
    else:
        assert login.rc == PAM_AUTH_ERR and login.prompts == ["Verification code: "]


def test_trusted_networks_from_a_file(env):
    env.enroll()
    path = os.path.join(env.root, "trusted")
    open(path, "w").write("# campus\n10.0.0.0/8   # wired\n\n2001:db8::/32\n")
    os.chmod(path, 0o644)
    env.service("test", f"trusted=@{path}")
    assert env.login("alice", rhost="2001:db8::7").rc == PAM_SUCCESS
    open(path, "a").write("10.0.0.0/33\n")
    bad = env.login("alice", rhost="2001:db8::7")
    assert bad.rc == PAM_SERVICE_ERR and bad.logged(r"'10\.0\.0\.0/33' is not a network in CIDR notation \(line 5\)")
    os.chmod(path, 0o666)
    assert env.login("alice", rhost="2001:db8::7").rc == PAM_SERVICE_ERR


@pytest.mark.parametrize("value", ["10.0.0.0/8,", "10.0.0.1/8", "10.0.0.0/40", "10.0.0", "fe80::1%eth0", "example.org", "10.0.0.0/8, 10.0.0.0/8x"])
def test_malformed_trusted_networks_fail_loudly(env, value):
    env.enroll()
    env.service("test", f"[trusted={value}]")
    login = env.login("alice", rhost="10.1.2.3")
    assert login.rc == PAM_SERVICE_ERR and login.prompts == []
    assert login.logged(r"configuration error: option 'trusted=")


# --- who must use a code -----------------------------------------------------------------------

def test_nullok_until(env):
    today = datetime.date.today()
    env.service("test", stack=[f"auth required {{module}} state={{state}} nullok_until={today + datetime.timedelta(days=1)}",
                               "auth required pam_permit.so"])
    before = env.login("bob")
    assert before.rc == PAM_SUCCESS and before.prompts == []
    assert before.infos == [f"Two-factor authentication will be required from {today + datetime.timedelta(days=1)}. "
                            "Set it up before then, as your site's instructions describe."]
    env.service("test", stack=[f"auth required {{module}} state={{state}} nullok_until={today}", "auth required pam_permit.so"])
    on_the_day = env.login("bob", "123456", "123456", "123456")
    assert on_the_day.rc == PAM_AUTH_ERR and on_the_day.prompts == ["Verification code: "] * 3
    env.service("test", "nullok_until=2027-02-30")
    assert env.login("bob").rc == PAM_SERVICE_ERR


@pytest.mark.parametrize("options,user,code_required", [
    ("groups=staff", "alice", True), ("groups=staff", "bob", False),
    ("exempt_groups=contractors", "bob", False), ("exempt_groups=contractors", "alice", True),
    ("groups=staff exempt_groups=contractors", "carol", True),  # in both: the code is required
    ("groups=alice", "alice", True),  # the primary group counts
])
def test_groups_and_exempt_groups(env, options, user, code_required):
    env.enroll(user)
    env.service("test", stack=[f"auth required {{module}} state={{state}} {options} retries=1", "auth required pam_permit.so"])
    login = env.login(user, "000000")
    if code_required:
        assert login.prompts == ["Verification code: "] and login.rc == PAM_AUTH_ERR
    else:
        assert login.prompts == [] and login.rc == PAM_SUCCESS
        assert login.logged(rf"skipped user={user} rhost=- reason=(not-in-groups|exempt-group)")


def test_unknown_group_is_a_configuration_error(env):
    env.enroll()
    env.service("test", "groups=nosuchgroup")
    login = env.login("alice")
    assert login.rc == PAM_SERVICE_ERR and login.logged(r"nosuchgroup.*no such group")


# --- one field for password and code --------------------------------------------------------------

def forward_stack(env, options="", password="hunter123"):
    """pam_totp.so forward_pass, then pam_exec.so checking that the password it passed on is exact."""
    check = os.path.join(env.root, "check-password")
    open(check, "w").write(f"#!/bin/sh\nread -r pw\n[ \"$pw\" = '{password}' ]\n")
    os.chmod(check, 0o755)
    env.service("test", stack=[f"auth required {{module}} state={{state}} forward_pass {options}",
                               f"auth required pam_exec.so expose_authtok quiet {check}"])


def test_forward_pass_password_ending_in_digits(env):
    env.enroll()
    forward_stack(env)
    login = env.login("alice", "hunter123" + fresh(env))
    assert login.rc == PAM_SUCCESS and login.prompts == ["Password & verification code: "]
    # A wrong code fails even with the right password; the password still goes on (no hint which).
    wrong = env.login("alice", "hunter123" + totp(KEY, step_offset=9), "hunter123" + totp(KEY, step_offset=9),
                      "hunter123" + totp(KEY, step_offset=9))
    assert wrong.rc == PAM_AUTH_ERR
    # The right code with a wrong password fails in the next module.
    assert env.login("alice", "hunter12" + totp(KEY, step_offset=1)).rc != PAM_SUCCESS


def test_forward_pass_with_a_recovery_code(env):
    codes = env.enroll()["recovery_codes"]
    forward_stack(env, password="pass word-1")
    assert env.login("alice", "pass word-1" + codes[0]).rc == PAM_SUCCESS
    assert env.login("alice", "pass word-1" + codes[0], "x", "x").rc != PAM_SUCCESS


def test_forward_pass_whole_input_is_the_password_when_no_code_is_needed(env):
    env.enroll()
    forward_stack(env, "trusted=10.0.0.0/8 remember=30d remember_always", password="ends-in-123456")
    trusted = env.login("alice", "ends-in-123456", rhost="10.9.9.9")
    assert trusted.rc == PAM_SUCCESS and trusted.prompts == ["Password & verification code: "]
    assert env.login("alice", "ends-in-123456" + fresh(env), rhost="192.0.2.60").rc == PAM_SUCCESS
    remembered = env.login("alice", "ends-in-123456", rhost="192.0.2.60")
    assert remembered.rc == PAM_SUCCESS and remembered.logged("code skipped: remembered device")


def test_forward_pass_prompt_may_start_with_password_but_a_code_prompt_may_not(env):
    env.enroll()
    env.service("test", "forward_pass [prompt=Password+code: ]")
    assert env.login("alice", "x" + fresh(env)).prompts == ["Password+code: "]
    env.service("test", "[prompt=Password: ]")
    assert env.login("alice").rc == PAM_SERVICE_ERR


def first_module_stack(env, options):
    """pam_unix.so first: it asks "Password: " and stores the answer as PAM_AUTHTOK (then fails for
    these nss_wrapper users, hence optional); pam_totp.so takes its input from there."""
    env.service("test", stack=["auth optional pam_unix.so nodelay", f"auth required {{module}} state={{state}} {options}"])


def test_use_first_pass_and_try_first_pass(env):
    env.enroll()
    first_module_stack(env, "use_first_pass")
    used = env.login("alice", fresh(env))
    assert used.rc == PAM_SUCCESS and used.prompts == ["Password: "]
    wrong = env.login("alice", "not-a-code")
    assert wrong.rc == PAM_AUTH_ERR and wrong.prompts == ["Password: "], "use_first_pass never prompts"
    first_module_stack(env, "try_first_pass")
    fallback = env.login("alice", "not-a-code", totp(KEY, step_offset=1))
    assert fallback.rc == PAM_SUCCESS and fallback.prompts == ["Password: ", "Verification code: "]


def test_use_first_pass_without_a_password_before(env):
    env.enroll()
    env.service("test", "use_first_pass")
    none = env.login("alice")
    assert none.rc == PAM_AUTH_ERR and none.prompts == [] and none.logged("reason=no-authtok")


# --- hardware tokens (HOTP) ----------------------------------------------------------------------

def hotp(counter, key=KEY):
    return subprocess.run(["oathtool", "-b", "-c", str(counter), key], capture_output=True, text=True, check=True).stdout.strip()


def test_hotp_token(env):
    env.setup("enroll", "--user", "alice", "--key", KEY, "--hotp", "--counter", "3", "--json", code=hotp(5))
    text = open(env.enrollment_path("alice")).read()
    assert "type hotp\n" in text and "counter 6\n" in text and "period" not in text
    env.service("test", "retries=1")
    assert env.login("alice", hotp(5)).rc == PAM_AUTH_ERR, "the confirmation code is used up"
    assert env.login("alice", hotp(6)).rc == PAM_SUCCESS
    assert env.login("alice", hotp(6)).rc == PAM_AUTH_ERR, "a counter is accepted once"
    # Presses that were never used: anything within hotp_window (10) ahead works.
    assert env.login("alice", hotp(15)).rc == PAM_SUCCESS
    assert env.login("alice", hotp(12)).rc == PAM_AUTH_ERR


def test_hotp_resynchronisation(env):
    env.setup("enroll", "--user", "alice", "--key", KEY, "--hotp", "--json", code=hotp(0))
    env.service("test", "hotp_window=5")
    far = env.login("alice", hotp(40), hotp(41))
    assert far.rc == PAM_SUCCESS
    assert far.errors == ["That code is far ahead of your token's counter. Enter the next code to resynchronise."]
    assert env.login("alice", hotp(42)).rc == PAM_SUCCESS
    # Two codes that are not consecutive do not resynchronise.
    jump = env.login("alice", hotp(100), hotp(102), hotp(104))
    assert jump.rc == PAM_AUTH_ERR


def test_hotp_uri_and_import(env):
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--hotp", "--no-verify", "--json", "--issuer", "Test")
    assert json.loads(proc.stdout)["uri"] == f"otpauth://hotp/Test:alice?secret={KEY}&issuer=Test&algorithm=SHA1&digits=6&counter=0"
    path = os.path.join(env.root, "ga-hotp")
    subprocess.run(["google-authenticator", "-c", "-f", "-C", "-q", "-Q", "NONE", "-w", "3", "-e", "1", "-u", "-s", path],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)
    secret = open(path).readline().strip()
    env.sensitive.add(secret)
    out = env.setup("import-google-authenticator", "--user", "bob", path).stdout
    assert "HOTP (counter-based)" in out
    assert env.login("bob", hotp(1, secret)).rc == PAM_SUCCESS


def test_forward_pass_with_use_first_pass_splits_an_earlier_modules_password(env):
    env.enroll()
    check = os.path.join(env.root, "check-password")
    open(check, "w").write("#!/bin/sh\nread -r pw\n[ \"$pw\" = 'hunter123' ]\n")
    os.chmod(check, 0o755)
    env.service("test", stack=["auth optional pam_unix.so nodelay",
                               "auth required {module} state={state} forward_pass use_first_pass",
                               f"auth required pam_exec.so expose_authtok quiet {check}"])
    login = env.login("alice", "hunter123" + fresh(env))
    assert login.rc == PAM_SUCCESS and login.prompts == ["Password: "]


def test_the_tools_proof_of_possession_uses_the_configured_hotp_window_and_throttling(env):
    open(env.config, "w").write("hotp_window=20\nmax_failures=2\n")
    env.setup("enroll", "--user", "alice", "--key", KEY, "--hotp", "--json", code=hotp(0))
    # 15 presses ahead: inside the configured window of 20 (the default is 10), as at login.
    proc = env.setup("show", "--user", "alice", "--qr", "none", code=hotp(16), check=False)
    assert proc.returncode == 0, proc.stderr
    # After max_failures=2 failed proofs the codes are locked for the tool as for the module.
    for _ in range(2):
        assert env.setup("show", "--user", "alice", code="000000", check=False).returncode != 0
    locked = env.setup("show", "--user", "alice", code=hotp(17), check=False)
    assert locked.returncode != 0 and "(locked)" in locked.stderr, locked.stderr
