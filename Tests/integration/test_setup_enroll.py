"""pam-totp-setup enroll, run as the built binary."""
import json
import os
import re
import subprocess

from pamtotp_it import KEY, PAM_SUCCESS, SETUP, totp, wait_for_fresh_step


def test_json_provisioning_enrolls_and_the_login_works(env):
    data = env.enroll("alice")
    assert data["user"] == "alice"
    assert data["uri"] == f"otpauth://totp/Test:alice?secret={KEY}&issuer=Test"
    assert len(data["recovery_codes"]) == 10
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}", c) for c in data["recovery_codes"])
    st = os.stat(env.enrollment_path("alice"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (2001, 2001, 0o600)
    text = open(env.enrollment_path("alice")).read()
    # Only hashes of the recovery codes are stored.
    assert not any(c.replace("-", "") in text.replace("-", "") for c in data["recovery_codes"])
    assert [l.split()[0] for l in text.splitlines() if not l.startswith("#")] == \
        ["version", "account", "type", "algorithm", "digits", "period", "secret", "id", "issuer", "created", "recovery-kdf"] + ["recovery"] * 10 + ["end"]
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY, step_offset=1)).rc == PAM_SUCCESS


def test_prose_output_shows_secret_uri_and_codes_once(env):
    wait_for_fresh_step()
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, "--issuer", "Uni VPN", "--recovery-codes", "3", code=totp(KEY))
    # Beside the QR code, four groups a line.
    assert re.search(r"JBSW Y3DP EHPK 3PXP\n.*JBSW Y3DP EHPK 3PXP\n", proc.stdout)
    assert "otpauth://totp/Uni%20VPN:alice?secret=" + KEY + "&issuer=Uni%20VPN" in proc.stdout
    assert len(re.findall(r"^  [0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$", proc.stdout, re.M)) == 3


def test_generated_secret_is_160_bits(env):
    proc = env.setup("enroll", "--user", "alice", "--json", check=False)
    # No code on stdin: nothing is saved, but the secret was printed to stderr for the user.
    assert proc.returncode != 0
    assert "no code was given" in proc.stderr
    assert not os.path.exists(env.enrollment_path("alice"))
    beside = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr).split("Secret (for typing by hand):")[1]
    secret = "".join(re.findall(r"[A-Z2-7]{4}(?: [A-Z2-7]{4})*", beside)).replace(" ", "")
    assert len(secret) == 32  # 160 bits


def test_wrong_code_saves_nothing(env):
    wrong = totp(KEY, step_offset=5)
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, code=wrong, check=False)
    assert proc.returncode == 1
    assert "does not match; nothing was saved" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not os.path.exists(env.enrollment_path("alice"))
    assert os.listdir(env.home("alice")) == []


def test_neighbouring_step_counts(env):
    wait_for_fresh_step()
    env.setup("enroll", "--user", "alice", "--key", KEY, code=totp(KEY, step_offset=-1))
    assert os.path.exists(env.enrollment_path("alice"))


def test_existing_enrollment_needs_force(env):
    env.enroll("alice")
    before = open(env.enrollment_path("alice")).read()
    wait_for_fresh_step()
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, code=totp(KEY), check=False)
    assert proc.returncode != 0 and "already enrolled" in proc.stderr and "--force" in proc.stderr
    assert open(env.enrollment_path("alice")).read() == before
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    env.setup("enroll", "--user", "alice", "--key", other, "--force", code=totp(other))
    assert open(env.enrollment_path("alice")).read() != before


def test_a_user_enrolls_themself_but_nobody_else(env):
    wait_for_fresh_step()
    proc = env.setup("enroll", "--key", KEY, "--json", code=totp(KEY), as_user="bob")
    assert json.loads(proc.stdout)["user"] == "bob"
    assert os.stat(env.enrollment_path("bob")).st_uid == 2002
    refused = env.setup("enroll", "--user", "alice", "--key", KEY, code=totp(KEY), as_user="bob", check=False)
    assert refused.returncode != 0 and "only root" in refused.stderr
    assert not os.path.exists(env.enrollment_path("alice"))


def test_refuses_to_write_through_a_users_symlink(env):
    # Root writes in a user's home with the user's identity, so a planted link gains nothing.
    target = os.path.join(env.root, "rootfile")
    open(target, "w").write("precious\n")
    os.chmod(target, 0o600)
    os.symlink(target, os.path.join(env.home("alice"), ".pam_totp"))
    wait_for_fresh_step()
    proc = env.setup("enroll", "--user", "alice", "--key", KEY, code=totp(KEY), check=False)
    assert proc.returncode != 0 and "is a symbolic link; refusing to follow it" in proc.stderr
    # With --force the new file is renamed over the link itself: the link's target is never written.
    env.setup("enroll", "--user", "alice", "--key", KEY, "--force", code=totp(KEY))
    assert open(target).read() == "precious\n"
    assert not os.path.islink(env.enrollment_path("alice"))
    assert os.stat(env.enrollment_path("alice")).st_uid == 2001


def test_bad_arguments_are_one_clear_line(env):
    cases = [
        (["--digits", "9"], "--digits must be 6, 7 or 8"),
        (["--period", "5"], "--period must be from 15 to 300"),
        (["--algorithm", "MD5"], "--algorithm must be SHA1, SHA256 or SHA512"),
        (["--key", "JBSW0Y3DP"], "invalid Base32 character at position 5"),
        (["--key", "JBSWY3DP"], "the secret is 40 bits"),
        (["--user", "nosuch"], "no such user: nosuch"),
        (["--secret", "relative/x"], "expected an absolute path"),
        (["--recovery-codes", "101"], "--recovery-codes must be from 0 to 100"),
        (["--bogus"], "Unknown option '--bogus'"),
        (["--digits"], "Missing value for '--digits <digits>'"),
    ]
    for args, message in cases:
        proc = env.setup("enroll", *args, code="000000", check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
        assert proc.stderr.startswith("pam-totp-setup: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert not os.path.exists(env.enrollment_path("alice"))


def test_help_and_version():
    assert "Enroll users for pam_totp.so" in subprocess.run([SETUP, "--help"], capture_output=True, text=True).stdout
    assert "--recovery-codes" in subprocess.run([SETUP, "enroll", "--help"], capture_output=True, text=True).stdout
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", subprocess.run([SETUP, "--version"], capture_output=True, text=True).stdout)
