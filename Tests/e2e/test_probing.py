"""Issue 11, item 3, through a real sshd and the real ssh client: without nullok, a client cannot tell
an enrolled user from an unenrolled one or from a name that is no account. The same prompts come
after the same wrong answers, and the same throttling follows."""
import re
from types import SimpleNamespace

from e2e_support import KEY, port
from testbed import Sshd, oathtool, ssh, wait_for_step

SSH_PORT = ("PAMTOTP_SSH_PORT", 22022)


def test_enrolled_unenrolled_and_unknown_users_look_alike_to_a_client(bed):
    enrolled, unenrolled = bed.user("pamtotp-e2e"), bed.user("pamtotp-e2f")
    unknown = SimpleNamespace(name="pamtotp-e2x", password="")
    bed.enroll(enrolled, KEY)
    bed.install_example("sshd-password-code", "sshd")
    names = [enrolled.name, unenrolled.name, unknown.name]
    server = bed.start(Sshd(bed, port(*SSH_PORT), "keyboard-interactive", allow=names))
    wait_for_step()
    wrong = oathtool(KEY, offset=10)
    seen = {}
    for user in (enrolled, unenrolled, unknown):
        connections = []
        # An attacker without the password: three wrong codes, then another connection.
        for _ in range(2):
            rc, _, prompts = ssh(bed, server.port, user, password=["not-the-password"], code=[wrong] * 3)
            connections.append((rc != 0, [re.sub(r"^\(.*?\) ", "", p) for p in prompts]))
        seen[user.name] = connections
    first, second = seen[enrolled.name]
    assert first[1][:2] == ["Password: ", "Verification code: "], seen
    assert first[1].count("The verification code does not match.\nVerification code: ") == 2, seen
    # The source now waits: no code prompt on the next connection, whoever the name is.
    assert not any("Verification code" in p for p in second[1]), seen
    assert seen[enrolled.name] == seen[unenrolled.name] == seen[unknown.name], seen
    log = bed.log()
    for name in names:
        assert re.search(rf"failure user={name} rhost=127\.0\.0\.1 reason=throttled", log), (name, log)
