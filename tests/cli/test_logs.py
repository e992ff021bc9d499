"""``splice logs``: the lines runs wrote, searched and filtered."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from splice.demo.server import DemoAPI

from ._cli import SPLICE, Result, add_acme, asplice, assert_error, clean_env, init_project, splice

ADA = '{"email": "ada@example.com", "name": "Ada"}'


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_api: DemoAPI) -> SimpleNamespace:
    """Three runs: a contact created, the same contact again (409 → warning), a count (GET pages)."""
    root = init_project(tmp_path_factory.mktemp("logs"))
    add_acme(root, "c1", shared_api.url)
    runs = {}
    for name, args in {
        "created": ["acme.create_contact", "-c", "c1", "--input", ADA],
        "duplicate": ["acme.create_contact", "-c", "c1", "--input", ADA],
        "count": ["acme.count_contacts", "-c", "c1"],
    }.items():
        result = splice("run", *args, cwd=root)
        assert result.code == (1 if name == "duplicate" else 0), result
        runs[name] = result.run_id
    return SimpleNamespace(root=root, runs=runs)


def logs(project: SimpleNamespace, *args: str) -> Result:
    result = splice("logs", *args, cwd=project.root)
    assert result.code == 0, result
    return result


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON value printed one after another (pretty-printed or not)."""
    decoder, found, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        value, pos = decoder.raw_decode(text, pos)
        found.append(value)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return found


def test_logs_prints_every_line_with_its_run(project: SimpleNamespace) -> None:
    result = logs(project)

    lines = result.stdout.splitlines()
    created = project.runs["created"][-8:]
    assert any(f" {created} info    created contact" in line for line in lines), result
    assert any(f" {created} info    POST " in line and "/api/contacts → 201" in line for line in lines), result
    assert any(f" {project.runs['duplicate'][-8:]} warning POST " in line and "→ 409" in line for line in lines)
    assert any(f" {project.runs['count'][-8:]} info    GET " in line for line in lines), result
    assert "demo-key" not in result.stdout


def test_logs_json(project: SimpleNamespace) -> None:
    entries = json_objects(logs(project, "--json").stdout)

    assert entries
    for entry in entries:
        assert {"seq", "run_id", "ts", "level", "message", "fields", "script", "connection_id"} <= set(entry)
        assert entry["connection_id"] == "c1"
    assert set(project.runs.values()) <= {e["run_id"] for e in entries}
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    created = next(e for e in entries if e["message"] == "created contact")
    assert created["run_id"] == project.runs["created"]
    assert created["script"] == "acme.create_contact"
    assert created["level"] == "info"
    assert created["fields"]["id"].startswith("c")


def test_logs_json_is_json_lines(project: SimpleNamespace) -> None:
    lines = logs(project, "--json").stdout.splitlines()

    assert lines
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_level_is_a_minimum(project: SimpleNamespace) -> None:
    entries = json_objects(logs(project, "--json", "--level", "warning").stdout)

    assert entries
    assert {e["level"] for e in entries} <= {"warning", "error"}
    assert any("→ 409" in e["message"] for e in entries)
    assert {e["run_id"] for e in entries} == {project.runs["duplicate"]}


def test_search_text(project: SimpleNamespace) -> None:
    result = logs(project, "--search", "created")

    lines = result.stdout.splitlines()
    assert lines
    assert all(line.endswith("created contact") for line in lines), result


def test_run_filter(project: SimpleNamespace) -> None:
    entries = json_objects(logs(project, "--json", "--run", project.runs["duplicate"]).stdout)

    assert entries
    assert {e["run_id"] for e in entries} == {project.runs["duplicate"]}
    assert all(e["message"] != "created contact" for e in entries)


def test_script_and_connection_filters(project: SimpleNamespace) -> None:
    counted = json_objects(logs(project, "--json", "--script", "acme.count_contacts").stdout)
    assert {e["run_id"] for e in counted} == {project.runs["count"]}
    assert all(e["message"].startswith("GET ") for e in counted)

    assert json_objects(logs(project, "--json", "-c", "nobody").stdout) == []


async def test_since(project: SimpleNamespace) -> None:
    everything, last_hour, future, long_ago = await asyncio.gather(
        asplice("logs", "--json", cwd=project.root),
        asplice("logs", "--json", "--since", "1h", cwd=project.root),
        asplice("logs", "--since", "2999-01-01T00:00", cwd=project.root),
        asplice("logs", "--json", "--since", "2000-01-01T00:00:00+00:00", cwd=project.root),
    )

    for result in (everything, last_hour, future, long_ago):
        assert result.code == 0, result
    assert json_objects(everything.stdout)
    assert json_objects(last_hour.stdout) == json_objects(everything.stdout)
    assert future.stdout == ""
    assert json_objects(long_ago.stdout) == json_objects(everything.stdout)


def test_since_garbage_is_one_clear_error(project: SimpleNamespace) -> None:
    result = splice("logs", "--since", "garbage", cwd=project.root)

    assert_error(result, "--since 'garbage' is neither an ISO time nor a duration", hint="15m")


def test_limit_keeps_the_newest_lines_oldest_first(project: SimpleNamespace) -> None:
    everything = json_objects(logs(project, "--json").stdout)

    assert json_objects(logs(project, "--json", "-n", "2").stdout) == everything[-2:]


class Follower:
    """``splice logs --follow ARGS`` in the background; what it printed so far is :attr:`text`."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self._chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._chunks.append(line)

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def wait_for(self, fragment: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fragment in self.text:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        return fragment in self.text

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit code and stderr."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


@contextmanager
def follow(project: SimpleNamespace, *args: str) -> Iterator[Follower]:
    with subprocess.Popen(
        [str(SPLICE), "logs", "--follow", *args],
        cwd=project.root,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as proc:
        follower = Follower(proc)
        try:
            yield follower
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def test_follow_prints_new_lines_as_runs_write_them_until_ctrl_c(project: SimpleNamespace) -> None:
    with follow(project) as follower:
        assert follower.wait_for("created contact"), follower.text  # the lines already stored

        ran = splice("run", "acme.count_contacts", "-c", "c1", cwd=project.root)
        assert ran.code == 0, ran

        assert follower.wait_for(f" {ran.run_id[-8:]} info    GET "), follower.text
        assert follower.wait_for(f" {ran.run_id[-8:]} info    run {ran.run_id[-8:]} succeeded in "), follower.text
        code, stderr = follower.interrupt()

    assert code == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr


def test_follow_json_prints_new_lines_as_they_come(project: SimpleNamespace) -> None:
    with follow(project, "--json") as follower:
        ran = splice("run", "acme.count_contacts", "-c", "c1", cwd=project.root)
        assert ran.code == 0, ran

        seen = follower.wait_for(f'"run_id":"{ran.run_id}"', timeout=3)
        code, _ = follower.interrupt()

    assert code == 130
    assert seen, follower.text
