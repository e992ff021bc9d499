"""Fixtures of the engine tests: a project syncing from a demo API, and real worker processes."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import pytest
from tests._databases import make_database_url
from tests.cli._cli import SPLICE, clean_env
from tests.conftest import ProjectFactory
from tests.engine._project import syncs

from splice.demo.server import DemoAPI

#: seconds a worker may take to start, and a test to wait for what it does
START_TIMEOUT = 30.0


class Worker:
    """``splice serve`` / ``splice worker`` as a child process, its output in a file."""

    def __init__(
        self,
        command: str,
        root: Path,
        env: dict[str, str],
        worker_id: str | None,
        log: Path,
        prefix: Sequence[str] = (),
    ) -> None:
        """``prefix``: a command the worker runs under (another host: see ``tests/engine/_hosts.py``)."""
        self.log = log
        #: where this process's output starts in a log that an earlier process of the same id wrote
        self.offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *prefix,
                    str(SPLICE),
                    command,
                    *(["--id", worker_id] if worker_id else []),
                    *(["--port", "0"] if command == "serve" else []),
                ],
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "running on" not in self.output()[self.offset :]:
            assert self.proc.poll() is None, f"worker exited with {self.proc.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"worker did not start:\n{self.output()}"
            time.sleep(0.05)

    @property
    def api_url(self) -> str:
        """Where ``splice serve`` said its REST API listens."""
        found = re.search(r"REST API on (http://\S+)", self.output()[self.offset :])
        assert found, self.output()
        return found.group(1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def worker_id(self) -> str:
        """The id the worker said it runs under."""
        found = re.search(r"worker '([^']+)' running on", self.output()[self.offset :])
        assert found, self.output()
        return found.group(1)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


StartWorker = Callable[..., Worker]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url, cleanup = await make_database_url(str(request.param), tmp_path)
    yield url
    await cleanup()


@pytest.fixture
def api() -> Iterator[DemoAPI]:
    """A demo API on its own thread, so it answers while a test blocks on a worker."""
    server = DemoAPI(contacts=3000)
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def project(make_project: ProjectFactory, request: pytest.FixtureRequest) -> Path:
    delay = getattr(request, "param", 0)
    return make_project({"acme.py": syncs(delay_ms=delay)})


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    workers: list[Worker] = []

    def start(
        root: Path,
        command: str = "worker",
        worker_id: str | None = "w1",
        database_url: str | None = None,
        prefix: Sequence[str] = (),
    ) -> Worker:
        """``worker_id=None``: the worker's default id (unique per process)."""
        env = clean_env()
        if database_url:
            env["SPLICE_DATABASE_URL"] = database_url
        name = worker_id or f"default-{uuid.uuid4().hex[:8]}"
        worker = Worker(command, root, env, worker_id, tmp_path / f"{command}-{name}.log", prefix)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
