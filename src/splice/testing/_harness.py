"""The harness: run a project's script against a fixture, through splice's real code path.

A replay is a real run, not a mock of ``ctx``: a :class:`~splice.runtime.Runtime` on a
throwaway SQLite store, its validation, pagination, retries and token refresh, with only the
wire swapped for a :class:`ReplayTransport` and the clock frozen at the fixture's
``recorded_at`` (so token expiry and timestamps decide as they did when it was recorded). The
connection is added with the fixture's credentials, which are placeholders.

Replays run the script in-process by default (``isolation="none"``, what every platform's test
harness does): the same ``ctx`` and gateway as a sandboxed run, ~20 ms a test instead of the
~0.9 s a sandboxed child's zygote takes to start. ``isolation="process"`` (``pytest
--splice-isolation process``) replays in the sandboxed child, as production runs it.

Recording (:func:`record_fixture`, behind ``splice run --record`` and ``pytest
--splice-record``) is the same run against the live API through a :class:`RecordingTransport`.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from splice._clock import ManualClock, SystemClock
from splice._http.redact import MASK, PUBLIC_FIELDS
from splice._http.transport import AiohttpTransport
from splice._runtime.request import new_run_id
from splice.errors import FixtureError, NotFound, UsageError
from splice.integration import Script
from splice.project import load_project
from splice.runtime import Runtime
from splice.store import RunRecord, SecretBox, Stream, open_store
from splice.testing._format import Fixture, decode_body, encode_body, load_fixture
from splice.testing._record import RecordingTransport
from splice.testing._replay import ReplayTransport
from splice.testing._secrets import Placeholders, placeholder, refuse_secrets
from splice.triggers import WebhookRequest, WebhookResponse
from splice.triggers._request import body_from_json

DEFAULT_CONNECTION = "c1"
#: the webhook secret a replayed trigger's request is signed with when the test gives none
TEST_WEBHOOK_SECRET = "splice-test-webhook-secret"
_UNSET: Any = object()
ISOLATIONS = ("none", "process")


class AttrDict(dict[str, Any]):
    """A dict whose keys read as attributes too (``run.output.email``); equal to the plain dict."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no key {name!r} (keys: {', '.join(map(str, self)) or 'none'})") from None


def attrs(value: Any) -> Any:
    if isinstance(value, dict):
        return AttrDict({k: attrs(v) for k, v in value.items()})
    if isinstance(value, list):
        return [attrs(v) for v in value]
    return value


@dataclass(slots=True)
class HarnessRun:
    """What a replayed run did: its status, output, error and logs; for a sync, its live records,
    the ids it deleted and its checkpoint; for a flow, each step's result; for a trigger, its response."""

    record: RunRecord
    output: Any
    logs: list[dict[str, Any]]
    #: a sync's live records by model (without their ``_splice`` metadata)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: a sync's deleted record ids by model
    deleted: dict[str, list[str]] = field(default_factory=dict)
    #: the checkpoint a sync left (``{}`` when it saved none)
    checkpoint: dict[str, Any] | None = None
    #: a flow run's step results by step key
    steps: dict[str, Any] = field(default_factory=dict)
    #: a trigger's HTTP answer: ``status``, ``headers``, ``body`` (text) and ``json`` (parsed, or None)
    response: AttrDict | None = None

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def error(self) -> dict[str, Any] | None:
        return self.record.error

    @property
    def messages(self) -> list[str]:
        return [line["message"] for line in self.logs]


