"""The read commands against a running server (``--server URL --token T`` or SPLICE_SERVER / SPLICE_TOKEN).

A real server listens on 127.0.0.1 in the test's event loop over a Runtime; the real ``splice``
executable runs in a thread (:func:`asplice`) so the loop keeps answering it. Remote output must
be what the same command prints locally for the same data.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ProjectFactory
from tests.server.conftest import PROJECT

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import ApiServer, create_app
from splice.store import RunRecord, TokenScope

from ._cli import SPLICE, Result, asplice, assert_error, clean_env


@dataclass
class Remote:
    runtime: Runtime
    root: Path
    url: str
    secret: str
    runs: dict[str, str]

    async def token(self, **scope: Any) -> str:
        _, secret = await self.runtime.store.tokens.create("scoped", TokenScope(**scope))
        return secret

    async def local(self, *args: str) -> Result:
        """``splice ARGS`` on the project itself (no server)."""
        return await asplice(*args, cwd=self.root)

    async def remote(self, *args: str, token: str | None = None, via_env: bool = True) -> Result:
        """``splice ARGS`` against the server, from a folder with no project; the token in the environment."""
        secret = self.secret if token is None else token
        if via_env:
            env = clean_env(SPLICE_SERVER=self.url, SPLICE_TOKEN=secret)
            return await asplice(*args, cwd=self.root.parent, env=env)
        return await asplice(*args, "--server", self.url, "--token", secret, cwd=self.root.parent)


@pytest.fixture
async def server(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[Remote]:
    """Connections c1, c2 (acme) and o1 (other); a sync of acme.contacts for c1 and c2; echo runs that log."""
    root = make_project({"acme.py": PROJECT})
    runtime = await Runtime.open(root, isolation="none")
    api = ApiServer(create_app(runtime), port=0)
    serving = asyncio.create_task(api.run_forever())
    try:
        while not api.started:
            assert not serving.done(), serving
            await asyncio.sleep(0.01)
        for integration, connection in (("acme", "c1"), ("acme", "c2"), ("other", "o1")):
            await runtime.connections.add(
                integration, connection, {"api_key": "demo-key"}, config={"api_url": demo_api.url}
            )
        runs = {}
        for connection in ("c1", "c2"):
            sync = await runtime.run("acme.contacts", connection=connection)
            assert sync.status == "succeeded", sync.error
            echo = await runtime.run("acme.echo", connection=connection, input={"text": f"hello {connection}"})
            assert echo.status == "succeeded", echo.error
            runs[connection] = echo.id
        _, secret = await runtime.store.tokens.create("full")
        yield Remote(runtime, root, api.url, secret, runs)
    finally:
        api.stop()
        await serving
        await runtime.close()


def ok(result: Result) -> Result:
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    return result


async def test_remote_reads_print_what_local_reads_print(server: Remote) -> None:
    for args in (
        ["connections", "list", "--json"],
        ["connections", "list"],
        ["connections", "list", "acme", "--json"],
        ["connections", "show", "acme", "c1"],
        ["logs", "--json"],
        ["logs"],
        ["logs", "--json", "-c", "c2", "--script", "acme.echo", "--search", "ECHO", "--level", "info"],
        ["logs", "--json", "--run", server.runs["c1"], "--since", "1h"],
        ["records", "acme", "Contact", "-c", "c1", "--ids", "c0002,c0003"],
        ["records", "acme", "Contact", "-c", "c1", "--filter", "added,updated", "--modified-after", "1h", "-n", "7"],
        ["runs", "list", "--json"],
        ["runs", "list"],
        ["runs", "list", "--json", "-c", "c2", "--script", "acme.echo", "--status", "succeeded", "--since", "1h"],
        ["runs", "list", "--json", "--kind", "sync"],
        ["runs", "list", "--json", "--limit", "1", "--before", server.runs["c2"][-8:]],
        ["runs", "show", server.runs["c1"]],
        ["runs", "show", server.runs["c1"][-8:], "--json"],
        ["logs", "--run", server.runs["c2"][-8:]],
    ):
        local, remote = ok(await server.local(*args)), ok(await server.remote(*args))
        assert remote.stdout == local.stdout, f"{local}\n{remote}"
        assert remote.stdout.strip(), local

    for args in (["syncs", "list", "--json"], ["syncs", "list", "acme", "--json"]):
        local, remote = ok(await server.local(*args)).json(), ok(await server.remote(*args)).json()
        for rows in (local, remote):  # "next run" is computed from the time of the call
            for row in rows:
                assert row.pop("next_run")
        assert remote == local
        assert [(row["sync"], row["connection"]) for row in remote] == [
            ("acme.contacts", "c1"),
            ("acme.contacts", "c2"),
        ]
    table = ok(await server.remote("syncs", "list"))
    assert "acme.contacts" in table.stdout and "Contact 120 / 0" in table.stdout, table

    listed = json.loads(ok(await server.remote("connections", "list", "--json")).stdout)
    assert [(c["integration"], c["id"]) for c in listed] == [("acme", "c1"), ("acme", "c2"), ("other", "o1")]
    lines = [json.loads(line) for line in ok(await server.remote("logs", "--json")).stdout.splitlines()]
    assert {"hello c1", "hello c2"} <= {line["fields"].get("text") for line in lines}


async def test_records_page_through_a_server_with_the_options(server: Remote) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        args = ["records", "acme", "Contact", "-c", "c2", "--limit", "50"] + (["--cursor", cursor] if cursor else [])
        local, remote = ok(await server.local(*args)), ok(await server.remote(*args, via_env=False))
        assert remote.stdout == local.stdout
        page = remote.json()
        seen += [record["id"] for record in page["records"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 120 == len(set(seen))


async def test_server_errors_read_like_local_ones(server: Remote) -> None:
    for args in (
        ["connections", "show", "acme", "nope"],
        ["records", "acme", "Nope", "-c", "c1"],
        ["records", "acme", "Contact", "-c", "c1", "--cursor", "garbage"],
        ["connections", "list", "nosuch"],
    ):
        local, remote = await server.local(*args), await server.remote(*args)
        local_error = assert_error(local, hint=None)
        assert assert_error(remote, hint=None) == local_error, f"{local}\n{remote}"


async def test_a_bad_or_missing_token_is_one_clear_error(server: Remote) -> None:
    wrong = await server.remote("connections", "list", token="spl_not-a-token")
    assert_error(wrong, "access token is invalid or revoked", hint="splice tokens create")

    env = clean_env(SPLICE_SERVER=server.url)
    missing = await asplice("syncs", "list", cwd=server.root.parent, env=env)
    assert_error(missing, "needs an access token", hint="SPLICE_TOKEN")
    assert "splice tokens create" in missing.stderr

    revoked = await server.token()
    tokens = await server.runtime.store.tokens.list()
    await server.runtime.store.tokens.revoke(next(t.id for t in tokens if t.name == "scoped"))
    assert_error(await server.remote("logs", token=revoked), "invalid or revoked")


async def test_a_scoped_token_sees_only_its_connections(server: Remote) -> None:
    scoped = await server.token(connections=["c1"], read_only=True)

    listed = ok(await server.remote("connections", "list", "--json", token=scoped)).json()
    assert [c["id"] for c in listed] == ["c1"]
    syncs = ok(await server.remote("syncs", "list", "--json", token=scoped)).json()
    assert [(row["sync"], row["connection"]) for row in syncs] == [("acme.contacts", "c1")]
    lines = ok(await server.remote("logs", "--json", token=scoped)).stdout.splitlines()
    assert lines and {json.loads(line)["connection_id"] for line in lines} == {"c1"}
    page = ok(await server.remote("records", "acme", "Contact", "-c", "c1", "-n", "5", token=scoped)).json()
    assert len(page["records"]) == 5

    runs = ok(await server.remote("runs", "list", "--json", token=scoped)).json()
    assert runs and {run["connection_id"] for run in runs} == {"c1"}
    assert_error(await server.remote("runs", "show", server.runs["c2"][-8:], token=scoped), "not found", hint=None)
    assert_error(await server.remote("connections", "show", "acme", "c2", token=scoped), "not found", hint=None)
    assert_error(await server.remote("records", "acme", "Contact", "-c", "c2", token=scoped), "not found", hint=None)
    assert ok(await server.remote("logs", "-c", "c2", token=scoped)).stdout == ""


async def test_logs_limits_above_what_the_server_returns_are_refused(server: Remote) -> None:
    assert_error(await server.remote("logs", "-n", "5000"), "at most 1000", hint="--limit 1000")
    assert ok(await server.remote("logs", "-n", "1000")).stdout


async def test_follow_prints_new_lines_from_a_server(server: Remote) -> None:
    env = clean_env(SPLICE_SERVER=server.url, SPLICE_TOKEN=server.secret)
    with subprocess.Popen(
        [str(SPLICE), "logs", "--follow", "--json"],
        cwd=server.root.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as proc:
        chunks: list[str] = []
        reader = threading.Thread(target=lambda: chunks.extend(proc.stdout or []), daemon=True)
        reader.start()

        async def wait_for(fragment: str) -> bool:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                if fragment in "".join(chunks):
                    return True
                await asyncio.sleep(0.1)  # the server answers meanwhile
            return fragment in "".join(chunks)

        try:
            assert await wait_for("hello c2"), "".join(chunks)
            run = await server.runtime.run("acme.echo", connection="c1", input={"text": "later"})
            assert await wait_for(f'"run_id":"{run.id}"'), "".join(chunks)
            proc.send_signal(signal.SIGINT)
            code = await asyncio.to_thread(proc.wait, 30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        await asyncio.to_thread(reader.join, 30)
        stderr = proc.stderr.read() if proc.stderr else ""
    assert code == 130, stderr
    assert "Traceback" not in stderr


async def test_a_server_that_is_not_splice_is_one_clear_error(demo_api: DemoAPI, tmp_path: Path) -> None:
    for args in (["connections", "list"], ["syncs", "list"], ["logs"], ["records", "acme", "Contact", "-c", "c1"]):
        result = await asplice(*args, "--server", demo_api.url, "--token", "spl_x", cwd=tmp_path)
        assert_error(result, f"the server at {demo_api.url} does not answer like splice's API", hint="splice serve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_one_line_naming_it(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["connections", "list"], ["records", "acme", "Contact", "-c", "c1"], ["logs", "-f"]):
        result = await asplice(*args, "--server", url, "--token", "spl_x", cwd=tmp_path)
        assert_error(result, f"cannot reach the splice server at {url}", hint="splice serve")


async def test_a_server_that_is_not_a_url_is_refused(tmp_path: Path) -> None:
    env = clean_env(SPLICE_SERVER="localhost:8080", SPLICE_TOKEN="spl_x")
    result = await asplice("syncs", "list", cwd=tmp_path, env=env)
    assert_error(result, "'localhost:8080' is not an http:// or https:// URL", hint="http://127.0.0.1:8080")


async def test_help_recommends_the_token_variable(tmp_path: Path) -> None:
    result = await asplice("connections", "list", "--help", cwd=tmp_path)
    assert result.code == 0, result
    assert "--server" in result.stdout and "SPLICE_TOKEN" in result.stdout and "ps" in result.stdout


async def test_a_short_id_is_resolved_among_the_runs_a_token_may_see(server: Remote) -> None:
    """Two runs whose ids end alike, of two tenants: ambiguous to a full token, one run to a tenant's."""
    alike = {"c1": "run_00000000000010000adeadbeef", "c2": "run_00000000000010000bdeadbeef"}
    for connection, run_id in alike.items():
        record = RunRecord(run_id, "action", "acme", "echo", connection_id=connection, status="succeeded")
        record.finished_at, record.duration_ms = record.created_at, 5.0
        await server.runtime.store.runs.create(record)

    error = assert_error(await server.remote("runs", "show", "deadbeef"), "run id 'deadbeef' is ambiguous", hint=None)
    assert alike["c1"] in error and alike["c2"] in error
    tenant = await server.token(connections=["c1"], read_only=True)
    shown = ok(await server.remote("runs", "show", "deadbeef", "--json", token=tenant)).json()
    assert shown["id"] == alike["c1"]
    lines = ok(await server.remote("logs", "--run", "deadbeef", token=tenant)).stdout
    assert "run adeadbeef succeeded" not in lines  # a run stored without finishing: no end to show
