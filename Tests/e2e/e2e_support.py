"""Fixtures for the end-to-end tests: tools/testbed.py's real servers and clients."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
import testbed  # noqa: E402

KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture
def bed():
    try:
        testbed.check_prerequisites()
    except testbed.Missing as missing:
        pytest.fail(str(missing))
    world = testbed.Bed()
    yield world
    world.close()


def port(variable, default):
    try:
        return testbed.free_port(variable, default)
    except testbed.Missing as missing:
        pytest.fail(str(missing))
