"""Issue 11, items 6 and 7: the directories on the way to the state and to central enrollments.

Every directory from / down is checked (owned by root, not writable by group or others, unless it is
a sticky directory like /tmp above the last one) and opened without following links; a root-owned
central enrollment must name its account. Each attack below worked before: a used code accepted
again, root's files written into a user's directory, one user's enrollment used for another.
The fixture's own directories are root's 0755 inside the sticky /tmp, which must keep working."""
import os
import subprocess

from pamtotp_it import KEY, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, USERS, totp, wait_for_fresh_step

OTHER_KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def as_user(user, *argv):
    """Runs argv as `user`, the attacker of these tests."""
    uid = USERS[user]
    subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv], check=True)


def use_state(env, path):
    env.state = path
    env.service("test")


def root_owned_entries(top):
    """Every file and directory under `top` that root owns."""
    found = []
    for directory, names, files in os.walk(top):
        for name in names + files:
            path = os.path.join(directory, name)
            if os.lstat(path).st_uid == 0:
                found.append(path)
    return found


# --- the state directory (item 6) -----------------------------------------------------------------

def test_a_state_directory_whose_parent_others_can_write_is_refused_and_nothing_is_written(env):
    env.enroll()
    shared = os.path.join(env.root, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    use_state(env, os.path.join(shared, "state"))
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.prompts == [], login.log
    assert login.logged(rf"state error user=alice .*{shared}: mode 777 lets group or others write and has no sticky bit"), login.log
    assert os.listdir(shared) == [], "nothing may be created in a directory others can write"
    # Also when the state directory is already there, root's 0700.
    os.mkdir(env.state, 0o700)
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"state error user=alice .*no sticky bit"), login.log
    assert os.listdir(env.state) == []


def test_a_user_who_can_rename_the_state_directory_cannot_replay_a_code(env):
    """The review's attack: alice owns the state directory's parent, renames the state away and uses
    the same code again; the module used to make a fresh, empty state directory and accept it."""
    env.enroll()
    mine = os.path.join(env.root, "alice-owned")
    os.mkdir(mine, 0o755)
    os.chown(mine, USERS["alice"], USERS["alice"])
    use_state(env, os.path.join(mine, "state"))
    wait_for_fresh_step()
    code = totp(KEY)
    first = env.login("alice", code)
    assert first.rc == PAM_AUTHINFO_UNAVAIL and first.logged(rf"state error user=alice .*{mine}: owned by uid 2001, expected root")
    if os.path.exists(env.state):
        as_user("alice", "mv", env.state, env.state + ".old")
    again = env.login("alice", code)
    assert again.rc == PAM_AUTHINFO_UNAVAIL, again.log
    assert root_owned_entries(mine) == [], "root wrote into alice's directory"


def test_swapping_the_state_directory_during_logins_leaves_no_root_files_in_the_users_directory(env):
    """alice swaps her own directory and the state directory back and forth while logins run: no
    login may be accepted, and root must never write a lock or state file into her directory."""
    env.enroll()
    parent = os.path.join(env.root, "alice-owned")
    os.mkdir(parent, 0o755)
    os.chown(parent, USERS["alice"], USERS["alice"])
    state = os.path.join(parent, "state")
    os.mkdir(state, 0o700)
    decoy = os.path.join(parent, "decoy")
    os.mkdir(decoy, 0o700)
    os.chown(decoy, USERS["alice"], USERS["alice"])
    use_state(env, state)
    swapper = subprocess.Popen(
        ["setpriv", f"--reuid={USERS['alice']}", f"--regid={USERS['alice']}", "--clear-groups", "python3", "-c",
         "import os, sys\nstate, decoy, spare = sys.argv[1:]\nwhile True:\n"
         "    try:\n        os.rename(state, spare); os.rename(decoy, state)\n"
         "        os.rename(state, decoy); os.rename(spare, state)\n    except OSError:\n        pass\n",
         state, decoy, os.path.join(parent, "spare")])
    try:
        results = [env.login("alice", "000000") for _ in range(40)]
    finally:
        swapper.kill()
        swapper.wait()
    assert all(r.rc == PAM_AUTHINFO_UNAVAIL for r in results), [r.log for r in results if r.rc != PAM_AUTHINFO_UNAVAIL][:1]
    for directory in (decoy, state, os.path.join(parent, "spare")):
        if os.path.isdir(directory) and os.lstat(directory).st_uid != 0:
            assert root_owned_entries(directory) == [], "root wrote into alice's directory"


