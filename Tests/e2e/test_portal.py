"""The self-service portal in a real headless Chromium, through real nginx with TLS, with the real
helper and PAM stack (docs/PORTAL.md, issue 15): the first-time setup with the QR code read from a
screenshot, then a real openconnect login to a real ocserv with the code; the lost phone; setup
refused outside setup_networks; English and Japanese.

One portal (and one ocserv, sharing its enrollments and state) serves the whole module; each test has
its own throwaway user, so their codes and throttling do not meet. With PORTAL_SCREENSHOTS=docs/portal
the steps are saved as the README's screenshots."""
import os
import time

import pytest

import portal
from portal_support import CONTACT, CONTACT_JA, DOMAIN, ISSUER, TEXT, grouped, shot, start_site
from testbed import oathtool, openconnect, wait_for_step

KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# Every secret the tests typed or read, for the last test: none may be in any log.
SECRETS = {KEY}


def enroll(site, user):
    """Enrolls USER with KEY by the admin's tool; returns its JSON (recovery_codes among it)."""
    result = site.enroll(user, KEY)
    SECRETS.update(result["recovery_codes"])
    return result


@pytest.fixture(scope="module")
def site():
    world = start_site("pamtotp-portal-", ("PAMTOTP_PORTAL_PORT", 24500), ("PAMTOTP_PORTAL_HTTP_PORT", 24501),
                       ("PAMTOTP_PORTAL_OCSERV_PORT", 24502), "pamtotp-web-t", setup_networks="127.0.0.0/8",
                       domains=DOMAIN, contact=CONTACT, contact_ja=CONTACT_JA)
    yield world
    world.bed.close()


def first_time_setup(site, browser, user, lang, account=None, screenshots=True):
    """Logs in as a user without an authenticator and sets one up, as the guides describe; returns the
    otpauth URI read from the QR code and the recovery codes."""
    text = TEXT[lang]
    take = shot if screenshots else (lambda *_: None)
    browser.open("/")
    assert browser.page_lang() == lang
    assert browser.has("login") and browser.has("lost-phone") and browser.has("lang-en") and browser.has("lang-ja")
    take(browser, "login")
    browser.login(account or user.name, user.password)
    assert browser.text("status") == text["off"], browser.page_text()
    # Begin setup: the QR code, the secret in groups of four, the issuer and the account as the app shows them.
    shown = browser.begin_setup()
    assert browser.has("qr") and browser.has("next")
    assert shown["issuer"] == ISSUER and shown["account"] == user.name
    assert grouped(shown["secret"]), shown["secret"]
    take(browser, "setup-qr")
    uri = site.qr_uri(browser, f"{user.name}-setup")
    parts = portal.parse_uri(uri)
    assert parts["secret"] == shown["secret"].replace(" ", "")
    assert parts["label_issuer"] == ISSUER and parts["issuer"] == ISSUER and parts["account"] == user.name
    # The tool leaves algorithm, digits and period out when they are the Key URI Format's defaults
    # (OTPAuthURI.totp), which every app then uses: SHA1, 6 digits, 30 seconds.
    assert (parts.get("algorithm", "SHA1"), parts.get("digits", "6"), parts.get("period", "30")) == ("SHA1", "6", "30")
    # Next, then a wrong code: the same secret stays on screen to try again.
    browser.submit("next")
    assert browser.has("verify-form")
    wait_for_step(margin=5)
    browser.fill("verify-form", code=portal.totp_from_uri(uri, offset=10))
    browser.submit("verify-form")
    assert browser.text("error") == text["mismatch"]
    assert browser.text("secret") == shown["secret"] and browser.has("qr")
    assert site.qr_uri(browser, f"{user.name}-again") == uri
    take(browser, "verify")
    # The right code: saved, and ten recovery codes shown once, with copy and download.
    browser.fill("verify-form", code=portal.totp_from_uri(uri))
    browser.submit("verify-form")
    codes = browser.recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10, browser.page_text()
    SECRETS.update(codes + [parts["secret"], shown["secret"]])
    assert all(code in browser.find("recovery-text").get_attribute("value") for code in codes)
    download = site.client(lang)
    download.cookies = browser.cookies()
    href = browser.find("download").get_attribute("href")
    assert href.endswith("/recovery-codes.txt")
    answer = download.get("/recovery-codes.txt")
    assert answer.status == 200 and all(code in answer.body for code in codes)
    assert "attachment" in (answer.header("Content-Disposition") or "")
    assert answer.header("Cache-Control") == "no-store"
    take(browser, "recovery-codes")
    # "Skip the code on this device?" No by default, and No.
    browser.answer_remember(yes=False)
    assert browser.text("status") == text["on"]
    details = browser.text("authenticator")
    assert "SHA1" in details and "6" in details and "10" in details
    take(browser, "dashboard")
    browser.logout()
    assert browser.has("login")
    return uri, codes


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_first_time_setup_in_the_browser_then_openconnect_with_the_code(site, lang):
    user = site.user(f"pamtotp-pa-{lang}")
    with site.browser(lang) as browser:
        # The account typed with the configured domain, as the guides warn users they might.
        uri, _ = first_time_setup(site, browser, user, lang, account=f"{user.name}@{DOMAIN}")
    # The enrollment the portal saved is the one ocserv reads: a real openconnect login with a code.
    code = portal.totp_from_uri(uri, offset=1)
    rc, cookie = openconnect(site.ocserv, user, [user.password, code])
    assert rc == 0 and cookie, site.bed.log()
    # That code, accepted by the module, is refused by the portal: one state, one replay rule.
    with site.browser(lang) as browser:
        browser.login(user.name, user.password)
        assert browser.has("code-form"), browser.page_text()
        shot(browser, "code")
        browser.enter_code(code)
        assert TEXT[lang]["replayed"] in browser.text("error"), browser.page_text()
        assert not browser.has("status")


