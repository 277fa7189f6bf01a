"""Whether a complaint is past its SLA, as one cut-off per SLA span: the same answer as a
deadline per complaint."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bridge.reports.figures import latest_overdue_start
from bridge.settings import parse_holidays, parse_working_hours
from bridge.worktime import WIB, Duration, WorkingCalendar

CALENDARS = {
    "default": WorkingCalendar(parse_working_hours("Mon-Fri 08:00-16:00")),
    "short friday, cuti bersama": WorkingCalendar(
        parse_working_hours("Mon-Thu 07:30-16:00,Fri 07:30-11:00"),
        parse_holidays("2026-03-18,2026-03-20"),
    ),
}
SPANS = [Duration.parse(text) for text in ("1d", "6d", "3d", "4h", "45m", "30s")]
AS_OF = [
    dt.datetime(2026, 3, 9, 0, 0, tzinfo=WIB),  # the end of a week, midnight
    dt.datetime(2026, 3, 4, 12, 0, tzinfo=WIB),  # mid-window
    dt.datetime(2026, 3, 23, 8, 0, tzinfo=WIB),  # after Nyepi and Idul Fitri, a window's start
    dt.datetime(2026, 3, 6, 11, 0, tzinfo=WIB),  # a short Friday's end
]


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_cut_off_agrees_with_each_deadline(name):
    calendar = CALENDARS[name]
    rng = random.Random(10)
    for as_of in AS_OF:
        for span in SPANS:
            cutoff = latest_overdue_start(calendar, span, as_of)
            assert calendar.add(cutoff, span) <= as_of
            assert calendar.add(cutoff + dt.timedelta(microseconds=1), span) > as_of
            for _ in range(300):
                start = as_of - dt.timedelta(seconds=rng.uniform(0, 30 * 86400))
                # Whole minutes too: window edges are where deadlines jump.
                if rng.random() < 0.3:
                    start = start.replace(second=0, microsecond=0)
                expected = calendar.add(start, span) <= as_of
                assert (start <= cutoff) is expected, (name, as_of, span, start)
