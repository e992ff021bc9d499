"""What the engine and the rest of splice need from each other, as two small protocols.

:class:`JobQueue` is how anything queues a job and waits for it (``rt.jobs``, the scheduler,
sync control); :class:`JobRunner` is what the engine calls to run one attempt of a job and
to learn how often a failed one is retried. Neither side imports the other's modules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from splice.store import RunRecord


class JobQueue(Protocol):
    async def enqueue(
        self, script: str, connection: str | None, input: Any, *, dedup: str | None, job_id: str | None = None
    ) -> str:
        """Queue a job; with ``dedup``, refuse (``SYNC_RUNNING``) while another with it is queued or running.
        ``job_id`` names it (queueing the same id twice queues it once)."""
        ...

    async def wait(
        self, job_id: str, *, poll: float = 0.25, on_tick: Callable[[], Awaitable[None]] | None = None
    ) -> Any:
        """Wait for a job to end and return its summary."""
        ...

    async def close(self) -> None: ...


class JobRunner(Protocol):
    async def run_job_attempt(self, script: str, *, connection: str | None, input: Any, job_id: str) -> RunRecord:
        """Run one attempt of a job; the stored run comes back whatever its outcome."""
        ...

    def retries(self, script: str) -> tuple[int, float]:
        """How often a failed job of ``script`` is retried, and the first wait in seconds (doubling)."""
        ...
