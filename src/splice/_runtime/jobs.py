"""What the engine runs: a flow job resumes its flow run; any other job runs one script attempt."""

from __future__ import annotations

from typing import Any, Protocol

from splice._runtime.runner import Runner
from splice.store import RunRecord

#: the job a flow run is, to the engine: ``flow:<flow id>``, its input ``{"run_id": ...}``
FLOW_JOB = "flow:"


class FlowJobs(Protocol):
    async def run_job(self, run_id: str, job_id: str) -> RunRecord:
        """Run, or resume after a crash, the flow run ``run_id`` as job ``job_id``."""
        ...


class JobDispatch:
    """The :class:`~splice._engine.jobs.JobRunner` a worker hands the engine."""

    def __init__(self, runner: Runner, flows: FlowJobs) -> None:
        self.runner = runner
        self.flows = flows

    async def run_job_attempt(self, script: str, *, connection: str | None, input: Any, job_id: str) -> RunRecord:
        if script.startswith(FLOW_JOB):
            return await self.flows.run_job(str((input or {}).get("run_id")), job_id)
        return await self.runner.run_job_attempt(script, connection=connection, input=input, job_id=job_id)

    def retries(self, script: str) -> tuple[int, float]:
        """A flow is not retried whole: its steps have their own retries, and a crashed attempt resumes."""
        if script.startswith(FLOW_JOB):
            return 0, 0.0
        return self.runner.retries(script)
