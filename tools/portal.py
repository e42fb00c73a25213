"""A throwaway self-service portal on 127.0.0.1, for Tests/e2e/test_portal*.py and `make portal-demo`.

Every part is the real one (docs/PORTAL.md): nginx with TLS and the shipped site
web/nginx/pam-totp-web.conf, build/pam-totp-web as an unprivileged throwaway system user, and
`build/pam-totp-setup web-helper` as root with a private copy of /etc/pam.d holding
pam.d-examples/pam-totp-web. A throwaway CA signs the server's certificate; a headless Chromium,
driven by selenium, trusts that CA through its own NSS database.

Nothing the machine relies on is read or changed: every file is in a tools/testbed.py Bed (a scratch
directory), nginx is a master of our own on a scratch nginx.conf and a port above 20000 that must be
free (never Debian's default site), and every process is stopped by the PID it was started with.
Nothing is downloaded: selenium comes from .build-python (`make deps`), the browser and its driver
from Debian (/usr/bin/chromium, /usr/bin/chromedriver), so selenium-manager never runs.
"""
import os
import pwd
import grp
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import testbed

ROOT = testbed.ROOT
WEB = os.path.join(testbed.BUILD, "pam-totp-web")
SITE = os.path.join(ROOT, "web", "nginx", "pam-totp-web.conf")
TEMPLATES = os.path.join(ROOT, "web", "templates")
STATIC = os.path.join(ROOT, "web", "static")
# selenium and what it imports, installed by `make deps` with pip --target (the Makefile says why).
PYTHON_DEPS = os.path.join(ROOT, ".build-python")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NGINX = "/usr/sbin/nginx"
NEEDED = [NGINX, CHROMIUM, CHROMEDRIVER, "openssl", "certutil", "zbarimg", "oathtool", "setpriv"]
# nginx's workers run as Debian's www-data, which is also the group of pam-totp-web's socket.
NGINX_USER = "www-data"


def check_prerequisites():
    """Raises testbed.Missing when something the portal needs is not built or not installed."""
    testbed.check_prerequisites()
    if not os.path.exists(WEB):
        raise testbed.Missing(f"{WEB} is missing: run `make build`")
    check_prerequisites_site()


def check_prerequisites_site():
    """Raises testbed.Missing when nginx, the browser or selenium is missing."""
    if os.geteuid() != 0:
        raise testbed.Missing("the portal's tests start nginx and create users: run them as root")
    for program in NEEDED:
        if not shutil.which(program):
            raise testbed.Missing(f"{program} is not installed: run `make deps`")
    selenium()


def selenium():
    """The selenium package, from .build-python; raises testbed.Missing without it."""
    if PYTHON_DEPS not in sys.path:
        sys.path.insert(0, PYTHON_DEPS)
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError as error:
        raise testbed.Missing(f"selenium is not in {PYTHON_DEPS} ({error}): run `make deps`")
    # Even if selenium-manager were reached, it must not download anything.
    os.environ["SE_OFFLINE"] = "true"
    return sys.modules["selenium.webdriver"]


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


# ---------------------------------------------------------------------------------------------
# Certificates


def make_certificates(directory):
    """A throwaway CA, name-constrained to 127.0.0.1 and localhost, and a server certificate it
    signs for both. The CA's key is removed once it has signed: nothing else can be made to pass.
    Returns (ca.pem, server.pem, server.key)."""
    os.makedirs(directory, exist_ok=True)
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    cert, key, csr = (os.path.join(directory, n) for n in ("server.pem", "server.key", "server.csr"))
    ext = os.path.join(directory, "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", "-new", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=pam-totp throwaway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "nameConstraints=critical,permitted;IP:127.0.0.1/255.255.255.255,permitted;DNS:localhost")
    run("openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-sha256", "-extfile", ext, "-out", cert)
    os.remove(ca_key)
    os.chmod(key, 0o600)
    return ca, cert, key


# ---------------------------------------------------------------------------------------------
# nginx


