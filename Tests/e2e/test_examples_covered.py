"""Every file in pam.d-examples/ is run, as written, by some end-to-end or integration test."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_example_is_exercised():
    sources = ""
    for directory in ("Tests/e2e", "Tests/integration"):
        for name in os.listdir(os.path.join(ROOT, directory)):
            if name.endswith(".py"):
                sources += open(os.path.join(ROOT, directory, name)).read()
    used = set(re.findall(r'install_example\("([^"]+)"', sources)) | set(re.findall(r'"pam\.d-examples", "([^"]+)"', sources))
    examples = set(os.listdir(os.path.join(ROOT, "pam.d-examples")))
    assert examples - used == set(), "examples no test runs"
