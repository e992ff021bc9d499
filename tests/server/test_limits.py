"""Size limits over real HTTP (issue 10, items 8 and 9): request bodies, run inputs, state values,
large fields in lists, and schedule intervals.

Small limits are configured so the tests send kilobytes, not megabytes: what matters is what
the caller gets back and that nothing was stored.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from tests.server.conftest import Server, add_connection, assert_error_body


async def _call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as response:
        return response.status, (await response.json() if response.status != 204 else None)


@pytest.mark.parametrize("every", ["99999999999999d", "9" * 5_000 + "s", "32d", "29s"])
async def test_a_schedule_interval_outside_30s_to_31d_is_422_and_changes_nothing(server: Server, every: str) -> None:
    await add_connection(server)
    client = server.client
    status, body = await _call(client, "PUT", "/syncs/acme/contacts/c1/schedule", {"every": every})
    assert status == 422
    error = assert_error_body(body, "INVALID_SCHEDULE")
    assert "30s" in error["message"] and "31d" in error["message"]
    status, sync = await _call(client, "GET", "/syncs/acme/contacts/c1")
    assert (sync["schedule"], sync["overridden"]) == ("every 1h", False)
