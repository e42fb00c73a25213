"""The Quick Start and pam_totp(8)'s EXAMPLES send admins to the tested recipes and never to a stack
that locks password SSH out on stock Debian (issue 12, item 1). No root needed."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = open(os.path.join(ROOT, "README.md")).read()
MAN = open(os.path.join(ROOT, "man", "pam_totp.8")).read()
RECIPES = ["sshd-key-code", "sshd-password-code", "ocserv", "portal", "sudo", "login"]


def auth_lines(text):
    return [" ".join(line.split()) for line in text.splitlines() if line.split()[:1] == ["auth"]]


def test_quick_start_shows_no_stack_and_points_at_the_recipes():
    quick_start = README[:README.index("\n## ")]
    for block in re.findall(r"```[a-z]*\n(.*?)```", quick_start, re.S):
        stack = re.search(r"^\s*auth\b.*pam_totp\.so|/etc/pam\.d|sshd_config", block, re.M)
        assert not stack, f"the Quick Start changes a PAM stack or sshd outside a tested recipe:\n{block}"
    assert "(#deployment-guides)" in quick_start and "second terminal" in quick_start


def test_every_recipe_is_marked_and_every_sshd_stack_in_the_guides_is_a_recipe():
    guides = README[README.index("## Deployment guides"):]
    guides = guides[:guides.index("\n## ", 3)]
    for name in RECIPES:
        assert guides.count(f"<!-- recipe: {name} -->\n```sh\n") == 1, name
    for block in re.split(r"<!-- recipe: [\w-]+ -->\n```sh\n.*?```", guides, flags=re.S):
        for code in re.findall(r"```[a-z]*\n(.*?)```", block, re.S):
            assert "/etc/pam.d/" not in code and "sshd_config" not in code, f"an untested block:\n{code}"


def test_man_examples_show_only_tested_stacks_and_the_sshd_drop_ins():
    examples = MAN[MAN.index(".SH EXAMPLES"):MAN.index(".SH SEE ALSO")]
    stacks = {name: auth_lines(open(os.path.join(ROOT, "pam.d-examples", name)).read())
              for name in os.listdir(os.path.join(ROOT, "pam.d-examples"))}
    for block in re.findall(r"^\.nf\n(.*?)^\.fi", examples, re.S | re.M):
        block = block.replace("\\-", "-")
        assert "@include common-auth" not in block
        lines = auth_lines(block)
        if len(lines) > 1:
            assert lines in stacks.values(), f"not the auth lines of a pam.d example: {lines}"
    for name in os.listdir(os.path.join(ROOT, "sshd_config.d")):
        assert name.replace("-", "\\-") in examples, f"EXAMPLES does not name {name}"


def test_each_recipe_checks_the_configuration_before_the_reload_and_ends_with_a_login():
    for name in RECIPES:
        block = re.search(rf"<!-- recipe: {name} -->\n```sh\n(.*?)```", README, re.S).group(1)
        lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
        assert block.rstrip().splitlines()[-1].startswith("# check:"), f"{name} does not end with a check"
        for test, reload in (("sshd -t", "systemctl reload ssh"), ("ocserv -t -c /etc/ocserv/ocserv.conf", "systemctl restart ocserv"),
                             ("nginx -t", "systemctl reload nginx")):
            if reload in lines:
                assert test in lines[:lines.index(reload)], f"{name}: no `{test}` before `{reload}`"
