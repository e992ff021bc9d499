"""What every command shares: ``--version``, help texts as written, ``-c`` meaning ``--connection``."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from splice.cli import app

from ._cli import clean_env, splice


def commands(command: Any, path: str = "splice") -> Iterator[tuple[str, Any]]:
    """Every command under ``command`` (typer's own click types: a group is what has commands)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, f"{path} {name}")


ALL = list(commands(typer.main.get_command(app)))
assert len(ALL) > 30, ALL


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    result = splice("--version", cwd=tmp_path)

    assert result.code == 0, result
    assert result.stdout == f"splice {version('splice')}\n"


def test_serve_help_shows_the_config_sections_it_names(tmp_path: Path) -> None:
    result = splice("serve", "--help", cwd=tmp_path, env=clean_env(COLUMNS="200"))

    assert result.code == 0, result
    assert "(default: [runtime] concurrency)" in result.stdout
    assert "(default: [server] host)" in result.stdout
    assert "(default: [server] port, 8080)" in result.stdout


def test_no_help_text_loses_words_to_markup() -> None:
    """Help is rendered as rich markup, where ``[runtime]`` is a style tag: it must be escaped."""
    for path, command in ALL:
        texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
        for text in texts:
            assert Text.from_markup(text).plain == text.replace("\\[", "["), f"{path}: {text!r}"


def test_dash_c_is_connection_in_every_command() -> None:
    seen = []
    for path, command in ALL:
        for param in command.params:
            if "-c" in getattr(param, "opts", []):
                assert "--connection" in param.opts, f"{path}: -c is {param.opts}"
                seen.append(path)
    assert {"splice run", "splice logs", "splice runs list", "splice records", "splice syncs trigger"} <= set(seen)


def test_credential_has_no_short_flag(tmp_path: Path) -> None:
    result = splice("connections", "add", "acme", "c1", "-c", "api_key=x", cwd=tmp_path)

    assert result.code == 2, result
    assert "No such option: -c" in result.stderr
    help_text = splice("connections", "add", "--help", cwd=tmp_path, env=clean_env(COLUMNS="200")).stdout
    assert "--credential" in help_text and " -c " not in help_text