def test_a_code_accepted_by_the_portal_is_refused_by_ocserv(site):
    user = site.user("pamtotp-pr")
    enroll(site, user)
    code = oathtool(KEY, offset=1)
    with site.browser("en") as browser:
        browser.login(user.name, user.password)
        browser.enter_code_and_decline(code)
        assert browser.text("status") == "On", browser.page_text()
    rc, cookie = openconnect(site.ocserv, user, [user.password, code])
    assert cookie is None
    assert "reason=replayed-code" in site.bed.log()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lost_phone_recovery_code_then_delete_then_a_new_phone(site, lang):
    text = TEXT[lang]
    user = site.user(f"pamtotp-pb-{lang}")
    recovery = enroll(site, user)["recovery_codes"]
    with site.browser(lang) as browser:
        # Without the phone: the login page links to what to do, with the configured contact.
        browser.open("/")
        browser.submit("lost-phone")
        assert browser.text("contact") == (CONTACT_JA if lang == "ja" else CONTACT)
        shot(browser, "lost-phone")
        # Password and a recovery code.
        browser.login(user.name, user.password)
        browser.enter_code(recovery[0])
        # "Recovery code accepted. 9 recovery codes are left", on the next page (the remember
        # question, if the module asks it, or the dashboard).
        notices = browser.text("notice") if browser.has("notice") else ""
        if browser.has("remember-form"):
            browser.answer_remember(yes=False)
            notices += browser.text("notice") if browser.has("notice") else ""
        assert browser.text("status") == text["on"], browser.page_text()
        assert "9" in notices, notices
        # Delete the authenticator with another recovery code, after the warning.
        browser.fill("delete", code=recovery[1], confirm=True)
        shot(browser, "delete")
        browser.submit("delete")
        assert browser.text("status") == text["off"], browser.page_text()
        # A new phone: set up again.
        shown = browser.begin_setup()
        uri = site.qr_uri(browser, f"{user.name}-new")
        assert portal.parse_uri(uri)["secret"] == shown["secret"].replace(" ", "") != KEY
        wait_for_step()
        browser.verify(portal.totp_from_uri(uri))
        assert len(browser.recovery_codes()) == 10
        browser.answer_remember(yes=False)
        assert browser.text("status") == text["on"]
    # The old recovery codes went with the old authenticator.
    rc, cookie = openconnect(site.ocserv, user, [user.password, recovery[2]])
    assert cookie is None


def test_an_account_with_another_domain_is_refused_with_advice(site):
    user = site.user("pamtotp-pd")
    for lang in ("en", "ja"):
        with site.browser(lang) as browser:
            browser.login(f"{user.name}@other.example", user.password)
            assert TEXT[lang]["domain"] in browser.text("error")
            assert browser.has("login") and not browser.has("status")


def test_the_language_switch_on_every_page(site):
    user = site.user("pamtotp-pl")
    with site.browser("en") as browser:
        browser.open("/")
        assert browser.page_lang() == "en" and TEXT["en"]["login"] in browser.page_text()
        browser.submit("lang-ja")
        assert browser.page_lang() == "ja" and TEXT["ja"]["login"] in browser.page_text()
        # The choice sticks (a cookie) over the browser's English Accept-Language.
        browser.login(user.name, user.password)
        assert browser.page_lang() == "ja" and browser.text("status") == TEXT["ja"]["off"]
        browser.submit("lang-en")
        assert browser.page_lang() == "en" and browser.text("status") == TEXT["en"]["off"]
        browser.open("/lost?lang=ja")
        assert browser.page_lang() == "ja" and browser.text("contact") == CONTACT_JA
        assert browser.has("lang-en") and browser.has("lang-ja")
        browser.open("/?lang=en")
        assert browser.page_lang() == "en"