def render_site(text, port, http_port, certificate, key, http_socket):
    """web/nginx/pam-totp-web.conf for a test: only the lines its header names are changed, each of
    which must be found, so that the tests always run the file as shipped. HTTPS listens on
    127.0.0.1:PORT, the redirect on 127.0.0.1:HTTP_PORT, and IPv6 is dropped."""
    changes = [
        (r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};"),
        (r"^(\s*)listen \[::\]:80;\n", ""),
        (r"^(\s*)listen 443 ssl http2;$", rf"\1listen 127.0.0.1:{port} ssl http2;"),
        (r"^(\s*)listen \[::\]:443 ssl http2;\n", ""),
        (r"^(\s*ssl_certificate\s+)\S+;$", rf"\g<1>{certificate};"),
        (r"^(\s*ssl_certificate_key\s+)\S+;$", rf"\g<1>{key};"),
        (r"http://unix:/run/pam-totp-web/http\.sock:;", f"http://unix:{http_socket}:;"),
    ]
    for pattern, replacement in changes:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        if count != 1:
            raise AssertionError(f"{SITE}: expected one line matching {pattern!r}, found {count}")
    return text


def nginx_conf(directory, site):
    """A minimal nginx.conf around the site: everything nginx writes (pid, logs, temporary files)
    is in DIRECTORY, and nothing of /etc/nginx is included."""
    temp = {name: os.path.join(directory, name) for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        os.makedirs(path, exist_ok=True)
    # Run as root (the tests are), the master drops its workers to www-data, as Debian's does.
    user = f"user {NGINX_USER};\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log info;\ndaemon off;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {directory}/access.log;\n"
        f"    client_body_temp_path {temp['client_body']};\n    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {site};\n"
        "}\n")


class Daemon(testbed.Server):
    """A process started by this module and stopped by its PID (testbed.Server.stop); ready when
    `ready()` says so. With `pamd`, it runs in a private mount namespace whose /etc/pam.d is the
    bed's copy, as testbed.Server's daemons do."""

    def __init__(self, bed, name, argv, ready, log, env=None, pamd=False):
        super().__init__(bed, 0)
        self.name, self.argv, self.ready, self.logfile = name, argv, ready, log
        self.env, self.pamd = env or {}, pamd

    def start(self):
        log = open(self.logfile, "a")
        argv = ["env", *(f"{k}={v}" for k, v in self.env.items()), *self.argv]
        if self.pamd:
            argv = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/pam.d && exec "$@"', self.bed.pamd, *argv]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited at start ({self.process.returncode}):\n{self.diagnostics()}")
            if self.ready():
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} was not ready after 20 s:\n{self.diagnostics()}")

    def diagnostics(self):
        return open(self.logfile).read()[-4000:] if os.path.exists(self.logfile) else ""


class Nginx(Daemon):
    """nginx on 127.0.0.1:PORT (TLS) and HTTP_PORT (the redirect) with the shipped site rendered by
    render_site, as a master of its own on a scratch nginx.conf in DIRECTORY."""

    def __init__(self, bed, directory, port, http_port, certificate, key, http_socket):
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self.dir, self.http_port = directory, http_port
        site = os.path.join(directory, "pam-totp-web.conf")
        with open(site, "w") as f:
            f.write(render_site(open(SITE).read(), port, http_port, certificate, key, http_socket))
        conf = os.path.join(directory, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(directory, site))
        error_log = os.path.join(directory, "error.log")
        argv = [NGINX, "-p", directory, "-e", error_log, "-c", conf]
        proc = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"nginx -t refused the rendered site: {proc.stderr}")
        super().__init__(bed, "nginx", argv, lambda: connectable(("127.0.0.1", port)) and connectable(("127.0.0.1", http_port)),
                         error_log)
        self.port = port


def connectable(address):
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        return s.connect_ex(address) == 0


