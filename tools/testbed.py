"""Real servers and clients on 127.0.0.1 for the end-to-end tests and `make demo`.

Everything here runs as root and changes nothing the machine relies on: each server sees its own
/etc/pam.d (a copy, bind-mounted in a private mount namespace made with `unshare -m`), listens on a
port above 20000 that must be free, and is stopped by the PID it was started with. Throwaway users
are created with useradd and removed with userdel. The module and the tool are the ones in build/.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MODULE = os.path.join(BUILD, "pam_totp.so")
SETUP = os.path.join(BUILD, "pam-totp-setup")
SYSLOG_CAPTURE = os.path.join(BUILD, "libsyslog_capture.so")
EXAMPLES = os.path.join(ROOT, "pam.d-examples")
NEEDED = ["/usr/sbin/sshd", "ssh", "ssh-keygen", "/usr/sbin/ocserv", "openconnect", "certtool", "oathtool",
          "useradd", "userdel", "chpasswd", "unshare", "setpriv"]


class Missing(Exception):
    """A prerequisite of the end-to-end tests is missing; the message says which and why."""


def check_prerequisites():
    if os.geteuid() != 0:
        raise Missing("the end-to-end tests start sshd and ocserv and create users: run them as root")
    for tool in (MODULE, SETUP, SYSLOG_CAPTURE):
        if not os.path.exists(tool):
            raise Missing(f"{tool} is missing: run `make build harness`")
    for program in NEEDED:
        if not shutil.which(program):
            raise Missing(f"{program} is not installed: run `make deps`")


def free_port(variable, default):
    """The port named by $variable (or `default`); refuses one that is already taken."""
    port = int(os.environ.get(variable, default))
    if not 20000 < port < 65536:
        raise Missing(f"{variable}={port}: the tests use ports above 20000 only")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise Missing(f"port {port} on 127.0.0.1 is taken; refusing to run against it (set {variable} to a free port)")
    return port


def wait_for_step(period=30, margin=3):
    remaining = period - time.time() % period
    if remaining < margin:
        time.sleep(remaining + 0.2)


def oathtool(key, offset=0):
    args = ["oathtool", "--totp", "-b", key]
    if offset:
        args += ["-N", f"@{int(time.time()) + 30 * offset}"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


class User:
    """A throwaway account: useradd now, userdel when removed."""

    def __init__(self, name, password, home=True):
        self.name, self.password, self.has_home = name, password, home
        if subprocess.run(["id", name], capture_output=True).returncode == 0:
            raise Missing(f"user {name} already exists; refusing to reuse or remove an account the tests did not create")
        args = ["useradd", "-s", "/bin/sh", "-U"] + (["-m"] if home else ["-M", "-d", "/nonexistent"]) + [name]
        subprocess.run(args, check=True, capture_output=True)
        try:
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
        except subprocess.CalledProcessError as error:
            self.remove()
            raise Missing(f"chpasswd could not set the password of {name}: {error.stderr.strip()}")
        entry = subprocess.run(["getent", "passwd", name], capture_output=True, text=True, check=True).stdout.split(":")
        self.uid, self.home = int(entry[2]), entry[5]

    def remove(self):
        subprocess.run(["userdel", "-r", self.name], capture_output=True)


class Bed:
    """One scratch directory with a private pam.d, the module's data directory and a config file."""

    def __init__(self, prefix="pamtotp-e2e-"):
        self.root = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")          # stands for /var/lib/pam-totp
        self.config = os.path.join(self.root, "pam-totp.conf")  # stands for /etc/pam-totp.conf
        self.pamd = os.path.join(self.root, "pam.d")
        self.syslog = os.path.join(self.root, "syslog")
        shutil.copytree("/etc/pam.d", self.pamd, symlinks=True)
        os.mkdir(self.data, 0o700)  # as `make install` creates /var/lib/pam-totp
        self.trusted = os.path.join(self.root, "pam-totp.trusted")  # stands for /etc/pam-totp.trusted
        self.servers, self.users = [], []

    def install_example(self, example, service, extra=""):
        """Writes pam.d-examples/EXAMPLE as the private pam.d's SERVICE, with paths substituted: the
        module from build/, /var/lib/pam-totp and /etc/pam-totp.conf inside this bed, and
        pam_unix.so with nodelay so that refusals are fast. `extra` adds options to pam_totp.so."""
        text = open(os.path.join(EXAMPLES, example)).read()
        lines = []
        for line in text.splitlines():
            if not line.lstrip().startswith("#"):
                line = line.replace("/var/lib/pam-totp", self.data)
                line = line.replace("/etc/pam-totp.trusted", self.trusted)
                line = line.replace("pam_totp.so", f"{MODULE} state={self.data} config={self.config} {extra}".rstrip())
                line = re.sub(r"\bpam_unix\.so\b", "pam_unix.so nodelay", line)
            lines.append(line)
        with open(os.path.join(self.pamd, service), "w") as f:
            f.write("\n".join(lines) + "\n")

    def user(self, name, password="Corr3ct-horse", home=True):
        user = User(name, password, home)
        self.users.append(user)
        return user

    def setup(self, *args, stdin=""):
        """Runs build/pam-totp-setup with this bed's configuration and state."""
        argv = [SETUP, *args, "--config", self.config, "--state", self.data]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LD_PRELOAD=SYSLOG_CAPTURE, SYSLOG_CAPTURE_FILE=self.syslog))

    def enroll(self, user, key, *extra):
        wait_for_step()
        proc = self.setup("enroll", "--user", user.name, "--key", key, "--json", "--qr", "none", *extra, stdin=oathtool(key) + "\n")
        if proc.returncode != 0:
            raise AssertionError(f"enrolling {user.name} failed: {proc.stderr}")
        return json.loads(proc.stdout)

    def start(self, server):
        self.servers.append(server)
        server.start()
        return server

    def log(self):
        """What the module (and the servers' other PAM modules) logged so far."""
        return open(self.syslog).read() if os.path.exists(self.syslog) else ""

    def close(self):
        """Stops every server and removes every user and file, each step even if another failed."""
        errors = []
        for step in [server.stop for server in reversed(self.servers)] + [user.remove for user in self.users]:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - report after cleaning up everything else
                errors.append(error)
        shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise errors[0]


