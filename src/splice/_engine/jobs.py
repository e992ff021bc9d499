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
    async def enqueue(self, script: str, connection: str | None, input: Any, *, dedup: str | None) -> str:
        """Queue a job; with ``dedup``, refuse (``SYNC_RUNNING``) while another with it is queued or running."""
        ...

    async def wait(
        self, job_id: str, *, poll: float = 0.25, on_tick: Callable[[], Awaitable[None]] | None = None
    ) -> Any:
        """Wait for a job to end and return its summary."""
        ...

    async def start_here(
        self, job_id: str, script: str, connection: str | None, input: Any, *, first_run: str
    ) -> Awaitable[dict[str, Any]] | None:
        """Start a job at once in this process if it runs the engine; its summary, awaited. None if it does not."""
        ...

    async def close(self) -> None: ...


class JobRunner(Protocol):
    async def run_job_attempt(
        self, script: str, *, connection: str | None, input: Any, job_id: str, first_run: str | None = None
    ) -> RunRecord:
        """Run one attempt of a job; the stored run comes back whatever its outcome. The first
        attempt's run takes the id ``first_run`` when one is given."""
        ...

    def retries(self, script: str) -> tuple[int, float]:
        """How often a failed job of ``script`` is retried, and the first wait in seconds (doubling)."""
        ...
