"""Fuzzing: schemathesis over the served OpenAPI document: no 5xx, and every response as documented.

The server runs in a background thread with its own event loop, because schemathesis calls it
synchronously. Every operation gets a bounded, derandomized number of valid and of invalid
requests (the same ones on every run). Names in paths, queries and bodies are often ones that
exist (connection ``c1`` over the demo API, with synced records and a run), so requests get
past the 404s into the routes. It runs on SQLite and on PostgreSQL, whose text types refuse
NUL characters: the generated strings hold some, and the test checks that they were sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests._databases import make_database_url, run_in_thread
from tests.conftest import ProjectFactory
from tests.server.conftest import PROJECT

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import ApiServer, create_app
from splice.store._state import connection_scope_id

T = TypeVar("T")
Check = Callable[[CheckContext, Response, schemathesis.Case], bool | None]
#: per operation and generation mode (valid data, invalid data)
MAX_EXAMPLES = 20
#: more where the interesting answers need several parameters to line up
MORE_EXAMPLES = {"POST /actions/{integration}/{action}": 40}


def no_server_error(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool | None:
    """No 5xx, except a run's own failure: an action that crashed (500), whose third party failed
    (502) or that ran out of time (504) answers so by design, naming the run; the server failing
    (``INTERNAL_ERROR``) never names one."""
    if response.status_code >= 500:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {}
        if isinstance(error, dict) and error.get("run_id") and error.get("code") != "INTERNAL_ERROR":
            return None
    return not_a_server_error(ctx, response, case)


def parsed_by_the_app(check: Check) -> Check:
    """``check``, except for a request uvicorn's HTTP parser refused before splice saw it (a
    generated path with bytes HTTP does not allow): uvicorn answers those 400 in plain text."""

    def checked(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool | None:
        if response.status_code == 400 and response.text == "Invalid HTTP request received.":
            return None
        return check(ctx, response, case)

    checked.__name__ = check.__name__
    return checked


CHECKS = [no_server_error, status_code_conformance, parsed_by_the_app(content_type_conformance),
          parsed_by_the_app(response_schema_conformance)]  # fmt: skip
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
#: how often a parameter below takes one of its known values rather than a generated one
KNOWN_PROBABILITY = 0.8
#: no "/": schemathesis keeps those out of path parameters
STATE_KEY = "cursor"


class ServerThread:
    """The demo API, a Runtime over ``PROJECT`` and the REST server, in a thread's own event loop."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="splice-fuzz-server", daemon=True)
        self.url = self.secret = self.run_id = ""

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        self.demo = DemoAPI(contacts=20)
        await self.demo.start()
        self.runtime = await Runtime.open(self.root, isolation="none", database_url=self.database_url)
        self.api = ApiServer(create_app(self.runtime), port=0)
        self.serving = asyncio.create_task(self.api.run_forever())
        while not self.api.started:
            assert not self.serving.done(), self.serving
            await asyncio.sleep(0.01)
        self.url = self.api.url
        _, self.secret = await self.runtime.store.tokens.create("full")
        await self._restore()
        self.run_id = (await self.runtime.run("acme.echo", connection="c1", input={"text": "hi"})).id

    async def _restore(self) -> None:
        """Connections ``c1`` (acme's with its records) and state as at the start: an operation may have
        changed or deleted them."""
        rt, credentials, config = self.runtime, {"api_key": "demo-key"}, {"api_url": self.demo.url}
        for integration in ("acme", "other"):
            if any(c.id == "c1" for c in await rt.connections.list(integration)):
                await rt.connections.update(integration, "c1", credentials=credentials, config=config, metadata={})
            else:
                await rt.connections.add(integration, "c1", credentials, config=config)
                if integration == "acme":
                    run = await rt.run("acme.contacts", connection="c1")
                    assert run.status == "succeeded", run.error
        scopes = [("global", ""), ("integration", "acme"), ("connection", connection_scope_id("acme", "c1")),
                  ("script", connection_scope_id("acme", "c1", "echo"))]  # fmt: skip
        for kind, scope_id in scopes:
            await rt.store.state.put(kind, scope_id, STATE_KEY, {"after": 1})

    def restore(self) -> None:
        self.call(self._restore())

    def stop(self) -> None:
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()

    async def _stop(self) -> None:
        """Whatever :meth:`_start` got to."""
        if hasattr(self, "serving"):
            self.api.stop()
            await self.serving
        if hasattr(self, "runtime"):
            await self.runtime.close()
        if hasattr(self, "demo"):
            await self.demo.stop()


@pytest.fixture(params=DATABASES)
def fuzz_server(request: pytest.FixtureRequest, make_project: ProjectFactory, tmp_path: Path) -> Iterator[ServerThread]:
    url, cleanup = run_in_thread(make_database_url(str(request.param), tmp_path))
    server = ServerThread(make_project({"acme.py": PROJECT}), url)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            run_in_thread(cleanup())


def schemathesis_config(server: ServerThread) -> schemathesis.Config:
    """Bounded and reproducible; security is left to the test (it sends the token on every request)."""
    known: dict[str, list[str]] = {
        "integration": ["acme", "other"],
        "connection_id": ["c1"],
        "action": ["echo", "refuse", "ping", "crash", "sleepy"],
        "sync": ["contacts"],
        "script": ["echo", "contacts"],
        "qualified_script": ["echo", "acme.echo"],
        "model": ["Contact"],
        "key": [STATE_KEY],
        "run_id": [server.run_id],
    }
    bindings = {"integration": ("path.integration", "query.integration", "body.integration"),
                "connection_id": ("path.connection_id", "query.connection_id", "body.connection_id"),
                "script": ("path.script",), "qualified_script": ("query.script",)}  # fmt: skip
    parameters = {
        binding: {"dictionary": name, "probability": KNOWN_PROBABILITY}
        for name in known
        for binding in bindings.get(name, (f"path.{name}",))
    }
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": parameters,
            "generation": {"with-security-parameters": False},
        }
    )


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return isinstance(value, list) and any(holds_nul(item) for item in value)


def counting_nul(sent: list[str]) -> Check:
    """A check that never fails: notes each request whose parameters or body held a NUL character."""

    def sent_nul(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool | None:
        if holds_nul([case.path_parameters, case.query, case.body]):
            sent.append(case.operation.label)
        return None

    return sent_nul


def fuzz(
    operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str], checks: list[Check]
) -> None:
    @hypothesis.settings(
        max_examples=MORE_EXAMPLES.get(operation.label, MAX_EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def test(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=checks, timeout=30)

    test()


def run_with_connection(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half the action calls that name no connection name ``c1`` (the action runs rather than 422)."""
    operation = context.operation
    if operation is None or operation.label != "POST /actions/{integration}/{action}":
        return st.just(body)
    if not isinstance(body, dict) or "connection_id" in body:
        return st.just(body)
    return st.sampled_from([body, {**body, "connection_id": "c1"}])


@pytest.mark.timeout(300)
def test_every_operation_answers_as_documented(fuzz_server: ServerThread) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json", config=schemathesis_config(fuzz_server))
    schema.hook("flatmap_body")(run_with_connection)
    headers = {"Authorization": f"Bearer {fuzz_server.secret}"}
    sent_nul: list[str] = []
    checks = [counting_nul(sent_nul), *CHECKS]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_server.restore()
            try:
                fuzz(operation, mode, headers, checks)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be invalid
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{operation.label} ({mode.value} data): {exc}")
    if failures:
        pytest.fail(f"{len(failures)} failing:\n\n" + "\n\n".join(failures), pytrace=False)
    assert sent_nul, "no request held a NUL character: the NUL refusals went untested"