class Harness:
    """Runs a project's scripts against fixtures; the ``splice_harness`` pytest fixture is one.

    >>> run = await harness.run("acme.create_contact", fixture="fixtures/create_contact.json")
    >>> assert run.output.email == "ada@example.com"
    """

    def __init__(
        self,
        root: str | Path,
        *,
        record: bool = False,
        strict: bool = False,
        isolation: str = "none",
        base: Path | None = None,
    ) -> None:
        if isolation not in ISOLATIONS:
            raise UsageError(f"isolation={isolation!r}: a replay runs in-process ('none') or in the sandboxed "
                             "child ('process')", hint="pytest --splice-isolation none|process")  # fmt: skip
        self.root = Path(root).resolve()
        self.recording = record
        self.strict = strict
        #: where replays run the script; a recording runs it as the project says
        self.isolation = isolation
        #: relative fixture paths are read from here (the test file's folder under pytest)
        self.base = base or self.root

    def for_project(self, path: str | Path) -> Harness:
        """The same harness for another project folder."""
        return Harness(path, record=self.recording, strict=self.strict, isolation=self.isolation, base=self.base)

    def fixture_path(self, fixture: str | Path) -> Path:
        path = Path(fixture)
        return path if path.is_absolute() else self.base / path

    async def run(
        self,
        script: str,
        *,
        fixture: str | Path,
        input: Any = None,
        config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        checkpoint: dict[str, Any] | None = None,
        records: dict[str, list[dict[str, Any]]] | None = None,
        env: dict[str, str] | None = None,
        connection: str | None = None,
        now: datetime | None = None,
        strict: bool | None = None,
    ) -> HarnessRun:
        """Run ``script`` replaying ``fixture`` (recording it first under ``--splice-record``).

        ``input``, ``config``, ``metadata`` and ``env`` default to the recorded ones; ``state``
        seeds the script's state; ``now`` moves the frozen clock off the recording's time. For
        a sync, ``checkpoint`` is the one it starts from and ``records`` (by model) are stored
        before it runs, so a ``track_deletes`` sync's deletes can be tested.
        A request the fixture does not hold fails with ``FIXTURE_MISMATCH`` even when the
        script caught the error; ``strict`` also fails on recorded requests never made.
        """
        path = self.fixture_path(fixture)
        if self.recording:
            await self._record(script, path, input=input, connection=connection)
        loaded = self._load(path, script)
        transport = ReplayTransport(loaded, strict=self.strict if strict is None else strict)
        clock = ManualClock(now or loaded.recorded_at)
        async with _replay_runtime(self.root, transport, clock, self.isolation) as rt:
            target = rt.project.script(script)
            home = target.integration.name
            conn_id = await _add_connection(rt, home, loaded, config, metadata, connection)
            await _set_env(rt, loaded, env)
            await _seed_state(rt, target, conn_id, state)
            await _seed_sync(rt, target, conn_id, checkpoint, records)
            record = await rt.run(script, connection=conn_id, input=loaded.input if input is None else input)
            result = await _result(rt, record, target.models if target.kind == "sync" else ())
        transport.check()
        return result

    async def run_flow(
        self,
        flow: str,
        *,
        fixture: str | Path,
        payload: Any = None,
        config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        connection: str | None = None,
        now: datetime | None = None,
        strict: bool | None = None,
    ) -> HarnessRun:
        """Run the flow ``flow`` replaying ``fixture`` (recorded with ``splice flows run --record``):
        the result's ``steps`` has each step's result by its key (``Fetch``, ``Each[0]/Tag``).

        Every step runs as it would (code steps in the sandboxed child); the requests of all of
        them come from the one fixture. ``payload`` defaults to the recorded one."""
        path = self.fixture_path(fixture)
        if self.recording:
            await self._record(flow, path, input=payload, connection=connection)
        loaded = self._load(path, flow)
        transport = ReplayTransport(loaded, strict=self.strict if strict is None else strict)
        clock = ManualClock(now or loaded.recorded_at)
        async with _replay_runtime(self.root, transport, clock, self.isolation) as rt:
            found = await rt.flows.get(flow)
            conn_id = await _add_connection(rt, found.integration, loaded, config, metadata, connection)
            await _set_env(rt, loaded, env)
            record = await rt.flows.run(
                found.id, connection=conn_id, payload=loaded.input if payload is None else payload
            )
            result = await _result(rt, record, ())
        transport.check()
        return result

    async def trigger(
        self,
        trigger: str,
        *,
        fixture: str | Path | None = None,
        json: Any = _UNSET,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        method: str | None = None,
        path: str | None = None,
        config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        connection: str | None = None,
        now: datetime | None = None,
        strict: bool | None = None,
        sign: bool = True,
    ) -> HarnessRun:
        """Send the trigger ``trigger`` a webhook: a request in, ``run.response`` out.

        The request is ``json`` (or a raw ``body``) with ``headers``, ``query``, ``method`` and
        ``path``; with a ``fixture`` (recorded under ``pytest --splice-record``), the recorded
        request is the default and the trigger's API calls are answered from it. Without one,
        any API call fails the test (``FIXTURE_MISMATCH``). The run goes through what a real
        webhook does: the body limit, the signature, the routing to a connection (which the
        harness adds: ``connection``, else the fixture's, else ``c1``). A trigger with an
        :class:`~splice.triggers.HmacSignature` gets its request signed with the secret in
        ``env`` (a test value when none is given) unless ``sign=False``; a refusal raises as the
        server would answer it (``INVALID_SIGNATURE``, ``ROUTING_VALUE_MISSING``, …). Flows
        bound to the trigger are not started: replay them with :meth:`run_flow`.
        """
        given = _request_json(json, body, headers, query, method, path)
        fixture_path = self.fixture_path(fixture) if fixture is not None else None
        if self.recording and fixture_path is not None:
            await self._record(trigger, fixture_path, input=given, connection=connection)
        loaded = self._load(fixture_path, trigger) if fixture_path is not None else _blank(trigger, connection)
        transport = ReplayTransport(loaded, strict=self.strict if strict is None else strict)
        clock = ManualClock(now or loaded.recorded_at)
        async with _replay_runtime(self.root, transport, clock, self.isolation) as rt:
            target = rt.project.script(trigger)
            if target.kind != "trigger":
                raise UsageError(
                    f"{trigger} is not a trigger ({target.kind}): harness.trigger() sends webhooks to triggers",
                    hint=f"use harness.run({trigger!r}, ...)",
                )
            routed = target.connection_from is not None
            await _add_connection(rt, target.integration.name, loaded, config, metadata, connection, always=routed)
            await _set_env(rt, loaded, env)
            recorded = loaded.input if isinstance(loaded.input, dict) else {}
            request = await _webhook(rt, target, {**recorded, **given}, sign=sign)
            record, response = await rt.run_trigger(target.integration.name, target.name, request, flows=False)
            result = await _result(rt, record, ())
            result.response = _response(response)
        transport.check()
        return result

    def _load(self, path: Path, name: str) -> Fixture:
        """The fixture at ``path``, recorded for ``name`` and free of secrets."""
        loaded = load_fixture(path)
        if loaded.script != name:
            raise FixtureError(
                f"fixture {path} was recorded for {loaded.script}, not {name}",
                code="FIXTURE_INVALID",
                details={"path": str(path), "script": loaded.script},
                hint=f"pass the fixture recorded for {name}, or record one: pytest --splice-record",
            )
        refuse_secrets(loaded)
        return loaded

    async def _record(self, script: str, path: Path, *, input: Any, connection: str | None) -> None:
        previous = load_fixture(path) if path.is_file() else None
        conn_id = connection or ((previous.connection or {}).get("id") if previous else None)
        payload = input if input is not None else (previous.input if previous else None)
        recorder = RecordingTransport(AiohttpTransport.create())
        rt = await Runtime.open(self.root, transport=recorder)
        try:
            before = await credentials_before(rt, script, conn_id)
            started = SystemClock().now()
            if await _is_flow(rt, script):
                record = await rt.flows.run(script, connection=conn_id, payload=payload)
            elif (target := rt.project.script(script)).kind == "trigger":
                request = await _webhook(rt, target, payload or {}, sign=True, live=True)
                record, _ = await rt.run_trigger(target.integration.name, target.name, request, flows=False)
            else:
                record = await rt.run(script, connection=conn_id, input=payload)
            fixture, secrets = await record_fixture(rt, recorder, record, started, before)
        finally:
            await rt.close()
        write_fixture(fixture, path, secrets)


