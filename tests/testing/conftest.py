"""Projects recorded against the real demo API on 127.0.0.1, then replayed with it stopped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from splice._clock import SystemClock
from splice._http.transport import AiohttpTransport
from splice.runtime import Runtime
from splice.testing import RecordingTransport, credentials_before, record_fixture, write_fixture

#: one integration per auth style: an API key in a header, one in the query, OAuth2 client credentials
ACME = """
from pydantic import BaseModel

from splice import Integration, auth, paginate
from splice.triggers import Body, HmacSignature

acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.ApiKey(in_="header", name="X-API-Key"),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data"),
)


class NewContact(BaseModel):
    email: str
    name: str = ""


class Contact(BaseModel):
    id: str
    email: str
    name: str = ""


@acme.action(input=NewContact, output=Contact)
async def create_contact(ctx, input: NewContact) -> Contact:
    data = await ctx.api.post("/contacts", input.model_dump(), headers={"X-Trace": ctx.env.get("TRACE_TOKEN", "-")})
    ctx.log.info("created contact", id=data["id"])
    return Contact(**data)


@acme.action
async def count_contacts(ctx, input):
    count = 0
    async for page in ctx.api.paginate("/contacts", query={"limit": 25}):
        count += len(page)
    return {"count": count}


@acme.action
async def flaky(ctx, input):
    return await ctx.api.get("/flaky", query={"key": input["key"], "fail": 2, "status": 429, "retry_after": 0.05})


@acme.action
async def whoami_n(ctx, input):
    for _ in range(input["n"]):
        await ctx.api.get("/whoami")
    return {"calls": input["n"]}


@acme.action
async def counter(ctx, input):
    count = await ctx.state.get("count", 0) + 1
    await ctx.state.put("count", count)
    return {"count": count, "metadata": await ctx.metadata.get()}


@acme.sync(models=[Contact], every="1h")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts", query={"limit": 50}):
        await ctx.records.save(page)


@acme.sync(models=[Contact], every="1h", track_deletes=True)
async def tracked(ctx):
    # counts its runs in its checkpoint; contacts gone from the API are deleted
    runs = (await ctx.checkpoint.get()).get("runs", 0)
    async for page in ctx.api.paginate("/contacts", query={"limit": 50}):
        await ctx.records.save(page)
    await ctx.checkpoint.save({"runs": runs + 1})


@acme.trigger(
    signature=HmacSignature(header="X-Acme-Signature", secret_env="ACME_WEBHOOK_SECRET",
                            timestamp_header="X-Acme-Timestamp"),
    connection_from=Body("account"),
)
async def contact_event(ctx, request):
    # looks the contact up and answers with its email
    event = request.json()
    contact = await ctx.api.get(f"/contacts/{event['id']}")
    ctx.log.info("event", kind=event.get("type"))
    return {"payload": event, "response": {"status": 202, "body": {"email": contact["email"]}}}


@acme.trigger
async def ping(ctx, request):
    return {"pong": request.query.get("n"), "method": request.method}
"""

QUERY = """
from splice import Integration, auth

byquery = Integration("byquery", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="query", name="api_key"))


@byquery.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""

OAUTH = """
from splice import Integration, auth

oauth = Integration(
    "oauth",
    base_url="{config.api_url}/api",
    auth=auth.OAuth2ClientCredentials(token_url="{config.api_url}/oauth/token", scopes=["crm"]),
)


@oauth.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""


@pytest.fixture(params=["process", "none"])
def isolation(request: pytest.FixtureRequest) -> str:
    return request.param


MODULES = {"acme.py": ACME, "byquery.py": QUERY, "oauth.py": OAUTH}


async def record(
    root: Path,
    script: str,
    fixture: Path,
    *,
    credentials: dict[str, Any],
    config: dict[str, Any],
    input: Any = None,
    env: dict[str, str] | None = None,
    isolation: str = "none",
) -> dict[str, Any]:
    """Run ``script`` live through a recording transport and write ``fixture``; the connection's
    credentials after the run come back (a token endpoint's access token is among them)."""
    recorder = RecordingTransport(AiohttpTransport.create())
    rt = await Runtime.open(root, transport=recorder, isolation=isolation)
    try:
        integration = script.split(".")[0]
        await rt.connections.add(integration, "c1", credentials, config=config)
        for name, value in (env or {}).items():
            await rt.env.set(name, value)
        before = await credentials_before(rt, script, "c1")
        started: datetime = SystemClock().now()
        run = await rt.run(script, connection="c1", input=input)
        assert run.status == "succeeded", run.error
        made, secrets = await record_fixture(rt, recorder, run, started, before)
        write_fixture(made, fixture, secrets)
        return dict((await rt.connections.get(integration, "c1")).credentials)
    finally:
        await rt.close()
