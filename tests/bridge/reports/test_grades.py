"""The one definition of cepat/sedang/lambat: working days, each day begun counting whole."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.reports.grades import GRADE_BOUNDS, Grade, days_of, days_taken, grade
from bridge.settings import parse_working_hours
from bridge.worktime import WIB, WorkingCalendar

CALENDAR = WorkingCalendar(parse_working_hours("Mon-Fri 08:00-16:00"))


def wib(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=WIB)


@pytest.mark.parametrize(
    ("start", "resolved", "days", "expected"),
    [
        # The same working day: a day begun counts whole.
        (wib(3, 2, 8), wib(3, 2, 9), 1, Grade.CEPAT),
        # Friday afternoon to Monday morning: a quarter of a day in all, still one.
        (wib(2, 27, 15), wib(3, 2, 9), 1, Grade.CEPAT),
        # Received and resolved on a Saturday: no working time passed, the minimum is 1.
        (wib(3, 7, 9), wib(3, 7, 11), 1, Grade.CEPAT),
        # Exactly three working days (Mon 08:00 to Wed 16:00): cepat...
        (wib(3, 2, 8), wib(3, 4, 16), 3, Grade.CEPAT),
        # ...one minute into the fourth: sedang.
        (wib(3, 2, 8), wib(3, 5, 8, 1), 4, Grade.SEDANG),
        # Exactly six (Tue 24 Feb 08:00 to Tue 3 Mar 16:00, over a weekend): sedang...
        (wib(2, 24, 8), wib(3, 3, 16), 6, Grade.SEDANG),
        # ...a day earlier start makes seven: lambat.
        (wib(2, 23, 8), wib(3, 3, 16), 7, Grade.LAMBAT),
        # Lunar New Year (17 Feb 2026) is no working day: Mon 16 to Wed 18 Feb is 2 days.
        (wib(2, 16, 8), wib(2, 18, 16), 2, Grade.CEPAT),
    ],
)
def test_grade_boundaries(start, resolved, days, expected):
    assert days_taken(CALENDAR, start, resolved) == days
    assert grade(CALENDAR, start, resolved) is expected


def test_rounding_tolerates_float_noise_only():
    assert days_of(3.0000000001) == 3
    assert days_of(3.00001) == 4
    assert days_of(0.0) == 1
    assert days_of(6.999) == 7


def test_bounds_are_the_contracts():
    assert [(g.value, upper) for g, upper in GRADE_BOUNDS] == [("cepat", 3), ("sedang", 6)]
    assert [g.value for g in Grade] == ["cepat", "sedang", "lambat"]