def test_a_symbolic_link_in_the_state_path_is_refused(env):
    env.enroll()
    real = os.path.join(env.root, "real")
    os.mkdir(real, 0o755)
    os.mkdir(os.path.join(real, "state"), 0o700)
    link = os.path.join(env.root, "link")
    os.symlink(real, link)
    use_state(env, os.path.join(link, "state"))
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(rf"state error user=alice .*{link}: is a symbolic link"), login.log
    assert os.listdir(os.path.join(real, "state")) == []
    # The state directory itself as a link, too.
    os.symlink(os.path.join(real, "state"), os.path.join(env.root, "statelink"))
    use_state(env, os.path.join(env.root, "statelink"))
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"state error user=alice .*statelink: is a symbolic link"), login.log


def test_a_sticky_world_writable_parent_like_tmp_is_fine(env):
    env.enroll()
    sticky = os.path.join(env.root, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    use_state(env, os.path.join(sticky, "state"))
    wait_for_fresh_step()
    code = totp(KEY)
    assert env.login("alice", code).rc == PAM_SUCCESS
    st = os.stat(env.state)
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o700)
    assert env.login("alice", code).logged(r"reason=replayed-code"), "the state works: the code is not accepted twice"
    # But the state directory itself may not be sticky and world-writable.
    os.chmod(env.state, 0o1777)
    login = env.login("alice", totp(KEY, step_offset=1))
    assert login.rc == PAM_AUTHINFO_UNAVAIL and login.logged(r"state error user=alice .*mode 1777 lets group or others write")


# --- central enrollments (item 7) -----------------------------------------------------------------

def central(env, *users, keys=None):
    """Enrolls `users` into env.central/%u through the tool and points the module there."""
    template = env.central + "/%u"
    for user in users:
        env.enroll(user, key=(keys or {}).get(user, KEY), extra=("--secret", template))
    env.service("test", f"secret={template}")
    return template


def test_the_tool_ties_every_enrollment_it_writes_to_its_account(env):
    env.enroll("alice")
    assert "\naccount alice\n" in open(env.enrollment_path("alice")).read()
    central(env, "carol")
    assert "\naccount carol\n" in open(os.path.join(env.central, "carol")).read()
    ga = os.path.join(env.root, "ga-bob")
    with open(ga, "w") as f:
        f.write(f"{KEY}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n")
    os.chmod(ga, 0o600)
    env.setup("import-google-authenticator", "--user", "bob", "--secret", env.central + "/%u", ga)
    assert "\naccount bob\n" in open(os.path.join(env.central, "bob")).read()
    wait_for_fresh_step()
    assert env.login("bob", totp(KEY)).rc == PAM_SUCCESS


