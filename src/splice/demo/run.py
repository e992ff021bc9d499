"""The steps `splice demo` walks through, each a real run against the demo API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from joserfc.jwk import RSAKey
from rich.console import Console
from rich.markup import escape

from splice._engine._dbos import launch, shutdown
from splice.auth import OAuth2AuthorizationCode
from splice.auth._base import drive
from splice.runtime import Runtime
from splice.server import ApiServer, create_app

CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}


@dataclass
class Step:
    title: str
    script: str
    connection: str | None
    input: Any = None
    expect: str = "succeeded"


async def run_demo(root: Path, api_url: str, console: Console, *, isolation: str = "process") -> int:
    """Run every step; returns how many steps did not end as expected."""
    async with await Runtime.open(root, isolation=isolation) as rt:
        with console.status("creating connections for seven auth schemes…"):
            await _connect_all(rt, api_url)
        console.print(
            f"[green]✓[/] {len(await rt.connections.list())} connections stored (credentials encrypted at rest)"
        )
        steps = _steps()
        console.print(f"[bold]splice demo[/] — {len(steps)} runs against the demo API", highlight=False)
        failures = 0
        for number, step in enumerate(steps, 1):
            if step.title.startswith("token expired"):  # make the API forget its tokens
                await _admin(api_url, "/admin/tokens/expire")
            with console.status(f"[{number}/{len(steps)}] {step.title}…"):
                run = await rt.run(step.script, connection=step.connection, input=step.input)
            ok = run.status == step.expect
            failures += not ok
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            status = run.status if step.expect == "succeeded" else f"{run.status} (expected)"
            result = _summary(run.output if run.status == "succeeded" else run.error)
            console.print(
                f"{mark} {step.title:<40} {run.duration_ms:>5.0f} ms  {run.id[-8:]}  {status}\n"
                f"    [dim]{escape(result)}[/]",
                highlight=False,
                overflow="ellipsis",
            )
        await launch(rt.job_runner, rt.store.engine.url, "demo", 2)
        try:
            failures += await _syncs(rt, api_url, console)
            failures += await _flow(rt, api_url, console)
        finally:
            await shutdown()
        stats = await _admin(api_url, "/admin/stats", method="GET")
        console.print(
            f"demo API saw {stats.get('api.requests', 0)} API requests, "
            f"{sum(v for k, v in stats.items() if k.startswith('token.'))} token requests, "
            f"{stats.get('api.401', 0)} 401s and {stats.get('flaky.demo', 0)} flaky calls",
            highlight=False,
        )
        return failures


async def _syncs(rt: Runtime, api_url: str, console: Console) -> int:
    """Sync contacts on the durable engine, change some in the API, sync again, read the changes.

    Returns 1 when what the second sync reports is not what the API changed.
    """
    console.print("[bold]syncs[/] — on the durable engine (DBOS), as `splice serve` runs them", highlight=False)
    first = await _sync_once(rt, console, "first sync (full)")
    page = await rt.records.read("acme", "Contact", connection="c1", limit=10_000)
    headers = {"X-API-Key": "demo-key"}
    victim, changed = page.records[0]["id"], page.records[1]["id"]
    await _admin(api_url, f"/api/contacts/{changed}", {"name": "Renamed by the demo"}, "PATCH", headers)
    await _admin(api_url, f"/api/contacts/{victim}", None, "DELETE", headers)
    await _admin(api_url, "/api/contacts", {"email": "grace@example.com", "name": "Grace Hopper"}, "POST", headers)
    second = await _sync_once(rt, console, "second sync (1 new, 1 changed, 1 gone)")
    last = page.records[-1]["_splice"]["cursor"]  # what an app keeps to read only what changed next time
    changes = await rt.records.read("acme", "Contact", connection="c1", cursor=last, limit=10_000)
    seen = {r["_splice"]["last_action"] for r in changes.records}
    console.print(
        f"    [dim]records read after the first sync's cursor: {len(changes.records)} ({', '.join(sorted(seen))})[/]",
        highlight=False,
    )
    counts = second.get("records", {}).get("Contact", {})
    expected = {"added": 1, "updated": 1, "deleted": 1}
    ok = first is not None and {k: counts.get(k) for k in expected} == expected and len(changes.records) == 3
    return 0 if ok else 1


async def _flow(rt: Runtime, api_url: str, console: Console) -> int:
    """The demo API sends a signed webhook to splice's REST server; the trigger's payload starts
    the onboarding flow (fetch, score, branch, loop) on the engine. Returns 1 if it did not succeed."""
    console.print("[bold]a flow[/] — a signed webhook from the demo API starts it, durably", highlight=False)
    secret = "demo-webhook-secret"
    await rt.env.set("ACME_WEBHOOK_SECRET", secret)
    server = ApiServer(create_app(rt), port=0)
    serving = asyncio.create_task(server.run_forever())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.01)
        contact = (await rt.records.read("acme", "Contact", connection="c1", filter={"added"}, limit=1)).records[0]
        event = {"type": "contact.created", "id": contact["id"], "account": "c1"}
        url = f"{server.url}/webhooks/acme/contact_events"
        sent = await _admin(api_url, "/admin/webhooks", {"url": url, "secret": secret, "event": event})
        console.print(f"    [dim]webhook delivered → {sent.get('status')} {sent.get('body')}[/]", highlight=False)
        started = time.monotonic()
        run = None
        while run is None and time.monotonic() - started < 30:
            runs = await rt.runs.find(integration="acme", script="onboarding", limit=1)
            run = runs[0] if runs else None
            await asyncio.sleep(0.05)
        if run is None:
            console.print("[red]✗[/] the webhook started no flow run", highlight=False)
            return 1
        run = await rt.flows.wait(run.id, timeout=60)
    finally:
        server.stop()
        await serving
    steps = list(reversed(await rt.runs.find(parent_id=run.id, limit=100)))
    mark = "[green]✓[/]" if run.status == "succeeded" else "[red]✗[/]"
    console.print(f"{mark} {'flow acme.onboarding':<40} {run.duration_ms or 0:>5.0f} ms  {run.id[-8:]}  {run.status}",
                  highlight=False)  # fmt: skip
    for child in steps:
        console.print(f"    [dim]{child.step:<24} {child.kind:<8} {child.status:<9} "
                      f"{_summary(child.output if child.status == 'succeeded' else child.error)}[/]",
                      highlight=False)  # fmt: skip
    return 0 if sent.get("status") == 202 and run.status == "succeeded" else 1


async def _sync_once(rt: Runtime, console: Console, title: str) -> dict[str, Any]:
    job = await rt.syncs.trigger("acme.contacts", "c1")
    started = time.monotonic()
    with console.status(f"{title}…") as status:
        summary = await rt.wait_job(
            job, on_progress=lambda p: status.update(f"{title}: {p['pages']} pages, {p['records']} records…")
        )
    run = await rt.runs.get(summary["run_id"])
    counts = (run.output or {}).get("records", {}).get("Contact", {})
    mark = "[green]✓[/]" if run.status == "succeeded" else "[red]✗[/]"
    console.print(
        f"{mark} {title:<40} {(time.monotonic() - started) * 1000:>5.0f} ms  {run.id[-8:]}  {run.status}\n"
        f"    [dim]added {counts.get('added', 0)}, updated {counts.get('updated', 0)}, "
        f"unchanged {counts.get('unchanged', 0)}, deleted {counts.get('deleted', 0)}[/]",
        highlight=False,
    )
    return run.output or {}


def _steps() -> list[Step]:
    schemes = [
        ("api key in a header", "acme_key"),
        ("api key in the query", "acme_query"),
        ("basic auth", "acme_basic"),
        ("api key + secret", "acme_key_secret"),
        ("oauth2 authorization code + PKCE", "acme_oauth"),
        ("private key → jwt-bearer token", "acme_jwt"),
        ("custom auth", "acme_custom"),
    ]
    steps = [Step(f"whoami via {title}", f"{name}.whoami", "c1") for title, name in schemes]
    steps += [
        Step(
            "oauth2 client credentials: create a contact",
            "acme.create_contact",
            "c1",
            {"email": "ada@example.com", "name": "Ada Lovelace"},
        ),
        Step("duplicate email → ActionError", "acme.create_contact", "c1", {"email": "ada@example.com"}, "failed"),
        Step("invalid email → ActionError (422)", "acme.create_contact", "c1", {"email": "nope"}, "failed"),
    ]
    steps += [
        Step(f"paginate: {s}", "acme.list_contacts", "c1", {"strategy": s})
        for s in ("cursor", "link", "next_url", "offset", "page")
    ]
    steps += [
        Step("429 twice → backoff → success", "acme.rate_limited", "c1"),
        Step("token expired → refresh on 401 → retry", "acme.list_contacts", "c1", {"strategy": "cursor"}),
        Step("state and metadata", "acme.remember", "c1"),
        Step("state and metadata again", "acme.remember", "c1"),
    ]
    return steps


async def _connect_all(rt: Runtime, api_url: str) -> None:
    config = {"api_url": api_url}
    key = RSAKey.generate_key(2048)
    await _admin(api_url, "/admin/keys", {"issuer": "demo-service", "public_key": key.as_pem(private=False).decode()})
    await rt.connections.add("acme", "c1", CLIENT, config=config)
    await rt.connections.add("acme_key", "c1", {"api_key": "demo-key"}, config=config)
    await rt.connections.add("acme_query", "c1", {"api_key": "demo-key"}, config=config)
    await rt.connections.add("acme_basic", "c1", {"username": "demo-user", "password": "demo-pass"}, config=config)
    await rt.connections.add(
        "acme_key_secret", "c1", {"api_key": "demo-key", "api_secret": "demo-secret"}, config=config
    )
    await rt.connections.add(
        "acme_jwt", "c1", {"username": "demo-service", "private_key": key.as_pem(private=True).decode()}, config=config
    )
    await rt.connections.add("acme_custom", "c1", {"token": "demo-key"}, config=config)
    tokens = await _authorize(rt, api_url)
    await rt.connections.add("acme_oauth", "c1", {**CLIENT, **tokens}, config=config)


async def _authorize(rt: Runtime, api_url: str) -> dict[str, Any]:
    """The browser part of an authorization-code connect, done headlessly (the server adds the real one)."""
    scheme = rt.project.integration("acme_oauth").auth.resolve({"api_url": api_url}, CLIENT)
    assert isinstance(scheme, OAuth2AuthorizationCode)
    redirect = "http://127.0.0.1/callback"
    url, verifier = scheme.authorization_url(CLIENT, redirect, "demo-state")
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as response:
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    flow = scheme.exchange_code_flow(CLIENT, code, redirect, verifier, time.time())
    return await drive(flow, rt.apis.send_token_request)


async def _admin(
    api_url: str, path: str, body: Any = None, method: str = "POST", headers: dict[str, str] | None = None
) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, api_url + path, json=body, headers=headers) as response,
    ):
        return await response.json(content_type=None)


def _summary(value: Any) -> str:
    if isinstance(value, dict) and "code" in value and "message" in value:
        payload = (value.get("details") or {}).get("payload")
        return f"{value['code']}: {payload if payload is not None else value['message']}"[:80]
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"
