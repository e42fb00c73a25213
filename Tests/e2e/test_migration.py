"""pam.d-examples/migrate-from-google-authenticator as written, with the real
pam_google_authenticator.so and real accounts: users with a pam-totp enrollment use it; the others
still use their ~/.google_authenticator."""
import os
import subprocess

from e2e_support import KEY
from testbed import BUILD, oathtool, wait_for_step


def test_both_modules_side_by_side(bed):
    migrated, waiting, neither = bed.user("pamtotp-new"), bed.user("pamtotp-old"), bed.user("pamtotp-none")
    bed.enroll(migrated, KEY)
    ga_file = os.path.join(waiting.home, ".google_authenticator")
    subprocess.run(["google-authenticator", "-t", "-d", "-f", "-C", "-q", "-Q", "NONE", "-w", "3", "-e", "1", "-u",
                    "-s", ga_file], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    os.chown(ga_file, waiting.uid, waiting.uid)
    ga_secret = open(ga_file).readline().strip()
    bed.install_example("migrate-from-google-authenticator", "migrate")

    def login(user, *answers):
        proc = subprocess.run([os.path.join(BUILD, "pamdrive"), "-c", bed.pamd, "-s", "migrate", "-u", user.name, *answers],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode

    wait_for_step()
    assert login(migrated, migrated.password, oathtool(KEY)) == 0
    assert login(waiting, waiting.password, oathtool(ga_secret)) == 0
    # A migrated user cannot fall back to the old module, and wrong codes fail for both.
    assert login(migrated, migrated.password, oathtool(KEY, offset=5), "x", "x") != 0
    assert login(waiting, waiting.password, oathtool(ga_secret, offset=5), "x", "x") != 0
    assert login(neither, neither.password, "123456", "123456", "123456") != 0
    # After the import the same user is checked by pam_totp.so with the same secret.
    proc = bed.setup("import-google-authenticator", "--user", waiting.name)
    assert proc.returncode == 0, proc.stderr
    assert login(waiting, waiting.password, oathtool(ga_secret, offset=1)) == 0