def test_remembered_device_is_listed_and_forgotten(site):
    user = site.user("pamtotp-pm")
    with site.browser("en") as browser:
        browser.login(user.name, user.password)
        browser.begin_setup()
        uri = site.qr_uri(browser, f"{user.name}-setup")
        wait_for_step()
        browser.verify(portal.totp_from_uri(uri))
        browser.answer_remember(yes=True)
        devices = browser.find("devices")
        assert "127.0.0.1" in devices.text
        forms = browser.all("#devices form")
        assert len(forms) == 1
        browser.driver.execute_script("arguments[0].id = 'forget-this'", forms[0])
        browser.submit("forget-this")
        assert "127.0.0.1" not in browser.text("devices")


def test_new_recovery_codes_after_a_current_code_replace_the_old_ones(site):
    user = site.user("pamtotp-pc")
    old = enroll(site, user)["recovery_codes"]
    with site.browser("en") as browser:
        browser.login(user.name, user.password)
        browser.enter_code_and_decline(old[0])
        # A recovery code is not a current code: refused (by its form, before the helper), nothing changed.
        browser.fill("new-codes", code=old[1])
        browser.submit("new-codes")
        assert TEXT["en"]["digits"] in browser.text("error"), browser.page_text()
        assert browser.text("recovery-left") == "9"
        # The code the app shows now (the enrollment used this step's): new codes, shown once.
        browser.fill("new-codes", code=oathtool(KEY, offset=1))
        browser.submit("new-codes")
        new = browser.recovery_codes()
        SECRETS.update(new)
        assert len(new) == 10 and not set(new) & set(old)
        browser.submit("continue")
        assert browser.text("status") == "On" and browser.text("recovery-left") == "10"
    # ocserv, on the same state: the old codes are gone, the new ones work.
    assert openconnect(site.ocserv, user, [user.password, old[2]])[1] is None
    rc, cookie = openconnect(site.ocserv, user, [user.password, new[0]])
    assert rc == 0 and cookie, site.bed.log()


# Last: the portal is restarted with a setup_networks that leaves 127.0.0.1 out, and a fresh_login
# of 2 seconds.
def test_setup_is_refused_outside_setup_networks(site):
    site.portal.restart(setup_networks="10.0.0.0/8, 192.0.2.0/24", fresh_login="2")
    user = site.user("pamtotp-pn")
    for lang in ("en", "ja"):
        with site.browser(lang) as browser:
            browser.login(user.name, user.password)
            assert browser.text("status") == TEXT[lang]["off"]
            # The dashboard says so instead of offering setup (docs/PORTAL.md: #setup-not-allowed).
            assert not browser.has("begin-setup")
            message = browser.text("setup-not-allowed")
            assert TEXT[lang]["network"] in message, browser.page_text()
            assert not browser.has("qr") and not browser.has("secret")
            shot(browser, "network-refused")
    # A forged X-Real-IP does not help: nginx sets it from the connection.
    client = site.client("en")
    page = client.login(user.name, user.password)
    forms = page.forms()
    fields = forms["logout"].fields  # the session's CSRF token
    page = client.follow(client.request("POST", "/setup", fields=fields,
                                        headers={"X-Real-IP": "10.1.2.3", "X-Forwarded-For": "10.1.2.3"}))
    assert page.status < 500 and "otpauth://" not in page.body and not page.has_id("qr")
    assert not os.path.exists(os.path.join(site.bed.data, "users", user.name))


def test_delete_after_fresh_login_asks_for_the_password_again(site):
    user = site.user("pamtotp-pf")
    recovery = enroll(site, user)["recovery_codes"]
    with site.browser("en") as browser:
        browser.login(user.name, user.password)
        browser.enter_code_and_decline(recovery[0])
        assert browser.text("status") == "On"
        time.sleep(3)
        browser.fill("delete", code=recovery[1], confirm=True)
        browser.submit("delete")
        # Not deleted: the login form again, with the account filled in and read-only.
        assert browser.has("login") and not browser.has("status"), browser.page_text()
        account = browser.find("login").find_element("name", "account")
        assert account.get_attribute("value") == user.name and account.get_attribute("readonly") is not None
        browser.fill("login", password=user.password)
        browser.submit("login")
        if browser.has("code-form"):
            browser.enter_code_and_decline(recovery[1])
        # Back on the dashboard, still enrolled: the deletion is asked again, not done behind the user's back.
        assert browser.text("status") == "On", browser.page_text()
        assert browser.has("delete")
    assert os.path.exists(os.path.join(site.bed.data, "users", user.name))


def test_no_password_secret_or_code_in_any_log(site):
    for user in site.bed.users:
        SECRETS.add(user.password)
    text = site.portal.log_text()
    assert "POST /login" in text  # the logs were read
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, leaked
