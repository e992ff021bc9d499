"""Helpers to run the real ``splice`` console script as a child process and look at what a user sees.

Every test here starts ``.venv/bin/splice`` with ``subprocess.run`` (in a worker thread when
the test is async, so a demo API on the test's event loop keeps serving), a clean
environment (no ``SPLICE_*``) and a 60 s timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLICE = Path(sys.executable).parent / "splice"
TIMEOUT = 60.0
_RUN_ID = re.compile(r"\brun (run_[0-9a-f]+) (?:succeeded|failed|timed_out)")

#: an extra integration the tests drop into an init'd project: tells whether ``ctx.env``
#: holds a variable, by digest (the value itself would be redacted from the output)
PROBE = """
import hashlib

from splice import Integration

probe = Integration("probe", base_url="http://127.0.0.1")


@probe.action
async def env_digest(ctx, input):
    value = ctx.env.get(input["name"])
    if value is None:
        return {"set": False}
    return {"set": True, "sha256": hashlib.sha256(value.encode()).hexdigest()}
"""


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ splice {' '.join(self.args)}\n[exit {self.code}]\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def run_id(self) -> str:
        found = _RUN_ID.search(self.stderr)
        assert found, f"no run id in stderr\n{self}"
        return found.group(1)


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without ``SPLICE_*``, as a user's shell has it (stdout buffered, no colour)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SPLICE_")}
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "PYTHONUNBUFFERED"):
        env.pop(name, None)
    env.update(COLUMNS="200", NO_COLOR="1", PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def splice(*args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """``splice ARGS`` in ``cwd``; stdin is ``input`` (or empty), never the test's terminal."""
    proc = subprocess.run(
        [str(SPLICE), *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )
    return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)


async def asplice(*args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """:func:`splice` from async tests, off the event loop so an in-process demo API keeps answering."""
    return await asyncio.to_thread(splice, *args, cwd=cwd, input=input, env=env)


def assert_error(
    result: Result, *fragments: str, hint: str | bool | None = True, code: int = 1, only: bool = True
) -> str:
    """A user-facing failure: exit ``code``, one ``error:`` line holding ``fragments``, no traceback.

    ``hint=True`` wants some ``hint:`` line, a string wants one containing it, ``None`` does
    not care. ``only`` wants nothing on stderr besides the error and hint, and nothing on stdout.
    """
    assert result.code == code, result
    assert "Traceback" not in result.stderr, result
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in the error line\n{result}"
    hints = [line for line in lines if line.startswith("hint: ")]
    if hint is True:
        assert hints, f"no hint\n{result}"
    elif isinstance(hint, str):
        assert any(hint in line for line in hints), f"no hint containing {hint!r}\n{result}"
    if only:
        assert result.stdout == "", result
        assert len(lines) == 1 + len(hints), f"stderr has more than an error and a hint\n{result}"
        assert lines[0] == errors[0], result
    return errors[0]


def init_project(parent: Path, name: str = "my-project", *extra_modules: tuple[str, str]) -> Path:
    """``splice init NAME`` inside ``parent``; ``extra_modules`` are (file name, source) pairs."""
    result = splice("init", name, cwd=parent)
    assert result.code == 0, result
    root = parent / name
    for file_name, source in extra_modules:
        (root / "integrations" / file_name).write_text(source)
    return root


def add_acme(root: Path, connection_id: str, api_url: str, api_key: str = "demo-key") -> Result:
    result = splice(
        "connections", "add", "acme", connection_id, "--credential", f"api_key={api_key}",
        "--config", f"api_url={api_url}", cwd=root,
    )  # fmt: skip
    assert result.code == 0, result
    return result
