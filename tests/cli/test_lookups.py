"""``splice lookups``: the real console script on a project, and its reads against a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import ProjectFactory

from splice.runtime import Runtime
from splice.server import ApiServer, create_app

from ._cli import asplice, assert_error, clean_env, splice

SOURCE = """
from splice import Integration

acme = Integration("acme", base_url="http://127.0.0.1:9")
acme.lookup_cache("skus", description="ERP item id by SKU")
acme.lookup_cache("zones")
"""


def ok(root: Path, *args: str, input: str | None = None) -> str:
    result = splice("lookups", *args, cwd=root, input=input)
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    return result.stdout


def test_put_get_delete_purge(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"acme.py": SOURCE})
    assert "acme.skus: 1 created, 0 updated, 0 failed" in ok(root, "put", "acme.skus", "A-1", '{"id": 7}')
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps([{"key": f"k{i:05d}", "value": str(i)} for i in range(2500)]))
    assert "acme.skus: 2,500 created, 0 updated, 0 failed" in ok(root, "put", "acme.skus", "--file", str(entries))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"A-1": "changed", "bad": 5}))
    result = splice("lookups", "put", "acme.skus", "--file", str(mapping), cwd=root)
    assert result.code == 1, result
    assert "acme.skus: 0 created, 1 updated, 1 failed" in result.stdout
    assert "'bad': value must be a string" in result.stdout

    everything = json.loads(ok(root, "get", "acme.skus", "--json"))
    assert len(everything) == 2501 and everything[0] == {"key": "A-1", "value": "changed"}
    assert [e["key"] for e in everything[1:]] == [f"k{i:05d}" for i in range(2500)]
    some = json.loads(ok(root, "get", "acme.skus", "--key", "k00002", "--key", "A-1", "--json"))
    assert some == [{"key": "A-1", "value": "changed"}, {"key": "k00002", "value": "2"}]
    assert len(json.loads(ok(root, "get", "acme.skus", "--starts-with", "k0249", "--json"))) == 10
    table = ok(root, "get", "acme.skus", "--starts-with", "A-")
    assert "A-1" in table and "changed" in table

    listed = ok(root, "list")
    assert "acme.skus" in listed and "2,501" in listed and "ERP item id by SKU" in listed and "acme.zones" in listed

    assert "deleted 1 of 2 keys from acme.skus (not there: nope)" in ok(root, "delete", "acme.skus", "A-1", "nope")
    refused = splice("lookups", "purge", "acme.skus", cwd=root, input="n\n")
    assert refused.code == 1 and "Aborted" in refused.stderr + refused.stdout
    assert "purged 2,500 entries from acme.skus" in ok(root, "purge", "acme.skus", "--yes")
    assert "no entries in acme.skus" in ok(root, "get", "acme.skus")


def test_unknown_cache_and_oversize_puts_are_clear_errors(make_project: ProjectFactory) -> None:
    root = make_project({"acme.py": SOURCE})
    result = splice("lookups", "get", "acme.nope", cwd=root)
    assert_error(result, "unknown lookup cache 'acme.nope'", "acme.skus, acme.zones")
    result = splice("lookups", "put", "acme.skus", "x" * 600, "v", cwd=root)
    assert result.code == 1 and "600 characters; the limit is 512" in result.stdout, result


async def test_list_and_get_from_a_server(make_project: ProjectFactory) -> None:
    root = make_project({"acme.py": SOURCE})
    runtime = await Runtime.open(root, isolation="none")
    api = ApiServer(create_app(runtime), port=0)
    serving = asyncio.create_task(api.run_forever())
    try:
        while not api.started:
            assert not serving.done(), serving
            await asyncio.sleep(0.01)
        await runtime.lookups.put_data("acme.skus", [{"key": f"k{i:04d}", "value": "v"} for i in range(1000)])
        await runtime.lookups.put_data("acme.skus", [{"key": "z", "value": "last"}])
        _, secret = await runtime.store.tokens.create("full")
        env = clean_env(SPLICE_SERVER=api.url, SPLICE_TOKEN=secret)
        got = await asplice("lookups", "get", "acme.skus", "--json", cwd=root.parent, env=env)
        assert got.code == 0, got
        assert len(got.json()) == 1001 and got.json()[-1] == {"key": "z", "value": "last"}
        keyed = await asplice("lookups", "get", "acme.skus", "-k", "z", "-k", "k0001", "--json", cwd=root.parent,
                              env=env)  # fmt: skip
        assert keyed.json() == [{"key": "k0001", "value": "v"}, {"key": "z", "value": "last"}]
        listed = await asplice("lookups", "list", "--json", cwd=root.parent, env=env)
        assert [(c["id"], c["entries"]) for c in listed.json()] == [("acme.skus", 1001), ("acme.zones", 0)]
        scoped = clean_env(SPLICE_SERVER=api.url, SPLICE_TOKEN="wrong")
        assert_error(await asplice("lookups", "list", cwd=root.parent, env=scoped), "invalid or revoked")
    finally:
        api.stop()
        await serving
        await runtime.close()
