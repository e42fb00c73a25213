"""docs/SEVERAL-SERVERS.md, run as written against a throwaway PostgreSQL (tools/pgserver.py).

Each ```sh or ``` block after `<!-- guide: NAME -->` is taken from the guide and run or installed
as is, except for what a test on one machine cannot do as a site would, each substitution listed in
SUBSTITUTIONS below: the database hosts become localhost on this test's ports (the first one dead,
so the failover to the second host is exercised), the site's networks 127.0.0.1, the paths under
/etc this test's directory, and the CA and certificate the test's own. `apt-get install postgresql`
is `make deps`'s, and `su postgres -c psql` reaches the throwaway server through PGHOST/PGPORT.
Then a login through the module with the guide's site configuration must succeed, and a replay of
its code, and a connection without TLS, must fail.
"""
import os
import re
import socket
import subprocess
import sys

import pytest
from pamtotp_it import KEY, totp, wait_for_fresh_step

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
import pgserver  # noqa: E402

GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs",
                     "SEVERAL-SERVERS.md")


def block(name):
    found = re.findall(rf"<!-- guide: {re.escape(name)} -->\n```(?:sh)?\n(.*?)```", open(GUIDE).read(), re.S)
    assert len(found) == 1, f"docs/SEVERAL-SERVERS.md has {len(found)} blocks marked <!-- guide: {name} -->"
    return found[0]


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def guide(env, tmp_path):
    pg = pgserver.PostgreSQL("PAMTOTP_PG_PORT_GUIDE", 25436, tls=True, roles=False).start()
    etc = str(tmp_path / "etc")
    os.makedirs(etc)
    substitutions = [
        ("host=db1.example.org,db2.example.org", f"host=localhost,localhost port={dead_port()},{pg.port}"),
        ("192.0.2.0/24", "127.0.0.1/32"),
        ("192.0.2.10/32", "127.0.0.1/32"),
        ("listen_addresses = '*'", "listen_addresses = '127.0.0.1'"),
        ("/etc/postgresql/15/main/db1.crt", os.path.join(pg.dir, "server.crt")),
        ("/etc/postgresql/15/main/db1.key", os.path.join(pg.dir, "server.key")),
        ("/etc/pam-totp/db-ca.crt", pg.ca),
        ("/etc/pam-totp.conf", env.config),
        ("/etc/pam-totp", etc + "/pam-totp"),
    ]

    def text(name):
        result = block(name)
        for old, new in substitutions:
            result = result.replace(old, new)
        return result

    def run(script):
        environ = dict(env.environ, PATH=os.path.dirname(pgserver.testbed.SETUP) + ":" + os.environ["PATH"],
                       PGHOST=pg.dir, PGPORT=str(pg.port))
        environ.pop("LD_PRELOAD")
        proc = subprocess.run(["bash", "-e", "-c", script], env=environ, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    yield pg, text, run, etc
    pg.destroy()


def test_the_guide_as_written_gives_servers_a_shared_store(env, guide):
    pg, text, run, etc = guide
    database = text("database").splitlines()
    assert database[0] == "apt-get install postgresql"  # make deps installs it
    run("\n".join(database[1:]) + "\n")
    pg.set_hba(text("pg_hba").strip().splitlines())
    with open(os.path.join(pg.data, "postgresql.conf"), "a") as conf:
        conf.write(text("postgresql.conf"))
    pg.restart()
    assert "init --store" in text("admin")
    out = run(text("admin"))
    assert "schema, version 1" in out
    assert "root is not enrolled" in run(text("server"))
    admin, server = etc + "/pam-totp/store-admin.conf", etc + "/pam-totp/store.conf"
    for path in (admin, server):
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    # "3. Enrollments, then the switch": a user enrolled with the admin file, then store= for the module.
    wait_for_fresh_step()
    env.setup("enroll", "--user", "alice", "--key", KEY, "--json", "--store", admin, code=totp(KEY))
    run(text("switch"))
    assert open(env.config).read().strip().endswith("store=" + server)
    env.service("test")
    code = totp(KEY)
    login = env.login("alice", code)
    assert login.rc == 0, login.err
    assert env.login("alice", code, code, code).rc != 0
    # The servers' role has only what logins need, and only over TLS.
    assert pg.psql("SELECT has_table_privilege('pamtotp_server', 'pam_totp.enrollments', 'INSERT')", "pamtotp").strip() == "f"
    plain = subprocess.run(["psql", f"host=127.0.0.1 port={pg.port} dbname=pamtotp user=pamtotp_server "
                            "password=server-password-change-me sslmode=disable", "-c", "SELECT 1"],
                           capture_output=True, text=True)
    assert plain.returncode != 0 and "no pg_hba.conf entry" in plain.stderr
