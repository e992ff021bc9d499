"""REST errors carry REST hints: the body field or endpoint to use, never a CLI flag or command.

An error raised below both surfaces words its hint for the CLI and Python (``hint``) and, where
that would mislead a REST caller, for REST (``hints={"rest": ...}``); the server sends the
latter. The source check keeps new hints that name a ``--flag`` from reaching REST unworded.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from tests.server.conftest import Server, add_connection, assert_error_body

import splice

SRC = Path(splice.__file__).resolve().parent
CLI_FLAG = re.compile(r"(?<![\w-])--[a-z]")
#: hints with a --flag that only the CLI can meet: finding the project is the CLI's (a server has one)
CLI_ONLY = {"config.py", "_engine/worker.py"}  # the serve / worker process: never a REST answer


async def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return assert_error_body(await response.json(), code)


async def test_rest_hints_name_body_fields_and_endpoints_not_cli_flags(server: Server) -> None:
    async with server.client.post("/actions/acme/echo", json={"input": {"text": "hi"}}) as response:
        error = await _error(response, 422, "INVALID_INPUT")
    assert error["hint"] == 'send "connection_id" (GET /connections?integration=acme)'
    assert error["details"] == {"field": "connection_id"}
    new = {"integration": "acme", "id": "c1", "credentials": {}}
    async with server.client.post("/connections", json=new) as response:
        error = await _error(response, 422, "INVALID_CREDENTIALS")
    assert error["hint"] == 'add "api_key" to "credentials"'
    async with server.client.get("/connections/acme/nope") as response:
        error = await _error(response, 404, "NOT_FOUND")
    assert error["hint"] == "GET /connections?integration=acme lists them"
    await add_connection(server)
    async with server.client.post("/connections", json={**new, "credentials": {"api_key": "k"}}) as response:
        error = await _error(response, 409, "ALREADY_EXISTS")
    assert error["hint"].endswith("DELETE /connections/acme/c1")
    async with server.as_token(await server.token(read_only=True)).delete("/connections/acme/c1") as response:
        error = await _error(response, 403, "FORBIDDEN")
    assert error["hint"] == 'use a token whose scope is not "read_only"'
    async with server.client.get("/tokens/tok_nope") as response:
        error = await _error(response, 404, "NOT_FOUND")
    assert error["hint"] == "GET /tokens lists them"


def test_every_hint_that_names_a_cli_flag_has_rest_words() -> None:
    """``hint="... --flag ..."`` outside the CLI comes with ``hints={"rest": ...}`` in the same call."""
    unworded = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        # splice.testing answers pytest runs (its hints name pytest's --splice-* options), never REST
        if where.startswith(("cli/", "templates/", "testing/")) or where in CLI_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                keywords = {kw.arg: kw.value for kw in node.keywords}
                hint = keywords.get("hint")
                if hint is not None and CLI_FLAG.search(ast.unparse(hint)) and "hints" not in keywords:
                    unworded.append(f"{where}:{node.lineno}")
    assert unworded == []
