"""The OpenAPI document a client generator can use, and the docs page, over a real server.

Short unique operation ids and component names; a typed path per action, answered like the
generic one; Swagger UI from the server itself. The last test generates a client from
``/openapi.json`` with openapi-python-client (in a venv of its own, kept in pytest's cache: it
pins typer below the version splice uses) and calls the server with it.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from tests.server.conftest import Server, StartServer, add_connection, assert_error_body

OPERATION_ID = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
#: what openapi-python-client version the generated-client test installs
GENERATOR = "openapi-python-client>=0.29,<0.30"


async def _document(server: Server) -> dict[str, Any]:
    async with server.as_token(None).get("/openapi.json") as response:
        assert response.status == 200
        return await response.json()  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId → (method, path); fails on a missing or repeated id."""
    found: dict[str, tuple[str, str]] = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            name = operation["operationId"]
            assert name not in found, f"{name} is the id of {found[name]} and of {method} {path}"
            found[name] = (method.upper(), path)
    return found


async def test_operation_ids_are_short_unique_verb_nouns(server: Server) -> None:
    operations = _operations(await _document(server))
    long_or_odd = [name for name in operations if len(name) > 40 or not OPERATION_ID.match(name)]
    assert not long_or_odd
    assert {
        "list_connections": ("GET", "/connections"),
        "get_connection": ("GET", "/connections/{integration}/{connection_id}"),
        "update_connection_metadata": ("PATCH", "/connections/{integration}/{connection_id}/metadata"),
        "run_action": ("POST", "/actions/{integration}/{action}"),
        "run_acme_echo": ("POST", "/actions/acme/echo"),
        "get_run": ("GET", "/runs/{run_id}"),
        "set_connection_state": ("PUT", "/state/connections/{integration}/{connection_id}/{key}"),
        "create_connect_session": ("POST", "/connect/sessions"),
        "receive_webhook_post": ("POST", "/webhooks/{integration}/{trigger}"),
    }.items() <= operations.items()


async def test_component_names_are_short_and_responses_carry_no_made_up_titles(server: Server) -> None:
    doc = await _document(server)
    assert [name for name in doc["components"]["schemas"] if len(name) > 40 or "__" in name] == []
    titles = re.findall(r'"title": ?"(Response [^"]*|Body_[^"]*)"', json.dumps(doc))
    assert titles == []


async def test_each_action_has_a_typed_path_next_to_the_generic_one_that_serves_it(server: Server) -> None:
    doc = await _document(server)
    paths = list(doc["paths"])
    generic = paths.index("/actions/{integration}/{action}")
    assert paths[generic + 1 : generic + 6] == [f"/actions/acme/{a}" for a in ("echo", "refuse", "crash", "sleepy")] + [
        "/actions/other/ping"
    ]
    schemas = doc["components"]["schemas"]
    operation = doc["paths"]["/actions/acme/echo"]["post"]
    call = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert (call, result) == ("AcmeEchoCall", "AcmeEchoResult")
    assert schemas[call]["properties"]["input"]["$ref"] == "#/components/schemas/Echo"
    assert schemas[call]["required"] == ["input"] and schemas[call]["additionalProperties"] is False
    assert set(schemas[call]["properties"]) == {"connection_id", "input", "wait", "timeout"}
    assert schemas[result]["properties"]["output"]["$ref"] == "#/components/schemas/Echo"
    assert schemas["Echo"]["properties"] == {"text": {"type": "string", "title": "Text"}}
    assert "parameters" not in operation and operation["security"] == [{"HTTPBearer": []}]
    untyped = doc["paths"]["/actions/acme/refuse"]["post"]  # declares no models: the generic shapes
    assert untyped["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActionCall"
    }

    # served by the generic route: it answers alike
    await add_connection(server)
    async with server.client.post("/actions/acme/echo", json={"connection_id": "c1", "input": {"text": "hi"}}) as r:
        assert r.status == 200 and (await r.json())["output"] == {"text": "hi"}
    async with server.client.post("/actions/acme/echo", json={"connection_id": "c1", "input": {}}) as r:
        error = assert_error_body(await r.json(), "INVALID_INPUT")
        assert r.status == 422 and error["details"]["errors"] == [{"field": "text", "message": "Field required"}]


