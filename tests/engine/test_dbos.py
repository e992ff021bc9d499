"""Whether the engine tries a failed attempt again: the error's class decides, not a list of codes."""

from __future__ import annotations

from typing import Any

import pytest

from splice._engine._dbos import AttemptFailed
from splice.store import RunRecord


def _attempt(status: str, error: dict[str, Any] | None) -> AttemptFailed:
    run = RunRecord(id="r1", kind="sync", integration="acme", script="contacts", status=status, error=error)
    return AttemptFailed(run)


@pytest.mark.parametrize(
    ("code", "final"),
    [("REFRESH_FAILED", False), ("NETWORK_ERROR", False), ("SCRIPT_ERROR", False), ("WORKER_LOST", False),
     ("INTERNAL_ERROR", False), ("CHILD_CRASHED", False), ("CONNECTION_BROKEN", True), ("NOT_FOUND", True),
     ("INVALID_CONFIG", True), ("SYNC_RUNNING", True), ("MEMORY_LIMIT_EXCEEDED", True), ("OUTPUT_TOO_LARGE", True),
     ("FILE_SIZE_LIMIT_EXCEEDED", True), ("INVALID_RECORD", True)],
)  # fmt: skip
def test_a_failed_attempt_is_final_as_its_error_s_class_says(code: str, final: bool) -> None:
    assert _attempt("failed", {"code": code, "message": "m"}).final is final


def test_a_hand_built_error_is_judged_by_its_code() -> None:
    assert not _attempt("failed", {"code": "WORKER_LOST", "message": "m", "type": "SpliceError"}).final
    assert _attempt("failed", {"code": "TIME_LIMIT_EXCEEDED", "message": "m", "type": "LimitExceeded"}).final


def test_a_run_that_timed_out_or_was_cancelled_is_final_and_an_unknown_failure_is_not() -> None:
    assert _attempt("timed_out", {"code": "TIME_LIMIT_EXCEEDED", "message": "m"}).final
    assert _attempt("cancelled", {"code": "CANCELLED", "message": "m"}).final
    assert not _attempt("failed", None).final
    assert not _attempt("failed", {"code": "SOMETHING_NEW", "message": "m"}).final
