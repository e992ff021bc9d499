"""Secrets stay out of everything stored or answered, and masking never breaks what it masks.

Through the real server, the real CLI and the database file itself: operator variables that
look like ordinary values (``true``, ``10000``) leave JSON intact, secrets with quotes and
backslashes are masked in every form they take (JSON, ``repr``), and a nested action's input
is stored masked like every other field of a run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from tests.cli._cli import asplice
from tests.conftest import ProjectFactory
from tests.server.conftest import Server, serving

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import create_app

PROJECT = """
from splice import Integration, auth

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.action
async def count(ctx, input):
    return {"ok": True, "count": 10000, "flag": "true", "batch": ctx.env["BATCH"]}


@acme.action
async def leak(ctx, input):
    value = ctx.env["WEIRD"]
    ctx.log.info("weird", v=value)
    ctx.log.info(f"repr {value!r} in {({'v': value})!r}")
    print({"v": value})
    return {"env": dict(ctx.env), "repr": repr({"v": value})}


@acme.action
async def leak_error(ctx, input):
    raise RuntimeError(f"bad value in {({'v': ctx.env['WEIRD']})!r}")


@acme.action
async def parent(ctx, input):
    return await ctx.trigger_action("child", {"token": ctx.credentials["api_key"], "env": ctx.env["AUDIT_ENV"]})


@acme.action
async def child(ctx, input):
    return {"keys": sorted(input)}


@acme.trigger()
async def hook(ctx, request):
    return {"ok": True, "count": 10000}
"""

WEIRD = 'Pa\\ss"w0rd-Wx'
API_KEY = "demo-key"
AUDIT = "audit-env-9f8e7d"
SECRETS = ("w0rd", API_KEY, AUDIT)


@pytest.fixture(params=["process", "none"])
async def server(
    request: pytest.FixtureRequest, make_project: ProjectFactory, demo_api: DemoAPI
) -> AsyncIterator[Server]:
    runtime = await Runtime.open(make_project({"acme.py": PROJECT}), isolation=str(request.param))
    for name, value in (("FEATURE_X", "true"), ("BATCH", "10000"), ("WEIRD", WEIRD), ("AUDIT_ENV", AUDIT)):
        await runtime.env.set(name, value)
    await runtime.connections.add("acme", "c1", {"api_key": API_KEY}, config={"api_url": demo_api.url})
    async with serving(
        runtime, create_app(runtime), lambda url, secret: Server(runtime, url, secret, demo_api.url)
    ) as s:
        yield s


def assert_no_secret(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret!r} leaked in {where}"


def database_bytes(server: Server) -> bytes:
    state = server.runtime.project.state_dir
    return b"".join(path.read_bytes() for path in sorted(state.glob("splice.db*")))


async def test_values_that_look_ordinary_leave_json_intact_everywhere(server: Server) -> None:
    async with server.client.post("/actions/acme/count", json={"connection_id": "c1"}) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"ok": True, "count": 10000, "flag": "true", "batch": "10000"}
    async with server.client.get(f"/runs/{body['run_id']}") as response:
        assert (await response.json())["output"]["count"] == 10000

    async with server.as_token(None).post("/webhooks/acme/hook", json={"event": 1}) as response:
        assert response.status == 200
        assert orjson.loads(await response.read()) == {"ok": True, "count": 10000}

    project = Path(server.runtime.project.root)
    ran = await asplice("run", "acme.count", "-c", "c1", "-q", cwd=project)
    assert ran.code == 0, ran
    assert ran.json() == {"ok": True, "count": 10000, "flag": "true", "batch": "10000"}


async def test_a_secret_with_quotes_and_backslashes_is_masked_in_logs_output_errors_and_runs(server: Server) -> None:
    async with server.client.post("/actions/acme/leak", json={"connection_id": "c1"}) as response:
        text = await response.text()
        assert response.status == 200, text
    assert_no_secret(text, "the action's answer")
    output = orjson.loads(text)["output"]
    assert output["env"]["WEIRD"] == "***" and output["env"]["FEATURE_X"] == "true"

    async with server.client.post("/actions/acme/leak_error", json={"connection_id": "c1"}) as response:
        text = await response.text()
        assert response.status == 500, text
    assert_no_secret(text, "the failed action's answer")
    assert "bad value in" in orjson.loads(text)["error"]["message"]

    for path in ("/runs", "/logs?limit=100", "/logs/export"):
        async with server.client.get(path) as response:
            assert response.status == 200
            assert_no_secret(await response.text(), path)
    async with server.client.get("/logs", params={"search": "weird"}) as response:
        lines = await response.json()
    assert lines and lines[0]["fields"] == {"v": "***"}

    logs = await asplice("logs", "--json", cwd=Path(server.runtime.project.root))
    assert logs.code == 0, logs
    assert "repr" in logs.stdout
    assert_no_secret(logs.stdout, "splice logs --json")
    assert_no_secret(database_bytes(server), "the database file")


async def test_a_nested_actions_input_is_stored_masked(server: Server) -> None:
    async with server.client.post("/actions/acme/parent", json={"connection_id": "c1"}) as response:
        body = await response.json()
        assert response.status == 200, body
    assert body["output"] == {"keys": ["env", "token"]}
    async with server.client.get("/runs", params={"parent_id": body["run_id"]}) as response:
        (child,) = await response.json()
    async with server.client.get(f"/runs/{child['id']}") as response:
        stored = await response.json()
    assert stored["input"] == {"token": "***", "env": "***"}
    assert_no_secret(orjson.dumps(stored), "the child run")
    assert_no_secret(database_bytes(server), "the database file")
