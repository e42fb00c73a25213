"""Issue 11, item 6: the directories on the way to the state directory.

Every directory from / down is checked (owned by root, not writable by group or others, unless it is
a sticky directory like /tmp above the last one) and opened without following links. Each attack
below worked before: a used code accepted again, root's files written into a user's directory.
The fixture's own directories are root's 0755 inside the sticky /tmp, which must keep working."""
import os
import subprocess

from pamtotp_it import KEY, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, USERS, totp, wait_for_fresh_step


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
