"""``ctx.internal_api``: the operator's own API, base URL and bearer token from splice.toml."""

from __future__ import annotations

import aiohttp
from tests.conftest import SPLICE_TOML, ProjectFactory

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

SCRIPT = """
from splice import Integration

app = Integration("app", base_url="https://unused.test")

@app.action
async def me(ctx, input):
    return await ctx.internal_api.get("/whoami")

@app.action
async def elsewhere(ctx, input):
    try:
        await ctx.internal_api.get("http://example.com/x")
    except Exception as exc:
        return exc.code
"""


async def test_internal_api_uses_the_configured_base_url_and_token(
    make_project: ProjectFactory, demo_api: DemoAPI
) -> None:
    toml = SPLICE_TOML + f'\n[internal_api]\nbase_url = "{demo_api.url}/api"\nbearer_env = "PRODUCT_TOKEN"\n'
    async with aiohttp.ClientSession() as session:
        form = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}
        async with session.post(demo_api.url + "/oauth/token", data=form) as response:
            token = (await response.json())["access_token"]
    async with await Runtime.open(make_project({"app.py": SCRIPT}, toml=toml)) as rt:
        await rt.env.set("PRODUCT_TOKEN", token)
        run = await rt.run("app.me")
        assert run.output == {"auth": "bearer", "principal": "demo-client"}
        assert (await rt.run("app.elsewhere")).output == "HOST_NOT_ALLOWED"
        logs = await rt.runs.logs(run_id=run.id)
        assert token not in str([(line.message, line.fields) for line in logs])


async def test_internal_api_without_configuration_is_a_clear_error(make_project: ProjectFactory) -> None:
    async with await Runtime.open(make_project({"app.py": SCRIPT}), isolation="none") as rt:
        run = await rt.run("app.me")
        assert run.status == "failed"
        assert "ctx.internal_api is not configured" in run.error["message"]
        assert "[internal_api]" in run.error["hint"]
