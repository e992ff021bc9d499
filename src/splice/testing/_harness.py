"""The harness: run a project's script against a fixture, through splice's real code path.

A replay is a real run, not a mock of ``ctx``: a :class:`~splice.runtime.Runtime` on a
throwaway SQLite store, the project's isolation mode, its validation, pagination, retries and
token refresh, with only the wire swapped for a :class:`ReplayTransport` and the clock frozen
at the fixture's ``recorded_at`` (so token expiry and timestamps decide as they did when it
was recorded). The connection is added with the fixture's credentials, which are placeholders.

Recording (:func:`record_fixture`, behind ``splice run --record`` and ``pytest
--splice-record``) is the same run against the live API through a :class:`RecordingTransport`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from splice._clock import ManualClock, SystemClock
from splice._http.redact import PUBLIC_FIELDS
from splice._http.transport import AiohttpTransport
from splice.errors import FixtureError, NotFound
from splice.integration import Script
from splice.project import load_project
from splice.runtime import Runtime
from splice.store import RunRecord, SecretBox, open_store
from splice.testing._format import Fixture, load_fixture
from splice.testing._record import RecordingTransport
from splice.testing._replay import ReplayTransport
from splice.testing._secrets import Placeholders, placeholder, refuse_secrets

DEFAULT_CONNECTION = "c1"


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
    """What a replayed run did: its status, output, error, logs and, for a sync, its saved records."""

    record: RunRecord
    output: Any
    logs: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: a flow run's step results by step key
    steps: dict[str, Any] = field(default_factory=dict)

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
        isolation: str | None = None,
        base: Path | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.recording = record
        self.strict = strict
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
        env: dict[str, str] | None = None,
        connection: str | None = None,
        now: datetime | None = None,
        strict: bool | None = None,
    ) -> HarnessRun:
        """Run ``script`` replaying ``fixture`` (recording it first under ``--splice-record``).

        ``input``, ``config``, ``metadata`` and ``env`` default to the recorded ones; ``state``
        seeds the script's state; ``now`` moves the frozen clock off the recording's time.
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
            for name, value in {**loaded.env, **(env or {})}.items():
                await rt.env.set(name, value)
            await _seed_state(rt, target, conn_id, state)
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
            for name, value in {**loaded.env, **(env or {})}.items():
                await rt.env.set(name, value)
            record = await rt.flows.run(
                found.id, connection=conn_id, payload=loaded.input if payload is None else payload
            )
            result = await _result(rt, record, ())
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
        rt = await Runtime.open(self.root, transport=recorder, isolation=self.isolation)
        try:
            before = await credentials_before(rt, script, conn_id)
            started = SystemClock().now()
            if await _is_flow(rt, script):
                record = await rt.flows.run(script, connection=conn_id, payload=payload)
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
    fixture = Fixture(
        script=name,
        kind=kind if kind in ("action", "sync", "trigger", "flow") else "action",
        recorded_at=started,
        connection=secrets.value(connection),
        input=secrets.value((record.input or {}).get("payload") if target is None else record.input),
        output=secrets.value(record.output),
        status=record.status,
        error=secrets.value(record.error),
        logs=secrets.value(result.logs),
        records=secrets.value(result.records),
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
    root: Path, transport: ReplayTransport, clock: ManualClock, isolation: str | None
) -> AsyncIterator[Runtime]:
    """A runtime on a throwaway SQLite store and key, so a replay leaves the project's ``.splice`` alone."""
    project = load_project(root)
    tmp = tempfile.mkdtemp(prefix="splice-replay-")
    try:
        box = SecretBox.generate()
        store = await open_store(f"sqlite:///{tmp}/splice.db", box, clock=clock)
        rt = Runtime(project, store, box, isolation or project.config.runtime.isolation, transport=transport,
                     clock=clock)  # fmt: skip
        try:
            yield rt
        finally:
            await rt.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
) -> str | None:
    recorded = fixture.connection
    if recorded is None and config is None:
        return None
    recorded = recorded or {}
    conn_id = connection or recorded.get("id") or DEFAULT_CONNECTION
    await rt.connections.add(
        integration,
        conn_id,
        recorded.get("credentials") or {},
        config=recorded.get("config") if config is None else config,
        metadata=recorded.get("metadata") if metadata is None else metadata,
    )
    return str(conn_id)


async def _seed_state(rt: Runtime, target: Script, conn_id: str | None, state: dict[str, Any] | None) -> None:
    if not state:
        return
    scope_id = rt.store.state.connection_scope_id(target.integration.name, conn_id or "", target.name)
    for key, value in state.items():
        await rt.store.state.put("script", scope_id, key, value)


async def _result(rt: Runtime, record: RunRecord, models: Sequence[type[Any]]) -> HarnessRun:
    """What the run did; ``models``: a sync's, whose saved records come with it. A flow run's
    logs are its own and its steps', in order, and ``steps`` has each step's result."""
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
    records: dict[str, list[dict[str, Any]]] = {}
    if models and record.connection_id:
        for model in models:
            records[model.__name__] = await _all_records(rt, record, model.__name__)
    return HarnessRun(record=record, output=attrs(record.output), logs=logs, records=attrs(records),
                      steps=attrs(steps))  # fmt: skip


async def _all_records(rt: Runtime, record: RunRecord, model: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await rt.records.read(record.integration, model, connection=record.connection_id, cursor=cursor,
                                     limit=1000)  # fmt: skip
        out += [{k: v for k, v in r.items() if k != "_splice"} for r in page.records]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