async def record_fixture(
    rt: Runtime,
    recorder: RecordingTransport,
    record: RunRecord,
    started: datetime,
    credentials: dict[str, Any] | None = None,
) -> tuple[Fixture, Placeholders]:
    """A fixture of ``record``, a run ``rt`` just made through ``recorder``, every known secret replaced;
    and those secrets, for :func:`write_fixture`'s last check.

    ``credentials`` are the connection's before the run (read them first: a refresh in the run
    replaces them); the fixture's connection gets them as placeholders, so a replay starts where
    the recording did."""
    name = f"{record.integration}.{record.script}"
    target = None if record.kind == "flow" else rt.project.script(name)
    secrets = Placeholders()
    connection = None
    if record.connection_id:
        conn = await rt.connections.get(record.integration, record.connection_id)
        before = conn.credentials if credentials is None else credentials
        secrets.add_credentials(before)
        secrets.add_credentials(conn.credentials)
        connection = {
            "id": conn.id,
            "config": conn.config,
            "metadata": await rt.connections.metadata(record.integration, conn.id),
            "credentials": {k: v if k in PUBLIC_FIELDS else placeholder(f"credentials.{k}") for k, v in before.items()},
        }
    env = await rt.store.env.all()
    secrets.add_env(env)
    exchanges = recorder.exchanges(secrets)
    result = await _result(rt, record, target.models if target is not None and target.kind == "sync" else ())
    kind = "flow" if target is None else target.kind
    if target is None:
        given = (record.input or {}).get("payload")
    elif kind == "trigger":
        given = _trigger_input(record.input, target)
    else:
        given = record.input
    fixture = Fixture(
        script=name,
        kind=kind if kind in ("action", "sync", "trigger", "flow") else "action",
        recorded_at=started,
        connection=secrets.value(connection),
        input=secrets.value(given),
        output=secrets.value(record.output),
        status=record.status,
        error=secrets.value(record.error),
        logs=secrets.value(result.logs),
        records=secrets.value(result.records),
        deleted=result.deleted,
        checkpoint=secrets.value(result.checkpoint),
        env={name: placeholder(f"env.{name}") for name in env},
        exchanges=exchanges,
    )
    return fixture, secrets


