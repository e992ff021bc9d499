"""``splice runs list|show`` and the short run ids: what ran, how it ended, and why it failed.

One project for the module: runs that succeed, one that fails with an ``ActionError``, one
whose script raises (a traceback), one that starts two child runs; and two runs whose ids
end alike, stored through the Python API, for the ambiguous short id.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord

from ._cli import Result, add_acme, assert_error, clean_env, init_project, splice

ADA = '{"email": "ada@example.com", "name": "Ada"}'
TOOLS = """
from splice import Integration

tools = Integration("tools", base_url="http://127.0.0.1")


@tools.action
async def boom(ctx, input):
    raise ValueError("boom: " + input["why"])


@tools.action
async def parent(ctx, input):
    first = await ctx.trigger_action("tools.child", {"n": 1})
    second = await ctx.trigger_action("tools.child", {"n": 2})
    return {"children": [first, second]}


@tools.action
async def child(ctx, input):
    ctx.log.info("child", n=input["n"])
    return {"n": input["n"]}
"""
#: two stored runs whose ids end with the same 8 characters (``…adeadbeef``, ``…bdeadbeef``)
ALIKE = ("run_00000000000010000adeadbeef", "run_00000000000010000bdeadbeef")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_api: DemoAPI) -> SimpleNamespace:
    root = init_project(tmp_path_factory.mktemp("runs"), "my-project", ("tools.py", TOOLS))
    add_acme(root, "c1", shared_api.url)
    add_acme(root, "c2", shared_api.url)
    runs: dict[str, Result] = {}
    for name, args in {
        "created": ["acme.create_contact", "-c", "c1", "--input", ADA],
        "duplicate": ["acme.create_contact", "-c", "c1", "--input", ADA],
        "count": ["acme.count_contacts", "-c", "c2"],
        "boom": ["tools.boom", "--input", '{"why": "because"}'],
        "parent": ["tools.parent"],
    }.items():
        runs[name] = splice("run", *args, cwd=root)
        assert runs[name].code == (1 if name in ("duplicate", "boom") else 0), runs[name]
    return SimpleNamespace(root=root, runs={name: result.run_id for name, result in runs.items()})


def ok(result: Result) -> Result:
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    return result


def runs(project: SimpleNamespace, *args: str) -> Result:
    return ok(splice("runs", *args, cwd=project.root))


def listed(project: SimpleNamespace, *args: str) -> list[str]:
    return [run["id"] for run in runs(project, "list", "--json", *args).json()]


def test_list_shows_the_newest_runs_first_with_how_they_ended(project: SimpleNamespace) -> None:
    ids = listed(project)
    mine = [ids.index(project.runs[name]) for name in ("parent", "boom", "count", "duplicate", "created")]
    assert mine == sorted(mine), ids  # newest first
    assert len(ids) == 7  # and the two child runs of the parent

    table = runs(project, "list").stdout
    row = next(line for line in table.splitlines() if line.startswith(project.runs["duplicate"][-8:]))
    assert "acme.create_contact" in row and " c1 " in row and "failed ACTION_ERROR" in row, table
    row = next(line for line in table.splitlines() if line.startswith(project.runs["count"][-8:]))
    assert "acme.count_contacts" in row and "succeeded" in row and re.search(r" \d+(\.\d)? m?s *$", row), table
    assert "failed SCRIPT_ERROR" in table


def test_list_filters(project: SimpleNamespace) -> None:
    r = project.runs
    assert listed(project, "--script", "acme.create_contact") == [r["duplicate"], r["created"]]
    assert listed(project, "-c", "c2") == [r["count"]]
    assert listed(project, "--connection", "c1", "--status", "succeeded") == [r["created"]]
    assert listed(project, "--status", "failed") == [r["boom"], r["duplicate"]]
    assert listed(project, "--script", "tools.child", "--kind", "action", "--since", "1h") != []
    assert listed(project, "--kind", "sync") == []
    assert listed(project, "--since", "2999-01-01T00:00") == []
    assert runs(project, "list", "--status", "cancelled").stdout.strip() == "no runs match"


def test_list_pages_back_with_before_and_says_how(project: SimpleNamespace) -> None:
    everything = listed(project)
    first = runs(project, "list", "--limit", "3")
    assert f"older runs: add --before {everything[2][-8:]}" in first.stderr, first
    pages = [listed(project, "--limit", "3")]
    while len(pages[-1]) == 3:
        pages.append(listed(project, "--limit", "3", "--before", pages[-1][-1][-8:]))  # a short id, as shown
    assert [run for page in pages for run in page] == everything


def test_show_says_why_a_script_failed_with_its_traceback(project: SimpleNamespace) -> None:
    short = project.runs["boom"][-8:]
    shown = runs(project, "show", short).stdout

    lines = shown.splitlines()
    assert lines[0] == f"run        {project.runs['boom']} ({short})"
    assert "script     tools.boom (action)" in lines
    assert "status     failed SCRIPT_ERROR" in lines
    assert "error      [SCRIPT_ERROR] ValueError: boom: because" in lines
    assert "traceback" in lines
    assert any(line.strip().startswith('File "') and "tools.py" in line for line in lines), shown
    assert '    "why": "because"' in lines  # the input
    assert any(line.startswith("finished   ") and ", took " in line for line in lines), shown

    data = runs(project, "show", short, "--json").json()
    assert data["id"] == project.runs["boom"] and data["status"] == "failed"
    assert data["error"]["code"] == "SCRIPT_ERROR" and "ValueError" in data["error"]["details"]["traceback"]
    assert data["input"] == {"why": "because"} and data["attempts"] == [] and data["children"] == []
    assert set(data) >= {"created_at", "started_at", "finished_at", "duration_ms", "job_id", "parent_id", "progress"}


def test_show_gives_an_action_errors_payload(project: SimpleNamespace) -> None:
    shown = runs(project, "show", project.runs["duplicate"]).stdout

    assert "status     failed ACTION_ERROR" in shown
    assert "payload" in shown.splitlines() and '"reason": "duplicate email"' in shown, shown


def test_show_lists_the_runs_a_run_started(project: SimpleNamespace) -> None:
    parent = project.runs["parent"]
    shown = runs(project, "show", parent[-8:]).stdout
    assert "runs it started" in shown and shown.count("tools.child") == 2, shown

    data = runs(project, "show", parent, "--json").json()
    assert data["output"] == {"children": [{"n": 1}, {"n": 2}]}
    children = data["children"]
    assert [child["script"] for child in children] == ["child", "child"]
    assert {child["parent_id"] for child in children} == {parent}
    child = runs(project, "show", children[0]["id"][-8:]).stdout
    assert f"started by {parent} ({parent[-8:]})" in child


def test_short_ids_work_wherever_a_run_id_does(project: SimpleNamespace) -> None:
    whole = project.runs["duplicate"]
    assert runs(project, "show", whole[-8:]).stdout == runs(project, "show", whole).stdout
    short_logs = ok(splice("logs", "--json", "--run", whole[-8:], cwd=project.root))
    whole_logs = ok(splice("logs", "--json", "--run", whole, cwd=project.root))
    assert short_logs.stdout == whole_logs.stdout and short_logs.stdout
    assert listed(project, "--before", whole[-8:]) == listed(project, "--before", whole)


def test_a_short_id_naming_no_run_is_not_found(project: SimpleNamespace) -> None:
    assert_error(splice("runs", "show", "0badf00d", cwd=project.root), "run '0badf00d' not found", hint="runs list")
    assert_error(splice("logs", "--run", "0badf00d", cwd=project.root), "run '0badf00d' not found")


def test_a_short_id_naming_several_runs_lists_them(tmp_path: Path) -> None:
    root = init_project(tmp_path)

    async def store_alike() -> None:
        async with await Runtime.open(root) as rt:
            for run_id in ALIKE:
                await rt.store.runs.create(RunRecord(run_id, "action", "acme", "count_contacts", status="succeeded"))

    asyncio.run(store_alike())
    for args in (["runs", "show", "deadbeef"], ["logs", "--run", "deadbeef"], ["runs", "list", "--before", "deadbeef"]):
        error = assert_error(splice(*args, cwd=root), "run id 'deadbeef' is ambiguous", hint="more of")
        assert ALIKE[0] in error and ALIKE[1] in error
    shown = splice("runs", "show", "bdeadbeef", "--json", cwd=root)
    assert shown.code == 0 and shown.json()["id"] == ALIKE[1], shown


def test_show_needs_a_run_or_a_job(project: SimpleNamespace) -> None:
    assert_error(splice("runs", "show", cwd=project.root), "pass a run id, or --job JOB")
    assert_error(
        splice("runs", "show", "--job", "no-such-job", cwd=project.root),
        "no run of job 'no-such-job' yet",
        hint="splice worker",
    )


def test_logs_shows_each_runs_end_among_its_lines(project: SimpleNamespace) -> None:
    text = ok(splice("logs", cwd=project.root)).stdout
    lines = text.splitlines()
    for name in ("created", "count", "parent"):
        short = project.runs[name][-8:]
        assert any(f" {short} info    run {short} succeeded in " in line for line in lines), text
    short = project.runs["duplicate"][-8:]
    assert any(f" {short} error   run {short} failed [ACTION_ERROR] " in line for line in lines), text
    created = project.runs["created"][-8:]
    mine = [line for line in lines if f" {created} " in line]
    assert re.search(r" \d+(\.\d)? m?s$", mine[-1]) and "created contact" in mine[-2], mine  # the end comes last

    errors = ok(splice("logs", "--level", "error", cwd=project.root)).stdout.splitlines()
    assert len(errors) == 2, errors  # a failed run shows at level error even when it logged no error
    assert f"run {project.runs['boom'][-8:]} failed [SCRIPT_ERROR] ValueError: boom: because" in errors[1]

    one = ok(splice("logs", "--run", project.runs["boom"][-8:], cwd=project.root)).stdout.splitlines()
    assert len(one) == 1 and one[0].endswith("failed [SCRIPT_ERROR] ValueError: boom: because"), one
    searched = ok(splice("logs", "--search", "action_error", cwd=project.root)).stdout.splitlines()
    assert len(searched) == 1 and f"run {short} failed" in searched[0], searched


def test_logs_json_keeps_to_log_lines(project: SimpleNamespace) -> None:
    lines = [json.loads(line) for line in ok(splice("logs", "--json", cwd=project.root)).stdout.splitlines()]
    assert lines and all(set(line) >= {"seq", "run_id", "level", "message"} for line in lines)
    assert not any(" succeeded in " in line["message"] for line in lines)


def test_runs_list_keeps_names_whole_in_80_columns(project: SimpleNamespace) -> None:
    result = ok(splice("runs", "list", cwd=project.root, env=clean_env(COLUMNS="80")))
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result
    assert "…" not in result.stdout
    assert any("acme.create_contact" in line and " c1 " in line for line in lines), result
