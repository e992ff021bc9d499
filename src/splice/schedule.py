"""When a sync runs: ``every="15m"`` (30 s … 31 d) or ``cron="*/5 * * * *"``.

Cron expressions are parsed and iterated by croniter; ``every`` is an interval measured from
the previous run's start, which cron cannot express for periods such as 7 h or 45 m.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from splice.errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
MIN_EVERY = timedelta(seconds=30)
MAX_EVERY = timedelta(days=31)
#: more digits than this is years in any unit, past MAX_EVERY, and may overflow a timedelta
_MAX_DIGITS = 9


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule; exactly one of ``every`` and ``cron`` is set."""

    every: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, every: str | None = None, cron: str | None = None) -> Schedule:
        """``Schedule.parse(every="15m")``; a clear error names what is wrong and the accepted forms."""
        if (every is None) == (cron is None):
            raise InvalidInput('a sync needs exactly one of every="15m" or cron="*/5 * * * *"')
        if cron is not None:
            if not isinstance(cron, str) or not croniter.is_valid(cron):
                raise InvalidInput(
                    f"cron={cron!r} is not a valid cron expression",
                    code="INVALID_SCHEDULE",
                    hint='use five fields (minute hour day month weekday), e.g. "*/15 * * * *"',
                )
            return cls(cron=cron)
        return cls(every=parse_every(every))

    def next_after(self, previous: datetime) -> datetime:
        """When the run after one started at ``previous`` is due (timezone-aware UTC in and out)."""
        if self.every is not None:
            return previous + self.every
        assert self.cron is not None
        return croniter(self.cron, previous).get_next(datetime)

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron}"
        assert self.every is not None
        seconds = int(self.every.total_seconds())
        for unit in ("d", "h", "m", "s"):
            if seconds % _UNITS[unit] == 0:
                return f"every {seconds // _UNITS[unit]}{unit}"
        return f"every {seconds}s"  # pragma: no cover - "s" always divides


def parse_every(text: object) -> timedelta:
    """``"30s"``, ``"15m"``, ``"6h"``, ``"31d"`` → a timedelta within 30 s … 31 d."""
    match = _EVERY.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(
            f"every={text!r} is not an interval",
            code="INVALID_SCHEDULE",
            hint='write it like "30s", "15m", "6h" or "1d"',
        )
    seconds = _seconds(match.group(1), _UNITS[match.group(2)])
    if seconds is None or not MIN_EVERY <= timedelta(seconds=seconds) <= MAX_EVERY:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidInput(
            f"every={shown!r} is outside 30s … 31d", code="INVALID_SCHEDULE", hint="choose an interval from 30s to 31d"
        )
    return timedelta(seconds=seconds)


def _seconds(digits: str, unit: int) -> int | None:
    """The interval in seconds; ``None`` when it is far too long for a timedelta (which overflows)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) * unit if len(digits) <= _MAX_DIGITS else None