TWO_CONTACTS = """
from pydantic import BaseModel
from splice import Integration

acme = Integration("acme", base_url="https://acme.test")
other = Integration("other", base_url="https://other.test")


class Contact(BaseModel):
    email: str


@acme.action(input=Contact)
async def add(ctx, input):
    return None


class Contact(BaseModel):  # another model of the same name, as a second module would have
    phone: int


@other.action(input=Contact, output=Contact)
async def add(ctx, input):
    return input
"""


async def test_two_models_of_one_name_get_short_distinct_names(start_server: StartServer) -> None:
    doc = await _document(await start_server(TWO_CONTACTS))
    schemas = doc["components"]["schemas"]
    acme = doc_ref(schemas["AcmeAddCall"]["properties"]["input"])
    other = doc_ref(schemas["OtherAddCall"]["properties"]["input"])
    assert acme != other
    assert set(schemas[acme]["properties"]) == {"email"} and set(schemas[other]["properties"]) == {"phone"}
    assert [name for name in schemas if len(name) > 40 or "__" in name] == []
    assert doc_ref(schemas["OtherAddResult"]["properties"]["output"]) == other


def doc_ref(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[1]


# --- /docs without the internet ------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


async def test_the_docs_page_loads_everything_from_the_server(server: Server) -> None:
    async with server.as_token(None).get("/docs") as response:
        assert response.status == 200
        page = await response.text()
    parser = _Assets()
    parser.feed(page)
    assert len(parser.urls) >= 3, parser.urls  # script, stylesheet, icon
    absolute = re.findall(r"""https?://[^\s"'<>)]+""", page)
    assert [url for url in absolute if not url.startswith(server.url)] == []
    assert "validatorUrl" in page and '"validatorUrl": null' in page  # Swagger UI's validator would call out
    for url in [*parser.urls, "/openapi.json"]:
        full = urljoin(server.url + "/docs", url)
        assert urlsplit(full).netloc == urlsplit(server.url).netloc, url
        async with server.as_token(None).get(full) as asset:
            assert asset.status == 200 and len(await asset.read()) > 1000, url


# --- a generated client ----------------------------------------------------------------------

CLIENT_CALLS = """
import sys
from splice_client import AuthenticatedClient
from splice_client.api.actions import run_acme_echo
from splice_client.api.connections import list_connections
from splice_client.models import AcmeEchoCall, AcmeEchoResult, Echo

client = AuthenticatedClient(base_url=sys.argv[1], token=sys.argv[2])
result = run_acme_echo.sync(client=client, body=AcmeEchoCall(input_=Echo(text="typed"), connection_id="c1"))
assert isinstance(result, AcmeEchoResult) and isinstance(result.output, Echo), result
print(result.output.text, [c.id for c in list_connections.sync(client=client)])
"""


def _generator(cache: pytest.Cache) -> Path:
    """A venv with openapi-python-client, made once and kept in pytest's cache (about 10 s)."""
    venv = cache.mkdir("openapi-python-client-0.29")
    python = venv / "bin" / "python"
    if not (venv / "bin" / "openapi-python-client").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", GENERATOR], check=True, capture_output=True,
                           timeout=300)  # fmt: skip
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"openapi-python-client could not be installed: {exc}")
    return venv / "bin"


@pytest.mark.timeout(360)
async def test_a_client_generated_from_the_document_has_short_names_and_typed_actions(
    server: Server, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    bin_dir = await asyncio.to_thread(_generator, request.config.cache)  # type: ignore[arg-type]
    await add_connection(server)
    (tmp_path / "openapi.json").write_text(json.dumps(await _document(server)))
    # no post hooks (they run ruff over the output); JSON Lines is text to a client
    (tmp_path / "config.yaml").write_text(
        "post_hooks: []\ncontent_type_overrides:\n  application/x-ndjson: text/plain\n"
    )
    generate = [str(bin_dir / "openapi-python-client"), "generate", "--path", "openapi.json", "--meta", "none",
                "--config", "config.yaml"]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, generate, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    package = tmp_path / "splice_client"
    modules = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py"))
    assert [m for m in modules if len(Path(m).stem) > 40] == []
    assert {"api/actions/run_action.py", "api/actions/run_acme_echo.py", "api/connections/list_connections.py",
            "api/runs/get_run.py", "models/acme_echo_call.py", "models/echo.py"} <= set(modules)  # fmt: skip
    (tmp_path / "calls.py").write_text(CLIENT_CALLS)
    call = [str(bin_dir / "python"), "calls.py", server.url, server.secret]
    done = await asyncio.to_thread(subprocess.run, call, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "typed ['c1']"