class SystemUser:
    """A throwaway system account without password or home, for pam-totp-web: useradd now, userdel
    when removed. Refuses to reuse an existing account."""

    def __init__(self, name):
        self.name = name
        if subprocess.run(["id", name], capture_output=True).returncode == 0:
            raise testbed.Missing(f"user {name} already exists; refusing to reuse or remove an account the tests did not create")
        run("useradd", "--system", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name)
        entry = pwd.getpwnam(name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def remove(self):
        subprocess.run(["userdel", self.name], capture_output=True)


# ---------------------------------------------------------------------------------------------
# The portal


class Portal:
    """The three processes of docs/PORTAL.md behind the shipped nginx site, in BED's scratch
    directory. SETTINGS are /etc/pam-totp-web.conf keys (setup_networks, session_idle, …)."""

    def __init__(self, bed, port, http_port, web_user="pamtotp-webt", **settings):
        self.bed, self.port, self.http_port = bed, port, http_port
        self.dir = os.path.join(bed.root, f"portal-{port}")
        os.makedirs(self.dir, mode=0o755)
        self.helper_dir = os.path.join(self.dir, "helper")        # stands for /run/pam-totp-web-helper
        self.http_dir = os.path.join(self.dir, "http")            # stands for /run/pam-totp-web
        self.nginx_dir = os.path.join(self.dir, "nginx")
        self.helper_socket = os.path.join(self.helper_dir, "helper.sock")
        self.http_socket = os.path.join(self.http_dir, "http.sock")
        self.config = os.path.join(self.dir, "pam-totp-web.conf")  # stands for /etc/pam-totp-web.conf
        self.settings = dict(settings)
        self.web_user_name = web_user
        self.web_user = None
        self.daemons = []
        self.ca = self.certificate = self.key = None
        self.url = f"https://127.0.0.1:{port}"

    def write_config(self):
        settings = {
            "listen": f"unix:{self.http_socket}", "socket_group": NGINX_USER, "helper": self.helper_socket,
            "web_user": self.web_user_name, "pam_service": "pam-totp-web", "setup_networks": "127.0.0.0/8",
        }
        settings.update(self.settings)
        with open(self.config, "w") as f:
            f.write("# written by tools/portal.py for a test\n")
            for key, value in settings.items():
                f.write(f"{key} = {value}\n")
        os.chmod(self.config, 0o644)

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        bed = self.bed
        self.web_user = SystemUser(self.web_user_name)
        os.makedirs(self.helper_dir, mode=0o755)
        os.makedirs(self.http_dir, mode=0o750)
        os.chown(self.http_dir, self.web_user.uid, grp.getgrnam(NGINX_USER).gr_gid)
        self.write_config()
        # The PAM service pam-totp-web, as pam.d-examples/pam-totp-web writes it (unless the caller
        # installed its own in the bed).
        if not os.path.exists(os.path.join(bed.pamd, "pam-totp-web")):
            bed.install_example("pam-totp-web", "pam-totp-web")
        self.ca, self.certificate, self.key = make_certificates(os.path.join(self.dir, "tls"))
        # The helper: root, PAM service pam-totp-web from the bed's pam.d.
        helper = [testbed.SETUP, "web-helper", "--web-config", self.config, "--config", bed.config,
                  "--state", bed.data, "--pam-dir", bed.pamd]
        self._daemon("web-helper", helper, lambda: connectable(self.helper_socket),
                     env={"LD_PRELOAD": testbed.SYSLOG_CAPTURE, "SYSLOG_CAPTURE_FILE": bed.syslog})
        # The web process: never as root, as the throwaway user with nginx's group for its socket.
        if self.web_user.uid == 0:
            raise AssertionError("refusing to run pam-totp-web as root")
        web = ["setpriv", f"--reuid={self.web_user.uid}", f"--regid={self.web_user.gid}",
               f"--groups={grp.getgrnam(NGINX_USER).gr_gid}", "--inh-caps=-all", "--",
               WEB, "--templates", TEMPLATES, "--static", STATIC, "--config", self.config]
        self._daemon("pam-totp-web", web, lambda: connectable(self.http_socket))
        # nginx with the shipped site.
        self.daemons.append(Nginx(bed, self.nginx_dir, self.port, self.http_port, self.certificate, self.key,
                                  self.http_socket))
        self.daemons[-1].start()

    def _daemon(self, name, argv, ready, env=None):
        daemon = Daemon(self.bed, name, argv, ready, os.path.join(self.dir, f"{name}.log"), env=env)
        self.daemons.append(daemon)
        daemon.start()
        return daemon

    def logs(self):
        """Every log of the portal's processes and the module's syslog, for failure messages."""
        parts = [f"== {d.name}\n{d.diagnostics()}" for d in self.daemons]
        error_log = os.path.join(self.nginx_dir, "error.log")
        if os.path.exists(error_log):
            parts.append("== nginx error.log\n" + open(error_log).read()[-3000:])
        parts.append("== syslog\n" + self.bed.log()[-3000:])
        return "\n".join(parts)

    def restart(self, **settings):
        """Stops the portal, changes SETTINGS in its configuration, and starts it again."""
        self.stop()
        self.settings.update(settings)
        # nginx's directory (and its logs) stays; the sockets' directories are made again for the new
        # web user.
        for path in (self.helper_dir, self.http_dir, os.path.join(self.dir, "tls")):
            shutil.rmtree(path, ignore_errors=True)
        return self.start()

    def stop(self):
        """Stops what it started, by PID, in reverse order, then removes the web user."""
        errors = []
        for daemon in reversed(self.daemons):
            try:
                daemon.stop()
            except Exception as error:  # noqa: BLE001 - stop the others first
                errors.append(error)
        self.daemons = []
        if self.web_user:
            self.web_user.remove()
            self.web_user = None
        if errors:
            raise errors[0]

    def browser(self, lang="en", **options):
        """A Browser on this portal that trusts its CA."""
        return Browser(self.ca, lang=lang, directory=self.bed.root, base=self.url, **options)

    def alive(self):
        """Whether every process of the portal still runs (none crashed)."""
        return all(d.process and d.process.poll() is None for d in self.daemons)

    def log_text(self):
        """Everything the portal's processes wrote (their logs, nginx's access and error logs) and the
        module's syslog: where no password, code or secret may appear."""
        text = ""
        for name in os.listdir(self.dir):
            if name.endswith(".log"):
                text += open(os.path.join(self.dir, name), errors="replace").read()
        for name in ("access.log", "error.log"):
            path = os.path.join(self.nginx_dir, name)
            if os.path.exists(path):
                text += open(path, errors="replace").read()
        return text + self.bed.log()

    def ssl_context(self):
        """A client TLS context that trusts only the throwaway CA."""
        return ssl.create_default_context(cafile=self.ca)


# ---------------------------------------------------------------------------------------------
# The browser


class Browser:
    """A headless Chromium driven by selenium, trusting the portal's throwaway CA through an NSS
    database in its own scratch HOME (as a user who imported the CA would), so certificate errors
    are not ignored. LANG is `en` or `ja` (the UI and Accept-Language)."""

    def __init__(self, ca, lang="en", width=1280, height=1800, directory=None, base=""):
        webdriver = selenium()
        self.base = base
        from selenium.webdriver.chrome.service import Service
        self.dir = tempfile.mkdtemp(prefix="pamtotp-browser-", dir=directory)
        home = os.path.join(self.dir, "home")
        nssdb = os.path.join(home, ".pki", "nssdb")
        os.makedirs(nssdb)
        run("certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password")
        run("certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "pam-totp throwaway test CA", "-i", ca)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={width},{height}", f"--lang={lang}", "--no-first-run",
                         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                         "--force-device-scale-factor=1", f"--user-data-dir={os.path.join(self.dir, 'profile')}"):
            options.add_argument(argument)
        accept = "ja,en" if lang == "ja" else "en-US,en"
        options.add_experimental_option("prefs", {"intl.accept_languages": accept})
        env = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        service = Service(executable_path=CHROMEDRIVER, env=env, log_output=os.path.join(self.dir, "chromedriver.log"))
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(30)
        self.lang = lang

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    # The pages, by docs/PORTAL.md's element ids and field names.

    def open(self, path="/"):
        self.driver.get(self.base + path)

    def find(self, element_id):
        """The element with that id, or None."""
        from selenium.webdriver.common.by import By
        found = self.driver.find_elements(By.ID, element_id)
        return found[0] if found else None

    def has(self, element_id):
        return self.find(element_id) is not None

    def text(self, element_id):
        element = self.find(element_id)
        if element is None:
            raise AssertionError(f"no #{element_id} on {self.driver.current_url}:\n{self.page_text()}")
        return element.text

    def all(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def page_text(self):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "body").text

    def page_lang(self):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang")

    def fill(self, form_id, **fields):
        """Types each value into the field of that name in form #FORM_ID (a radio button: checks the
        one with that value; a checkbox: checks it when the value is true)."""
        from selenium.webdriver.common.by import By
        form = self.find(form_id)
        if form is None:
            raise AssertionError(f"no form #{form_id} on {self.driver.current_url}:\n{self.page_text()}")
        for name, value in fields.items():
            inputs = form.find_elements(By.NAME, name)
            if not inputs:
                raise AssertionError(f"form #{form_id} has no field {name}")
            kind = inputs[0].get_attribute("type")
            if kind == "radio":
                [i for i in inputs if i.get_attribute("value") == value][0].click()
            elif kind == "checkbox":
                if bool(value) != inputs[0].is_selected():
                    inputs[0].click()
            else:
                inputs[0].clear()
                inputs[0].send_keys(value)
        return form

    def submit(self, element_id):
        """Submits form #ELEMENT_ID with its submit button (or clicks the button or link of that id)
        and waits for the next page."""
        from selenium.webdriver.common.by import By
        element = self.find(element_id)
        if element is None:
            raise AssertionError(f"no #{element_id} on {self.driver.current_url}:\n{self.page_text()}")
        if element.tag_name == "form":
            buttons = element.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
            element = buttons[0] if buttons else element
        old = self.driver.find_element(By.TAG_NAME, "html")
        if element.tag_name == "form":
            element.submit()
        else:
            element.click()
        self.wait_for_new_page(old)

    def wait_for_new_page(self, old, timeout=30):
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def gone(_driver):
            # selenium's staleness_of, but also for the error Chrome gives while the old document is
            # being replaced ("Node with given id does not belong to the document"): the old page is gone.
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise
        WebDriverWait(self.driver, timeout).until(gone)
        WebDriverWait(self.driver, timeout).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete")

    def login(self, account, password):
        """The login form; returns on the next page (the code page, the dashboard, or an error)."""
        self.open("/")
        self.fill("login", account=account, password=password)
        self.submit("login")

    def enter_code(self, code):
        self.fill("code-form", code=code)
        self.submit("code-form")

    def enter_code_and_decline(self, code):
        """The code page, then No to the remember question if the module asks it."""
        self.enter_code(code)
        if self.has("remember-form"):
            self.answer_remember(yes=False)

    def answer_remember(self, yes=False):
        """The remember question after setup or a login with a code: No unless YES."""
        if not self.find("remember-form").find_elements(*_by_css("input[name=remember][value=no]"))[0].is_selected():
            raise AssertionError("the remember question does not default to No")
        self.fill("remember-form", remember="yes" if yes else "no")
        self.submit("remember-form")

    def begin_setup(self):
        """Begin setup, from the dashboard: returns what the page shows of the new secret."""
        self.submit("begin-setup")
        return self.setup_shown()

    def setup_shown(self):
        return {"secret": self.text("secret"), "issuer": self.text("issuer"), "account": self.text("account")}

    def read_qr(self, path):
        """The otpauth URI in the QR code, read by zbarimg from a screenshot of the page, as a phone
        reads the screen."""
        self.screenshot(path)
        return read_qr(path)

    def verify(self, code):
        if not self.has("verify-form"):
            self.submit("next")
        self.fill("verify-form", code=code)
        self.submit("verify-form")

    def recovery_codes(self):
        codes = [e.text.strip() for e in self.all("#recovery-codes .recovery-code")]
        return codes

    def logout(self):
        self.submit("logout")

    def cookies(self):
        return {c["name"]: c["value"] for c in self.driver.get_cookies()}

    def screenshot(self, path, width=None):
        """The whole page as a PNG at PATH (WIDTH pixels wide if given). Returns PATH."""
        driver = self.driver
        size = driver.get_window_size()
        width = width or size["width"]
        # The page's own height, measured in a short window (the window's height includes what
        # headless Chromium counts as its frame), then a window just that tall.
        driver.set_window_size(width, 400)
        frame = 400 - int(driver.execute_script("return window.innerHeight"))
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, max(height, 200) + frame + 16)
        try:
            driver.save_screenshot(path)
        finally:
            driver.set_window_size(size["width"], size["height"])
        return path


