#!/usr/bin/env python3
"""make hot-functions: writes tools/link/hot-functions.txt, the functions pam_totp.so runs during
ordinary logins (sorted by name, so that the file changes only when the set does). The release link (Makefile) hands the list to lld
(--symbol-ordering-file), which places those functions together: a login then touches a few hundred
kilobytes of the module's code instead of pages spread over its 4 MB, which saved about 1.1 MB of
resident memory per cold login (docs/DESIGN.md, "Cold logins").

The logins run under valgrind's callgrind against the release build with its symbols (not the
stripped build/pam_totp.so): a first login, a second login that reads the state it left, a replayed
code and a wrong code, through pamtester, in the benchmark's world (bench.py). A stale list is never
wrong, only less effective; `make bench` shows the effect.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BENCH_USERS", "1")
os.environ.setdefault("BENCH_ROUNDS", "1")
import bench  # noqa: E402

OUTPUT = os.path.join(bench.ROOT, "tools", "link", "hot-functions.txt")
UNSTRIPPED = os.path.join(bench.ROOT, ".build-release", "release", "libpam_totp.so")


def functions(profile, module):
    """The functions of `module` that a callgrind profile names."""
    objects, names, found, current = {}, {}, [], None
    for line in open(profile):
        match = re.match(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not match:
            continue
        kind, ident, name = match.groups()
        table = objects if kind.endswith("ob") else names
        if name:
            table[ident] = name
        if kind == "ob":
            current = objects.get(ident)
        elif kind == "fn" and current == module and not names[ident].startswith("0x"):
            # (Code with no symbol, such as PLT stubs, is named by its address: nothing to order.)
            found.append(names[ident])
    return found


def main():
    if os.environ.get("PAMTOTP_BENCH_INSIDE") != "1":
        os.environ["PAMTOTP_BENCH_INSIDE"] = "1"
        os.execvp("unshare", ["unshare", "-m", sys.executable, "-u", *sys.argv])
    work = tempfile.mkdtemp(prefix="pamtotp-hot-")
    # valgrind needs the symbol table but cannot read Swift's DWARF 5: keep symbols, drop debug info.
    module = os.path.join(work, "pam_totp.so")
    subprocess.run(["strip", "--strip-debug", "-o", module, UNSTRIPPED], check=True)
    bench.MODULE = module
    world = bench.World()
    subprocess.run(["mount", "--bind", world.pamd, "/etc/pam.d"], check=True)
    bench.wait_for_step(20)
    user = world.take("totp", 1)[0]
    wrong = str((int(bench.totp(world.secret[user])) + 1) % 1000000).zfill(6)
    attempts = [bench.totp(world.secret[user], -1), bench.totp(world.secret[user]), bench.totp(world.secret[user]), wrong]
    seen = set()
    for index, code in enumerate(attempts):
        profile = os.path.join(work, f"callgrind.{index}")
        subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}",
                        "pamtester", "bench-totp", user, "authenticate"], input=code + "\n", capture_output=True,
                       text=True, env=world.env, check=False)
        seen.update(functions(profile, module))
    if len(seen) < 100:
        raise SystemExit(f"hot-functions: only {len(seen)} functions seen; is valgrind working?")
    with open(OUTPUT, "w") as f:
        f.write("\n".join(sorted(seen)) + "\n")
    print(f"hot-functions: {len(seen)} functions written to {os.path.relpath(OUTPUT, bench.ROOT)}")


if __name__ == "__main__":
    main()
