"""A failover of the store's database (docs/SEVERAL-SERVERS.md, "Failover"): a primary and a
streaming standby from tools/pgserver.py, the store file naming both with
target_session_attrs=read-write (the standby first, so that skipping a read-only host is shown).
Logins use the primary; once it is stopped and the standby promoted, logins go on with no change to
the store file, and what was accepted before the failover stays used: the primary waited for the
standby at every commit (synchronous_standby_names), as the guide says to configure it.
"""
import json
import os
import sys

import pytest
from pamtotp_it import KEY, totp, wait_for_fresh_step

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
import pgserver  # noqa: E402


@pytest.fixture
def pair():
    primary = pgserver.PostgreSQL("PAMTOTP_PG_PORT_PRIMARY", 25437).start()
    standby = None
    try:
        standby = pgserver.PostgreSQL("PAMTOTP_PG_PORT_STANDBY", 25438).start(standby_of=primary)
        yield primary, standby
    finally:
        if standby:
            standby.destroy()
        primary.destroy()


def test_logins_go_on_after_a_failover_and_nothing_accepted_is_lost(env, pair, tmp_path):
    primary, standby = pair
    admin = primary.store_file(str(tmp_path / "admin.conf"), role="pamtotp_admin")
    server = primary.store_file(str(tmp_path / "store.conf"), text=(
        f"host=127.0.0.1,127.0.0.1 port={standby.port},{primary.port} dbname=pamtotp user=pamtotp_server "
        f"password={pgserver.PASSWORDS['pamtotp_server']} target_session_attrs=read-write"))
    env.setup("store", "init", "--store", admin, "--grant", "pamtotp_server")
    wait_for_fresh_step()
    data = env.setup("enroll", "--user", "alice", "--key", KEY, "--json", "--store", admin, code=totp(KEY))
    recovery = json.loads(data.stdout)["recovery_codes"]
    env.sensitive.update([KEY, *recovery])
    env.service("test", stack=[f"auth required {{module}} store={server} store_timeout=2 state={{state}} throttle_free=20"])

    code = totp(KEY)
    assert env.login("alice", code).rc == 0
    assert env.login("alice", recovery[0]).rc == 0
    assert standby.psql("SELECT pg_is_in_recovery()").strip() == "t"

    primary.stop()
    standby.promote()
    # The same store file: libpq skips the stopped primary and takes the promoted standby.
    assert env.login("alice", code, code, code).rc != 0, "a code accepted before the failover worked again"
    assert env.login("alice", recovery[0], recovery[0], recovery[0]).rc != 0, "a used recovery code worked again"
    assert env.login("alice", recovery[1]).rc == 0
    # The next step's code (window=1 takes it): a new code is accepted by the promoted standby.
    assert env.login("alice", totp(KEY, step_offset=1)).rc == 0
    assert "replayed-code" in "".join(env.logs) and "store error" not in "".join(env.logs)
