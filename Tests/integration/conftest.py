"""Registers the integration tests' fixture; the helpers live in pamtotp_it.py."""
from pamtotp_it import env  # noqa: F401
