"""Attacks on the self-service portal, through real nginx with TLS (docs/PORTAL.md, issue 15): cross-site
form posts (from a real page on another origin in a real Chromium, and forged requests), session
cookies after logout and after the idle timeout, brute force that meets the module's own throttling
(with ocserv, which shares the state), hostile input in every field, and the security headers.

Own bed, portal and ocserv, so the throttling here never touches test_portal.py's users."""
import http.server
import os
import socketserver
import threading
import time
from urllib.parse import quote

import pytest

from e2e_support import port
from portal import selenium
from portal_support import TEXT, start_site
from testbed import oathtool, openconnect, wait_for_step

KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
selenium()  # puts .build-python on sys.path
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HOSTILE = [
    "a" * 10000,                        # very long (under nginx's 16k body limit: reaches pam-totp-web)
    "\x01\x02\x1b[31m\x7f",             # control characters
    "abc\x00def",                       # NUL
    "%00", "%0d%0aSet-Cookie:%20x=1",   # encoded NUL, header injection
    "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>",
    "../../../../etc/shadow", "..%2f..%2fetc%2fpasswd",
    "日本語アカウント🙂\u202e\ufeff", "\u2028\u2029",
    "' OR '1'='1", "$(id)`id`", "%s%n%x", " ", "",
]


@pytest.fixture(scope="module")
def site():
    world = start_site("pamtotp-portal-attack-", ("PAMTOTP_PORTAL_ATTACK_PORT", 24504),
                       ("PAMTOTP_PORTAL_ATTACK_HTTP_PORT", 24505), ("PAMTOTP_PORTAL_ATTACK_OCSERV_PORT", 24506),
                       "pamtotp-web-a", setup_networks="127.0.0.0/8", session_idle="30")
    # A session that stays idle while the other tests run; the last test finds it expired
    # (session_idle is at least 30 seconds).
    user = world.user("pamtotp-id")
    client, page = logged_in(world, user)
    world.idle = (user, client, page, time.time())
    yield world
    world.bed.close()


def logged_in(site, user, code=None):
    client = site.client()
    page = client.login(user.name, user.password, code=code)
    if "remember-form" in page.forms():
        page = client.submit(page, "remember-form", remember="no")
    assert page.status == 200 and page.has_id("status"), page.body[:2000]
    return client, page


def test_every_response_carries_the_security_headers_and_the_cookie_flags(site):
    client = site.client()
    for path in ("/", "/lost", "/static/style.css", "/no-such-page"):
        answer = client.get(path)
        assert answer.status < 500
        assert answer.header("Cache-Control") == "no-store", path
        assert answer.header("X-Content-Type-Options") == "nosniff", path
        assert answer.header("Strict-Transport-Security") == "max-age=63072000", path
        if path != "/static/style.css":
            assert answer.header("Content-Security-Policy") == CSP, path
            assert answer.header("X-Frame-Options") == "DENY", path
            assert answer.header("Referrer-Policy") == "no-referrer", path
    login_page = client.get("/")
    cookies = [c for c in login_page.all_headers("Set-Cookie") if c.startswith("__Host-pamtotp=")] or \
        [c for c in site.client().get("/").all_headers("Set-Cookie") if c.startswith("__Host-pamtotp=")]
    assert cookies, login_page.headers
    flags = [f.strip().lower() for f in cookies[0].split(";")[1:]]
    assert {"path=/", "secure", "httponly", "samesite=strict"} <= set(flags), cookies[0]
    assert not any(f.startswith("domain=") for f in flags)
    # No inline script or style anywhere: the CSP would block them.
    assert "<script>" not in login_page.body and " style=" not in login_page.body and "onclick" not in login_page.body


