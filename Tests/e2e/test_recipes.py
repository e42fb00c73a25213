"""Each recipe in the README's "Deployment guides", run exactly as written on stock Debian 12.

A recipe is the ```sh block after `<!-- recipe: NAME -->`. It runs in a private copy of this host
(stock_debian.py) whose configuration files are the ones the Debian packages ship, after `make install`
into that copy. Its lines run as written, with `bash -e`, except for what a test cannot do as an
admin would, each done here with the real program instead:

- `pam-totp-setup enroll --user alice` alone is the interactive enrollment: it runs in an 80×24
  terminal, and the "phone" (oathtool) takes the secret from the otpauth:// URI the tool shows.
- `systemctl reload ssh` / `systemctl restart ocserv` start the daemon in the copy, as root, on this
  test's port on 127.0.0.1 (sshd: `-o ListenAddress=127.0.0.1:PORT`; ocserv: the recipe's
  ocserv.conf with `tcp-port`, `udp-port` set to the port and `listen-host = 127.0.0.1`). That, and
  its log going to a file, is all that differs from the configuration the recipe made. Any other
  `systemctl` line fails the test: it would act on the real machine.
- The portal's recipe: there is no systemd to run units here, so `systemctl enable --now
  pam-totp-web-helper pam-totp-web` starts each installed unit's `ExecStart=` in the copy the way
  systemd would, less the sandbox: after making its `RuntimeDirectory=` (owner, mode), with its
  `UMask=`, as its `User=`, `Group=` and `SupplementaryGroups=`, with no capability and no new
  privileges for a unit that has a `User=`; and `systemctl reload nginx` starts nginx with the enabled site only, its
  `listen` lines moved to this test's ports on 127.0.0.1. Its check, `# check: https://NAME/`, loads
  the login page over TLS (the recipe's certificate, NAME resolved to 127.0.0.1), logs the user in
  with the password (the dashboard comes), and a wrong password is refused. The sandbox itself is
  judged offline (Tests/integration/test_install.py), since only systemd applies it.
- `# check: …` lines are done with the real client in an 80×24 terminal (ssh, sudo, login,
  openconnect), answering the prompts the comment quotes, in that order, with the user's password
  and a code from oathtool; then a login with wrong codes must be refused.

Two substitutions: the user `alice` is a throwaway account (`pamtotp-alice`, made with useradd and
removed after), and `server` is 127.0.0.1 with the test's port. The user's password and SSH key,
and membership of the group `sudo` (made in the copy), are what the recipes take as given.
"""
import html.parser
import io
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

import pexpect
import pytest
import stock_debian
import testbed
from e2e_support import port

README = os.path.join(testbed.ROOT, "README.md")
USER = "pamtotp-alice"
SSH_PORT = ("PAMTOTP_SSH_PORT", 22022)
OCSERV_PORT = ("PAMTOTP_OCSERV_PORT", 24443)
PORTAL_PORT = ("PAMTOTP_PORTAL_RECIPE_PORT", 24480)
PORTAL_HTTP_PORT = ("PAMTOTP_PORTAL_RECIPE_HTTP_PORT", 24481)
INTERACTIVE_ENROLL = "pam-totp-setup enroll --user alice"
SERVICES = {"systemctl reload ssh": "ssh", "systemctl restart ssh": "ssh", "systemctl restart ocserv": "ocserv",
            "systemctl enable --now pam-totp-web-helper pam-totp-web": "portal", "systemctl reload nginx": "nginx"}
# The units `systemctl enable --now` names, in the order systemd starts them (pam-totp-web is After= the helper),
# with the socket each makes.
PORTAL_UNITS = [("pam-totp-web-helper", "/run/pam-totp-web-helper/helper.sock"), ("pam-totp-web", "/run/pam-totp-web/http.sock")]


def recipe(name):
    """The lines of the README's recipe NAME."""
    found = re.findall(rf"<!-- recipe: {re.escape(name)} -->\n```sh\n(.*?)```", open(README).read(), re.S)
    assert len(found) == 1, f"README.md has {len(found)} blocks marked <!-- recipe: {name} -->"
    return found[0].splitlines()


