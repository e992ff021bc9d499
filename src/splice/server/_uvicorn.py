"""uvicorn inside the worker's event loop, beside the engine and the scheduler.

uvicorn's ``Server.serve`` installs its own SIGINT/SIGTERM handlers; here the worker owns
signals (it must stop the engine and the scheduler too), so :class:`ApiServer` skips that and
is stopped with :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class ApiServer(uvicorn.Server):
    """Serve ``app`` on ``host:port`` (port 0 picks a free one; :attr:`url` says which)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8080) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                        access_log=False, server_header=False))  # fmt: skip
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on such sockets, and without it a
        # response written as headers + body waits ~40 ms for the client's delayed ACK
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host = host
        self.port = self.socket.getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def run_forever(self) -> None:
        await self.serve(sockets=[self.socket])

    def stop(self) -> None:
        self.should_exit = True
