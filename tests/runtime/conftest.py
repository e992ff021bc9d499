"""A runtime over a project whose integrations talk to the demo API, in both isolation modes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

ACME = '''
from pydantic import BaseModel
from splice import ActionError, ConnectionError, Integration, auth, paginate

acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.OAuth2ClientCredentials(token_url="{config.api_url}/oauth/token", scopes=["crm"]),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data"),
    test_path="/whoami",
)

keyed = Integration("keyed", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="query", name="api_key"))

@acme.action
async def call(ctx, input):
    """Make the HTTP call described by input and return what the client returned."""
    method = input.get("method", "GET")
    options = input.get("options", {})
    result = await ctx.api.request(method, input["path"], **options)
    if options.get("response_type") == "bytes":
        return {"len": len(result), "type": type(result).__name__}
    if options.get("response_type") == "stream":
        size = 0
        async for chunk in result:
            size += len(chunk)
        return {"streamed": size}
    if options.get("return_full_response"):
        return {"status": result.status, "content_type": result.headers.get("content-type"), "data": result.data}
    return {"data": result, "type": type(result).__name__}

@acme.action
async def call_error(ctx, input):
    try:
        await ctx.api.request(input.get("method", "GET"), input["path"], **input.get("options", {}))
    except Exception as exc:
        return {"type": type(exc).__name__, "code": getattr(exc, "code", None),
                "status": getattr(exc, "status", None), "data": getattr(exc, "data", None),
                "message": str(exc)}
    return {"type": None}

@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")

@keyed.action
async def whoami_key(ctx, input):
    ctx.log.info("calling whoami")
    return await ctx.api.get("/whoami")
'''


@pytest.fixture(params=["process", "none"])
def isolation(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def runtime(make_project: ProjectFactory, demo_api: DemoAPI, isolation: str) -> AsyncIterator[Runtime]:
    root = make_project({"acme.py": ACME})
    rt = await Runtime.open(root, isolation=isolation)
    config = {"api_url": demo_api.url}
    await rt.connections.add("acme", "c1", {"client_id": "demo-client", "client_secret": "demo-secret"}, config=config)
    await rt.connections.add("keyed", "k1", {"api_key": "demo-key"}, config=config)
    yield rt
    await rt.close()


def project_root(rt: Runtime) -> Path:
    return rt.project.root