def command_of(line):
    """The line without its trailing comment (recipe lines quote no '#')."""
    return line.split("#", 1)[0].strip()


def steps(lines):
    """The recipe as ("sh", script), ("enroll",), ("start", service) and ("check", user, command,
    prompts) steps, in order; consecutive shell lines (and here-documents) are one script."""
    result, script, heredoc = [], [], None
    for line in lines:
        if heredoc is not None:
            script.append(line)
            if line == heredoc:
                heredoc = None
            continue
        check = re.match(r"#\s*check:\s*(?:as (\w+), in a second terminal:\s*)?(.*?)\s*(?:#(.*))?$", line.strip())
        command = command_of(line)
        if check:
            step = ("check", check.group(1), check.group(2), re.findall(r'"([^"]+)"', check.group(3) or ""))
        elif command == INTERACTIVE_ENROLL:
            step = ("enroll",)
        elif command in SERVICES:
            step = ("start", SERVICES[command])
        elif command.startswith("systemctl") or "systemctl " in command:
            raise AssertionError(f"the test cannot run {command!r}: it would act on the real machine")
        else:
            script.append(line)
            heredoc_start = re.search(r"<<-?'?(\w+)'?", line)
            if heredoc_start:
                heredoc = heredoc_start.group(1)
            continue
        if script:
            result.append(("sh", "\n".join(script)))
            script = []
        result.append(step)
    assert heredoc is None, "a here-document in the recipe is not closed"
    if script:
        result.append(("sh", "\n".join(script)))
    return result


def substitute(text, user):
    return re.sub(r"\balice\b", user.name, text)


