"""The shipped nginx site (web/nginx/pam-totp-web.conf) and the browser the portal's tests use, against
a stub backend on the Unix socket that answers every request with the headers nginx passed on.

This proves the test infrastructure of Tests/e2e/test_portal.py by itself: real nginx with TLS from
the throwaway CA, real headless Chromium that trusts that CA (and no other), and what the site
promises pam-totp-web (X-Real-IP it can trust, HTTPS only, HSTS, small bodies)."""
import http.client
import http.server
import json
import os
import socket
import socketserver
import ssl
import threading

import pytest

from e2e_support import port

import portal
import testbed

PORT = ("PAMTOTP_PORTAL_SITE_PORT", 24510)
HTTP_PORT = ("PAMTOTP_PORTAL_SITE_HTTP_PORT", 24511)


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the request line and headers as JSON."""

    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                            "body": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if "json" in self.path else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = answer

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def site():
    try:
        portal.check_prerequisites_site()
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    bed = testbed.Bed(prefix="pamtotp-site-")
    stub = None
    try:
        http_socket = os.path.join(bed.root, "http.sock")
        stub = UnixServer(http_socket, Echo)
        os.chmod(http_socket, 0o666)
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        ca, certificate, key = portal.make_certificates(os.path.join(bed.root, "tls"))
        nginx = bed.start(portal.Nginx(bed, os.path.join(bed.root, "nginx"), port(*PORT), port(*HTTP_PORT),
                                       certificate, key, http_socket))
        yield nginx, ca, bed
    finally:
        if stub:
            stub.shutdown()
            stub.server_close()
        bed.close()


def request(nginx, ca, method="GET", path="/json", body=None, headers=None, context=None):
    connection = http.client.HTTPSConnection("127.0.0.1", nginx.port, context=context or ssl.create_default_context(cafile=ca),
                                             timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def test_the_site_passes_the_browser_address_and_scheme_and_never_the_clients_own(site):
    nginx, ca, _ = site
    response, data = request(nginx, ca, headers={"X-Real-IP": "10.1.2.3", "X-Forwarded-Proto": "http",
                                                 "X-Forwarded-For": "10.1.2.3"})
    assert response.status == 200
    seen = json.loads(data)["headers"]
    assert seen["X-Real-IP"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["Host"] == f"127.0.0.1:{nginx.port}"
    assert response.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert "nginx/" not in (response.getheader("Server") or "")


def test_tls_is_1_2_or_1_3_only(site):
    nginx, ca, _ = site
    with socket.create_connection(("127.0.0.1", nginx.port)) as raw:
        with ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.3"
    old = ssl.create_default_context(cafile=ca)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    response, _ = request(nginx, ca, context=old)
    assert response.status == 200
    for version in ("-tls1", "-tls1_1"):
        proc = portal.subprocess.run(["openssl", "s_client", version, "-cipher", "DEFAULT@SECLEVEL=0", "-connect",
                                      f"127.0.0.1:{nginx.port}"], input="", capture_output=True, text=True, timeout=10)
        assert proc.returncode != 0, f"TLS {version} was accepted"


def test_plain_http_only_redirects_to_https(site):
    nginx, _, _ = site
    connection = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    connection.request("GET", "/setup/code?x=1")
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/setup/code?x=1"


def test_a_body_larger_than_the_forms_need_never_reaches_the_backend(site):
    nginx, ca, _ = site
    response, data = request(nginx, ca, "POST", "/json", body=b"a" * 15000,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200 and json.loads(data)["body"] == 15000
    response, _ = request(nginx, ca, "POST", "/json", body=b"a" * 20000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 413


def test_chromium_trusts_the_throwaway_ca_and_nothing_else(site):
    nginx, ca, bed = site
    with portal.Browser(ca, directory=bed.root) as browser:
        browser.driver.get(f"https://127.0.0.1:{nginx.port}/page")
        # Over HTTP/2, the browser's own header names arrive in lower case.
        seen = {k.lower(): v for k, v in json.loads(browser.driver.find_element("tag name", "body").text)["headers"].items()}
        assert seen["x-real-ip"] == "127.0.0.1" and seen["accept-language"].startswith("en-US,en")
    with portal.Browser(ca, lang="ja", directory=bed.root) as browser:
        browser.driver.get(f"https://127.0.0.1:{nginx.port}/page")
        seen = {k.lower(): v for k, v in json.loads(browser.driver.find_element("tag name", "body").text)["headers"].items()}
        assert seen["accept-language"].startswith("ja")
    # A browser that trusts another CA gets Chromium's certificate error, not the page.
    other, _, _ = portal.make_certificates(os.path.join(bed.root, "other-ca"))
    with portal.Browser(other, directory=bed.root) as browser:
        browser.driver.get(f"https://127.0.0.1:{nginx.port}/page")
        assert "X-Real-IP" not in browser.driver.page_source
        assert "ERR_CERT_AUTHORITY_INVALID" in browser.driver.page_source
