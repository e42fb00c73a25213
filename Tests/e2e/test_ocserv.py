"""A real ocserv and the real openconnect client, with pam.d-examples/ocserv as written, following the
README's VPN guide: central enrollments, an admin who enrolls users and hands them a QR image."""
import json
import os
import re
import subprocess

from e2e_support import KEY, port
from testbed import Ocserv, oathtool, openconnect, wait_for_step

OCSERV_PORT = ("PAMTOTP_OCSERV_PORT", 24443)


def test_password_then_code_gives_a_cookie_and_replay_fails_across_workers(bed):
    # The guide: /etc/pam-totp.conf names the central directory and the issuer once.
    with open(bed.config, "w") as f:
        f.write(f"secret={bed.data}/users/%u\nissuer=Example VPN\n")
    # A VPN user without a home directory; the admin enrolls them and hands over a QR image.
    user = bed.user("pamtotp-vpn", home=False)
    image = os.path.join(bed.root, "pamtotp-vpn.png")
    proc = bed.setup("enroll", "--user", user.name, "--no-verify", "--qr", "none", "--qr-png", image, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["file"] == f"{bed.data}/users/{user.name}"
    assert os.stat(f"{bed.data}/users/{user.name}").st_uid == 0
    # The user's phone reads the image.
    uri = subprocess.run(["zbarimg", "--raw", "-q", image], capture_output=True, text=True, check=True).stdout.strip()
    assert uri.startswith(f"otpauth://totp/Example%20VPN:{user.name}?")
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    bed.install_example("ocserv", "ocserv")
    server = bed.start(Ocserv(bed, port(*OCSERV_PORT)))
    wait_for_step()
    code = oathtool(secret)
    rc, cookie = openconnect(server, user, [user.password, code])
    assert rc == 0 and cookie, bed.log()
    # The same code again, on a new connection handled by another worker process: refused.
    rc, cookie = openconnect(server, user, [user.password, code])
    assert cookie is None
    assert "pam_totp(ocserv:auth): failure" in bed.log() and "reason=replayed-code" in bed.log()


def test_wrong_code_gives_no_cookie(bed):
    user = bed.user("pamtotp-vpn", home=False)
    bed.enroll(user, KEY, "--secret", f"{bed.data}/users/%u")
    bed.install_example("ocserv", "ocserv")
    server = bed.start(Ocserv(bed, port(*OCSERV_PORT)))
    rc, cookie = openconnect(server, user, [user.password, oathtool(KEY, offset=10)])
    assert rc != 0 and cookie is None
    assert "reason=wrong-code" in bed.log()
    # A recovery code works once over the VPN too.
    proc = bed.setup("recovery-codes", "--user", user.name, "--json", "--secret", f"{bed.data}/users/%u",
                     stdin=oathtool(KEY, offset=1) + "\n")
    assert proc.returncode == 0, proc.stderr
    recovery = json.loads(proc.stdout)["recovery_codes"][0]
    assert openconnect(server, user, [user.password, recovery])[1]
    assert openconnect(server, user, [user.password, recovery])[1] is None
