#!/usr/bin/env python3
"""make portal-demo: a throwaway self-service portal behind nginx with TLS on 127.0.0.1.

Interactive (default): starts the portal (docs/PORTAL.md: nginx with web/nginx/pam-totp-web.conf,
build/pam-totp-web as a throwaway system user, `pam-totp-setup web-helper` as root) with a throwaway
user, and prints the URL, the account and its password, and the throwaway CA your browser may trust.
Open the URL in a browser on this machine, log in, and set up your own phone. Ctrl-C stops every
process and removes the users and every file it made.

PORTAL_DEMO_AUTO=1: the same path with a headless Chromium as the person and oathtool as the phone:
log in, begin setup, read the QR code from a screenshot of the page with zbarimg, verify with
oathtool's code, read the recovery codes, log out, and log in again with password and code. Exits 0
on success (this is what `make check` runs).
"""
import os
import secrets
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import portal  # noqa: E402
import testbed  # noqa: E402

AUTO = os.environ.get("PORTAL_DEMO_AUTO") == "1"
USER = "pamtotp-pdemo"


def step(text):
    print(f"\n==> {text}", flush=True)


def walk(site, user, shots):
    """The person's path through the portal, with the browser and oathtool. True on success."""
    with site.browser("en") as browser:
        step(f"Opening {site.url}/ and logging in as {user.name} with the password")
        browser.login(user.name, user.password)
        print(f"  two-factor status: {browser.text('status')}")
        step("Begin setup: the page shows a QR code and the secret in groups of four")
        shown = browser.begin_setup()
        print(f"  issuer: {shown['issuer']}, account: {shown['account']}, secret: {shown['secret']}")
        uri = browser.read_qr(os.path.join(shots, "setup.png"))
        print(f"  zbarimg read the QR code from a screenshot of the page: {uri.split('?')[0]}?…")
        if portal.parse_uri(uri)["secret"] != shown["secret"].replace(" ", ""):
            print("  the QR code and the secret on the page differ")
            return False
        testbed.wait_for_step()
        code = portal.totp_from_uri(uri)
        step(f"Next, then the code oathtool computes from the URI: {code}")
        browser.verify(code)
        codes = browser.recovery_codes()
        print(f"  the page shows {len(codes)} recovery codes, once: {codes[0]} …")
        step("Skip the code on this device? No (the default)")
        browser.answer_remember(yes=False)
        print(f"  two-factor status: {browser.text('status')}")
        step("Logging out, and in again: the password, then the next code from oathtool")
        browser.logout()
        browser.login(user.name, user.password)
        browser.enter_code_and_decline(portal.totp_from_uri(uri, offset=1))
        status = browser.text("status")
        print(f"  logged in again; two-factor status: {status}")
        browser.logout()
        return browser.has("login") and len(codes) == 10 and status == "On"


def main():
    try:
        portal.check_prerequisites()
        port = testbed.free_port("PORTAL_DEMO_PORT", 24470)
        http_port = testbed.free_port("PORTAL_DEMO_HTTP_PORT", 24471)
    except testbed.Missing as missing:
        print(f"portal-demo: {missing}", file=sys.stderr)
        return 2
    bed = testbed.Bed(prefix="pamtotp-portal-demo-")
    site = None
    try:
        with open(bed.config, "w") as f:
            f.write(f"secret={bed.data}/users/%u\nissuer=pam-totp demo\n")
        password = "demo-" + secrets.token_hex(4)
        step(f"Creating the throwaway user {USER} (password {password})")
        user = bed.user(USER, password, home=False)
        step(f"Starting the portal on https://127.0.0.1:{port}/ (nginx, pam-totp-web, pam-totp-setup web-helper)")
        site = portal.Portal(bed, port, http_port, web_user="pamtotp-pdemo-web", setup_networks="127.0.0.0/8",
                             contact="Write to it-help@example.org (demo).")
        site.start()
        for daemon in site.daemons:
            print(f"  {daemon.name} is running (PID {daemon.process.pid})")
        if AUTO:
            with tempfile.TemporaryDirectory(dir=bed.root) as shots:
                ok = walk(site, user, shots)
            step("What pam_totp and the helper logged")
            for line in bed.log().splitlines():
                if "pam_totp" in line or "pam-totp" in line:
                    print("  " + line)
            if not ok:
                print(site.logs())
            return 0 if ok else 1
        step("Try it in a browser on this machine:")
        print(f"\n    {site.url}/\n")
        print(f"  Account: {user.name}   Password: {password}")
        print(f"  The certificate is from a throwaway CA, {site.ca}: import it into the browser, or accept the warning.")
        print("  Set up your own phone, log out, log in again with a code. Ctrl-C here removes everything.")
        signal.sigwait([signal.SIGINT, signal.SIGTERM]) if hasattr(signal, "sigwait") else time.sleep(10**9)
        return 0
    except KeyboardInterrupt:
        return 0
    except AssertionError as error:
        print(f"portal-demo: {error}", file=sys.stderr)
        if site:
            print(site.logs(), file=sys.stderr)
        return 1
    finally:
        step("Cleaning up: stopping nginx, pam-totp-web and the helper, removing the users and the files")
        if site:
            site.stop()
        bed.close()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM]) if not AUTO else None
    sys.exit(main())
