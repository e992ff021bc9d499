"""The clock seam: the system clock by default, a manual one that tests move."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from splice._clock import Clock, ManualClock, SystemClock

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_the_system_clock_is_the_real_time_in_utc() -> None:
    clock: Clock = SystemClock()
    before = time.time()
    now, seconds = clock.now(), clock.time()
    assert now.tzinfo is UTC
    assert before <= seconds <= time.time() and abs(now.timestamp() - seconds) < 1


def test_a_manual_clock_stands_still_until_moved() -> None:
    clock: Clock = ManualClock(T0)
    assert clock.now() == T0 and clock.time() == T0.timestamp()
    assert clock.now() == T0


def test_advance_and_set_move_both_views_together() -> None:
    clock = ManualClock(T0)
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(timedelta(minutes=1)) == T0 + timedelta(seconds=150)
    assert clock.time() == T0.timestamp() + 150
    clock.set(T0.timestamp() - 10)  # epoch seconds, and backwards
    assert clock.now() == T0 - timedelta(seconds=10) and clock.now().tzinfo is UTC
    clock.set(datetime(2026, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == T0 and clock.now().tzinfo is UTC


def test_a_manual_clock_starts_at_the_real_time_by_default_and_refuses_naive_datetimes() -> None:
    assert abs(ManualClock().time() - time.time()) < 5
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 11, 1, 12, 0))