class Attacker(http.server.BaseHTTPRequestHandler):
    """The attacker's page on another origin: a form that posts to the portal and submits itself."""

    target = ""

    def do_GET(self):
        path = self.path.strip("/")
        body = (f"<!doctype html><html><body><form id=f method=post action='{self.target}/{path}'>"
                "<input type=hidden name=code value=000000><input type=hidden name=confirm value=on>"
                "<input type=hidden name=remember value=yes></form>"
                "<script>document.getElementById('f').submit()</script></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_cross_site_form_post_from_a_page_on_another_origin_is_refused(site):
    user = site.user("pamtotp-xs")
    recovery = site.enroll(user, KEY)["recovery_codes"]
    Attacker.target = site.url
    socketserver.TCPServer.allow_reuse_address = True  # its own connections of a run just before may linger
    server = socketserver.TCPServer(("127.0.0.1", port("PAMTOTP_PORTAL_ATTACKER_PORT", 24507)), Attacker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with site.browser("en") as browser:
            browser.login(user.name, user.password)
            browser.enter_code_and_decline(recovery[0])
            assert browser.text("status") == "On"
            for path in ("logout", "delete", "login/remember"):
                # The attacker's page submits its form to the portal by itself: the browser ends on
                # the portal's refusal.
                browser.driver.get(f"http://127.0.0.1:{server.server_address[1]}/{path}")
                WebDriverWait(browser.driver, 20).until(lambda driver: driver.current_url.startswith(site.url))
                WebDriverWait(browser.driver, 20).until(lambda driver: browser.has("error"))
                assert TEXT["en"]["cross-site"] in browser.text("error"), browser.page_text()
                # Whatever the refusal looks like, the session is untouched: still logged in, still enrolled.
                browser.open("/")
                assert browser.text("status") == "On", (path, browser.page_text())
    finally:
        server.shutdown()
        server.server_close()
    assert os.path.exists(os.path.join(site.bed.data, "users", user.name))


def test_a_forged_post_with_a_foreign_origin_or_without_the_token_is_refused(site):
    user = site.user("pamtotp-xf")
    recovery = site.enroll(user, KEY)["recovery_codes"]
    client, page = logged_in(site, user, code=recovery[0])
    delete = page.forms()["delete"]
    # Another origin (with a valid token and cookie, as a stolen page would have).
    for origin, fetch_site in (("https://evil.example", "cross-site"), ("null", "cross-site"),
                               (f"https://127.0.0.1:{site.portal.port + 1}", "same-site"), (None, "cross-site")):
        answer = client.request("POST", delete.action, fields=dict(delete.fields, code=recovery[1], confirm="on"),
                                headers={"Origin": origin, "Sec-Fetch-Site": fetch_site})
        assert answer.status in (400, 403), (origin, answer.status, answer.body[:500])
    # The right origin without the token, or with another session's token.
    other, other_page = logged_in(site, site.user("pamtotp-xg"))
    for fields in (dict(code=recovery[1], confirm="on"),
                   dict(other_page.forms()["logout"].fields, code=recovery[1], confirm="on")):
        # Refused: back to the dashboard with "The form has expired", nothing done.
        answer = client.follow(client.request("POST", delete.action, fields=fields))
        assert answer.status == 200 and answer.has_id("status"), answer.body[:2000]
        assert TEXT["en"]["csrf"] in answer.body
    assert client.get("/").has_id("status")
    assert os.path.exists(os.path.join(site.bed.data, "users", user.name))


def test_a_session_cookie_does_nothing_after_logout(site):
    user = site.user("pamtotp-lo")
    client, page = logged_in(site, user)
    stolen = dict(client.cookies)
    client.submit(page, "logout")
    assert not client.get("/").has_id("status")
    thief = site.client()
    thief.cookies = stolen
    answer = thief.get("/")
    assert answer.status < 500 and not answer.has_id("status") and answer.has_id("login")
    answer = thief.request("POST", "/setup", fields=page.forms()["logout"].fields)
    assert answer.status in (303, 400, 403) and "otpauth" not in answer.body


def test_brute_force_through_the_portal_meets_the_modules_throttling(site):
    user = site.user("pamtotp-bf")
    site.enroll(user, KEY)
    wait_for_step(margin=10)
    wrong = oathtool(KEY, offset=12)
    messages = []
    for _ in range(5):
        page = site.client().login(user.name, user.password, code=wrong)
        assert page.status < 500 and not page.has_id("status")
        messages.append(page.body)
    assert TEXT["en"]["mismatch"] in messages[0] or TEXT["en"]["failed"] in messages[0]
    assert TEXT["en"]["throttled"] in messages[-1]
    # The module sees the same state: ocserv from the same address refuses even the right code now.
    rc, cookie = openconnect(site.ocserv, user, [user.password, oathtool(KEY)])
    assert cookie is None
    log = site.bed.log()
    assert "reason=throttled" in log, log[-3000:]


def fields_of(page):
    """Every form of PAGE with its fields: (form id, action, {name: value})."""
    return [(f.id, f.action, dict(f.fields, **{n: f.fields.get(n, "x") for n in f.names})) for f in page.forms().values()]


def test_hostile_input_in_every_field_gets_a_clear_answer_and_never_a_crash(site):
    # One user for the login and code pages (whose wrong codes get it throttled), one logged in with a
    # recovery code for the dashboard, one without an authenticator for setup.
    user = site.user("pamtotp-hi")
    site.enroll(user, KEY)
    dashboard_user = site.user("pamtotp-hk")
    recovery = site.enroll(dashboard_user, KEY)["recovery_codes"]
    fresh = site.user("pamtotp-hj")
    seen = set()

    def send(client, form_id, action, fields):
        for name in fields:
            for value in HOSTILE:
                answer = client.request("POST", action, fields=dict(fields, **{name: value}))
                assert answer.status < 500, (form_id, name, repr(value)[:60], answer.status, answer.body[:500])
                assert "<script>alert(1)" not in answer.body and "onerror=alert" not in answer.body
                assert "x=1" not in " ".join(answer.all_headers("Set-Cookie"))
                seen.add((form_id, name))
        assert site.portal.alive(), site.portal.logs()

    # Before login: the login form's fields.
    client = site.client()
    for form_id, action, fields in fields_of(client.get("/")):
        send(client, form_id, action, dict(fields, account=user.name, password="wrong"))
    # The code page.
    client = site.client()
    page = client.submit(client.get("/"), "login", account=user.name, password=user.password)
    for form_id, action, fields in fields_of(page):
        send(client, form_id, action, fields)
    # Logged in with a recovery code (no TOTP code burnt): the dashboard's forms.
    client, page = logged_in(site, dashboard_user, code=recovery[0])
    for form_id, action, fields in fields_of(page):
        if form_id != "logout":
            send(client, form_id, action, fields)
    # Setup's forms, for a user without an authenticator.
    client, page = logged_in(site, fresh)
    page = client.submit(page, "setup-form")
    page = client.get("/setup/code")
    for form_id, action, fields in fields_of(page):
        send(client, form_id, action, fields)
    # Query strings, paths and headers.
    for value in HOSTILE[:8]:
        for path in (f"/?lang={quote(value)}", f"/{quote(value)}", f"/static/{quote(value)}"):
            answer = client.get(path)
            assert answer.status < 500, (path, answer.status)
            assert "root:" not in answer.body
        for header in ("Accept-Language", "X-Real-IP", "Cookie", "Origin"):
            safe = value.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "").replace("\x00", "")
            answer = client.request("GET", "/", headers={header: safe})
            assert answer.status < 500, (header, repr(safe)[:40], answer.status)
    for raw in ("/%00", "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/../../../../etc/passwd", "/recovery-codes.txt%00"):
        answer = client.get(raw)
        assert answer.status < 500 and "root:" not in answer.body, raw
    assert site.portal.alive(), site.portal.logs()
    assert {("login", "account"), ("login", "password"), ("code-form", "code"), ("delete", "code"),
            ("verify-form", "code")} <= seen, seen
    # Nothing was saved by any of it: the user's authenticator is as it was, the fresh user has none.
    assert not os.path.exists(os.path.join(site.bed.data, "users", fresh.name))


def test_a_body_too_large_for_any_form_is_refused_by_nginx(site):
    client = site.client()
    page = client.get("/")
    answer = client.request("POST", "/login", fields=dict(page.forms()["login"].fields, account="a" * 20000, password="x"))
    assert answer.status == 413
    assert site.portal.alive()


# Last: the session logged in when the module started has been idle for more than session_idle.
def test_an_idle_session_cookie_is_refused(site):
    user, client, page, since = site.idle
    time.sleep(max(0.0, since + 32 - time.time()))
    answer = client.get("/")
    assert answer.status < 500 and not answer.has_id("status") and answer.has_id("login")
    answer = client.request("POST", "/setup", fields=page.forms()["logout"].fields)
    assert "otpauth" not in answer.body and not os.path.exists(os.path.join(site.bed.data, "users", user.name))