def test_a_root_owned_enrollment_renamed_to_another_user_is_refused(env):
    """The review's attack: through a central directory she could write, alice put her root-owned
    enrollment under bob's name and logged in as bob with her own code."""
    template = central(env, "alice", "bob", keys={"bob": OTHER_KEY})
    alice_file = os.path.join(env.central, "alice")
    bob_file = os.path.join(env.central, "bob")
    os.rename(bob_file, bob_file + ".away")
    subprocess.run(["cp", "-p", alice_file, bob_file], check=True)
    wait_for_fresh_step()
    login = env.login("bob", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.prompts == [], login.log
    assert login.logged(rf"refused user=bob .*reason=enrollment-account error=\"the enrollment is for account 'alice'\" file={bob_file}"), login.log
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS
    # The tool refuses it the same way.
    proc = env.setup("status", "--user", "bob", "--secret", template, check=False)
    assert proc.returncode != 0 and "the enrollment is for account 'alice'" in proc.stderr


def test_a_root_owned_central_enrollment_without_an_account_line_is_refused_with_advice(env):
    """Files written before the `account` line existed: refused until re-enrolled (or the line added)."""
    template = central(env, "carol")
    path = os.path.join(env.central, "carol")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.replace("account carol\n", ""))
    wait_for_fresh_step()
    login = env.login("carol", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.prompts == [], login.log
    assert login.logged(r"refused user=carol .*reason=enrollment-account error=\"owned by root with no 'account' line to tie "
                        r"it to its user; re-enroll, or add 'account carol' \(pam_totp\(8\)\)\""), login.log
    proc = env.setup("status", "--user", "carol", "--secret", template, check=False)
    assert proc.returncode != 0 and "add the line 'account carol'" in proc.stderr, proc.stderr
    assert "pam-totp-setup enroll --user carol --force" in proc.stderr
    # Either remedy works: re-enrolling as the message says, or adding the line.
    env.enroll("carol", extra=("--secret", template, "--force"))
    assert env.login("carol", totp(KEY, step_offset=1)).rc == PAM_SUCCESS
    with open(path, "w") as f:
        f.write(text)
    assert "carol is enrolled" in env.setup("status", "--user", "carol", "--secret", template).stdout


def test_an_account_line_naming_someone_else_is_refused_in_a_home_too(env):
    env.enroll("alice")
    path = env.enrollment_path("alice")
    text = open(path).read().replace("account alice\n", "account bob\n")
    with open(path, "w") as f:
        f.write(text)
    login = env.login("alice", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.logged(r"refused user=alice .*reason=enrollment-account .*account 'bob'"), login.log


def test_a_central_directory_others_can_write_is_refused(env):
    central(env, "carol")
    parent = os.path.dirname(env.central)
    for directory, mode, message in [
        (env.central, 0o777, "mode 777 lets group or others write"),
        (env.central, 0o770, "mode 770 lets group or others write"),
        (env.central, 0o1777, "mode 1777 lets group or others write"),
    ]:
        os.chmod(directory, mode)
        login = env.login("carol", totp(KEY))
        assert login.rc == PAM_AUTH_ERR and login.prompts == [], (oct(mode), login.log)
        assert login.logged(rf"refused user=carol .*reason=insecure-or-unreadable-enrollment .*{directory}: {message}"), login.log
    os.chmod(env.central, 0o700)
    # A directory above it, writable by others without the sticky bit, too.
    outer = os.path.join(env.root, "outer")
    os.mkdir(outer, 0o755)
    os.rename(env.central, os.path.join(outer, "central"))
    os.chmod(outer, 0o777)
    env.service("test", f"secret={outer}/central/%u")
    login = env.login("carol", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.logged(rf"{outer}: mode 777 lets group or others write and has no sticky bit"), login.log
    # The tool refuses to write there.
    proc = env.setup("enroll", "--user", "alice", "--secret", f"{outer}/central/%u", "--key", KEY, "--no-verify", check=False)
    assert proc.returncode != 0 and "no sticky bit" in proc.stderr and not os.path.exists(f"{outer}/central/alice")
    os.chmod(outer, 0o1777)
    wait_for_fresh_step()
    assert env.login("carol", totp(KEY)).rc == PAM_SUCCESS, "a sticky directory above is fine"


def test_a_symbolic_link_in_the_central_path_is_refused(env):
    """A template without %h is read as root: a directory link a user planted must not be followed
    to a root-only file."""
    central(env, "carol")
    hidden = os.path.join(env.root, "root-only")
    os.rename(env.central, hidden)
    os.chmod(hidden, 0o700)
    planted = os.path.join(env.root, "bobs")
    os.mkdir(planted, 0o755)
    os.chown(planted, USERS["bob"], USERS["bob"])
    as_user("bob", "ln", "-s", hidden, os.path.join(planted, "central"))
    env.service("test", f"secret={planted}/central/%u")
    login = env.login("carol", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.logged(r"reason=insecure-or-unreadable-enrollment"), login.log
    # Even in a directory only root can write, a link is not followed.
    os.symlink(hidden, env.central)
    env.service("test", f"secret={env.central}/%u")
    login = env.login("carol", totp(KEY))
    assert login.rc == PAM_AUTH_ERR and login.logged(rf"{env.central}: is a symbolic link; refusing to follow it"), login.log


def test_a_home_behind_a_symbolic_link_still_works(env):
    """Home templates are read as the user and may follow links in the home's path (/home -> /data/home)."""
    env.enroll("alice")
    data = os.path.join(env.root, "data")
    os.mkdir(data, 0o755)
    os.rename(os.path.join(env.root, "home"), os.path.join(data, "home"))
    os.symlink(os.path.join(data, "home"), os.path.join(env.root, "home"))
    wait_for_fresh_step()
    assert env.login("alice", totp(KEY)).rc == PAM_SUCCESS
