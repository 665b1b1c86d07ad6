"""Whether a defibrillator is open now: True or False only when the parser is sure."""

import datetime
import zoneinfo

import pytest

from backend.places.opening import open_now

LONDON = zoneinfo.ZoneInfo("Europe/London")
MONDAY_NOON = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=LONDON)
MONDAY_LATE = datetime.datetime(2026, 12, 7, 23, 30, tzinfo=LONDON)
CHRISTMAS_NOON = datetime.datetime(2026, 12, 25, 12, 0, tzinfo=LONDON)
SUMMER_MORNING_UTC = datetime.datetime(2026, 7, 6, 7, 30, tzinfo=datetime.UTC)  # 08:30 in London


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        ("24/7", MONDAY_LATE, True),
        ("Mo-Su 07:00-22:00", MONDAY_NOON, True),
        ("Mo-Su 07:00-22:00", MONDAY_LATE, False),
        ("Mo-Fr 08:00-17:00; PH off", CHRISTMAS_NOON, False),  # a bank holiday in Great Britain
        ("Mo-Fr 08:00-17:00", SUMMER_MORNING_UTC, True),  # British Summer Time, not UTC
        ("", MONDAY_NOON, None),
        ("whenever the caretaker is in", MONDAY_NOON, None),
        ("Mo-Fr 08:00-17:00 unknown", MONDAY_NOON, None),
        ('"on request"', MONDAY_NOON, None),
    ],
)
def test_it_answers_only_when_sure(hours, at, expected):
    assert open_now(hours, at) is expected
