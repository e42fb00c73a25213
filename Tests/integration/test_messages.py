"""What users are told, and what the log says, through a real libpam stack (issue 12, items 1, 7, 13
and 14): errors reach the user under PAM_SILENT, the password typed at the code prompt is refused
unchecked, a replayed code and an empty answer are named, and every message stays the same for
enrolled, unenrolled and unknown users."""
import datetime
import re

from pamtotp_it import KEY, PAM_AUTH_ERR, PAM_SUCCESS, totp, wait_for_fresh_step

WRONG = "The verification code does not match."
NO_CODE = "No code was given."
REPLAYED = "That code was already used. Wait for the next code from the app."
AS_PASSWORD = "The code prompt was answered with the password. Enter the code from the app."
PASSWORD = "Corr3ct-horse-battery"


def conversation(login):
    return [line for line in login.out.splitlines() if line.split(":")[0] in ("PROMPT_OFF", "PROMPT_ON", "ERROR", "INFO")]


def password_first(env, password_ok=True, options=""):
    """A stack like Debian's common-auth before pam_totp: pam_exec (expose_authtok) asks "Password: "
    and stores the answer as PAM_AUTHTOK, as pam_unix does; /bin/false stands for a wrong password."""
    check = "/bin/true" if password_ok else "/bin/false"
    env.service("test", stack=[f"auth required pam_exec.so quiet expose_authtok {check}",
                               "auth required {module} state={state} " + options])


def test_errors_reach_the_user_under_pam_silent_and_information_does_not(env):
    env.enroll()
    wait_for_fresh_step()
    login = env.login("alice", "000000", totp(KEY), silent=True)
    assert login.rc == PAM_SUCCESS and login.errors == [WRONG], login.out
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    env.service("test", f"nullok_until={tomorrow}")
    assert env.login("bob", silent=True).infos == []
    assert env.login("bob").infos


def test_the_password_at_the_code_prompt_is_refused_unchecked_and_not_counted(env):
    env.enroll()
    password_first(env, options="max_failures=2 throttle_free=1")
    seen = {}
    for user in ("alice", "bob", "nosuchuser"):
        runs = [env.login(user, PASSWORD, PASSWORD, rhost="203.0.113.5") for _ in range(4)]
        assert all(run.rc == PAM_AUTH_ERR for run in runs)
        seen[user] = [conversation(run) for run in runs]
        assert seen[user][0] == ["PROMPT_OFF: Password: ", "PROMPT_OFF: Verification code: ", "ERROR: " + AS_PASSWORD]
    assert seen["alice"] == seen["bob"] == seen["nosuchuser"]
    log = "".join(env.logs)
    assert re.search(r"refused user=alice rhost=203\.0\.113\.5 reason=password-as-code error=\"the application answered "
                     r"the code prompt with the password; .*KbdInteractiveAuthentication yes", log), log
    assert "failure user=" not in log and PASSWORD not in log
    # Nothing was counted: no throttling, no lock, and the right code still works from that source.
    wait_for_fresh_step()
    ok = env.login("alice", PASSWORD, totp(KEY), rhost="203.0.113.5")
    assert ok.rc == PAM_SUCCESS, ok.out + ok.log


def test_a_password_that_is_the_current_code_is_never_accepted(env):
    env.enroll()
    wait_for_fresh_step()
    code = totp(KEY)
    password_first(env)
    login = env.login("alice", code, code)
    assert login.rc == PAM_AUTH_ERR and login.logged(r"reason=password-as-code")
    assert "last-step" not in (env.state_text("alice") or "")


def test_an_empty_answer_is_no_code_and_still_a_failure(env):
    env.enroll()
    env.service("test", "retries=1")
    seen = {}
    for user in ("alice", "bob", "nosuchuser"):
        login = env.login(user, "", rhost="203.0.113.6")
        assert login.rc == PAM_AUTH_ERR and login.errors == [NO_CODE], login.out
        seen[user] = conversation(login)
    assert seen["alice"] == seen["bob"] == seen["nosuchuser"]
    assert re.search(r"failure user=alice rhost=203\.0\.113\.6 attempt=1/1 method=none reason=malformed-input", "".join(env.logs))


def test_wrong_password_right_code_then_the_retry_is_told_the_code_was_used(env):
    """Item 14: the module cannot see that the password was wrong, so it accepts and uses up the
    code; the log says only the code was accepted, and the user's retry is told to wait for the next
    code, not that it does not match (which sends people to their phone's clock)."""
    env.enroll()
    wait_for_fresh_step()
    code = totp(KEY)
    password_first(env, password_ok=False)
    first = env.login("alice", "wrong-password", code)
    assert first.rc != PAM_SUCCESS and first.errors == []
    assert first.logged(r"success user=alice rhost=- method=totp scope=code"), first.log
    password_first(env)
    retry = env.login("alice", PASSWORD, code, "000000", "000000")
    assert retry.rc == PAM_AUTH_ERR and retry.errors[0] == REPLAYED, retry.out
    assert retry.logged(r"failure user=alice rhost=- attempt=1/3 method=totp reason=replayed-code")
    # A decoy never says so: a code that is someone's is not the decoy's.
    assert env.login("bob", PASSWORD, code, "x", "x").errors[0] == WRONG


def test_nullok_until_points_to_the_sites_instructions(env):
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with open(env.config, "w") as f:
        f.write("setup_hint=Enroll at https://vpn.example.org/2fa before then.\n")
    env.service("test", stack=[f"auth required {{module}} state={{state}} nullok_until={tomorrow}", "auth required pam_permit.so"])
    login = env.login("bob")
    assert login.infos == [f"Two-factor authentication will be required from {tomorrow}. Enroll at https://vpn.example.org/2fa before then."]
    with open(env.config, "w") as f:
        f.write("")
    assert "pam-totp-setup" not in env.login("bob").infos[0]


def test_message_prompt_puts_the_messages_into_the_prompts(env):
    env.enroll()
    env.service("test", "retries=2 message_prompt throttle_free=2")
    seen = {}
    for user in ("alice", "bob", "nosuchuser"):
        login = env.login(user, "000000", "000000", "", rhost="203.0.113.7")
        assert login.rc == PAM_AUTH_ERR
        seen[user] = conversation(login)
    # ocserv shows only each prompt's text: the messages go into the next prompt, and the last one
    # into a prompt of its own, whose answer is ignored.
    assert seen["alice"] == ["PROMPT_OFF: Verification code: ", f"PROMPT_OFF: {WRONG} Verification code: ",
                             f"PROMPT_OFF: {WRONG} Press Enter to continue."]
    assert seen["alice"] == seen["bob"] == seen["nosuchuser"]
    throttled = env.login("alice", "", rhost="203.0.113.7")
    assert throttled.rc == PAM_AUTH_ERR and len(throttled.prompts) == 1 and "Try again in" in throttled.prompts[0]
    assert throttled.prompts[0].endswith("seconds. Press Enter to continue.")
    # Without the option the conversation ends with the message, as before.
    env.service("test", "retries=2")
    assert conversation(env.login("alice", "000000", "000000", rhost="203.0.113.8"))[-1] == "ERROR: " + WRONG