class Recipe:
    """One recipe being run: the private host, the user, the servers, and what the steps printed."""

    def __init__(self, scratch, user):
        self.scratch, self.user = scratch, user
        self.work = os.path.join(scratch, "work")  # the admin's current directory
        os.makedirs(self.work)
        self.host = stock_debian.StockDebian(os.path.join(scratch, "host"))
        self.servers, self.output, self.key, self.port = [], "", None, None

    def install(self):
        """`make install`, as the recipes assume, into the private host (build/ is already built)."""
        self.host.run(["make", "-C", testbed.ROOT, "-o", "build", "install"])

    def sh(self, script):
        proc = self.host.run(["bash", "-c", 'cd "$0" && set -e -o pipefail && eval "$1"', self.work, substitute(script, self.user)],
                             check=False, timeout=300)
        self.output += proc.stdout + proc.stderr
        assert proc.returncode == 0, f"recipe step failed ({proc.returncode}):\n{script}\n{proc.stdout}{proc.stderr}"
        # The user's phone scans the QR image the admin hands over.
        for image in re.findall(r"--qr-png (\S+)", substitute(script, self.user)):
            uri = subprocess.run(["zbarimg", "--quiet", "--raw", os.path.join(self.work, image)],
                                 capture_output=True, text=True, check=True).stdout.strip()
            self.key = re.search(r"[?&]secret=([A-Z2-7]+)", uri).group(1)

    def enroll(self):
        """The interactive enrollment in an 80×24 terminal, with oathtool as the phone."""
        child = self.spawn(self.host.argv(["env", f"PATH={stock_debian.PATH}", "TERM=xterm", "LANG=C.UTF-8",
                                           *substitute(INTERACTIVE_ENROLL, self.user).split()]))
        # The phone takes the URI the tool prints first (the same secret the QR code and the text
        # beside it carry; Tests/integration/test_tool_first_hour.py decodes the screen itself).
        child.expect(r"URI: (otpauth://\S+)")
        self.key = re.search(r"[?&]secret=([A-Z2-7]+)", child.match.group(1)).group(1)
        child.expect("(?i)code from the app: ")
        testbed.wait_for_step()
        child.sendline(testbed.oathtool(self.key))
        child.expect("once you have stored them: ")
        child.sendline("yes")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before

    def start(self, service):
        if service == "portal":
            for unit, socket_path in PORTAL_UNITS:
                self.start_unit(unit, socket_path)
            return
        if service == "nginx":
            return self.start_nginx()
        if service == "ssh":
            self.port = port(*SSH_PORT)
            command = ["/usr/sbin/sshd", "-D", "-o", f"ListenAddress=127.0.0.1:{self.port}", "-E", os.path.join(self.scratch, "sshd.log")]
        else:
            self.port = port(*OCSERV_PORT)
            text = open(self.host.path("/etc/ocserv/ocserv.conf")).read()
            text = re.sub(r"(?m)^(tcp|udp)-port = .*$", lambda m: f"{m.group(1)}-port = {self.port}", text)
            with open(self.host.path("/run/pamtotp-ocserv.conf"), "w") as f:
                f.write(text + "listen-host = 127.0.0.1\n")
            command = ["/usr/sbin/ocserv", "--foreground", "-c", "/run/pamtotp-ocserv.conf"]
        log = open(os.path.join(self.scratch, f"{service}.out"), "a")
        process = subprocess.Popen(self.host.argv(["env", f"LD_PRELOAD={testbed.SYSLOG_CAPTURE}", *command]),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.servers.append(process)
        deadline = time.time() + 15
        while time.time() < deadline:
            assert process.poll() is None, f"{service} exited at start:\n{self.log()}"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{service} did not listen on {self.port}:\n{self.log()}")

    def spawn_server(self, name, command):
        log = open(os.path.join(self.scratch, f"{name}.out"), "a")
        process = subprocess.Popen(self.host.argv(command), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.servers.append(process)
        return process

    def unit(self, name):
        """The installed unit's settings, the last value of each key (as systemd takes those used here)."""
        text = open(self.host.path(f"/usr/local/lib/systemd/system/{name}.service")).read()
        return dict(re.findall(r"(?m)^(\w+)=(.*)$", text))

    def start_unit(self, name, socket_path):
        """`systemctl start NAME`, less the sandbox (see the module's docstring)."""
        unit = self.unit(name)
        user = unit.get("User", "root")
        group = unit.get("Group", user)
        self.host.run(["install", "-d", "-m", unit.get("RuntimeDirectoryMode", "0755"), "-o", user, "-g", group,
                       "/run/" + unit["RuntimeDirectory"]])
        command = shlex.split(unit["ExecStart"])
        if user == "root":
            command = ["env", f"LD_PRELOAD={testbed.SYSLOG_CAPTURE}", f"SYSLOG_CAPTURE_FILE=/run/{name}.syslog", *command]
        else:
            groups = ",".join([group, *unit.get("SupplementaryGroups", "").split()])
            command = ["setpriv", f"--reuid={user}", f"--regid={group}", f"--groups={groups}", "--inh-caps=-all",
                       "--bounding-set=-all", "--no-new-privs", *command]
        umask = unit.get("UMask", "0022")
        process = self.spawn_server(name, ["env", "-i", f"PATH={stock_debian.PATH}", "LANG=C.UTF-8",
                                           "sh", "-c", f'umask {umask} && exec "$@"', "sh", *command])
        deadline = time.time() + 20
        while not os.path.exists(self.host.path(socket_path)):
            assert process.poll() is None, f"{name} exited at start:\n{self.log()}"
            assert time.time() < deadline, f"{name} made no {socket_path}:\n{self.log()}"
            time.sleep(0.05)

    def enabled_site(self):
        # Read in the copy: the link in sites-enabled is absolute, and from outside would lead to this host's /etc.
        return self.host.run(["cat", "/etc/nginx/sites-enabled/pam-totp-web"]).stdout

    def start_nginx(self):
        """nginx with only the enabled portal site, each `listen` moved to 127.0.0.1 and a port of the test's."""
        site = self.enabled_site()
        self.port, http_port = port(*PORTAL_PORT), port(*PORTAL_HTTP_PORT)
        moves = [(r"(?m)^\s*listen \[::\]:(443|80)\b.*\n", ""), (r"(?m)^(\s*)listen 443 ssl\b", rf"\g<1>listen 127.0.0.1:{self.port} ssl"),
                 (r"(?m)^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{http_port};")]
        for pattern, replacement in moves:
            site, count = re.subn(pattern, replacement, site)
            assert count, f"the site has no line matching {pattern!r}"
        with open(self.host.path("/run/pamtotp-portal-site.conf"), "w") as f:
            f.write(site)
        with open(self.host.path("/run/pamtotp-nginx.conf"), "w") as f:
            f.write("user www-data;\npid /run/pamtotp-nginx.pid;\nerror_log stderr;\nevents {}\n"
                    "http {\n    include /etc/nginx/mime.types;\n    access_log off;\n    include /run/pamtotp-portal-site.conf;\n}\n")
        process = self.spawn_server("nginx", ["nginx", "-c", "/run/pamtotp-nginx.conf", "-g", "daemon off;"])
        deadline = time.time() + 15
        while True:
            assert process.poll() is None, f"nginx exited at start:\n{self.log()}"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert time.time() < deadline, f"nginx did not listen on {self.port}:\n{self.log()}"
            time.sleep(0.05)

    def portal_check(self, url):
        """The login page over TLS with the recipe's certificate, then the user's login, then a wrong password."""
        name = re.fullmatch(r"https://([\w.-]+)/", url).group(1)
        certificate = re.search(r"(?m)^\s*ssl_certificate\s+(\S+);", self.enabled_site())
        base = f"https://{name}:{self.port}"

        def curl(jar, *args):
            proc = subprocess.run(["curl", "-sS", "--max-time", "30", "--resolve", f"{name}:{self.port}:127.0.0.1", "--cacert",
                                   self.host.path(certificate.group(1)), "-c", jar, "-b", jar, "-D", "-", *args],
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"curl {args}: {proc.stderr}\n{self.log()}"
            return proc.stdout

        for password, works in ((self.user.password, True), ("Wr0ng-" + self.user.password, False)):
            jar = os.path.join(self.scratch, f"cookies-{works}")
            page = curl(jar, base + "/")
            headers = page.split("\r\n\r\n", 1)[0].lower()
            assert "strict-transport-security:" in headers and "content-security-policy:" in headers, headers
            form = LoginForm()
            form.feed(page)
            assert form.found, f"no form#login on the page:\n{page}"
            fields = [*form.hidden, ("account", self.user.name), ("password", password)]
            data = [arg for key, value in fields for arg in ("--data-urlencode", f"{key}={value}")]
            page = curl(jar, "-L", *data, base + "/login")
            assert ('id="status"' in page) == works, f"login with {'the' if works else 'a wrong'} password:\n{page}\n{self.log()}"
            if not works:
                assert 'id="error"' in page, page

    def log(self):
        text = ""
        for name in sorted(os.listdir(self.scratch)):
            if name.endswith((".out", ".log")):
                text += f"--- {name}\n" + open(os.path.join(self.scratch, name), errors="replace").read()
        for unit, _ in PORTAL_UNITS:
            syslog = self.host.path(f"/run/{unit}.syslog")
            if os.path.exists(syslog):
                text += f"--- {unit} (syslog)\n" + open(syslog, errors="replace").read()
        return text

    def spawn(self, argv):
        child = pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80), encoding="utf-8", timeout=60,
                              env={"PATH": stock_debian.PATH, "TERM": "xterm", "LANG": "C.UTF-8", "HOME": "/root"})
        child.logfile_read = self.transcript = io.StringIO()  # what the terminal showed, for failures
        return child

    def client(self, as_user, command):
        """The real client for a check line; `server` becomes 127.0.0.1 and this test's port."""
        words = substitute(command, self.user).split()
        if words[:1] == ["ssh"]:
            assert words[1:] == [f"{self.user.name}@server"], f"unknown ssh check {command!r}"
            identity = ["-o", "IdentitiesOnly=yes", "-i", self.user.ssh_key] if self.user.ssh_key else ["-o", "PubkeyAuthentication=no"]
            # The test's own client settings (root's ~/.ssh is not the user's): a fresh host key is
            # accepted, and a failed keyboard-interactive round is not retried.
            return self.spawn(["ssh", "-F", "/dev/null", "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                               "-o", "NumberOfPasswordPrompts=1", *identity, f"{self.user.name}@127.0.0.1"]), True
        if words[:1] == ["login"]:
            assert words[1:] == [self.user.name], f"unknown login check {command!r}"
            return self.spawn(self.host.argv(["login", self.user.name])), True
        if words[:1] == ["sudo"]:
            assert as_user and substitute(as_user, self.user) == self.user.name, "a sudo check runs as the user"
            return self.spawn(self.host.argv(["setpriv", f"--reuid={self.user.uid}", f"--regid={self.user.uid}", "--init-groups",
                                              "env", f"HOME={self.user.home}", f"USER={self.user.name}", *words])), False
        if words[:1] == ["openconnect"]:
            pin = re.search(r"pin-sha256:[A-Za-z0-9+/=]+", self.output)
            assert pin, "the recipe printed no pin-sha256 for the users"
            args = [pin.group(0) if w == "pin-sha256:…" else f"https://127.0.0.1:{self.port}/" if w == "server" else w for w in words]
            assert args[1:4] == ["--authenticate", f"--user={self.user.name}", "--servercert"], f"unknown openconnect check {command!r}"
            return self.spawn(args), False
        raise AssertionError(f"no client for the check {command!r}")

    def answer(self, child, prompts, code):
        """Answers each quoted prompt, in order: the password, then the code."""
        for prompt in prompts:
            text = prompt.rstrip(":").strip()
            child.expect(rf"(?i){re.escape(text)}[^\n:]*: ?")
            child.sendline(code if "code" in text.lower() else self.user.password)

    def check(self, as_user, command, prompts):
        if command.startswith("https://"):
            return self.portal_check(command)
        assert prompts, f"the check {command!r} does not quote the prompts the user sees"
        assert any("code" in p.lower() for p in prompts), f"the check {command!r} shows no code prompt"
        assert self.key, "the recipe enrolled nobody the test can make codes for"
        testbed.wait_for_step()
        child, shell = self.client(as_user, command)
        self.answer(child, prompts, testbed.oathtool(self.key))
        if shell:
            child.expect(r"[$#] $")
            child.sendline('echo "logged in as $(id -un)"; exit')
            child.expect(f"logged in as {self.user.name}")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, f"{command}: {child.before}\n{self.log()}"
        if command.split()[0] == "sudo":
            assert "root" in child.before
        if command.split()[0] == "openconnect":
            assert "COOKIE=" in child.before, child.before
        # The code is required: the same login with wrong codes is refused. The client may ask
        # again (sudo's three tries, login's "login:"); every answer is wrong or the password.
        wrong = testbed.oathtool(self.key, offset=50)
        child, shell = self.client(as_user, command)
        self.answer(child, prompts, wrong)
        outcomes = [pexpect.EOF, r"(?i)verification code[^\n:]*: ?", r"(?i)password[^\n:]*: ?", r"(?:^|\s)login: ", r"[$#] $"]
        for _ in range(20):
            index = child.expect(outcomes)
            if index in (1, 2):
                child.sendline(wrong if index == 1 else self.user.password)
                continue
            break
        assert index in (0, 3), f"{command} with a wrong code gave a shell"
        child.close(force=True)
        assert index == 3 or child.exitstatus != 0, f"{command} with a wrong code succeeded:\n{self.transcript.getvalue()}"

    def close(self):
        for process in self.servers:
            children = testbed.descendants(process.pid)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for pid in children:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        self.host.close()


class LoginForm(html.parser.HTMLParser):
    """The hidden fields (the CSRF token) of the page's form#login."""

    def __init__(self):
        super().__init__()
        self.found, self.inside, self.hidden = False, False, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "login":
            self.found = self.inside = True
        elif tag == "input" and self.inside and attrs.get("type") == "hidden":
            self.hidden.append((attrs.get("name", ""), attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


@pytest.fixture
def run_recipe():
    try:
        testbed.check_prerequisites()
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    before = stock_debian.snapshot()
    scratch = tempfile.mkdtemp(prefix="pamtotp-recipe-")
    os.chmod(scratch, 0o755)
    made = []

    def run(name, home=True, ssh_key=False, sudoer=False):
        user = testbed.User(USER, "Corr3ct-horse", home=home)
        made.append(user)
        user.ssh_key = None
        if ssh_key:
            user.ssh_key = os.path.join(scratch, "id_ed25519")
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", user.ssh_key], check=True)
            ssh_dir = os.path.join(user.home, ".ssh")
            os.makedirs(ssh_dir, mode=0o700)
            shutil.copy(user.ssh_key + ".pub", os.path.join(ssh_dir, "authorized_keys"))
            subprocess.run(["chown", "-R", f"{user.name}:", ssh_dir], check=True)
        bed = Recipe(scratch, user)
        made.append(bed)
        if sudoer:
            bed.host.run(["usermod", "-aG", "sudo", user.name])
        bed.install()
        for step in steps(recipe(name)):
            getattr(bed, step[0])(*step[1:])
        assert any(step[0] == "check" for step in steps(recipe(name))), f"recipe {name} ends with no check"
        return bed

    yield run
    for thing in reversed(made):
        (thing.close if isinstance(thing, Recipe) else thing.remove)()
    shutil.rmtree(scratch, ignore_errors=True)
    assert stock_debian.snapshot() == before, "a recipe changed the real machine"


def test_sshd_key_then_code(run_recipe):
    run_recipe("sshd-key-code", ssh_key=True)


def test_sshd_password_then_code(run_recipe):
    run_recipe("sshd-password-code")


def test_ocserv_password_then_code(run_recipe):
    bed = run_recipe("ocserv", home=False)
    assert os.path.exists(bed.host.path(f"/var/lib/pam-totp/users/{USER}"))
    assert os.stat(bed.host.path("/etc/ocserv/server-key.pem")).st_mode & 0o777 == 0o600


def test_sudo_password_then_code(run_recipe):
    run_recipe("sudo", sudoer=True)


def test_console_login_password_then_code(run_recipe):
    run_recipe("login")


def test_self_service_portal(run_recipe):
    """Issue 15: the portal as the README installs it: the user, the PAM service, the configuration,
    a certificate, the nginx site enabled, both units started; then the page and a login through it."""
    bed = run_recipe("portal")
    assert os.path.exists(bed.host.path("/etc/pam.d/pam-totp-web"))
    # The helper admitted the web process (SO_PEERCRED against the user the recipe made), which
    # owns the helper's socket; nginx's group owns the web's.
    helper_socket = os.stat(bed.host.path("/run/pam-totp-web-helper/helper.sock"))
    web_user = bed.host.run(["id", "-u", "pam-totp-web"]).stdout.strip()
    assert str(helper_socket.st_uid) == web_user and helper_socket.st_mode & 0o777 == 0o600
    web_socket = os.stat(bed.host.path("/run/pam-totp-web/http.sock"))
    assert web_socket.st_mode & 0o777 == 0o660
    assert str(web_socket.st_gid) == bed.host.run(["getent", "group", "www-data"]).stdout.split(":")[2]


def test_sshd_drop_ins_work_on_stock_sshd_config_and_appending_does_not():
    """Item 2 of issue 12: Debian's sshd_config includes sshd_config.d/*.conf first and sshd keeps the
    first value, so each shipped drop-in passes `sshd -t` where the same lines appended fail."""
    try:
        testbed.check_prerequisites()
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    drop_ins = sorted(os.listdir(os.path.join(testbed.ROOT, "sshd_config.d")))
    assert drop_ins == ["10-pam-totp-key-code.conf", "10-pam-totp-password-code.conf"]
    scratch = tempfile.mkdtemp(prefix="pamtotp-dropin-")
    host = stock_debian.StockDebian(os.path.join(scratch, "host"))
    try:
        for name in drop_ins:
            source = os.path.join(testbed.ROOT, "sshd_config.d", name)
            host.run(["cp", source, "/etc/ssh/sshd_config.d/"])
            host.run(["sshd", "-t"])
            host.run(["rm", f"/etc/ssh/sshd_config.d/{name}"])
            host.run(["sh", "-c", f'cat "{source}" >> /etc/ssh/sshd_config'])
            appended = host.run(["sshd", "-t"], check=False)
            assert appended.returncode != 0 and "cannot be satisfied" in appended.stderr, appended.stderr
            with open(host.path("/etc/ssh/sshd_config"), "wb") as f:
                f.write(stock_debian.stock_files()["/etc/ssh/sshd_config"])
    finally:
        host.close()
        shutil.rmtree(scratch, ignore_errors=True)
