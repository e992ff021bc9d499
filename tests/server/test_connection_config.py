"""Over REST and the Python API: a config key the integration does not declare is refused."""

from __future__ import annotations

import pytest
from tests.server.conftest import StartServer, assert_error_body

from splice.errors import InvalidInput

TYPED = """
from pydantic import BaseModel
from splice import Integration, auth


class AcmeConfig(BaseModel):
    api_url: str
    page_size: int = 25


acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey(), config=AcmeConfig)


@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""


async def test_an_unknown_config_key_is_refused_on_create_and_on_patch(start_server: StartServer) -> None:
    server = await start_server(TYPED)
    body = {"integration": "acme", "id": "c1", "credentials": {"api_key": "demo-key"}}

    async with server.client.post("/connections", json={**body, "config": {"api_ulr": "x"}}) as response:
        assert response.status == 422
        error = assert_error_body(await response.json(), "INVALID_CONFIG")
    assert "'api_ulr'" in error["message"] and "api_url, page_size" in error["message"]
    assert error["details"] == {"unknown": ["api_ulr"], "declared": ["api_url", "page_size"]}
    async with server.client.get("/connections") as response:
        assert await response.json() == []

    async with server.client.post("/connections", json={**body, "config": {"api_url": server.api_url}}) as response:
        assert response.status == 201, await response.text()
    async with server.client.patch("/connections/acme/c1", json={"config": {"page_sise": 50}}) as response:
        assert response.status == 422
        assert assert_error_body(await response.json(), "INVALID_CONFIG")["details"]["unknown"] == ["page_sise"]
    async with server.client.patch("/connections/acme/c1", json={"config": {"api_url": "http://x.test"}}) as response:
        assert response.status == 200 and (await response.json())["config"] == {"api_url": "http://x.test"}

    with pytest.raises(InvalidInput, match="'region'") as info:
        await server.runtime.connections.update("acme", "c1", config={"api_url": "http://x.test", "region": "eu"})
    assert info.value.code == "INVALID_CONFIG"
