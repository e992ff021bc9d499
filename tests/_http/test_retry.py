"""Which outcomes are retried, and how long the provider asked us to wait."""

from __future__ import annotations

import time
from email.utils import formatdate

from multidict import CIMultiDict

from splice._http.models import Request, Response
from splice._http.retry import RetryPolicy, classify, provider_delay


def response(status: int, **headers: str) -> Response:
    return Response(status, CIMultiDict(headers), b"", Request("GET", "https://api.test/x"))


def test_classify() -> None:
    assert [classify(response(s)) for s in (200, 204, 301, 404, 429, 500, 503)] == [
        "ok",
        "ok",
        "fatal",
        "fatal",
        "rate_limited",
        "server_error",
        "server_error",
    ]


def test_provider_delay_from_each_header_form() -> None:
    now = 1_800_000_000.0
    assert provider_delay(response(429, **{"Retry-After": "2.5"}), now) == 2.5
    date = formatdate(now + 30, usegmt=True)
    assert 29 <= provider_delay(response(429, **{"Retry-After": date}), now) <= 30
    assert provider_delay(response(429, **{"X-RateLimit-Reset": str(now + 7)}), now) == 7
    assert provider_delay(response(429, **{"X-RateLimit-Reset": "3"}), now) == 3
    assert provider_delay(response(429, **{"Retry-After": "soon"}), now) is None
    assert provider_delay(response(429), time.time()) is None


def test_attempts_depend_on_the_failure_and_the_method() -> None:
    policy = RetryPolicy(rate_limit_attempts=8, error_attempts=3)
    assert policy.attempts_for("rate_limited", "POST", None) == 8
    assert policy.attempts_for("server_error", "GET", None) == 3
    assert policy.attempts_for("server_error", "POST", None) == 1
    assert policy.attempts_for("network_error", "PATCH", 2) == 3
