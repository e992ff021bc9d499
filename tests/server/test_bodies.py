"""JSON request bodies over a real server: the Content-Type rule, parse errors in words, unknown keys by
name, and one ``details.errors`` shape; the README's curl examples run as written."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ProjectFactory
from tests.server.conftest import Server, add_connection, assert_error_body, serving

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import create_app

README = Path(__file__).resolve().parents[2] / "README.md"
BODY = '{"connection_id": "c1", "input": {"text": "hi"}}'
SYNC = """

@acme.sync(models=[Contact], every="1h")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts"):
        await ctx.records.save(page)
"""


async def _post(server: Server, path: str, data: str | bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with server.client.post(path, data=data, headers=headers) as response:
        return response.status, await response.json()


async def test_a_json_body_sent_as_something_else_is_415_naming_the_header(server: Server) -> None:
    await add_connection(server)
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None):
        # bytes and skip_auto_headers: aiohttp sends exactly this Content-Type, or none
        headers = {"Content-Type": content_type} if content_type else {}
        async with server.client.post(
            "/actions/acme/echo", data=BODY.encode(), headers=headers, skip_auto_headers=["Content-Type"]
        ) as response:
            status, body = response.status, await response.json()
        assert status == 415, body
        error = assert_error_body(body, "UNSUPPORTED_MEDIA_TYPE")
        assert "Content-Type" in error["message"] and "Content-Type: application/json" in error["hint"]
        assert error["details"]["content_type"] == content_type
        assert error["details"]["errors"] == [{"field": "Content-Type", "message": "must be application/json"}]
    for content_type in ("application/json", "application/json; charset=utf-8", "application/vnd.splice+json"):
        status, body = await _post(server, "/actions/acme/echo", BODY, {"Content-Type": content_type})
        assert (status, body["output"]) == (200, {"text": "hi"}), content_type


async def test_a_body_that_does_not_parse_names_the_line_and_column_in_words(server: Server) -> None:
    data = '{"connection_id": "c1"\n "input": {}}'
    status, body = await _post(server, "/actions/acme/echo", data, {"Content-Type": "application/json"})
    assert status == 400
    error = assert_error_body(body, "INVALID_JSON")
    assert error["message"] == "the body is not valid JSON: line 2, column 2: expecting ',' delimiter"
    assert error["details"]["errors"] == [{"field": "body", "message": "line 2, column 2: expecting ',' delimiter"}]
    assert (error["details"]["line"], error["details"]["column"]) == (2, 2)


async def test_an_unknown_key_is_refused_by_name_with_the_accepted_ones(server: Server) -> None:
    await add_connection(server)
    typo = {"connection_id": "c1", "input": {"text": "hi"}, "time_out": 5}
    async with server.client.post("/actions/acme/echo", json=typo) as response:
        status, body = response.status, await response.json()
    assert status == 422
    error = assert_error_body(body, "INVALID_INPUT")
    assert error["details"]["errors"] == [
        {"field": "time_out", "message": "unknown key; the accepted keys are connection_id, input, wait, timeout"}
    ]
    assert error["message"].startswith("time_out: unknown key")
    two = {"integration": "acme", "id": "c9", "credential": {}, "meta": {}}
    async with server.client.post("/connections", json=two) as response:
        error = assert_error_body(await response.json(), "INVALID_INPUT")
    assert response.status == 422 and "'credential', 'meta'" in error["message"] and "credentials" in error["message"]
    async with server.client.put("/state/global/k", json={"value": 1, "ttl": 5}) as response:
        error = assert_error_body(await response.json(), "INVALID_INPUT")
    assert response.status == 422 and error["details"]["errors"][0]["field"] == "ttl"


async def test_every_error_list_is_field_and_message(server: Server) -> None:
    """FastAPI's validation (the request) and splice's (an action's input model) answer in one shape."""
    await add_connection(server)
    bodies = [
        {"connection_id": "c1", "input": {"text": "hi"}, "timeout": "soon"},  # the request: FastAPI
        {"connection_id": "c1", "input": {"text": ["not", "text"]}},  # the action's input: splice
    ]
    for sent in bodies:
        async with server.client.post("/actions/acme/echo", json=sent) as response:
            error = assert_error_body(await response.json(), "INVALID_INPUT")
        assert response.status == 422
        assert error["details"]["errors"] and all(set(item) == {"field", "message"}
                                                  for item in error["details"]["errors"]), error  # fmt: skip
    async with server.client.get("/records/acme/Contact", params={"connection_id": "c1", "limit": 0}) as response:
        error = assert_error_body(await response.json(), "INVALID_INPUT")
    assert error["details"]["errors"] == [
        {"field": "query.limit", "message": "Input should be greater than or equal to 1"}
    ]


# --- the README's curl examples, run with curl as written --------------------------------------


def readme_curl_commands() -> list[str]:
    """Every ``curl`` command in the README's shell examples, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("curl "):
                commands.append(command.split("  #", 1)[0].strip())
    return commands


def test_every_readme_curl_that_sends_a_body_says_it_is_json() -> None:
    commands = readme_curl_commands()
    assert any(" -d " in c for c in commands), commands
    for command in commands:
        words = shlex.split(command)
        if {"-d", "--data", "--data-raw", "--data-binary"} & set(words):
            assert "Content-Type: application/json" in words, command


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_readme_curl_examples_work_against_the_init_project(
    make_project: ProjectFactory, demo_api: DemoAPI
) -> None:
    """The project ``splice init`` writes (with a sync, for the records example), served, and each
    README curl run by curl itself."""
    source = (resources.files("splice") / "templates" / "project" / "integrations" / "acme.py").read_text()
    runtime = await Runtime.open(make_project({"acme.py": source + SYNC}), isolation="none")

    def handle(url: str, secret: str) -> Server:
        return Server(runtime, url, secret, demo_api.url)

    async with serving(runtime, create_app(runtime), handle) as server:
        await add_connection(server)
        env = {**os.environ, "TOKEN": server.secret}
        for command in readme_curl_commands():
            command = command.replace("localhost:8080", server.url.removeprefix("http://"))
            process = await asyncio.create_subprocess_shell(
                f"{command} -sS -o /dev/stderr -w '%{{http_code}}'", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            status, body = await process.communicate()
            assert process.returncode == 0 and status.decode().startswith("2"), (command, status, body)
