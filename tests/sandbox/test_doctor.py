"""``splice doctor``, ``sandbox = "strict"`` and bad sandbox settings, through the real CLI.

"Another host" is this one behind ``_restricted.py``: a seccomp filter that refuses
``unshare``, as an unprivileged container does, inherited by the CLI and all it starts.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli._cli import SPLICE, TIMEOUT, Result, asplice, assert_error, clean_env, splice
from tests.conftest import ProjectFactory
from tests.sandbox.conftest import Canary
from tests.sandbox.scripts import ESCAPES, SANDBOX_TOML

from splice._sandbox import ORDER, Protections

RESTRICTED = Path(__file__).with_name("_restricted.py")


def on_a_host_without_namespaces(*args: str, cwd: Path) -> Result:
    proc = subprocess.run(
        [sys.executable, str(RESTRICTED), str(SPLICE), *args],
        cwd=cwd, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def project(make_project: ProjectFactory) -> Path:
    return make_project({"box.py": ESCAPES}, toml=SANDBOX_TOML)


def with_mode(root: Path, mode: str) -> Path:
    toml = root / "splice.toml"
    toml.write_text(toml.read_text().replace("[runtime]\n", f'[runtime]\nsandbox = "{mode}"\n'))
    return root


def test_doctor_prints_every_protection_and_whether_it_is_granted(project: Path, host: Protections) -> None:
    result = splice("doctor", cwd=project)
    assert result.code == 0, result
    for p in host.items:
        row = next(line for line in result.stdout.splitlines() if f" {p.name} " in line)
        assert ("granted" if p.granted else "missing") in row, row
    assert f'sandbox = "auto" (project {project})' in result.stdout


def test_doctor_json_is_the_probe_report(project: Path) -> None:
    result = splice("doctor", "--json", cwd=project)
    assert result.code == 0, result
    report = result.json()
    assert report["project"] == str(project)
    assert [item["name"] for item in report["items"]] == list(ORDER)


def test_doctor_names_what_a_host_without_namespaces_lacks_and_the_fallback(project: Path) -> None:
    result = on_a_host_without_namespaces("doctor", cwd=project)
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    network = next(line for line in lines if " network namespace " in line)
    assert "missing" in network and "Operation not permitted" in network
    assert "seccomp refuses new sockets" in network
    assert "missing" in next(line for line in lines if " filesystem view " in line)
    assert "to fix: run the worker as root, or allow unprivileged user namespaces" in result.stdout


def test_strict_refuses_to_start_on_a_host_that_lacks_a_protection(project: Path) -> None:
    with_mode(project, "strict")
    doctor = on_a_host_without_namespaces("doctor", cwd=project)
    assert doctor.code == 1
    assert 'error: sandbox = "strict" but this host does not grant: network namespace' in doctor.stderr
    run = on_a_host_without_namespaces("run", "box.quick", cwd=project)
    assert run.code == 1, run
    assert "[SANDBOX_UNAVAILABLE]" in run.stderr
    assert "network namespace (PermissionError: unshare: Operation not permitted)" in run.stderr
    assert 'or set sandbox = "auto"' in run.stderr


def test_strict_runs_where_everything_is_granted(project: Path, host: Protections) -> None:
    if host.missing:
        pytest.skip(f"this host lacks {', '.join(p.name for p in host.missing)}")
    with_mode(project, "strict")
    assert splice("doctor", cwd=project).code == 0
    run = splice("run", "box.quick", cwd=project)
    assert run.code == 0, run
    assert run.json() == "quick"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('sandbox = "paranoid"', "runtime.sandbox"),
        ("sandbox_uid = 0", "runtime.sandbox_uid"),
        ("sandboxx = 1", "sandboxx"),
    ],
)
def test_bad_sandbox_settings_are_clear_config_errors(project: Path, line: str, fragment: str) -> None:
    toml = project / "splice.toml"
    toml.write_text(toml.read_text().replace("[runtime]\n", f"[runtime]\n{line}\n"))
    result = splice("doctor", cwd=project)
    message = assert_error(result, "splice.toml is invalid", fragment, hint=None)
    assert "Traceback" not in message


async def test_without_namespaces_runs_fall_back_and_escapes_still_fail(project: Path, canary: Canary) -> None:
    def run(script: str, payload: str) -> Result:
        return on_a_host_without_namespaces("run", script, "--input", payload, cwd=project)

    quick = await asyncio.to_thread(run, "box.quick", "{}")  # creates the store, before two runs share it
    assert quick.code == 0, quick
    tcp, database = await asyncio.gather(
        asyncio.to_thread(run, "box.tcp", f'{{"host": "{canary.host}", "port": {canary.port}}}'),
        asyncio.to_thread(run, "box.read_file", f'{{"path": "{project / ".splice" / "splice.db"}"}}'),
    )
    for result in (tcp, database):
        assert result.code == 1, result
        assert "[SANDBOX_DENIED]" in result.stderr, result
    assert canary.connections == []


async def test_doctor_runs_outside_a_project_with_default_settings(tmp_path: Path) -> None:
    result = await asplice("doctor", cwd=tmp_path)
    assert result.code == 0, result
    assert 'sandbox = "auto" (no project here: default settings)' in result.stdout
