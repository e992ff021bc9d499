"""The error envelope's status comes from the error's class: a request's error, and a failed run's."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.requests import Request

from splice.errors import CredentialsError, Forbidden, NotFound, SpliceError, Unauthorized, Unavailable
from splice.server._errors import error_response
from splice.server.routes.actions import _failure
from splice.store import RunRecord


def _request() -> Request:
    return Request({"type": "http", "state": {"request_id": "req-1"}})


def _answer(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, orjson.loads(response.body)["error"]


@pytest.mark.parametrize(
    ("error", "status"),
    [(NotFound("x"), 404), (Unauthorized("x"), 401), (Forbidden("x"), 403), (CredentialsError("x"), 409),
     (Unavailable("x"), 503)],
)  # fmt: skip
def test_an_error_answers_with_its_class_s_status(error: SpliceError, status: int) -> None:
    response = error_response(_request(), error)
    assert response.status_code == status
    assert ("WWW-Authenticate" in response.headers) is (status == 401)


def test_the_envelope_has_code_message_details_hint_and_request_id() -> None:
    error = NotFound("no such thing", details={"id": "c9"}, hint="list them first")
    assert _answer(error_response(_request(), error, run_id=None)) == (
        404,
        {"code": "NOT_FOUND", "message": "no such thing", "details": {"id": "c9"}, "hint": "list them first",
         "request_id": "req-1"},
    )  # fmt: skip


def _failed(error: dict[str, Any] | None, status: str = "failed") -> RunRecord:
    return RunRecord(id="run-1", kind="action", integration="acme", script="go", status=status, error=error)


@pytest.mark.parametrize(
    ("code", "status"),
    [("REFRESH_FAILED", 409), ("CONNECTION_BROKEN", 409), ("PAGINATION_ERROR", 502), ("HOST_NOT_ALLOWED", 502),
     ("NETWORK_ERROR", 502), ("SCRIPT_ERROR", 500), ("INVALID_INPUT", 500), ("NOT_FOUND", 500),
     ("WORKER_LOST", 500), ("LOCK_TIMEOUT", 503)],
)  # fmt: skip
def test_a_failed_run_answers_its_error_s_run_status(code: str, status: int) -> None:
    answered, error = _answer(_failure(_request(), _failed({"code": code, "message": "m", "details": {}})))
    assert (answered, error["code"], error["run_id"]) == (status, code, "run-1")


def test_a_timed_out_run_answers_504() -> None:
    error = {"code": "TIME_LIMIT_EXCEEDED", "message": "late", "type": "LimitExceeded"}
    assert _answer(_failure(_request(), _failed(error, "timed_out")))[0] == 504


def test_an_action_error_answers_its_own_status_and_code_without_the_traceback() -> None:
    details = {"payload": {"why": "gone"}, "status": 410, "traceback": "Traceback ..."}
    error = {"code": "GONE", "message": "gone", "details": details, "type": "ActionError"}
    status, body = _answer(_failure(_request(), _failed(error)))
    assert (status, body["code"], body["details"]) == (410, "GONE", {"payload": {"why": "gone"}, "status": 410})


def test_a_failed_run_without_an_error_is_a_500() -> None:
    status, body = _answer(_failure(_request(), _failed(None)))
    assert (status, body["code"], body["message"]) == (500, "RUN_ERROR", "the run failed")
