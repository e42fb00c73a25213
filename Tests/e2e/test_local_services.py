"""The sudo and login examples: the real sudo binary, and the login stack through libpam, with a real
account and pam_unix checking its real password."""
import os
import subprocess

from e2e_support import KEY
from testbed import BUILD, oathtool, wait_for_step


def sudo_argv(bed, user, *arguments):
    """The command that runs the real sudo as `user` with `arguments`, in a mount namespace where
    /etc/pam.d and /etc/sudoers are the bed's (sudo's defaults otherwise, pam_silent among them)."""
    sudoers = os.path.join(bed.root, "sudoers")
    with open(sudoers, "w") as f:
        f.write(f"Defaults !lecture,timestamp_timeout=0\n{user.name} ALL=(ALL) ALL\n")
    os.chmod(sudoers, 0o440)
    script = f'mount --bind "{bed.pamd}" /etc/pam.d && mount --bind "{sudoers}" /etc/sudoers && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", "setpriv", f"--reuid={user.uid}", f"--regid={user.uid}",
            "--init-groups", "sudo", *arguments]


def sudo(bed, user, answers):
    """Runs the real sudo as `user` (`sudo_argv`); `answers` are the lines sudo -S reads (password,
    then code)."""
    proc = subprocess.run(sudo_argv(bed, user, "-S", "id", "-un"),
                          input="".join(a + "\n" for a in answers), capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout.strip(), proc.stderr


def test_sudo_password_then_code(bed):
    if not os.path.exists("/usr/bin/sudo"):
        raise AssertionError("sudo is not installed: run `make deps`")
    user = bed.user("pamtotp-sudo")
    bed.enroll(user, KEY)
    bed.install_example("sudo", "sudo")
    wait_for_step()
    code = oathtool(KEY)
    rc, out, err = sudo(bed, user, [user.password, code])
    assert (rc, out) == (0, "root"), err
    assert "Verification code" in err
    # Replayed code, then a wrong password with a right code: both refused.
    assert sudo(bed, user, [user.password, code])[0] != 0
    assert sudo(bed, user, ["not-the-password", oathtool(KEY, offset=1)])[0] != 0
    state = open(os.path.join(bed.data, user.name + ".state")).read()
    assert "last-step" in state


def test_login_stack_password_then_code(bed):
    user = bed.user("pamtotp-login")
    codes = bed.enroll(user, KEY)["recovery_codes"]
    bed.install_example("login", "login")

    def login(*answers):
        proc = subprocess.run([os.path.join(BUILD, "pamdrive"), "-c", bed.pamd, "-s", "login", "-u", user.name, *answers],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout

    wait_for_step()
    rc, out = login(user.password, oathtool(KEY))
    assert rc == 0, out
    assert "PROMPT_OFF: Password: " in out and "PROMPT_OFF: Verification code: " in out
    assert login(user.password, codes[0])[0] == 0
    rc, out = login("wrong", oathtool(KEY, offset=1), "x", "x")
    assert rc != 0 and "Verification code" in out, "a wrong password must not end the login before the code prompt"
