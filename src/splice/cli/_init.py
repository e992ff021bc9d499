"""``splice init``: a new project from the bundled template."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from splice.cli._common import fail, out


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create (must be empty or missing).")],
    name: Annotated[str | None, typer.Option("--name", help="Project name (default: the folder's name).")] = None,
) -> None:
    """Create a project: splice.toml, an integrations/ package with an example, and tests."""
    project_name = name or directory.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", project_name):
        fail(f"project name {project_name!r} must be letters, digits, '.', '_' or '-'", "pass --name my-project")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        fail(f"{directory} already exists and is not empty", "choose a new folder name")
    template = resources.files("splice") / "templates" / "project"
    with resources.as_file(template) as source:
        shutil.copytree(source, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "gitignore").rename(directory / ".gitignore")
    config = directory / "splice.toml"
    config.write_text(config.read_text().replace("__NAME__", project_name))
    out.print(f"[green]created[/] {directory}/ — next:", highlight=False)
    out.print(
        f"  cd {directory}\n  python -m splice.demo.server --port 8765 &\n"
        "  splice connections add acme c1 --credential api_key=demo-key\n"
        '  splice run acme.create_contact -c c1 --input \'{"email": "ada@example.com"}\'',
        highlight=False,
    )
