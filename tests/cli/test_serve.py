"""``splice serve`` refusing to start: a port another process holds."""

from __future__ import annotations

import socket

from tests.conftest import ProjectFactory

from ._cli import assert_error, splice


def test_a_port_in_use_says_so_and_names_the_option(make_project: ProjectFactory) -> None:
    root = make_project({})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = splice("serve", "--port", str(port), cwd=root)

    error = assert_error(result, f"cannot listen on 127.0.0.1:{port}: the port is already in use", hint="--port")
    assert "unexpected" not in error
    assert "--port 0 picks a free port" in result.stderr
