"""Issue 11, item 10: the module frees no memory that still holds the enrollment's secret.

build/libfree_scan.so (Tests/harness/free_scan.c) is preloaded into a real login. It wraps free()
and realloc() and, before each block goes back to the allocator, searches the whole block
(malloc_usable_size) for the secret as raw bytes, for its Base32 text as the file holds it, and for
the SHA-1 chaining values after HMAC's first inner and outer block (from which every code can be
computed, RFC 2104) and the working variables that produce them. Swift's arrays and strings are
malloc'd and freed, so every buffer the module releases is seen. Before the fix the Base32 text was
found in three freed blocks (the 4 KiB read buffer, a String of the whole file, a String of the
secret's value)."""
import base64
import os
import re
import struct

import pytest
from pamtotp_it import FREE_SCAN, KEY, PAM_AUTH_ERR, PAM_SUCCESS, totp, wait_for_fresh_step

NAMES = ["raw secret", "Base32 secret", "HMAC inner state", "HMAC inner working variables",
         "HMAC outer state", "HMAC outer working variables"]


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def sha1_block(block, state=(0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)):
    """One SHA-1 compression (FIPS 180-4, 6.1.2): the working variables a..e and the new state.
    hashlib does not expose the chaining value, so it is computed here."""
    w = list(struct.unpack(">16I", block))
    for t in range(16, 80):
        w.append(rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1))
    a, b, c, d, e = state
    for t in range(80):
        if t < 20:
            f, k = (b & c) | (~b & d), 0x5A827999
        elif t < 40:
            f, k = b ^ c ^ d, 0x6ED9EBA1
        elif t < 60:
            f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
        else:
            f, k = b ^ c ^ d, 0xCA62C1D6
        a, b, c, d, e = (rotl(a, 5) + f + e + k + w[t]) & 0xFFFFFFFF, a, rotl(b, 30), c, d
    return [a, b, c, d, e], [(x + y) & 0xFFFFFFFF for x, y in zip(state, (a, b, c, d, e))]


def needles(key):
    secret = base64.b32decode(key)
    padded = secret + bytes(64 - len(secret))
    found = [secret, key.encode()]
    for pad in (0x36, 0x5C):
        working, state = sha1_block(bytes(byte ^ pad for byte in padded))
        # As the module holds them: 32-bit words in the machine's (little-endian) order.
        found += [struct.pack("<5I", *state), struct.pack("<5I", *working)]
    return found


def scanned_login(env, *responses):
    if not os.path.exists(FREE_SCAN):
        pytest.fail(f"{FREE_SCAN} is missing: run `make harness`")
    login = env.login("alice", *responses, process_env={
        "LD_PRELOAD": FREE_SCAN, "FREE_SCAN_NEEDLES": ",".join(n.hex() for n in needles(KEY))})
    report = {int(i): (int(hits), int(blocks))
              for i, hits, blocks in re.findall(r"^FREE_SCAN needle=(\d+) hits=(\d+) blocks=(\d+)$", login.log, re.M)}
    assert set(report) == set(range(len(NAMES))), login.log[-2000:]
    # The shim really saw the login's frees (a login frees a few hundred blocks).
    assert report[0][1] > 100, report
    return login, {NAMES[i]: hits for i, (hits, _) in report.items()}


def test_a_totp_login_frees_no_secret(env):
    env.enroll()
    wait_for_fresh_step()
    login, hits = scanned_login(env, totp(KEY))
    assert login.rc == PAM_SUCCESS, login.log
    assert hits == dict.fromkeys(NAMES, 0), hits


def test_a_recovery_code_login_frees_no_secret(env):
    codes = env.enroll()["recovery_codes"]
    login, hits = scanned_login(env, codes[0])
    assert login.rc == PAM_SUCCESS, login.log
    assert hits == dict.fromkeys(NAMES, 0), hits


def test_an_enrollment_refused_after_its_secret_line_frees_no_secret(env):
    env.enroll()
    # The secret line parses, then a later line is invalid: the decoded secret must be zeroed too.
    path = env.enrollment_path("alice")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.replace("\nend\n", "\nwindow 99\nend\n"))
    login, hits = scanned_login(env, "123456")
    assert login.rc == PAM_AUTH_ERR and login.logged(r"refused .*reason=malformed-enrollment"), login.log
    assert hits == dict.fromkeys(NAMES, 0), hits