def _by_css(selector):
    from selenium.webdriver.common.by import By
    return By.CSS_SELECTOR, selector


def totp_from_uri(uri, offset=0):
    """A code for the otpauth URI by oathtool (the independent generator), OFFSET steps ahead."""
    params = parse_uri(uri)
    period = int(params.get("period", "30"))
    args = ["oathtool", f"--totp={params.get('algorithm', 'SHA1').lower()}", "-d", params.get("digits", "6"),
            "-s", f"{period}s", "-b", params["secret"]]
    if offset:
        args += ["-N", f"@{int(time.time()) + period * offset}"]
    return run(*args).stdout.strip()


def parse_uri(uri):
    """The parts of an otpauth://totp/ISSUER:ACCOUNT?… URI: label, issuer, account and the parameters."""
    from urllib.parse import parse_qs, unquote, urlsplit
    parts = urlsplit(uri)
    if parts.scheme != "otpauth" or parts.netloc != "totp":
        raise AssertionError(f"not a TOTP otpauth URI: {uri}")
    label = unquote(parts.path.lstrip("/"))
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    issuer, _, account = label.rpartition(":")
    return dict(params, label=label, label_issuer=issuer, account=account)


def shrink_png(path):
    """Makes a committed screenshot small with pngquant (installed by `make deps`), if present."""
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "65-90", "--strip",
                        "--output", path, path], capture_output=True)


