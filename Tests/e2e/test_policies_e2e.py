"""Issue 5's policies against the real servers: a remembered device on sshd (by key) and on ocserv
(by address), trusted networks on both, and one field for password and code through sshd's
password method."""
import re
import subprocess

from e2e_support import KEY, port
from test_ocserv import OCSERV_PORT
from test_sshd import SSH_PORT
from testbed import Ocserv, Sshd, oathtool, openconnect, ssh, wait_for_step

ASK = "Skip the code on this device for 30 days? [y/N]"


def test_sshd_remembers_a_device_by_its_key(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    bed.install_example("sshd-key-code", "sshd", extra="remember=30d")
    server = bed.start(Sshd(bed, port(*SSH_PORT), "publickey,keyboard-interactive", allow=[user.name]))
    key = server.authorize(user)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", key + ".pub"], capture_output=True, text=True, check=True).stdout.split()[1]
    wait_for_step()
    rc, out, prompts = ssh(bed, server.port, user, code=[oathtool(KEY)], yesno=["y"], identity=key)
    assert (rc, out) == (0, user.name), bed.log()
    assert any(ASK in p for p in prompts)
    rc, out, prompts = ssh(bed, server.port, user, identity=key)
    assert (rc, out) == (0, user.name) and prompts == [], bed.log()
    assert f"code skipped: remembered device user={user.name} rhost=127.0.0.1 device=key:{fingerprint}" in bed.log()
    # Another key of the same user: the code is asked for again.
    other = key + "-2"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    with open(f"{server.dir}/keys/{user.name}", "a") as f:
        f.write(open(other + ".pub").read())
    rc, _, prompts = ssh(bed, server.port, user, identity=other)
    assert rc != 0 and any("Verification code" in p for p in prompts)


def test_sshd_trusted_network_by_client_address(bed):
    user = bed.user("pamtotp-e2e")
    bed.enroll(user, KEY)
    with open(bed.trusted, "w") as f:
        f.write("# the test's campus: the second loopback address only\n127.0.0.2/32\n")
    bed.install_example("sshd-campus", "sshd")
    server = bed.start(Sshd(bed, port(*SSH_PORT), "keyboard-interactive", allow=[user.name]))
    rc, out, prompts = ssh(bed, server.port, user, password=[user.password], source="127.0.0.2")
    assert (rc, out) == (0, user.name), bed.log()
    assert not any("Verification code" in p for p in prompts)
    assert "code skipped: trusted network user=pamtotp-e2e rhost=127.0.0.2 network=127.0.0.2/32" in bed.log()
    # 127.0.0.1, just outside the /32, is asked for the code.
    wait_for_step()
    rc, _, prompts = ssh(bed, server.port, user, password=[user.password], code=[oathtool(KEY)], yesno=["n"])
    assert rc == 0 and any("Verification code" in p for p in prompts)


def test_sshd_one_field_through_the_password_method(bed):
    user = bed.user("pamtotp-e2e", password="Digits-at-the-end-42")
    bed.enroll(user, KEY)
    bed.install_example("sshd-one-field", "sshd")
    server = bed.start(Sshd(bed, port(*SSH_PORT), "password", password_authentication=True, allow=[user.name]))
    wait_for_step()
    code = oathtool(KEY)
    rc, out, prompts = ssh(bed, server.port, user, password=[user.password + code])
    assert (rc, out) == (0, user.name), bed.log()
    assert len(prompts) == 1, "the password method carries one prompt"
    rc, _, _ = ssh(bed, server.port, user, password=[user.password + oathtool(KEY, offset=9)] * 3)
    assert rc != 0
    rc, _, _ = ssh(bed, server.port, user, password=[user.password + code] * 3)
    assert rc != 0, "the code was used"


def test_ocserv_remembers_a_device_by_address_and_trusts_networks(bed):
    user = bed.user("pamtotp-vpn", home=False)
    bed.enroll(user, KEY, "--secret", f"{bed.data}/users/%u")
    with open(bed.trusted, "w") as f:
        f.write("127.0.0.2/32\n")
    bed.install_example("ocserv", "ocserv", extra=f"trusted=@{bed.trusted} remember=30d")
    server = bed.start(Ocserv(bed, port(*OCSERV_PORT)))
    wait_for_step()
    # The client is 127.0.0.1, just outside the trusted /32: the code, then "y" to remember.
    rc, cookie = openconnect(server, user, [user.password, oathtool(KEY), "y"])
    assert cookie, bed.log()
    assert "remembered device user=pamtotp-vpn rhost=127.0.0.1 device=address:127.0.0.1" in bed.log()
    rc, cookie = openconnect(server, user, [user.password])
    assert cookie, bed.log()
    assert "code skipped: remembered device user=pamtotp-vpn rhost=127.0.0.1" in bed.log()
    server.stop()
    # Trusting 127.0.0.0/31 (which holds 127.0.0.1): no code, no question.
    with open(bed.trusted, "w") as f:
        f.write("127.0.0.0/31\n")
    bed.setup("forget", "--user", user.name, "--all", "--secret", f"{bed.data}/users/%u")
    server.start()
    rc, cookie = openconnect(server, user, [user.password])
    assert cookie, bed.log()
    assert "code skipped: trusted network user=pamtotp-vpn rhost=127.0.0.1 network=127.0.0.0/31" in bed.log()
