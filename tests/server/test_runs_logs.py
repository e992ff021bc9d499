"""``/runs`` and ``/logs`` over real HTTP: listing, filters, paging, export, and what a limited token sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.server.conftest import Server, add_connection, assert_error_body

from splice.runtime import new_run_id
from splice.store import LogLine, RunRecord


async def _runs(server: Server) -> dict[str, str]:
    """An acme run on c1, an acme run on c2, an ``other`` run on c3, and an acme run without connection."""
    await add_connection(server, "c1")
    await add_connection(server, "c2")
    await add_connection(server, "c3", integration="other")
    rt = server.runtime
    ids = {
        "c1": (await rt.run("acme.echo", connection="c1", input={"text": "hi"})).id,
        "c2": (await rt.run("acme.echo", connection="c2", input={"text": "secret of c2"})).id,
        "other": (await rt.run("other.ping", connection="c3")).id,
    }
    bare = await rt.store.runs.create(RunRecord(id=new_run_id(), kind="action", integration="acme", script="echo"))
    await rt.store.runs.add_logs(bare.id, [LogLine(datetime.now(UTC), "warning", "no connection here")])
    ids["bare"] = bare.id
    return ids


async def test_list_and_get_runs(server: Server) -> None:
    ids = await _runs(server)

    async with server.client.get("/runs") as resp:
        assert resp.status == 200
        runs = await resp.json()
    assert [r["id"] for r in runs] == [ids["bare"], ids["other"], ids["c2"], ids["c1"]]

    async with server.client.get(f"/runs/{ids['c1']}") as resp:
        assert resp.status == 200
        run = await resp.json()
    assert run["integration"] == "acme" and run["script"] == "echo" and run["connection_id"] == "c1"
    assert run["status"] == "succeeded" and run["kind"] == "action"
    assert run["input"] == {"text": "hi"} and run["output"] == {"text": "hi"} and run["error"] is None
    assert run["attempt"] == 1 and run["parent_id"] is None and run["duration_ms"] >= 0
    for stamp in ("created_at", "started_at", "finished_at"):
        assert datetime.fromisoformat(run[stamp]).tzinfo is not None


async def test_filters_and_paging(server: Server) -> None:
    ids = await _runs(server)
    failed = await server.runtime.run("acme.crash", connection="c1")

    async def listed(query: str) -> list[str]:
        async with server.client.get(f"/runs?{query}") as resp:
            assert resp.status == 200, await resp.text()
            return [r["id"] for r in await resp.json()]

    assert await listed("connection_id=c1") == [failed.id, ids["c1"]]
    assert await listed("status=failed") == [failed.id]
    assert await listed("integration=other") == [ids["other"]]
    assert await listed("script=acme.crash") == [failed.id]
    assert await listed("script=echo&connection_id=c2") == [ids["c2"]]
    assert await listed("integration=other&script=acme.echo") == []

    first = await listed("limit=2")
    second = await listed(f"limit=2&before={first[-1]}")
    rest = await listed(f"limit=2&before={second[-1]}")
    assert first + second + rest == [failed.id, ids["bare"], ids["other"], ids["c2"], ids["c1"]]


async def test_bad_run_queries_are_422_and_unknown_runs_404(server: Server) -> None:
    for query in ("limit=0", "limit=501", "limit=many", "status=exploded"):
        async with server.client.get(f"/runs?{query}") as resp:
            assert resp.status == 422, query
            assert_error_body(await resp.json(), "INVALID_INPUT")
    async with server.client.get("/runs/run_nope") as resp:
        assert resp.status == 404
        assert_error_body(await resp.json(), "NOT_FOUND")


async def test_a_limited_token_sees_only_its_runs(server: Server) -> None:
    ids = await _runs(server)

    acme = server.as_token(await server.token("acme", integrations=["acme"]))
    async with acme.get("/runs") as resp:
        assert [r["id"] for r in await resp.json()] == [ids["bare"], ids["c2"], ids["c1"]]
    async with acme.get("/runs?integration=other") as resp:
        assert resp.status == 200 and await resp.json() == []

    other = server.as_token(await server.token("other", integrations=["other"]))
    async with other.get("/runs?limit=1") as resp:
        assert [r["id"] for r in await resp.json()] == [ids["other"]]  # the page is full: limits are in the query
    async with other.get(f"/runs/{ids['bare']}") as resp:
        assert resp.status == 404

    c1 = server.as_token(await server.token("c1", connections=["c1"]))
    async with c1.get("/runs") as resp:
        assert [r["id"] for r in await resp.json()] == [ids["c1"]]  # a run without a connection is no tenant's
    async with c1.get(f"/runs/{ids['c1']}") as resp:
        assert resp.status == 200

    for hidden in ("c2", "other", "bare"):
        async with c1.get(f"/runs/{ids[hidden]}") as resp:
            assert resp.status == 404, hidden
            hidden_error = assert_error_body(await resp.json(), "NOT_FOUND")
        assert "secret of c2" not in json.dumps(hidden_error)
    async with c1.get("/runs/run_missing") as resp:
        missing_error = assert_error_body(await resp.json(), "NOT_FOUND")
    assert set(hidden_error) == set(missing_error) and hidden_error["hint"] == missing_error["hint"]


async def test_search_logs(server: Server) -> None:
    ids = await _runs(server)

    async with server.client.get(f"/logs?run_id={ids['c1']}") as resp:
        assert resp.status == 200
        lines = await resp.json()
    assert any(line["message"] == "echoing" and line["fields"] == {"text": "hi"} for line in lines)
    assert {line["run_id"] for line in lines} == {ids["c1"]}
    assert all(line["integration"] == "acme" and line["connection_id"] == "c1" for line in lines)

    async with server.client.get("/logs?level=warning") as resp:
        assert [line["message"] for line in await resp.json()] == ["no connection here"]
    async with server.client.get("/logs", params={"q": "ECHOING", "connection_id": "c2"}) as resp:
        assert [line["run_id"] for line in await resp.json()] == [ids["c2"]]
    async with server.client.get("/logs?script=other.ping") as resp:
        assert {line["run_id"] for line in await resp.json()} <= {ids["other"]}

    async with server.client.get("/logs?limit=1") as resp:
        (first,) = await resp.json()
    async with server.client.get(f"/logs?after_seq={first['seq']}") as resp:
        after = await resp.json()
    assert after and all(line["seq"] > first["seq"] for line in after)
    async with server.client.get("/logs?latest=true&limit=1") as resp:
        assert [line["seq"] for line in await resp.json()] == [after[-1]["seq"]]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with server.client.get("/logs", params={"since": future}) as resp:
        assert await resp.json() == []
    async with server.client.get("/logs", params={"until": future, "limit": "1000"}) as resp:
        assert len(await resp.json()) == len(after) + 1
    async with server.client.get("/logs", params={"until": "2000-01-01T00:00:00"}) as resp:
        assert await resp.json() == []
    async with server.client.get("/logs", params={"since": "0001-01-01T00:00:00+05:00"}) as resp:
        assert resp.status == 200


async def test_bad_log_queries_are_422(server: Server) -> None:
    for query in ("level=loud", "since=yesterday", "until=", "after_seq=-1", "after_seq=99999999999999999999999"):
        for path in ("/logs", "/logs/export"):
            async with server.client.get(f"{path}?{query}") as resp:
                assert resp.status == 422, (path, query)
                assert_error_body(await resp.json(), "INVALID_INPUT")
    for query in ("limit=0", "limit=1001", "latest=perhaps"):
        async with server.client.get(f"/logs?{query}") as resp:
            assert resp.status == 422, query


async def test_a_limited_token_sees_only_its_logs(server: Server) -> None:
    ids = await _runs(server)
    c1 = server.as_token(await server.token("c1", connections=["c1"]))

    async with c1.get("/logs") as resp:
        assert {line["run_id"] for line in await resp.json()} == {ids["c1"]}
    async with c1.get(f"/logs?run_id={ids['c2']}") as resp:
        assert resp.status == 200 and await resp.json() == []
    async with c1.get("/logs/export?level=debug") as resp:
        assert {json.loads(line)["run_id"] for line in (await resp.text()).splitlines()} == {ids["c1"]}

    other = server.as_token(await server.token("other", integrations=["other"], connections=["c3"]))
    async with other.get("/logs?limit=1000") as resp:
        assert {line["run_id"] for line in await resp.json()} <= {ids["other"]}
    async with other.get("/logs?q=echoing") as resp:
        assert await resp.json() == []


async def test_export_is_json_lines(server: Server) -> None:
    ids = await _runs(server)
    lines = [LogLine(datetime.now(UTC), "info", f"line {n}", {"n": n}) for n in range(2500)]
    await server.runtime.store.runs.add_logs(ids["bare"], lines)

    async with server.client.get("/logs/export", params={"run_id": ids["bare"], "q": "line "}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        body = await resp.text()
    assert body.endswith("\n")
    exported = [json.loads(line) for line in body.splitlines()]
    assert [line["fields"]["n"] for line in exported] == list(range(2500))
    assert [line["seq"] for line in exported] == sorted(line["seq"] for line in exported)
    assert set(exported[0]) == {
        "seq", "run_id", "ts", "level", "message", "fields", "integration", "script", "connection_id"
    }  # fmt: skip

    async with server.client.get("/logs/export", params={"q": "nothing says this"}) as resp:
        assert resp.status == 200 and await resp.text() == ""


async def test_runs_and_logs_need_a_valid_token(server: Server) -> None:
    token, secret = await server.runtime.store.tokens.create("gone")
    await server.runtime.store.tokens.revoke(token.id)
    for client in (server.as_token(None), server.as_token("splice_" + "x" * 43), server.as_token(secret)):
        for path in ("/runs", "/runs/run_x", "/logs", "/logs/export"):
            async with client.get(path) as resp:
                assert resp.status == 401, path
                assert resp.headers["WWW-Authenticate"] == "Bearer"
                assert_error_body(await resp.json(), "UNAUTHORIZED")
