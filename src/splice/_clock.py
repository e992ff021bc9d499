"""The clock seam: where splice asks what time it is when time decides behaviour.

Token expiry and refresh, OAuth connect links and states, access tokens' ``last_used_at``
and the expiry of accepted webhook deliveries are judged by a :class:`Clock` passed down
explicitly (a constructor parameter defaulting to :class:`SystemClock`), never a module
global, so a test moves time with a :class:`ManualClock` instead of sleeping or monkeypatching
``utcnow``.

>>> clock = ManualClock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
>>> rt = await Runtime.open(project, clock=clock)
>>> clock.advance(3600)                  # the connection's token is now an hour older

Durations measured for logs and progress (``time.perf_counter``, ``time.monotonic``) stay on
the real clocks: they describe how long something took, they decide nothing.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What time it is, as splice needs it: an aware UTC datetime or epoch seconds."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def time(self) -> float:
        """The current time in seconds since the epoch (what ``expires_at`` credentials hold)."""
        ...


class SystemClock:
    """The real clock; the default everywhere."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return _time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until a test moves it (:meth:`advance`, :meth:`set`).

    It starts at ``start`` (an aware datetime or epoch seconds; default: the real time now),
    so a frozen clock is a manual clock nobody moves.
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime | float | None = None) -> None:
        self._now = datetime.now(UTC)
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def set(self, moment: datetime | float) -> None:
        """Jump to ``moment`` (backwards too: a clock that steps back is worth testing)."""
        if isinstance(moment, datetime):
            if moment.tzinfo is None:
                raise ValueError("ManualClock needs a timezone-aware datetime, e.g. datetime(..., tzinfo=UTC)")
            self._now = moment.astimezone(UTC)
        else:
            self._now = datetime.fromtimestamp(moment, UTC)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move forward by ``seconds`` (or a timedelta); returns the new now."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        self._now += step
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()!r})"
