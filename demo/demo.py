#!/usr/bin/env python3
"""make demo: a throwaway sshd on 127.0.0.1 with pam_totp, a throwaway user, and your phone.

Interactive (default): enrolls the user with the real pam-totp-setup, so you scan the QR code with
your own authenticator app and type one code; then it prints the ssh command to try, and waits.
Ctrl-C stops sshd and removes the user and every file it made.

DEMO_AUTO=1: the same path with oathtool as the phone, printing each step and logging in once with
the real ssh client; it exits 0 on success (this is what `make check` runs).
"""
import os
import secrets
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import testbed  # noqa: E402

AUTO = os.environ.get("DEMO_AUTO") == "1"
KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def step(text):
    print(f"\n==> {text}", flush=True)


def main():
    try:
        testbed.check_prerequisites()
        port = testbed.free_port("DEMO_PORT", 22222)
    except testbed.Missing as missing:
        print(f"demo: {missing}", file=sys.stderr)
        return 2
    bed = testbed.Bed(prefix="pamtotp-demo-")
    try:
        password = "demo-" + secrets.token_hex(4)
        step(f"Creating the throwaway user pamtotp-demo (password {password})")
        user = bed.user("pamtotp-demo", password)
        step("Enrolling pamtotp-demo with pam-totp-setup")
        if AUTO:
            testbed.wait_for_step()
            code = testbed.oathtool(KEY)
            proc = bed.setup("enroll", "--user", user.name, "--key", KEY, "--issuer", "pam-totp demo", "--qr", "none",
                             stdin=code + "\n")
            print(proc.stdout + proc.stderr)
            if proc.returncode != 0:
                return 1
        else:
            argv = [testbed.SETUP, "enroll", "--user", user.name, "--issuer", "pam-totp demo",
                    "--config", bed.config, "--state", bed.data]
            if subprocess.run(argv).returncode != 0:
                return 1
        step(f"Starting sshd on 127.0.0.1:{port} with pam.d-examples/sshd-password-code")
        bed.install_example("sshd-password-code", "sshd")
        server = bed.start(testbed.Sshd(bed, port, "keyboard-interactive", allow=[user.name]))
        print(f"sshd is running (PID {server.process.pid}).")
        if AUTO:
            step("Logging in with ssh: password, then the code oathtool computes (standing in for a phone)")
            testbed.wait_for_step()
            rc, out, prompts = testbed.ssh(bed, port, user, password=[password], code=[testbed.oathtool(KEY, offset=1)])
            for prompt in prompts:
                print(f"  ssh asked: {prompt.strip()}")
            print(f"  ssh exited {rc}; the remote command said: {out}")
            step("What pam_totp logged")
            for line in bed.log().splitlines():
                if "pam_totp" in line:
                    print("  " + line)
            return 0 if rc == 0 and out == user.name else 1
        step("Try it from another terminal:")
        print(f"\n    ssh -p {port} -o UserKnownHostsFile=/dev/null {user.name}@127.0.0.1\n")
        print(f"  Password: {password}, then the code from your app. Ctrl-C here removes everything.")
        signal.sigwait([signal.SIGINT, signal.SIGTERM]) if hasattr(signal, "sigwait") else time.sleep(10**9)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        step("Cleaning up: stopping sshd, removing the user and the files")
        bed.close()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM]) if not AUTO else None
    sys.exit(main())