async def credentials_before(rt: Runtime, script: str, connection: str | None) -> dict[str, Any] | None:
    """The connection's credentials as a recording starts (``None``: no connection named)."""
    if connection is None:
        return None
    integration = script.partition(".")[0]
    return dict((await rt.connections.get(integration, connection)).credentials)


def write_fixture(fixture: Fixture, path: str | Path, secrets: Placeholders) -> Path:
    """Write ``fixture`` to ``path``, refusing (``FIXTURE_SECRET``) if any known secret would be in the file."""
    data = fixture.dumps()
    leaks = secrets.leaks(data)
    if leaks:
        raise FixtureError(
            f"not writing fixture {path}: it would hold the secret(s) {', '.join(leaks)}",
            code="FIXTURE_SECRET",
            details={"path": str(path), "secrets": leaks},
            hint="a secret reached the fixture in a form splice does not replace (encoded in a body?); "
            "report it, and keep the secret out of the script's output",
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@contextlib.asynccontextmanager
async def _replay_runtime(
    root: Path, transport: ReplayTransport, clock: ManualClock, isolation: str
) -> AsyncIterator[Runtime]:
    """A runtime on a throwaway SQLite store, so a replay leaves the project's ``.splice`` alone.

    The store is a copy of one migrated once per process (:func:`_migrated`): copying takes
    ~3 ms where migrating a fresh file takes ~60 ms, most of a test's time otherwise."""
    project = load_project(root)
    template, box = await _migrated()
    tmp = tempfile.mkdtemp(prefix="splice-replay-")
    try:
        shutil.copyfile(template, f"{tmp}/splice.db")
        store = await open_store(f"sqlite:///{tmp}/splice.db", box, clock=clock)
        rt = Runtime(project, store, box, isolation, transport=transport, clock=clock)
        try:
            yield rt
        finally:
            await rt.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_template: tuple[Path, SecretBox] | None = None


async def _migrated() -> tuple[Path, SecretBox]:
    """An empty store at the current schema, made once per process (removed at exit), and its key."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="splice-replay-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        box = SecretBox.generate()
        await (await open_store(f"sqlite:///{folder}/splice.db", box)).close()
        _template = (folder / "splice.db", box)
    return _template


async def _is_flow(rt: Runtime, name: str) -> bool:
    """Whether ``name`` is a flow (declared or stored) rather than a script."""
    integration, _, short = name.partition(".")
    if short in rt.project.integration(integration).scripts:
        return False
    try:
        await rt.flows.get(name)
    except NotFound:
        return False
    return True


async def _add_connection(
    rt: Runtime,
    integration: str,
    fixture: Fixture,
    config: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    connection: str | None,
    *,
    always: bool = False,
) -> str | None:
    """Add the fixture's connection (or one from ``config``; ``always``: one even when neither says so)."""
    recorded = fixture.connection
    if recorded is None and config is None and not always:
        return None
    recorded = recorded or {}
    conn_id = connection or recorded.get("id") or DEFAULT_CONNECTION
    auth = rt.project.integration(integration).auth
    placeholders = {name: placeholder(f"credentials.{name}") for name in getattr(auth, "fields", ())}
    await rt.connections.add(
        integration,
        conn_id,
        recorded.get("credentials") or placeholders,
        config=recorded.get("config") if config is None else config,
        metadata=recorded.get("metadata") if metadata is None else metadata,
    )
    return str(conn_id)


async def _set_env(rt: Runtime, fixture: Fixture, env: dict[str, str] | None) -> None:
    """The fixture's env (placeholders), with the test's ``env`` over it."""
    for name, value in {**fixture.env, **(env or {})}.items():
        await rt.env.set(name, value)


async def _seed_state(rt: Runtime, target: Script, conn_id: str | None, state: dict[str, Any] | None) -> None:
    if not state:
        return
    scope_id = rt.store.state.connection_scope_id(target.integration.name, conn_id or "", target.name)
    for key, value in state.items():
        await rt.store.state.put("script", scope_id, key, value)


async def _seed_sync(
    rt: Runtime,
    target: Script,
    conn_id: str | None,
    checkpoint: dict[str, Any] | None,
    records: dict[str, list[dict[str, Any]]] | None,
) -> None:
    """Store a sync's starting checkpoint and records, as an earlier run would have left them."""
    if checkpoint is None and not records:
        return
    if target.kind != "sync" or conn_id is None:
        raise UsageError(
            f"checkpoint= and records= seed a sync's store for its connection; {target.qualname} is "
            + (f"not a sync ({target.kind})" if target.kind != "sync" else "run without a connection"),
            hint="pass them to a sync's replay, whose fixture names its connection",
        )
    integration = target.integration.name
    if checkpoint is not None:
        await rt.store.checkpoints.save(integration, conn_id, target.name, checkpoint)
    models = {m.__name__ for m in target.models}
    for model, items in (records or {}).items():
        if model not in models:
            raise UsageError(
                f"records= names the model {model!r}; {target.qualname} syncs {', '.join(sorted(models))}",
                hint="key records= by a model the sync declares",
            )
        await rt.store.records.save(Stream(integration, conn_id, model), list(items), run_id=new_run_id())


def _request_json(
    json: Any, body: bytes | str | None, headers: dict[str, str] | None, query: dict[str, str] | None,
    method: str | None, path: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The parts of a webhook request a test gave, as a fixture holds a request (see :func:`_webhook`)."""
    given: dict[str, Any] = {}
    if json is not _UNSET and body is not None:
        raise UsageError("give the webhook's body as json= or as body=, not both")
    if json is not _UNSET:
        given["body"] = {"json": json}
    elif body is not None:
        given["body"] = encode_body(body.encode() if isinstance(body, str) else bytes(body))
    for key, value in (("headers", headers), ("query", query), ("method", method), ("path", path)):
        if value is not None:
            given[key] = value
    return given


async def _webhook(
    rt: Runtime, target: Script, data: dict[str, Any], *, sign: bool, live: bool = False
) -> WebhookRequest:
    """A webhook request from its fixture form, signed (unless ``sign`` is False or it carries a
    signature already) with the trigger's secret from the runtime's env; a replay's env gets a test
    value when it has none, a ``live`` (recording) one is left as the operator set it."""
    headers = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
    body = data.get("body")
    try:
        content = decode_body(body)
    except ValueError as exc:
        raise UsageError(f"the webhook's body {exc}") from None
    if isinstance(body, dict) and "json" in body and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    method = str(data.get("method") or "POST")
    path = str(data.get("path") or f"/webhooks/{target.integration.name}/{target.name}")
    query = data.get("query") or {}
    request = WebhookRequest(method, path, headers, query, content)
    signature = target.signature
    if signature is None:
        return request
    secret = (await rt.store.env.all()).get(signature.secret_env)
    if not secret and not live:
        secret = TEST_WEBHOOK_SECRET
        await rt.env.set(signature.secret_env, secret)
    if not secret or not sign or signature.header in request.headers:
        return request
    return WebhookRequest(method, path, {**headers, **signature.sign(request, secret)}, query, content)


def _trigger_input(stored: Any, target: Script) -> dict[str, Any] | None:
    """A trigger run's stored input (the request with secret headers masked) as a fixture keeps it:
    its masked headers left out, the signature's among them (a replay signs the request anew)."""
    if not isinstance(stored, dict):
        return None
    headers = stored.get("headers") if isinstance(stored.get("headers"), dict) else {}
    skip = (
        {target.signature.timestamp_header.lower()} if target.signature and target.signature.timestamp_header else set()
    )
    content = body_from_json(stored)
    return {
        "method": stored.get("method") or "POST",
        "path": stored.get("path") or "/",
        "headers": {k: v for k, v in headers.items() if v != MASK and k not in skip},
        "query": stored.get("query") or {},
        "body": encode_body(content, str(headers.get("content-type", ""))),
    }


def _response(response: WebhookResponse) -> AttrDict:
    text = response.body.decode("utf-8", errors="replace")
    try:
        parsed = attrs(orjson.loads(response.body)) if response.body else None
    except orjson.JSONDecodeError:
        parsed = None
    return AttrDict(status=response.status, headers=dict(response.headers), content_type=response.content_type,
                    body=text, json=parsed)  # fmt: skip


def _blank(trigger: str, connection: str | None) -> Fixture:
    """No fixture: a trigger replayed with no recorded exchanges (any API call is a mismatch)."""
    return Fixture(script=trigger, kind="trigger", recorded_at=SystemClock().now(),
                   connection={"id": connection} if connection else None)  # fmt: skip


async def _result(rt: Runtime, record: RunRecord, models: Sequence[type[Any]]) -> HarnessRun:
    """What the run did; ``models``: a sync's, whose records, deletes and checkpoint come with it. A
    flow run's logs are its own and its steps', in order, and ``steps`` has each step's result."""
    runs = [record]
    steps: dict[str, Any] = {}
    if record.kind == "flow":
        children = list(reversed(await rt.runs.find(parent_id=record.id, limit=10_000)))
        runs += children
        steps = {c.step: c.output for c in children if c.step and c.status == "succeeded"}
    logs = [
        {"level": line.level, "message": line.message, "fields": line.fields}
        for one in runs
        for line in await rt.runs.logs(run_id=one.id)
    ]
    run = HarnessRun(record=record, output=attrs(record.output), logs=logs, steps=attrs(steps))
    if models and record.connection_id:
        records: dict[str, list[dict[str, Any]]] = {}
        for model in models:
            live, gone = await _all_records(rt, record, model.__name__)
            records[model.__name__] = live
            if gone:
                run.deleted[model.__name__] = gone
        run.records = attrs(records)
        run.checkpoint = attrs(await rt.store.checkpoints.get(record.integration, record.connection_id, record.script))
    return run


async def _all_records(rt: Runtime, record: RunRecord, model: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The stream's live records (without ``_splice``) and its deleted records' ids, in cursor order."""
    live: list[dict[str, Any]] = []
    gone: list[str] = []
    cursor = None
    while True:
        page = await rt.records.read(record.integration, model, connection=record.connection_id, cursor=cursor,
                                     limit=1000)  # fmt: skip
        for one in page.records:
            meta = one.get("_splice") or {}
            if meta.get("deleted_at") is not None:
                gone.append(str(one.get("id")))
            else:
                live.append({k: v for k, v in one.items() if k != "_splice"})
        if page.next_cursor is None:
            return live, gone
        cursor = page.next_cursor
