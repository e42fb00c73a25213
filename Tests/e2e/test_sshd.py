"""A real sshd and the real ssh client, with the pam.d-examples as written (paths substituted)."""
import re

import pytest
from e2e_support import KEY, port
from testbed import Sshd, oathtool, ssh, wait_for_step

SSH_PORT = ("PAMTOTP_SSH_PORT", 22022)


def password_code_server(bed, extra="", users=("pamtotp-e2e",)):
    bed.install_example("sshd-password-code", "sshd", extra)
    return bed.start(Sshd(bed, port(*SSH_PORT), "keyboard-interactive", allow=users))


def test_password_then_code(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    server = password_code_server(bed)
    wait_for_step()
    rc, out, prompts = ssh(bed, server.port, user, password=[user.password], code=[oathtool(KEY)])
    assert (rc, out) == (0, user.name), bed.log()
    assert [re.sub(r"^\(.*?\) ", "", p) for p in prompts] == ["Password: ", "Verification code: "]
    assert re.search(rf"pam_totp\(sshd:auth\): success user={user.name} rhost=127\.0\.0\.1 method=totp", bed.log())


def test_wrong_code_and_wrong_password_are_refused_alike(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    server = password_code_server(bed)
    wait_for_step()
    wrong = oathtool(KEY, offset=10)
    rc, _, prompts = ssh(bed, server.port, user, password=[user.password], code=[wrong] * 3)
    assert rc != 0
    assert sum("Verification code" in p for p in prompts) >= 3
    assert bed.log().count("reason=wrong-code") >= 3 and "success user=" not in bed.log()
    # A wrong password still gets the code prompt: the stack does not tell which factor was wrong.
    # (From another address: 127.0.0.1 is now throttled after its wrong codes.)
    rc, _, prompts = ssh(bed, server.port, user, password=["wrong-password"], code=[oathtool(KEY)], source="127.0.0.2")
    assert rc != 0 and any("Verification code" in p for p in prompts)


def test_replayed_code_is_refused(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    server = password_code_server(bed)
    wait_for_step()
    code = oathtool(KEY)
    assert ssh(bed, server.port, user, password=[user.password], code=[code])[0] == 0
    rc, _, _ = ssh(bed, server.port, user, password=[user.password], code=[code])
    assert rc != 0
    assert "reason=replayed-code" in bed.log()


def test_recovery_code_is_accepted_once(bed):
    user = bed.user("pamtotp-e2e")
    recovery = bed.enroll(user, KEY)["recovery_codes"][0]
    server = password_code_server(bed)
    assert ssh(bed, server.port, user, password=[user.password], code=[recovery])[0] == 0
    assert ssh(bed, server.port, user, password=[user.password], code=[recovery])[0] != 0
    assert "method=recovery recovery-codes-left=9" in bed.log()
    assert "reason=used-recovery-code" in bed.log()


def test_user_not_enrolled_without_and_with_nullok(bed):
    user = bed.user("pamtotp-e2e")
    server = password_code_server(bed)
    rc, _, prompts = ssh(bed, server.port, user, password=[user.password], code=["123456"] * 3)
    assert rc != 0 and any("Verification code" in p for p in prompts)
    server.stop()
    # The example's own advice for a rollout: add nullok.
    server = password_code_server(bed, extra="nullok")
    rc, out, prompts = ssh(bed, server.port, user, password=[user.password])
    assert (rc, out) == (0, user.name), bed.log()
    assert not any("Verification code" in p for p in prompts)


def test_public_key_then_code(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    bed.install_example("sshd-key-code", "sshd")
    server = bed.start(Sshd(bed, port(*SSH_PORT), "publickey,keyboard-interactive", allow=[user.name]))
    key = server.authorize(user)
    wait_for_step()
    rc, out, prompts = ssh(bed, server.port, user, code=[oathtool(KEY)], identity=key)
    assert (rc, out) == (0, user.name), bed.log()
    assert [re.sub(r"^\(.*?\) ", "", p) for p in prompts] == ["Verification code: "]
    # The key alone is not enough, and the code without the key is not tried at all.
    rc, _, _ = ssh(bed, server.port, user, code=[oathtool(KEY, offset=10)] * 3, identity=key)
    assert rc != 0
    rc, _, prompts = ssh(bed, server.port, user, password=[user.password], code=[oathtool(KEY)])
    assert rc != 0 and prompts == []
