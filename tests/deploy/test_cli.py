"""``splice deploy``'s options: what it needs and what does not go together, said before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli._cli import assert_error, clean_env, splice


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        ((), "splice deploy needs the server to deploy to", "pass --server URL or set SPLICE_SERVER"),
        (("--server", "http://127.0.0.1:9", "--list", "--rollback"), "--list and --rollback do not go together",
         "pass one of them"),
        (("--server", "http://127.0.0.1:9", "3"), "a version number (3) only goes with --rollback", "--rollback 3"),
        (("--server", "ftp://x", "--list"), "--server 'ftp://x' is not an http:// or https:// URL", True),
        (("--server", "http://127.0.0.1:9", "--list"), "cannot reach the splice server at http://127.0.0.1:9", True),
    ],
)  # fmt: skip
def test_what_deploy_needs(tmp_path: Path, args: tuple[str, ...], error: str, hint: str | bool) -> None:
    result = splice("deploy", *args, cwd=tmp_path, env=clean_env(SPLICE_TOKEN="splice_x"))
    assert_error(result, error, hint=hint)
