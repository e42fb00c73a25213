"""A throwaway PostgreSQL server for the store's tests, `make bench` and `make store-demo`.

initdb into a temporary directory, run as the unprivileged `postgres` user (Debian's postgresql
package makes it), listening on a port above 20000 that must be free (127.0.0.1 and any extra
addresses given) and on a Unix socket in that directory; stopped by the PID it was started with.
Two roles, as docs/SEVERAL-SERVERS.md sets them up: `pamtotp_admin` owns the database `pamtotp`
(the tool's role: `store init`, enrollments), and `pamtotp_server` gets only what logins need
(`store init --grant pamtotp_server`). Both log in with a password over TCP (scram-sha-256), with
TLS when `tls=True` (a CA and a server certificate for localhost and 127.0.0.1 made here).
"""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import testbed

PASSWORDS = {"pamtotp_admin": "admin-pw-8f2k", "pamtotp_server": "server-pw-3j9q"}


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise testbed.Missing("PostgreSQL is not installed: run `make deps` (package postgresql)")
    return os.path.dirname(found[-1])


class PostgreSQL:
    def __init__(self, port_variable="PAMTOTP_PG_PORT", default_port=25432, listen=("127.0.0.1",), tls=False, roles=True):
        self.port = testbed.free_port(port_variable, default_port)
        self.listen = list(listen)
        self.tls = tls
        # Without roles, the caller makes the roles and the database (docs/SEVERAL-SERVERS.md's SQL).
        self.roles = roles
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="pamtotp-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.files = []

    def _as_postgres(self, *args, **kwargs):
        return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *args],
                              capture_output=True, text=True, **kwargs)

    def start(self, standby_of=None):
        """initdb and start; with `standby_of` (a running PostgreSQL), a streaming standby of it
        instead (pg_basebackup -R), whose commits the primary waits for (synchronous_standby_names)."""
        os.makedirs(self.data, mode=0o700)
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.data, "postgres", "postgres")
        if standby_of is None:
            result = self._as_postgres(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
                                       "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                                       "--locale=C.UTF-8")
        else:
            result = self._as_postgres(os.path.join(self.bin, "pg_basebackup"), "-h", standby_of.dir, "-p",
                                       str(standby_of.port), "-U", "postgres", "-D", self.data, "-R",
                                       "--checkpoint=fast", "--wal-method=stream")
        if result.returncode != 0:
            raise RuntimeError("initdb or pg_basebackup failed: " + result.stderr)
        settings = [
            f"port = {self.port}",
            f"listen_addresses = '{','.join(self.listen)}'",
            f"unix_socket_directories = '{self.dir}'",
            "max_connections = 200",
            "fsync = on",
            "log_min_messages = warning",
        ]
        if self.tls:
            self._make_certificates()
            settings += ["ssl = on", f"ssl_cert_file = '{self.dir}/server.crt'", f"ssl_key_file = '{self.dir}/server.key'"]
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write("\n".join(settings) + "\n")
        if standby_of is not None:
            standby_of.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
            standby_of.psql("SELECT pg_reload_conf()")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as hba:
            hba.write("local all all peer\nlocal replication all peer\n")
            for address in self.listen:
                hba.write(f"host all all {address}/32 scram-sha-256\n")
            hba.write("host all all 0.0.0.0/0 scram-sha-256\n")
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", os.path.join(self.bin, "postgres"),
             "-D", self.data], stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "server.log"), "w"))
        self.wait_ready()
        if self.roles and standby_of is None:
            for role, password in PASSWORDS.items():
                self.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            self.psql("CREATE DATABASE pamtotp OWNER pamtotp_admin")
        return self

    def set_hba(self, lines):
        """Replaces pg_hba.conf (peer for local connections, then `lines`) and reloads it."""
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as hba:
            hba.write("local all all peer\nlocal replication all peer\n" + "".join(line + "\n" for line in lines))
        self.psql("SELECT pg_reload_conf()")

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.log())
            if self._as_postgres(os.path.join(self.bin, "pg_isready"), "-h", self.dir, "-p", str(self.port)).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not start: " + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def _make_certificates(self):
        def run(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.dir)
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pam-totp test CA",
            "-keyout", "ca.key", "-out", "ca.crt")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
        with open(os.path.join(self.dir, "san.ext"), "w") as f:
            f.write("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "server.crt")
        for name in ("server.key", "server.crt"):
            shutil.chown(os.path.join(self.dir, name), "postgres", "postgres")
            os.chmod(os.path.join(self.dir, name), 0o600)

    @property
    def ca(self):
        return os.path.join(self.dir, "ca.crt")

    def psql(self, sql, database="postgres"):
        """Runs SQL as the superuser over the Unix socket; returns the rows as text."""
        result = self._as_postgres(os.path.join(self.bin, "psql"), "-h", self.dir, "-p", str(self.port), "-d", database,
                                   "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {result.stderr}")
        return result.stdout

    def conninfo(self, role="pamtotp_server", host="127.0.0.1", extra=""):
        text = f"host={host} port={self.port} dbname=pamtotp user={role} password={PASSWORDS[role]}"
        if self.tls:
            text += f" sslmode=verify-full sslrootcert={self.ca}"
        return (text + " " + extra).strip()

    def store_file(self, path, role="pamtotp_server", host="127.0.0.1", extra="", text=None):
        """Writes a store file (root's, mode 0600) and returns its path."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# pam-totp store (test)\n" + (text if text is not None else self.conninfo(role, host, extra)) + "\n")
        os.chmod(path, 0o600)
        self.files.append(path)
        return path

    def pause(self):
        """Freezes the postmaster and every backend (SIGSTOP): a database that answers nothing."""
        self._signal(signal.SIGSTOP)

    def resume(self):
        self._signal(signal.SIGCONT)

    def _signal(self, number):
        # A backend listed may have ended (its client left) before it is signalled.
        for pid in self._pids():
            try:
                os.kill(pid, number)
            except ProcessLookupError:
                pass

    def _pids(self):
        return [self.proc.pid] + testbed.descendants(self.proc.pid)

    def promote(self):
        """Makes a standby the primary (pg_promote waits until it is)."""
        assert self.psql("SELECT pg_promote(true, 30)").strip() == "t"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", os.path.join(self.bin, "postgres"),
             "-D", self.data], stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "server.log"), "a"))
        self.wait_ready()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
