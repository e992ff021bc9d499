"""Sync schedules: intervals and cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from splice.errors import InvalidInput
from splice.schedule import Schedule, parse_every


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("6h", 21600), ("31d", 31 * 86400), (" 2 h ", 7200)]
)
def test_every_accepts_30s_to_31d(text: str, seconds: int) -> None:
    assert parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["29s", "32d", "0m", "15", "m15", "1w", "", None, 15, "99999999999999d", "9" * 5000 + "s"]
)
def test_every_refuses_the_rest(text: object) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_every(text)
    assert info.value.code == "INVALID_SCHEDULE"


def test_next_run_times() -> None:
    start = datetime(2026, 11, 22, 10, 7, tzinfo=UTC)
    assert Schedule.parse(every="45m").next_after(start) == start + timedelta(minutes=45)
    assert Schedule.parse(cron="*/15 * * * *").next_after(start) == datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    assert Schedule.parse(every="90m").describe() == "every 90m"
    assert Schedule.parse(every="2h").describe() == "every 2h"
    assert Schedule.parse(cron="0 3 * * *").describe() == "cron 0 3 * * *"
