"""``splice keys rotate``: a new encryption key for secrets at rest."""

from __future__ import annotations

import os

import typer

from splice.cli._common import ProjectOption, fail, out, run_async
from splice.config import database_url, find_root, read_config, state_dir
from splice.store import SecretBox, open_store

app = typer.Typer(help="The key that encrypts credentials and env vars at rest.", no_args_is_help=True)


@app.command("rotate")
def rotate(project: ProjectOption = None) -> None:
    """Add a new primary key to .splice/secret.key and re-encrypt every secret with it."""
    if os.environ.get("SPLICE_SECRET_KEY"):
        fail(
            "SPLICE_SECRET_KEY is set, so the key file is not used",
            hint="prepend a new key to SPLICE_SECRET_KEY (comma-separated, newest first) and restart",
        )
    root = project.resolve() if project else find_root()
    config = read_config(root)  # a bad splice.toml fails before any key changes

    async def work() -> int:
        state_dir(root).mkdir(parents=True, exist_ok=True)
        box = SecretBox.rotate_key_file(state_dir(root) / "secret.key")
        store = await open_store(database_url(root, config), box)
        try:
            return await store.rotate_secrets()
        finally:
            await store.close()

    count = run_async(work())
    out.print(f"rotated the key; re-encrypted {count} secrets")
