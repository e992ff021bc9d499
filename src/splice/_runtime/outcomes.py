"""How a run ends when its script could not say so: stopped at its time limit, or its process died."""

from __future__ import annotations

import signal
from typing import Any

from splice._runtime.request import RunOutcome
from splice.errors import LimitExceeded, RunError, SandboxViolation, TimeLimitExceeded


def timed_out(limit: float) -> RunOutcome:
    error = TimeLimitExceeded(
        f"the run was stopped after its time limit of {limit:g}s",
        details={"time_limit": limit},
        hint="raise time_limit= on the script or runtime.time_limit in splice.toml",
    )
    return RunOutcome.failed(error)


def crashed(exit_report: dict[str, Any]) -> RunOutcome:
    sig = exit_report.get("signal")
    if sig == signal.SIGXCPU:
        error = TimeLimitExceeded("the run used up its CPU-time limit")
    elif sig == signal.SIGXFSZ:
        error = LimitExceeded("the run wrote a file past its size limit", code="FILE_SIZE_LIMIT_EXCEEDED")
    elif sig == signal.SIGSYS:
        error = SandboxViolation("the sandbox killed the run for a forbidden system call (signal 31)")
    elif sig == signal.SIGKILL:
        error = LimitExceeded(
            "the run's process was killed (signal 9), most likely for using too much memory",
            code="MEMORY_LIMIT_EXCEEDED",
            hint="raise runtime.memory_limit_mb in splice.toml",
        )
    else:
        how = f"signal {sig}" if sig else f"exit code {exit_report.get('code')}"
        error = RunError(f"the run's process died without a result ({how})", code="CHILD_CRASHED")
    return RunOutcome.failed(error)
