"""Debian's chromium for the dashboard's tests, or a skip that says why (a failure in CI).

``make test`` installs the ``chromium`` package when it is missing; ``playwright install``
cannot download browsers here, so Playwright drives the system's. With
``SPLICE_REQUIRE_BROWSER=1`` (``.ci/run`` sets it) a missing browser fails the tests instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("SPLICE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def chromium_or_skip() -> str:
    """The path of chromium; skips (or, with SPLICE_REQUIRE_BROWSER=1, fails) the test without one."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = f"no browser for the dashboard's tests: {CHROMIUM} is missing"
    if os.environ.get("SPLICE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (SPLICE_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message + " (apt-get install chromium, or run `make test`, which does)")