def descendants(pid):
    """The PIDs of all processes below `pid`, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry))
            except (OSError, ValueError):
                continue
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


class Server:
    """A daemon started in a private mount namespace in which /etc/pam.d is the bed's copy; with
    `netns`, inside that network namespace (`ip netns exec`), listening on `address`."""

    name = "server"

    def __init__(self, bed, port, address="127.0.0.1", netns=None):
        self.bed, self.port, self.process = bed, port, None
        self.address, self.netns = address, netns

    def command(self):
        raise NotImplementedError

    def start(self):
        script = 'mount --bind "$0" /etc/pam.d && exec "$@"'
        # The module's syslog lines go to the daemon's stderr (the capture library's fallback: sshd
        # clears the environment of its PAM process), which is appended to the bed's syslog file.
        log = open(self.bed.syslog, "a")
        # `ip netns exec` executes its command in place, so the PID is still the daemon's.
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.process = subprocess.Popen(
            [*inside, "unshare", "-m", "sh", "-c", script, self.bed.pamd, "env", f"LD_PRELOAD={SYSLOG_CAPTURE}", *self.command()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited at start ({self.process.returncode}):\n{self.bed.log()}{self.diagnostics()}")
            with socket.socket() as s:
                if s.connect_ex((self.address, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not listen on {self.port}:\n{self.bed.log()}{self.diagnostics()}")

    def diagnostics(self):
        return ""

    def stop(self):
        """Stops the daemon by the PID it was started with, then its descendants (found through /proc
        before it stops, since they may have left its process group) by theirs."""
        if not self.process:
            return
        children = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in children + descendants(self.process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None


class Sshd(Server):
    name = "sshd"

    def __init__(self, bed, port, methods, password_authentication=False, allow=(), address="127.0.0.1", netns=None,
                 options=()):
        super().__init__(bed, port, address, netns)
        self.dir = os.path.join(bed.root, f"sshd-{port}")
        os.makedirs(os.path.join(self.dir, "keys"), exist_ok=True)
        self.hostkey = os.path.join(self.dir, "hostkey")
        if not os.path.exists(self.hostkey):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        self.config = os.path.join(self.dir, "sshd_config")
        lines = [
            f"Port {port}", f"ListenAddress {address}", f"HostKey {self.hostkey}", f"PidFile {self.dir}/sshd.pid",
            "UsePAM yes", "KbdInteractiveAuthentication yes",
            f"PasswordAuthentication {'yes' if password_authentication else 'no'}",
            "PubkeyAuthentication yes", f"AuthenticationMethods {methods}",
            f"AuthorizedKeysFile {self.dir}/keys/%u", "StrictModes no", "PermitRootLogin no", "UseDNS no",
            "LogLevel VERBOSE", "MaxAuthTries 10",
        ]
        if allow:
            lines.append("AllowUsers " + " ".join(allow))
        lines += options
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory

    def command(self):
        return ["/usr/sbin/sshd", "-D", "-f", self.config, "-E", os.path.join(self.dir, "sshd.log")]

    def diagnostics(self):
        path = os.path.join(self.dir, "sshd.log")
        return open(path).read() if os.path.exists(path) else ""

    def authorize(self, user):
        """Makes a key pair for `user` and authorizes it; returns the private key's path."""
        key = os.path.join(self.dir, f"id-{user.name}")
        if not os.path.exists(key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        shutil.copy(key + ".pub", os.path.join(self.dir, "keys", user.name))
        return key


ASKPASS = r'''#!/usr/bin/env python3
# SSH_ASKPASS for the tests: answers each prompt by its text from a JSON file of queued answers.
import json, sys
path = sys.argv[0] + ".json"
prompt = sys.argv[1] if len(sys.argv) > 1 else ""
answers = json.load(open(path))
answers.setdefault("prompts", []).append(prompt)
kind = ("code" if "erification code" in prompt or "One-time password" in prompt
        else "password" if "assword" in prompt else "yesno" if "[y/N]" in prompt else None)
queue = answers.get(kind) or []
json.dump(dict(answers, **({kind: queue[1:]} if kind else {})), open(path, "w"))
if not queue:
    sys.exit(1)
print(queue[0])
'''


def ssh(bed, port, user, password=(), code=(), yesno=(), identity=None, command="id -un", source="127.0.0.1", host="127.0.0.1"):
    """Logs in with the real ssh client. Each prompt is answered from the matching list, in order;
    a prompt with no answer left cancels the login. Returns (exit status, stdout, prompts seen)."""
    askpass = os.path.join(bed.root, "askpass")
    if not os.path.exists(askpass):
        with open(askpass, "w") as f:
            f.write(ASKPASS)
        os.chmod(askpass, 0o755)
    with open(askpass + ".json", "w") as f:
        json.dump({"password": list(password), "code": list(code), "yesno": list(yesno)}, f)
    args = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "NumberOfPasswordPrompts=3", "-o", f"BindAddress={source}",
            "-o", "ConnectTimeout=10", "-p", str(port)]
    if identity:
        args += ["-o", "IdentitiesOnly=yes", "-i", identity]
    else:
        args += ["-o", "PubkeyAuthentication=no"]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "SSH_AUTH_SOCK")}
    env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force")
    proc = subprocess.run(args + [f"{user.name}@{host}", command], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, start_new_session=True)
    prompts = json.load(open(askpass + ".json")).get("prompts", [])
    return proc.returncode, proc.stdout.strip(), prompts


