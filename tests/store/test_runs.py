from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from splice.errors import AlreadyExists, InvalidInput, NotFound
from splice.store import LogLine, LogRecord, RunRecord, Store

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _run(id: str, **fields: object) -> RunRecord:
    values: dict[str, object] = {"kind": "action", "integration": "acme", "script": "create_contact", "created_at": T0}
    values.update(fields)
    return RunRecord(id=id, **values)  # type: ignore[arg-type]


async def test_create_get_round_trip(store: Store) -> None:
    record = _run(
        "r1",
        connection_id="c1",
        input={"email": "a@b.c"},
        attempt=2,
        parent_id="p0",
        test_mode=True,
    )
    assert await store.runs.create(record) is record
    got = await store.runs.get("r1")
    assert got == record
    assert got.created_at == T0 and got.created_at.tzinfo is UTC
    assert got.status == "queued" and got.output is None and got.error is None


async def test_naive_and_offset_datetimes_stored_as_utc(store: Store) -> None:
    offset = datetime(2026, 1, 2, 5, 4, 5, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    await store.runs.create(_run("r1", created_at=offset))
    await store.runs.create(_run("r2", created_at=datetime(2026, 1, 2, 3, 4, 5)))
    assert (await store.runs.get("r1")).created_at == datetime(2026, 1, 2, 5, 4, 5, tzinfo=UTC)
    assert (await store.runs.get("r2")).created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_create_errors(store: Store) -> None:
    await store.runs.create(_run("r1"))
    with pytest.raises(AlreadyExists):
        await store.runs.create(_run("r1"))
    with pytest.raises(InvalidInput):
        await store.runs.create(_run("r2", status="weird"))
    with pytest.raises(InvalidInput):
        await store.runs.create(_run("r3", input={"x": {1, 2}}))
    with pytest.raises(NotFound) as info:
        await store.runs.get("nope")
    assert "'nope'" in info.value.message


async def test_start_and_finish(store: Store) -> None:
    await store.runs.create(_run("r1"))
    await store.runs.start("r1", T0 + timedelta(seconds=1))
    running = await store.runs.get("r1")
    assert running.status == "running" and running.started_at == T0 + timedelta(seconds=1)
    done = await store.runs.finish("r1", "succeeded", output={"id": 7}, finished_at=T0 + timedelta(seconds=3.5))
    assert done.status == "succeeded" and done.output == {"id": 7}
    assert done.duration_ms == pytest.approx(2500.0)
    assert await store.runs.get("r1") == done


async def test_finish_without_start_and_with_error(store: Store) -> None:
    await store.runs.create(_run("r1"))
    done = await store.runs.finish("r1", "cancelled", error={"code": "CANCELLED"})
    assert done.duration_ms is None and done.finished_at is not None
    assert (await store.runs.get("r1")).error == {"code": "CANCELLED"}


async def test_start_finish_errors(store: Store) -> None:
    await store.runs.create(_run("r1"))
    with pytest.raises(NotFound):
        await store.runs.start("nope", T0)
    with pytest.raises(NotFound):
        await store.runs.finish("nope", "failed")
    with pytest.raises(InvalidInput):
        await store.runs.finish("r1", "running")
    with pytest.raises(InvalidInput):
        await store.runs.finish("r1", "failed", output=object())


async def test_find_filters_and_pages_newest_first(store: Store) -> None:
    specs = [
        ("r1", "acme", "a", "c1", "succeeded"),
        ("r2", "acme", "b", "c1", "failed"),
        ("r3", "acme", "a", "c2", "succeeded"),
        ("r4", "zeta", "a", None, "queued"),
        ("r5", "acme", "a", "c1", "succeeded"),
    ]
    for i, (id, integration, script, conn, status) in enumerate(specs):
        await store.runs.create(
            _run(
                id,
                integration=integration,
                script=script,
                connection_id=conn,
                status=status,
                created_at=T0 + timedelta(minutes=i),
            )
        )
    # two runs in the same instant are ordered by id
    await store.runs.create(_run("r6", created_at=T0 + timedelta(minutes=4)))

    def ids(records: list[RunRecord]) -> list[str]:
        return [r.id for r in records]

    assert ids(await store.runs.find()) == ["r6", "r5", "r4", "r3", "r2", "r1"]
    assert ids(await store.runs.find(integration="acme", script="a")) == ["r5", "r3", "r1"]
    assert ids(await store.runs.find(connection_id="c1")) == ["r5", "r2", "r1"]
    assert ids(await store.runs.find(status="succeeded")) == ["r5", "r3", "r1"]
    assert ids(await store.runs.find(limit=2)) == ["r6", "r5"]
    assert ids(await store.runs.find(limit=2, before_id="r5")) == ["r4", "r3"]
    assert ids(await store.runs.find(before_id="r6")) == ["r5", "r4", "r3", "r2", "r1"]
    assert ids(await store.runs.find(integration="acme", before_id="r3")) == ["r2", "r1"]
    assert await store.runs.find(integration="nobody") == []


async def test_find_by_kind_and_since(store: Store) -> None:
    for i, (id, kind) in enumerate([("r1", "action"), ("r2", "sync"), ("r3", "action")]):
        await store.runs.create(_run(id, kind=kind, created_at=T0 + timedelta(minutes=i)))
    assert [r.id for r in await store.runs.find(kind="action")] == ["r3", "r1"]
    assert [r.id for r in await store.runs.find(since=T0 + timedelta(minutes=1))] == ["r3", "r2"]
    assert [r.id for r in await store.runs.find(kind="sync", since=T0 + timedelta(minutes=2))] == []


#: ids as ``new_run_id`` makes them: time, then randomness; two of them end alike
A, B, C = "run_0000000000001aaaa1f8e45bb", "run_0000000000002bbbb1f8e45bb", "run_0000000000003cccc0c7d93c7"


async def _alike(store: Store) -> None:
    for i, (id, conn) in enumerate([(A, "c1"), (B, "c2"), (C, "c1")]):
        await store.runs.create(_run(id, connection_id=conn, parent_id=A if id == C else None,
                                     created_at=T0 + timedelta(minutes=i)))  # fmt: skip
        await store.runs.add_logs(id, [LogLine(T0, "info", f"line of {id[-4:]}")])


async def test_a_short_id_names_the_one_run_whose_id_ends_with_it(store: Store) -> None:
    await _alike(store)
    assert (await store.runs.get("0c7d93c7")).id == C
    assert (await store.runs.get("0C7D93C7")).id == C
    assert await store.runs.resolve("a1f8e45bb") == A
    assert await store.runs.resolve(C) == C
    assert [log.message for log in await store.runs.search_logs(run_id="0c7d93c7")] == ["line of 93c7"]
    assert [r.id for r in await store.runs.find(parent_id="a1f8e45bb")] == [C]
    assert [r.id for r in await store.runs.find(before_id="0c7d93c7")] == [B, A]


async def test_a_short_id_naming_no_run_is_not_found_and_several_is_ambiguous(store: Store) -> None:
    await _alike(store)
    with pytest.raises(NotFound, match="'0badf00d' not found"):
        await store.runs.get("0badf00d")
    assert await store.runs.search_logs(run_id="0badf00d") == []
    assert await store.runs.find(before_id="0badf00d") == []
    with pytest.raises(InvalidInput, match="ambiguous") as raised:
        await store.runs.resolve("1f8e45bb")
    assert raised.value.code == "AMBIGUOUS_ID"
    assert raised.value.details == {"id": "1f8e45bb", "candidates": [B, A]}
    assert A in raised.value.message and B in raised.value.message
    with pytest.raises(InvalidInput, match="ambiguous"):
        await store.runs.search_logs(run_id="1f8e45bb")


async def test_a_short_id_is_resolved_among_the_runs_a_caller_may_see(store: Store) -> None:
    await _alike(store)
    assert (await store.runs.get("1f8e45bb", connection_ids=["c2"])).id == B
    assert await store.runs.resolve("1f8e45bb", integrations=["acme"], connection_ids=["c1"]) == A
    with pytest.raises(NotFound):
        await store.runs.get("1f8e45bb", integrations=["zeta"])
    with pytest.raises(NotFound):  # a whole id outside the scope is not found either
        await store.runs.get(B, connection_ids=["c1"])
    lines = await store.runs.search_logs(run_id="1f8e45bb", connection_ids=["c2"])
    assert [log.run_id for log in lines] == [B]


async def test_delete_cascades_to_logs(store: Store) -> None:
    await store.runs.create(_run("r1"))
    await store.runs.add_logs("r1", [LogLine(T0, "info", "hello")])
    await store.runs.delete("r1")
    assert await store.runs.search_logs() == []
    with pytest.raises(NotFound):
        await store.runs.delete("r1")


async def _seed_logs(store: Store) -> None:
    await store.runs.create(_run("r1", connection_id="c1", script="a"))
    await store.runs.create(_run("r2", connection_id="c2", script="b"))
    await store.runs.create(_run("r3", integration="zeta", script="a"))
    assert (
        await store.runs.add_logs(
            "r1",
            [
                LogLine(T0, "debug", "Fetching page 1", {"page": 1}),
                LogLine(T0 + timedelta(seconds=1), "info", "Saved 100% of records"),
                LogLine(T0 + timedelta(seconds=2), "warning", "Rate limited, waiting"),
            ],
        )
        == 3
    )
    await store.runs.add_logs("r2", [LogLine(T0 + timedelta(seconds=3), "error", "Boom: FETCH failed")])
    await store.runs.add_logs("r3", [LogLine(T0 + timedelta(seconds=4), "info", "other integration")])


async def test_add_logs_denormalises_run_fields(store: Store) -> None:
    await _seed_logs(store)
    logs = await store.runs.search_logs()
    assert [log.seq for log in logs] == sorted(log.seq for log in logs)
    first = logs[0]
    assert isinstance(first, LogRecord)
    assert (first.run_id, first.integration, first.script, first.connection_id) == ("r1", "acme", "a", "c1")
    assert first.fields == {"page": 1} and first.ts == T0 and first.ts.tzinfo is UTC
    assert logs[-1].connection_id is None


async def test_add_logs_errors(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.runs.add_logs("nope", [LogLine(T0, "info", "x")])
    assert await store.runs.add_logs("nope", []) == 0
    await store.runs.create(_run("r1"))
    with pytest.raises(InvalidInput):
        await store.runs.add_logs("r1", [LogLine(T0, "info", "ok"), LogLine(T0, "fatal", "x")])
    assert await store.runs.search_logs() == []  # nothing of the bad batch was written


async def test_nul_characters_read_back_exactly_and_ids_holding_one_are_refused(store: Store) -> None:
    text = "a\x00b\ue000c\ue0000"
    await store.runs.create(_run("r1", input={text: text}, error={"message": text}))
    await store.runs.add_logs("r1", [LogLine(T0, "info", text, {"fields": [text]})])
    got = await store.runs.get("r1")
    assert (got.input, got.error) == ({text: text}, {"message": text})
    [line] = await store.runs.search_logs(text="\x00b\ue000")
    assert (line.message, line.fields) == (text, {"fields": [text]})
    for filters in ({"connection_id": "c\x00"}, {"before_id": "r\x00"}, {"job_id": "\x00"}):
        with pytest.raises(InvalidInput):
            await store.runs.find(**filters)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as info:
        await store.runs.get("r1\x00")
    assert info.value.details["field"] == "run_id"


async def test_non_finite_numbers_are_refused(store: Store) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.runs.create(_run("r1", input={"ratio": float("nan")}))
    assert info.value.details == {"field": "input.ratio"}
    assert await store.runs.find() == []


async def test_search_filters(store: Store) -> None:
    await _seed_logs(store)

    async def messages(**filters: object) -> list[str]:
        return [log.message for log in await store.runs.search_logs(**filters)]  # type: ignore[arg-type]

    assert len(await messages()) == 5
    assert await messages(run_id="r2") == ["Boom: FETCH failed"]
    assert await messages(integration="zeta") == ["other integration"]
    assert await messages(integration="acme", script="a") == [
        "Fetching page 1",
        "Saved 100% of records",
        "Rate limited, waiting",
    ]
    assert await messages(connection_id="c2") == ["Boom: FETCH failed"]
    assert await messages(level="warning") == ["Rate limited, waiting", "Boom: FETCH failed"]
    assert await messages(level="error") == ["Boom: FETCH failed"]
    assert len(await messages(level="debug")) == 5
    assert await messages(text="fetch") == ["Fetching page 1", "Boom: FETCH failed"]
    assert await messages(text="100%") == ["Saved 100% of records"]
    assert await messages(text="0%_") == []  # wildcards are literal
    assert await messages(since=T0 + timedelta(seconds=3)) == ["Boom: FETCH failed", "other integration"]
    assert await messages(limit=2) == ["Fetching page 1", "Saved 100% of records"]
    with pytest.raises(InvalidInput):
        await store.runs.search_logs(level="loud")


async def test_after_seq_follows_new_lines(store: Store) -> None:
    await _seed_logs(store)
    seen = await store.runs.search_logs(run_id="r1")
    last = seen[-1].seq
    assert await store.runs.search_logs(run_id="r1", after_seq=last) == []
    await store.runs.add_logs("r1", [LogLine(T0, "info", "new line")])
    fresh = await store.runs.search_logs(run_id="r1", after_seq=last)
    assert [log.message for log in fresh] == ["new line"] and fresh[0].seq > last
    page = await store.runs.search_logs(after_seq=seen[0].seq, limit=1)
    assert page[0].seq == seen[1].seq


async def test_latest_returns_the_newest_lines_oldest_first(store: Store) -> None:
    await _seed_logs(store)
    everything = await store.runs.search_logs()
    newest = await store.runs.search_logs(limit=2, latest=True)
    assert [log.seq for log in newest] == [log.seq for log in everything[-2:]]


async def test_seq_never_reused_after_delete(store: Store) -> None:
    await store.runs.create(_run("r1"))
    await store.runs.add_logs("r1", [LogLine(T0, "info", "a"), LogLine(T0, "info", "b")])
    last = (await store.runs.search_logs())[-1].seq
    await store.runs.delete("r1")
    await store.runs.create(_run("r2"))
    await store.runs.add_logs("r2", [LogLine(T0, "info", "c")])
    assert (await store.runs.search_logs())[0].seq > last


async def test_job_id_and_progress_round_trip_and_default_to_none(store: Store) -> None:
    await store.runs.create(_run("r1", kind="sync", job_id="job-1", progress={"page": 3, "models": {"Contact": 120}}))
    await store.runs.create(_run("r2"))
    got = await store.runs.get("r1")
    assert got.job_id == "job-1" and got.progress == {"page": 3, "models": {"Contact": 120}}
    plain = await store.runs.get("r2")
    assert plain.job_id is None and plain.progress is None
    with pytest.raises(InvalidInput):
        await store.runs.create(_run("r3", progress={"at": T0}))


async def test_find_by_job_id(store: Store) -> None:
    for i, (id, job_id) in enumerate([("r1", "job-1"), ("r2", "job-2"), ("r3", "job-1"), ("r4", None)]):
        await store.runs.create(_run(id, job_id=job_id, created_at=T0 + timedelta(minutes=i)))
    assert [r.id for r in await store.runs.find(job_id="job-1")] == ["r3", "r1"]
    assert [r.id for r in await store.runs.find(job_id="job-1", before_id="r3")] == ["r1"]
    assert await store.runs.find(job_id="job-9") == []
    assert len(await store.runs.find()) == 4


async def test_set_progress_replaces_the_previous_value(store: Store) -> None:
    await store.runs.create(_run("r1", kind="sync", status="running", started_at=T0))
    await store.runs.set_progress("r1", {"fetched": 100})
    assert (await store.runs.get("r1")).progress == {"fetched": 100}
    await store.runs.set_progress("r1", {"fetched": 250, "model": "Contact"})
    got = await store.runs.get("r1")
    assert got.progress == {"fetched": 250, "model": "Contact"}
    assert got.status == "running"
    done = await store.runs.finish("r1", "succeeded", finished_at=T0 + timedelta(seconds=1))
    assert done.progress == {"fetched": 250, "model": "Contact"}


async def test_set_progress_errors_leave_the_stored_value(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        await store.runs.set_progress("nope", {"fetched": 1})
    assert "'nope'" in info.value.message
    await store.runs.create(_run("r1"))
    await store.runs.set_progress("r1", {"fetched": 1})
    for bad in ({"at": T0}, {"ids": {1, 2}}, {1: "x"}, [1, 2], "half"):
        with pytest.raises(InvalidInput):
            await store.runs.set_progress("r1", bad)  # type: ignore[arg-type]
    assert (await store.runs.get("r1")).progress == {"fetched": 1}


async def test_interrupt_fails_only_the_jobs_running_runs(store: Store) -> None:
    started = T0 + timedelta(seconds=1)
    await store.runs.create(_run("r1", job_id="job-1", status="running", started_at=started))
    await store.runs.create(_run("r2", job_id="job-1", status="running"))
    await store.runs.create(_run("r3", job_id="job-1", status="queued"))
    await store.runs.create(_run("r4", job_id="job-1", status="running", started_at=started))
    await store.runs.finish("r4", "succeeded", output={"ok": 1}, finished_at=started + timedelta(seconds=1))
    await store.runs.create(_run("r5", job_id="job-2", status="running", started_at=started))
    error = {"code": "WORKER_LOST", "message": "the worker running this job stopped"}

    finished_at = started + timedelta(seconds=4)
    assert await store.runs.interrupt("job-1", error, finished_at=finished_at) == 2

    r1 = await store.runs.get("r1")
    assert (r1.status, r1.error, r1.finished_at) == ("failed", error, finished_at)
    assert r1.duration_ms == pytest.approx(4000.0)
    r2 = await store.runs.get("r2")
    assert (r2.status, r2.error, r2.duration_ms) == ("failed", error, None) and r2.finished_at == finished_at
    assert (await store.runs.get("r3")).status == "queued"
    r4 = await store.runs.get("r4")
    assert (r4.status, r4.output, r4.error) == ("succeeded", {"ok": 1}, None)
    assert (await store.runs.get("r5")).status == "running"
    assert [r.id for r in await store.runs.find(job_id="job-1", status="failed")] == ["r2", "r1"]

    assert await store.runs.interrupt("job-1", error) == 0
    assert await store.runs.interrupt("job-unknown", error) == 0


async def test_interrupt_defaults_finished_at_to_now_and_checks_the_error(store: Store) -> None:
    started = datetime.now(UTC)
    await store.runs.create(_run("r1", job_id="job-1", status="running", started_at=started))
    with pytest.raises(InvalidInput):
        await store.runs.interrupt("job-1", {"at": T0})
    assert (await store.runs.get("r1")).status == "running"
    assert await store.runs.interrupt("job-1", {"code": "WORKER_LOST"}) == 1
    got = await store.runs.get("r1")
    assert got.finished_at is not None and started <= got.finished_at <= datetime.now(UTC)
    assert got.duration_ms is not None and got.duration_ms >= 0


async def test_concurrent_creates_are_all_stored_and_a_duplicate_fails_alone(store: Store) -> None:
    """Writes arriving together share a transaction; one bad row must not take the others down."""
    await store.runs.create(_run("dup"))
    ids = [f"r{i:03}" for i in range(120)]
    outcomes = await asyncio.gather(
        *(store.runs.create(_run(i)) for i in ids[:60]),
        store.runs.create(_run("dup")),
        *(store.runs.create(_run(i)) for i in ids[60:]),
        return_exceptions=True,
    )
    failed = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], AlreadyExists) and "'dup'" in failed[0].message
    assert {r.id for r in await store.runs.find(limit=500)} == {*ids, "dup"}


async def test_complete_stores_the_outcome_the_runner_holds(store: Store) -> None:
    records = [_run(f"r{i}", status="running", started_at=T0) for i in range(30)]
    await asyncio.gather(*(store.runs.create(r) for r in records))
    for i, record in enumerate(records):
        record.status = "succeeded" if i % 2 else "failed"
        record.output = {"i": i} if i % 2 else None
        record.error = None if i % 2 else {"code": "SCRIPT_ERROR", "message": "boom", "details": {}}
        record.finished_at = T0 + timedelta(milliseconds=250 + i)
        record.progress = {"pages": i}
    assert await asyncio.gather(*(store.runs.complete(r) for r in records)) == records
    for i, stored in enumerate(await asyncio.gather(*(store.runs.get(r.id) for r in records))):
        assert stored == records[i]
        assert stored.duration_ms == pytest.approx(250 + i)


async def test_complete_refuses_an_unfinished_status_and_bad_output(store: Store) -> None:
    record = _run("r1", status="running", started_at=T0)
    await store.runs.create(record)
    record.status = "running"
    with pytest.raises(InvalidInput):
        await store.runs.complete(record)
    record.status, record.output = "succeeded", {"x": {1, 2}}
    with pytest.raises(InvalidInput):
        await store.runs.complete(record)
    assert (await store.runs.get("r1")).status == "running"


async def test_a_cancelled_writer_still_leaves_its_run_stored(store: Store) -> None:
    task = asyncio.create_task(store.runs.create(_run("r1")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.runs.drain()
    assert (await store.runs.get("r1")).id == "r1"


async def test_abandon_fails_the_unfinished_runs_of_one_owner(store: Store) -> None:
    started = T0 + timedelta(seconds=1)
    await store.runs.create(_run("r1", owner="w1", status="running", started_at=started))
    await store.runs.create(_run("r2", owner="w1", status="queued"))
    await store.runs.create(_run("r3", owner="w1", status="running", started_at=started))
    await store.runs.finish("r3", "succeeded", output={"ok": 1}, finished_at=started + timedelta(seconds=1))
    await store.runs.create(_run("r4", owner="w2", status="running", started_at=started))
    await store.runs.create(_run("r5", status="running", started_at=started))
    assert sorted(await store.runs.unfinished_owners()) == ["w1", "w2"]
    error = {"code": "WORKER_LOST", "message": "the process running this run stopped"}

    assert await store.runs.abandon("w1", error, finished_at=started + timedelta(seconds=2)) == 2

    assert [(await store.runs.get(r)).status for r in ("r1", "r2", "r3", "r4", "r5")] == [
        "failed", "failed", "succeeded", "running", "running",
    ]  # fmt: skip
    r1 = await store.runs.get("r1")
    assert r1.error == error and r1.duration_ms == pytest.approx(2000.0)
    assert await store.runs.unfinished_owners() == ["w2"]
