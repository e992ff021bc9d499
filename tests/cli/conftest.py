"""Fixtures of the CLI tests; the helpers are in ``_cli``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from splice.demo.server import DemoAPI


@pytest.fixture(scope="module")
def shared_api() -> Iterator[DemoAPI]:
    """One demo API for a whole module, on its own thread (module-scoped projects point at it)."""
    api = DemoAPI(contacts=120)
    api.start_in_thread()
    yield api
    api.stop_thread()
