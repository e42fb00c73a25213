"""Registers the end-to-end tests' fixture; the helpers live in e2e_support.py."""
from e2e_support import bed  # noqa: F401