class Ocserv(Server):
    name = "ocserv"

    def __init__(self, bed, port):
        super().__init__(bed, port)
        self.dir = os.path.join(bed.root, f"ocserv-{port}")
        os.makedirs(self.dir, exist_ok=True)
        key, cert, template = (os.path.join(self.dir, n) for n in ("key.pem", "cert.pem", "cert.tmpl"))
        with open(template, "w") as f:
            f.write('cn = "127.0.0.1"\nip_address = "127.0.0.1"\nexpiration_days = 2\nsigning_key\nencryption_key\ntls_www_server\n')
        subprocess.run(["certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", key], check=True, capture_output=True)
        subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key, "--template", template, "--outfile", cert],
                       check=True, capture_output=True)
        info = subprocess.run(["certtool", "--certificate-info", "--infile", cert], check=True, capture_output=True, text=True).stdout
        self.pin = re.search(r"pin-sha256:\S+", info).group(0)
        self.config = os.path.join(self.dir, "ocserv.conf")
        # ipv4-network is only the (never used) pool for tunnels: --authenticate starts no tunnel.
        with open(self.config, "w") as f:
            f.write("\n".join([
                'auth = "pam"', f"tcp-port = {port}", "listen-host = 127.0.0.1",
                f"socket-file = {self.dir}/ocserv.sock", f"server-cert = {cert}", f"server-key = {key}",
                "run-as-user = nobody", "run-as-group = nogroup", "isolate-workers = false",
                "max-clients = 64", "max-same-clients = 0", "device = vpns", "ipv4-network = 10.250.250.0",
                "ipv4-netmask = 255.255.255.0", "keepalive = 300", "dpd = 60", "try-mtu-discovery = false",
                "compression = false", "no-route = true", "cert-user-oid = 0.9.2342.19200300.100.1.1",
            ]) + "\n")

    def command(self):
        return ["/usr/sbin/ocserv", "--foreground", "-c", self.config]


def openconnect(server, user, answers):
    """Authenticates with the real openconnect client: `answers` are the lines it reads from standard
    input (the password, then the code). Returns (exit status, cookie or None)."""
    args = ["openconnect", "--authenticate", "--passwd-on-stdin", "--servercert", server.pin,
            "-u", user.name, f"https://127.0.0.1:{server.port}/"]
    proc = subprocess.run(args, input="".join(a + "\n" for a in answers), capture_output=True, text=True, timeout=60)
    cookie = re.search(r"^COOKIE='([^']+)'", proc.stdout, re.M)
    return proc.returncode, cookie.group(1) if cookie else None
