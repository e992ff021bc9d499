"""When to retry a third-party call, and how long to wait — kept apart (singer's lesson).

:func:`classify` decides retryable vs fatal from one outcome; the backoff itself is
tenacity's (exponential with jitter), with :class:`wait_rate_limit` putting the provider's
own ``Retry-After`` / ``X-RateLimit-Reset`` ahead of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_exponential_jitter

from splice._http.models import Response

Outcome = Literal["ok", "rate_limited", "server_error", "network_error", "fatal"]
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class RetryableFailure(Exception):
    """Raised inside the retry loop for an outcome worth another attempt."""

    def __init__(self, kind: Outcome, response: Response | None = None, cause: str = "") -> None:
        super().__init__(cause or kind)
        self.kind = kind
        self.response = response
        self.cause = cause


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts each kind of failure gets, and the time budget for 429s."""

    rate_limit_budget: float = 15.0
    rate_limit_attempts: int = 8
    error_attempts: int = 3
    initial_wait: float = 0.2
    max_wait: float = 30.0

    def attempts_for(self, kind: Outcome, method: str, retries: int | None) -> int:
        if kind == "rate_limited":
            return self.rate_limit_attempts
        if retries is not None:
            return retries + 1
        return self.error_attempts if method.upper() in IDEMPOTENT else 1


def classify(response: Response) -> Outcome:
    if response.status == 429:
        return "rate_limited"
    if response.status >= 500:
        return "server_error"
    return "ok" if response.status < 300 else "fatal"


def provider_delay(response: Response, now: float | None = None) -> float | None:
    """Seconds the provider asked us to wait, from ``Retry-After`` or ``X-RateLimit-Reset``."""
    now = time.time() if now is None else now
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-RateLimit-Reset") or response.headers.get("RateLimit-Reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Large values are epoch seconds (GitHub, Acme); small ones a delta (IETF draft).
        return max(0.0, value - now) if value > 1e9 else max(0.0, value)
    return None


class wait_rate_limit(wait_base):
    """The provider's requested delay when it gave one, else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.fallback = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetryableFailure) and exc.response is not None:
            delay = provider_delay(exc.response)
            if delay is not None:
                return delay
        return self.fallback(retry_state)
