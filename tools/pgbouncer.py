"""A PgBouncer in front of a throwaway PostgreSQL (tools/pgserver.py), set up exactly as
docs/SEVERAL-SERVERS.md, "Many logins: a pooler on each server", says: its `<!-- guide: pooler -->`
block is run as written, except for what a test on one machine cannot do as a server would, each
substitution listed in `substitutions()`: the database host becomes this machine's PostgreSQL (and
database), every path under /etc, /run and /var/log a path in a temporary directory, and the
password the one pgserver gave the role. `apt-get install pgbouncer` is `make deps`'s. The two
`systemctl` lines are what `start()` does itself: it reads Debian's unit
(/lib/systemd/system/pgbouncer.service: `User=`, `ExecStart=`, `KillSignal=`) and the guide's
drop-in (`RuntimeDirectory=`, `RuntimeDirectoryMode=`), makes the runtime directory as systemd
would, and runs ExecStart as that user; `stop()` sends KillSignal to the PID it started and removes
the runtime directory, as systemd does. PgBouncer listens on no TCP port (`listen_addr =`), so
6432 in its socket's name is kept: the socket is in this object's own directory.

Used by Tests/integration/test_store_pooler.py and `make bench`.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pgserver
import testbed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "SEVERAL-SERVERS.md")
UNIT = "/lib/systemd/system/pgbouncer.service"
PGBOUNCER = "/usr/sbin/pgbouncer"


def guide_block(name):
    """The text of the block after `<!-- guide: NAME -->` in docs/SEVERAL-SERVERS.md."""
    found = re.findall(rf"<!-- guide: {re.escape(name)} -->\n```(?:sh)?\n(.*?)```", open(GUIDE).read(), re.S)
    assert len(found) == 1, f"docs/SEVERAL-SERVERS.md has {len(found)} blocks marked <!-- guide: {name} -->"
    return found[0]


def unit_settings(text):
    """key=value lines of a systemd unit file, as a dict (the last one of a key wins)."""
    return dict(re.findall(r"^([A-Za-z]+)=(.*)$", text, re.M))


class PgBouncer:
    def __init__(self, pg, database="pamtotp"):
        """`pg`: a started pgserver.PostgreSQL with the roles; `database`: the database on it that
        the guide's `pamtotp` entry leads to (the name the module asks PgBouncer for stays `pamtotp`)."""
        if not os.path.exists(PGBOUNCER) or not os.path.exists(UNIT):
            raise testbed.Missing("PgBouncer is not installed: run `make deps` (package pgbouncer)")
        self.pg, self.database = pg, database
        self.dir = tempfile.mkdtemp(prefix="pamtotp-pgbouncer-")
        os.chmod(self.dir, 0o755)
        # What the package and postgresql-common make: /etc/pgbouncer, /var/log/postgresql.
        for sub in ("etc/pgbouncer", "etc/pam-totp", "etc/systemd/system", "run", "log"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755)
        os.chmod(os.path.join(self.dir, "etc/pam-totp"), 0o700)
        os.chmod(os.path.join(self.dir, "log"), 0o1775)
        shutil.chown(os.path.join(self.dir, "log"), "root", "postgres")
        self.proc = None
        self.unit = None

    def substitutions(self):
        return [
            ("host=db1.example.org dbname=pamtotp ", f"host=localhost port={self.pg.port} dbname={self.database} "),
            ("server-password-change-me", pgserver.PASSWORDS["pamtotp_server"]),
            ("/etc/pam-totp/db-ca.crt", self.pg.ca),
            ("/etc/pam-totp", self.path("etc/pam-totp")),
            ("/etc/pgbouncer", self.path("etc/pgbouncer")),
            ("/etc/systemd/system", self.path("etc/systemd/system")),
            ("/run/", self.path("run") + "/"),
            ("/var/log/postgresql", self.path("log")),
        ]

    def path(self, sub=""):
        return os.path.join(self.dir, sub)

    def text(self, name):
        """The guide's block `name`, with this machine's substitutions."""
        result = guide_block(name)
        for old, new in self.substitutions():
            result = result.replace(old, new)
        return result

    @staticmethod
    def _run(script):
        proc = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{script}\n{proc.stdout}\n{proc.stderr}")

    def _local(self, script):
        """The script's commands, which must touch nothing outside this object's directory."""
        for word in re.findall(r"(?<![\w.-])/(?:etc|run|var|lib|usr)/[^\s'\"]*", script):
            if not word.startswith(self.dir) and not word.startswith(self.pg.dir) and word != PGBOUNCER:
                raise AssertionError(f"the guide's script would touch {word} on this machine")
        return script

    def install(self):
        """Runs the guide's `pooler` block (without apt-get and systemctl, done by make deps and
        start()); returns self."""
        lines = self.text("pooler").splitlines()
        assert lines[0] == "apt-get install pgbouncer", lines[0]
        systemctl = [line for line in lines if line.startswith("systemctl ")]
        assert systemctl == ["systemctl daemon-reload", "systemctl restart pgbouncer"], systemctl
        script = "\n".join(line for line in lines[1:] if not line.startswith("systemctl ")) + "\n"
        self._run(self._local(script))
        unit = unit_settings(open(UNIT).read())
        dropin = unit_settings(open(self.path("etc/systemd/system/pgbouncer.service.d/pam-totp.conf")).read())
        unit.update(dropin)
        self.unit = unit
        return self

    @property
    def ini(self):
        return self.path("etc/pgbouncer/pgbouncer.ini")

    def setting(self, name):
        """A [pgbouncer] setting of the installed pgbouncer.ini."""
        found = re.findall(rf"^{re.escape(name)} = (.*)$", open(self.ini).read(), re.M)
        assert len(found) == 1, (name, found)
        return found[0]

    @property
    def socket_dir(self):
        return self.setting("unix_socket_dir")

    @property
    def socket(self):
        return os.path.join(self.socket_dir, f".s.PGSQL.{self.setting('listen_port')}")

    @property
    def user(self):
        return self.unit["User"]

    def start(self, timeout=15):
        """What `systemctl start pgbouncer` does with Debian's unit and the guide's drop-in."""
        assert self.proc is None
        run = os.path.join(self.path("run"), self.unit["RuntimeDirectory"])
        assert run == self.socket_dir, (run, self.socket_dir)
        os.makedirs(run)
        shutil.chown(run, self.user, self.user)
        os.chmod(run, int(self.unit["RuntimeDirectoryMode"], 8))
        argv = self.unit["ExecStart"].replace("/etc/pgbouncer", self.path("etc/pgbouncer")).split()
        assert argv[0] == PGBOUNCER, argv
        self.proc = subprocess.Popen(["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--init-groups", *argv],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.path("stderr.log"), "a"))
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pgbouncer did not start: " + self.log())
            time.sleep(0.02)
        return self

    def stop(self):
        """What `systemctl stop pgbouncer` does: KillSignal to the PID, then the runtime directory goes."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.resume()
                self.proc.send_signal(getattr(signal, self.unit.get("KillSignal", "SIGTERM")))
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        shutil.rmtree(os.path.join(self.path("run"), self.unit["RuntimeDirectory"]), ignore_errors=True)

    def restart(self):
        self.stop()
        return self.start()

    def reload(self):
        """`systemctl reload pgbouncer`: Debian's ExecReload sends SIGHUP."""
        assert "kill -HUP" in self.unit["ExecReload"]
        self.proc.send_signal(signal.SIGHUP)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def store_file(self):
        """Runs the guide's `pooler-store` block; returns the module's store file."""
        script = self.text("pooler-store")
        self._run(self._local(script))
        path = self.path("etc/pam-totp/store.conf")
        assert path in script
        return path

    def log(self):
        text = ""
        for name in ("log/pgbouncer.log", "stderr.log"):
            try:
                with open(self.path(name), errors="replace") as f:
                    text += f.read()[-4000:]
            except OSError:
                pass
        return text

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
