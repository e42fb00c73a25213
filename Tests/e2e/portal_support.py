"""What the portal's browser tests share: a portal with ocserv beside it in one bed, screenshots, and
the texts the pages show in English and Japanese."""
import os
import re
import tempfile

import pytest

from e2e_support import port

import portal
import testbed

ISSUER = "Example VPN"
DOMAIN = "example.ac.jp"
CONTACT = "Without your phone and recovery codes, write to it-help@example.ac.jp from your university address."
CONTACT_JA = "スマートフォンもリカバリーコードもないときは、大学のアドレスから it-help@example.ac.jp へご連絡ください。"

# What the pages say, by language: the tests assert these words (docs/PORTAL.md, issue 15).
TEXT = {
    "en": {
        "on": "On", "off": "Off",
        "mismatch": "The verification code does not match.",
        "replayed": "already used",
        "throttled": "Try again in",
        "failed": "The account, password or code is incorrect.",
        "cross-site": "sent from another site",
        "csrf": "The form has expired.",
        "digits": "6 to 8 digits",
        "domain": "the domain",
        "network": "Setup is not allowed from the network",
        "login": "Log in",
        "setup": "Begin setup",
    },
    "ja": {
        "on": "有効", "off": "無効",
        "mismatch": "確認コードが一致しません。",
        "replayed": "すでに使用されています",
        "throttled": "秒後にもう一度お試しください",
        "failed": "アカウント、パスワードまたは確認コードが正しくありません。",
        "cross-site": "他のサイトから送信された",
        "domain": "ドメインを付けずに",
        "network": "現在接続しているネットワークからは設定できません",
        "login": "ログイン",
        "setup": "設定を始める",
    },
}


class Site:
    """A portal and an ocserv that share one bed: one enrollment directory, one state."""

    def __init__(self, bed, site, ocserv):
        self.bed, self.portal, self.ocserv = bed, site, ocserv
        self.url = site.url
        self.shots = tempfile.mkdtemp(prefix="shots-", dir=bed.root)

    def browser(self, lang="en"):
        return self.portal.browser(lang)

    def client(self, lang="en", origin=None):
        return portal.Client(self.portal, origin=origin, lang=lang)

    def user(self, name):
        return self.bed.user(name, home=False)

    def enroll(self, user, key):
        """Enrolls USER with KEY by the admin's tool (where ocserv and the portal both read it);
        returns the tool's JSON (recovery_codes among it)."""
        return self.bed.enroll(user, key)

    def qr_uri(self, browser, name="qr"):
        return browser.read_qr(os.path.join(self.shots, f"{name}.png"))


def start_site(prefix, port_var, http_port_var, ocserv_port_var, web_user, **settings):
    """A bed with /etc/pam-totp.conf naming the central enrollment directory, ocserv with
    pam.d-examples/ocserv, and the portal with SETTINGS. Returns a Site; the caller closes its bed."""
    try:
        portal.check_prerequisites()
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    bed = testbed.Bed(prefix=prefix)
    try:
        with open(bed.config, "w") as f:
            f.write(f"secret={bed.data}/users/%u\nissuer={ISSUER}\n")
        bed.install_example("ocserv", "ocserv")
        bed.install_example("pam-totp-web", "pam-totp-web")
        ocserv = bed.start(testbed.Ocserv(bed, port(*ocserv_port_var)))
        site = portal.Portal(bed, port(*port_var), port(*http_port_var), web_user=web_user, **settings)
        bed.servers.append(site)  # stopped with the bed's servers
        site.start()
        return Site(bed, site, ocserv)
    except BaseException:
        bed.close()
        raise


def shot(browser, name):
    """Saves the page as docs/portal/LANG-NAME.png when PORTAL_SCREENSHOTS names that directory
    (relative to the repository), so normal runs leave the tree alone."""
    directory = os.environ.get("PORTAL_SCREENSHOTS")
    if not directory:
        return
    directory = os.path.join(portal.ROOT, directory)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{browser.lang}-{name}.png")
    browser.screenshot(path, width=800)
    portal.shrink_png(path)


def grouped(secret):
    """Whether SECRET is shown in groups of four."""
    return re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})*", secret) is not None
