"""Over REST: an API key the API refuses is ``CREDENTIALS_REJECTED`` (409) with the API's answer."""

from __future__ import annotations

from tests.server.conftest import StartServer, assert_error_body

KEYED = """
from splice import Integration, auth

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""


async def test_a_refused_api_key_answers_409_credentials_rejected_with_the_apis_body(
    start_server: StartServer,
) -> None:
    server = await start_server(KEYED)
    await server.runtime.connections.add("acme", "c1", {"api_key": "revoked-4711"}, config={"api_url": server.api_url})

    async with server.client.post("/actions/acme/whoami", json={"connection_id": "c1"}) as response:
        assert response.status == 409
        text = await response.text()
        error = assert_error_body(await response.json(), "CREDENTIALS_REJECTED")
    assert error["details"]["status"] == 401
    assert error["details"]["data"] == {"error": "unauthorized", "message": "missing or invalid credentials"}
    assert "revoked-4711" not in text
    (run,) = await server.runtime.runs.find(script="whoami")
    assert run.error is not None and run.error["code"] == "CREDENTIALS_REJECTED"
    assert (await server.runtime.connections.get("acme", "c1")).status == "ok"  # not marked broken