def read_qr(png):
    """What a phone reads from the QR code in the image PNG (zbarimg): the otpauth URI."""
    proc = subprocess.run(["zbarimg", "--raw", "-q", png], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"zbarimg found no QR code in {png} ({proc.returncode}): {proc.stderr}")
    return proc.stdout.strip()


# ---------------------------------------------------------------------------------------------
# A scripted client without a browser, for the attacks


class Form:
    def __init__(self, element_id, action, method):
        self.id, self.action, self.method = element_id, action, method
        self.fields = {}    # name -> value that a browser would send unchanged (hidden, checked, text)
        self.names = set()  # every field name


class FormParser:
    """The forms of a page: id -> Form, with every field's name and default value."""

    def __init__(self, text):
        from html.parser import HTMLParser

        forms, current = {}, [None]

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "form":
                    form = Form(a.get("id") or f"form{len(forms)}", a.get("action") or "", (a.get("method") or "get").lower())
                    form.named = "id" in a
                    forms[form.id] = form
                    current[0] = form
                elif current[0] and not current[0].named and a.get("id") and (
                        tag == "button" or (a.get("type") or "").lower() == "submit"):
                    # A form without an id (the logout form) is known by its button's id.
                    form = current[0]
                    del forms[form.id]
                    form.id, form.named = a["id"], True
                    forms[form.id] = form
                if tag in ("input", "textarea", "select", "button") and current[0] and a.get("name"):
                    form = current[0]
                    form.names.add(a["name"])
                    kind = (a.get("type") or "text").lower()
                    if kind in ("radio", "checkbox") and "checked" not in a:
                        return
                    if tag == "button" or kind == "submit":
                        return
                    form.fields[a["name"]] = a.get("value") or ""

            def handle_endtag(self, tag):
                if tag == "form":
                    current[0] = None

        Parser().feed(text)
        self.forms = forms


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def all_headers(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def forms(self):
        return FormParser(self.body).forms

    def has_id(self, element_id):
        return re.search(rf"""\bid\s*=\s*["']?{re.escape(element_id)}["'\s>]""", self.body) is not None


class Client:
    """A browser-like HTTPS client with a cookie jar, for requests a browser would not make."""

    def __init__(self, site, origin=None, lang="en"):
        self.site, self.cookies, self.lang = site, {}, lang
        self.origin = origin or site.url

    def request(self, method, path, fields=None, headers=None, body=None):
        import http.client
        from urllib.parse import urlencode
        connection = http.client.HTTPSConnection("127.0.0.1", self.site.port, context=self.site.ssl_context(), timeout=30)
        head = {"Accept-Language": self.lang, "User-Agent": "pam-totp tests"}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            head.update({"Origin": self.origin, "Sec-Fetch-Site": "same-origin" if self.origin == self.site.url else "cross-site",
                         "Content-Type": "application/x-www-form-urlencoded"})
            if fields is not None:
                body = urlencode(fields).encode()
        head.update(headers or {})
        head = {k: v for k, v in head.items() if v is not None}
        connection.request(method, path, body=body, headers=head)
        answer = connection.getresponse()
        data = answer.read().decode("utf-8", "replace")
        headers = answer.getheaders()
        connection.close()
        for name, value in headers:
            if name.lower() == "set-cookie":
                cookie = value.split(";")[0]
                key, _, val = cookie.partition("=")
                if re.search(r"max-age=0\b|expires=thu, 01 jan 1970", value, re.I) or val == "":
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val
        return Response(answer.status, headers, data)

    def get(self, path="/", **kwargs):
        return self.request("GET", path, **kwargs)

    def follow(self, response, limit=5):
        """Follows redirects (303 after a POST) with GETs."""
        from urllib.parse import urlsplit
        while response.status in (301, 302, 303, 307) and limit:
            location = urlsplit(response.header("Location"))
            response = self.get(location.path + (f"?{location.query}" if location.query else ""))
            limit -= 1
        return response

    def submit(self, page, form_id, follow=True, **fields):
        """Posts form FORM_ID of PAGE (a Response) with its hidden fields and FIELDS."""
        forms = page.forms()
        if form_id not in forms:
            raise AssertionError(f"no form #{form_id} in the page:\n{page.body[:3000]}")
        form = forms[form_id]
        values = dict(form.fields)
        values.update(fields)
        response = self.request("POST", form.action or "/", fields=values)
        return self.follow(response) if follow else response

    def login(self, account, password, code=None):
        page = self.submit(self.get("/"), "login", account=account, password=password)
        # No code page when the login ended at the password step (throttled, or an error).
        if code is not None and "code-form" in page.forms():
            page = self.submit(page, "code-form", code=code)
        return page
