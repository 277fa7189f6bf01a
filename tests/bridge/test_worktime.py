"""Working time: known answers in WIB, the settings that shape it, and properties against a
day-by-day reference."""

from __future__ import annotations

import datetime as dt
import functools
from types import SimpleNamespace

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from bridge.settings import (
    Settings,
    SettingsError,
    WeeklyReportTime,
    parse_holidays,
    parse_working_hours,
)
from bridge.statuses import ComplaintStatus
from bridge.worktime import (
    WIB,
    Duration,
    IsoWeek,
    Sla,
    WorkingCalendar,
    clock_start,
    current_iso_week,
    iso_week_bounds,
    next_weekly_report,
    parse_iso_week,
    previous_iso_week,
)
from schemas.directory import DirectorySchema

SHORT_FRIDAY = "Mon-Thu 07:30-16:00,Fri 07:30-11:00"
#: The 2026 Idul Fitri and Nyepi cuti bersama, as an operator would list them.
CUTI_BERSAMA_MARCH_2026 = "2026-03-18,2026-03-20,2026-03-23,2026-03-24"

DEFAULT = WorkingCalendar(parse_working_hours(None))
FRIDAY = WorkingCalendar(parse_working_hours(SHORT_FRIDAY))
US = dt.timedelta(microseconds=1)


def wib(year, month, day, hour=0, minute=0, second=0, microsecond=0) -> dt.datetime:
    """A wall-clock time in Pacitan, as the UTC instant the calendar takes."""
    return dt.datetime(year, month, day, hour, minute, second, microsecond, WIB).astimezone(dt.UTC)


def utc(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# -- the holidays we rely on ---------------------------------------------------------------------


def test_the_holidays_package_gives_these_indonesian_public_holidays_in_2026():
    # holidays==0.108, country ID. Idul Fitri 1447 H falls on a weekend (21-22 March); the
    # weekdays around it are cuti bersama, which the package lists only as "government"
    # holidays and the contract leaves to BRIDGE_HOLIDAYS.
    public = holidays.country_holidays("ID", years=2026)
    assert dt.date(2026, 12, 25) in public and dt.date(2026, 12, 25).weekday() == 4
    assert "Eid al-Fitr" in public[dt.date(2026, 3, 21)]
    assert "Eid al-Fitr" in public[dt.date(2026, 3, 22)]
    assert dt.date(2026, 3, 19) in public  # Nyepi, a Thursday
    for day in (dt.date(2026, 3, 20), dt.date(2026, 3, 23), dt.date(2026, 12, 24)):
        assert day not in public
        assert not DEFAULT.is_holiday(day)
    assert DEFAULT.is_holiday(dt.date(2026, 12, 25))
    assert DEFAULT.window(dt.date(2026, 12, 25)) is None


def test_a_window_is_the_day_s_working_hours_in_utc():
    assert FRIDAY.window(dt.date(2026, 12, 4)) == (utc(2026, 12, 4, 0, 30), utc(2026, 12, 4, 4))
    assert FRIDAY.window(dt.date(2026, 12, 3)) == (utc(2026, 12, 3, 0, 30), utc(2026, 12, 3, 9))
    assert FRIDAY.window(dt.date(2026, 12, 5)) is None


# -- deadlines: known answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "deadline"),
    [
        # 30s, 45m, 4h, 2d from inside a window, each crossing into the next working day.
        (wib(2026, 12, 7, 15, 59, 45), "30s", wib(2026, 12, 8, 8, 0, 15)),
        (wib(2026, 12, 7, 15, 30), "45m", wib(2026, 12, 8, 8, 15)),
        (wib(2026, 12, 7, 13, 0), "4h", wib(2026, 12, 8, 9, 0)),
        (wib(2026, 12, 9, 10, 0), "2d", wib(2026, 12, 11, 10, 0)),
        # Ending exactly at the window's end: that instant, not the next morning.
        (wib(2026, 12, 7, 12, 0), "4h", wib(2026, 12, 7, 16, 0)),
        # Weekends do not count.
        (wib(2026, 12, 4, 14, 0), "4h", wib(2026, 12, 7, 10, 0)),
        (wib(2026, 12, 10, 10, 0), "2d", wib(2026, 12, 14, 10, 0)),
        # Christmas (Friday 25 December 2026) does not count.
        (wib(2026, 12, 24, 10, 0), "1d", wib(2026, 12, 28, 10, 0)),
        (wib(2026, 12, 24, 10, 0), "8h", wib(2026, 12, 28, 10, 0)),
        # Starting outside working hours: evening, before opening, Saturday, a holiday.
        (wib(2026, 12, 7, 20, 0), "4h", wib(2026, 12, 8, 12, 0)),
        (wib(2026, 12, 7, 6, 0), "1h", wib(2026, 12, 7, 9, 0)),
        (wib(2026, 12, 5, 10, 0), "30s", wib(2026, 12, 7, 8, 0, 30)),
        (wib(2026, 12, 5, 10, 0), "1d", wib(2026, 12, 7, 16, 0)),
        (wib(2026, 12, 25, 9, 0), "45m", wib(2026, 12, 28, 8, 45)),
        (wib(2026, 12, 25, 9, 0), "1d", wib(2026, 12, 28, 16, 0)),
        # Exactly at the edges: 08:00 is inside (the whole day counts), 16:00 is not.
        (wib(2026, 12, 7, 8, 0), "1d", wib(2026, 12, 7, 16, 0)),
        (wib(2026, 12, 7, 16, 0), "1d", wib(2026, 12, 8, 16, 0)),
        (wib(2026, 12, 7, 15, 59, 59, 999999), "1s", wib(2026, 12, 8, 8, 0, 0, 999999)),
        # Over the new year: 31 December is a Thursday, 1 January a holiday.
        (wib(2026, 12, 31, 12, 0), "1d", wib(2027, 1, 4, 12, 0)),
        (wib(2026, 12, 31, 12, 0), "5h", wib(2027, 1, 4, 9, 0)),
        # ...and a deadline at the close of the year's last working day stays in that year.
        (wib(2026, 12, 31, 12, 0), "4h", wib(2026, 12, 31, 16, 0)),
        (wib(2026, 12, 31, 8, 0), "1d", wib(2026, 12, 31, 16, 0)),
        (wib(2026, 12, 30, 12, 0), "12h", wib(2026, 12, 31, 16, 0)),
    ],
)
def test_deadlines_with_default_hours(start, duration, deadline):
    got = DEFAULT.add(start, duration)
    assert got == deadline, got.astimezone(WIB)
    assert got.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("start", "duration", "deadline"),
    [
        # Half-way through Thursday (07:30-16:00) -> half-way through Friday (07:30-11:00).
        (wib(2026, 12, 3, 11, 45), "1d", wib(2026, 12, 4, 9, 15)),
        # Half-way through Friday -> half-way through Monday.
        (wib(2026, 12, 4, 9, 15), "1d", wib(2026, 12, 7, 11, 45)),
        # A whole Friday is one working day of 3.5 hours.
        (wib(2026, 12, 4, 7, 30), "1d", wib(2026, 12, 4, 11, 0)),
        # After Friday's close the clock waits for Monday.
        (wib(2026, 12, 4, 11, 0), "1d", wib(2026, 12, 7, 16, 0)),
        (wib(2026, 12, 4, 13, 0), "4h", wib(2026, 12, 7, 11, 30)),
        # One hour of Friday left, three of Monday.
        (wib(2026, 12, 4, 10, 0), "4h", wib(2026, 12, 7, 10, 30)),
        # A third of Thursday; Friday 25 December is Christmas, so a third of Monday.
        (wib(2026, 12, 24, 10, 20), "1d", wib(2026, 12, 28, 10, 20)),
        # Friday at 2/7 of its window (08:30) -> Monday at 2/7 of 8.5 h: 2 h 25 m 42.857143 s
        # after 07:30, rounded up to the microsecond.
        (wib(2026, 12, 4, 8, 30), "1d", wib(2026, 12, 7, 9, 55, 42, 857143)),
    ],
)
def test_deadlines_with_a_short_friday(start, duration, deadline):
    got = FRIDAY.add(start, duration)
    assert got == deadline, got.astimezone(WIB)


def test_cuti_bersama_from_bridge_holidays_stop_the_clock_too():
    # Tuesday 17 March 2026: then cuti bersama (18), Nyepi (19), cuti bersama (20), Idul Fitri
    # (21-22, a weekend), cuti bersama (23-24).
    start = wib(2026, 3, 17, 10, 0)
    assert DEFAULT.add(start, "1d") == wib(2026, 3, 18, 10, 0)
    lebaran = WorkingCalendar(parse_working_hours(None), parse_holidays(CUTI_BERSAMA_MARCH_2026))
    assert lebaran.add(start, "1d") == wib(2026, 3, 25, 10, 0)
    assert lebaran.add(start, "8h") == wib(2026, 3, 25, 10, 0)
    assert lebaran.elapsed(wib(2026, 3, 17, 16, 0), wib(2026, 3, 25, 8, 0)) == 0
    assert not lebaran.is_working(wib(2026, 3, 20, 10, 0))
    assert DEFAULT.is_working(wib(2026, 3, 20, 10, 0))
    assert lebaran.is_holiday(dt.date(2026, 3, 23)) and not DEFAULT.is_holiday(dt.date(2026, 3, 23))


def test_a_window_may_end_at_midnight():
    calendar = WorkingCalendar(parse_working_hours("Sat 20:00-24:00"))
    assert calendar.is_working(wib(2026, 12, 5, 23, 59, 59, 999999))
    assert not calendar.is_working(wib(2026, 12, 6, 0, 0))
    assert calendar.add(wib(2026, 12, 5, 23, 0), "2h") == wib(2026, 12, 12, 21, 0)
    assert calendar.add(wib(2026, 12, 5, 20, 0), "1d") == wib(2026, 12, 6, 0, 0)


def test_is_working_and_next_working_start_at_the_edges():
    assert DEFAULT.is_working(wib(2026, 12, 7, 8, 0))
    assert DEFAULT.is_working(wib(2026, 12, 7, 15, 59, 59, 999999))
    assert not DEFAULT.is_working(wib(2026, 12, 7, 16, 0))
    assert not DEFAULT.is_working(wib(2026, 12, 7, 7, 59, 59, 999999))
    assert not DEFAULT.is_working(wib(2026, 12, 5, 10, 0))  # Saturday
    inside = wib(2026, 12, 7, 9, 30)
    assert DEFAULT.next_working_start(inside) == inside
    assert DEFAULT.next_working_start(wib(2026, 12, 7, 8, 0)) == wib(2026, 12, 7, 8, 0)
    assert DEFAULT.next_working_start(wib(2026, 12, 7, 6, 0)) == wib(2026, 12, 7, 8, 0)
    assert DEFAULT.next_working_start(wib(2026, 12, 7, 16, 0)) == wib(2026, 12, 8, 8, 0)
    assert DEFAULT.next_working_start(wib(2026, 12, 4, 17, 0)) == wib(2026, 12, 7, 8, 0)
    assert DEFAULT.next_working_start(wib(2026, 12, 24, 16, 0)) == wib(2026, 12, 28, 8, 0)
    assert DEFAULT.next_working_start(wib(2026, 12, 31, 16, 0)) == wib(2027, 1, 4, 8, 0)
    # An instant in another offset is the same instant, handed back in UTC.
    assert DEFAULT.next_working_start(inside.astimezone(WIB)).tzinfo is dt.UTC


def test_the_reminder_ladder_is_one_two_three_times_the_sla():
    start = wib(2026, 12, 7, 10, 0)  # Monday
    assert [DEFAULT.deadline_multiple(start, "1d", k) for k in (1, 2, 3)] == [
        wib(2026, 12, 8, 10, 0),
        wib(2026, 12, 9, 10, 0),
        wib(2026, 12, 10, 10, 0),
    ]
    assert [DEFAULT.deadline_multiple(start, Duration(4, "h"), k) for k in (1, 2, 3)] == [
        wib(2026, 12, 7, 14, 0),
        wib(2026, 12, 8, 10, 0),
        wib(2026, 12, 8, 14, 0),
    ]
    # 6d, 12d, 18d: Christmas and New Year's Day fall inside.
    assert [DEFAULT.deadline_multiple(start, "6d", k) for k in (1, 2, 3)] == [
        wib(2026, 12, 15, 10, 0),
        wib(2026, 12, 23, 10, 0),
        wib(2027, 1, 4, 10, 0),
    ]


# -- elapsed ---------------------------------------------------------------------------------------


def test_elapsed_working_time_known_answers():
    week = (wib(2026, 12, 7, 8, 0), wib(2026, 12, 11, 16, 0))
    assert DEFAULT.elapsed(*week) == 40 * 3600
    assert DEFAULT.elapsed_days(*week) == 5
    short_week = (wib(2026, 12, 7, 7, 30), wib(2026, 12, 14, 7, 30))
    assert FRIDAY.elapsed(*short_week) == (4 * 8.5 + 3.5) * 3600
    assert FRIDAY.elapsed_days(*short_week) == 5
    # Friday 09:15 to Monday 11:45: half of Friday (1.75 h) and half of Monday (4.25 h).
    assert FRIDAY.elapsed(wib(2026, 12, 4, 9, 15), wib(2026, 12, 7, 11, 45)) == 6 * 3600
    assert FRIDAY.elapsed_days(wib(2026, 12, 4, 9, 15), wib(2026, 12, 7, 11, 45)) == 1
    # Over the new year: 4 h on 31 December, New Year's Day off, 4 h on Monday 4 January.
    new_year = (wib(2026, 12, 31, 12, 0), wib(2027, 1, 4, 12, 0))
    assert DEFAULT.elapsed(*new_year) == 8 * 3600
    assert DEFAULT.elapsed_days(*new_year) == 1
    assert DEFAULT.elapsed(*reversed(new_year)) == -8 * 3600
    # Outside working hours the clock stands still.
    assert DEFAULT.elapsed(wib(2026, 12, 4, 16, 0), wib(2026, 12, 7, 8, 0)) == 0
    assert DEFAULT.elapsed(wib(2026, 12, 25, 9, 0), wib(2026, 12, 25, 15, 0)) == 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        DEFAULT.elapsed(dt.datetime(2026, 12, 7, 8), wib(2026, 12, 7, 9))
    with pytest.raises(ValueError, match="aware"):
        DEFAULT.add(dt.datetime(2026, 12, 7, 8), "1d")


def test_a_calendar_is_immutable_and_shared_per_settings():
    with pytest.raises(AttributeError):
        DEFAULT._extra = frozenset()
    one = Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_WORKING_HOURS": SHORT_FRIDAY})
    two = Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_WORKING_HOURS": SHORT_FRIDAY})
    assert WorkingCalendar.from_settings(one) is WorkingCalendar.from_settings(two)
    assert WorkingCalendar.from_settings(one) is not WorkingCalendar.from_settings(
        one.replace(extra_holidays=frozenset({dt.date(2026, 12, 24)}))
    )


# -- the complaint's clock -------------------------------------------------------------------------


def entry(status, at):
    return SimpleNamespace(status=status, at=at)


def test_the_clock_starts_when_the_current_office_received_the_complaint():
    received = wib(2026, 12, 7, 9, 0)
    history = [
        entry(ComplaintStatus.RECEIVED, received),
        entry(ComplaintStatus.FORWARDED, wib(2026, 12, 7, 9, 1)),
        entry(ComplaintStatus.ACKNOWLEDGED, wib(2026, 12, 7, 13, 0)),
    ]
    assert clock_start(history) == received
    # "bukan" on Tuesday: the complaint is received again by triage, and the clock restarts.
    rerouted = wib(2026, 12, 8, 10, 0)
    history += [
        entry("received", rerouted),
        entry("forwarded", wib(2026, 12, 8, 10, 1)),
    ]
    assert clock_start(history) == rerouted
    assert DEFAULT.add(clock_start(history), "1d") == wib(2026, 12, 9, 10, 0)
    assert clock_start([]) is None


# -- durations and SLAs ----------------------------------------------------------------------------


def test_durations_parse_and_multiply():
    assert Duration.parse("45m") == Duration(45, "m")
    assert Duration.parse("45m").seconds == 2700
    assert Duration.parse("2d") * 3 == Duration(6, "d")
    assert str(3 * Duration(4, "h")) == "12h"
    for bad in ("", "4", "4x", "4 h", "-1d", "1.5d", "4H"):
        with pytest.raises(ValueError, match=r"Not a duration: use 30s, 45m, 4h or 2d\."):
            Duration.parse(bad)
    with pytest.raises(ValueError, match="no fixed length"):
        Duration(1, "d").seconds  # noqa: B018


def test_an_opd_s_sla_from_its_stored_json():
    assert Sla.from_json(None) == Sla(Duration(1, "d"), Duration(6, "d"))
    assert Sla.from_json({"answer": "4h", "resolve": "3d"}) == Sla(
        Duration(4, "h"), Duration(3, "d")
    )


def directory(**sla):
    opd = {"slug": "dpupr", "name": "DPUPR"}
    if sla:
        opd["sla"] = sla
    return {"triage": "dpupr", "opds": [opd]}


def test_the_directory_file_takes_an_optional_sla():
    assert DirectorySchema().load(directory())["opds"][0]["sla"] == {
        "answer": "1d",
        "resolve": "6d",
    }
    loaded = DirectorySchema().load(directory(answer=" 4h", resolve="3d"))
    assert loaded["opds"][0]["sla"] == {"answer": "4h", "resolve": "3d"}
    assert DirectorySchema().load(directory(resolve="10d"))["opds"][0]["sla"] == {
        "answer": "1d",
        "resolve": "10d",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1 day", "Not a duration: use 30s, 45m, 4h or 2d."),
        (24, "Not a duration: use 30s, 45m, 4h or 2d."),
        ("0d", "Must be longer than zero."),
        ("366d", "Too long: at most a year (365d)."),
    ],
)
def test_a_bad_sla_is_named_in_the_directory(value, message):
    with pytest.raises(ValidationError) as caught:
        DirectorySchema().load(directory(answer=value))
    assert caught.value.messages == {"opds": {0: {"sla": {"answer": [message]}}}}


def test_importing_the_directory_stores_each_opd_s_sla(app):
    from sqlalchemy import select

    from bridge.db import new_session
    from bridge.models import Opd
    from tests.support import use_directory

    use_directory(
        app,
        {
            "triage": "diskominfo",
            "opds": [
                {"slug": "diskominfo", "name": "Diskominfo"},
                {"slug": "dpupr", "name": "DPUPR", "sla": {"answer": "4h"}},
            ],
        },
    )
    with app.app_context(), new_session() as db:
        stored = {o.slug: o.sla for o in db.scalars(select(Opd))}
    assert stored == {
        "diskominfo": {"answer": "1d", "resolve": "6d"},
        "dpupr": {"answer": "4h", "resolve": "6d"},
    }
    assert Sla.from_json(stored["dpupr"]).answer == Duration(4, "h")


# -- ISO weeks -------------------------------------------------------------------------------------


def test_iso_week_bounds_are_monday_midnight_wib_in_utc():
    assert iso_week_bounds("2026-W49") == (utc(2026, 11, 29, 17), utc(2026, 12, 6, 17))
    # 2026 starts on a Thursday, so it has a week 53, running into 2027.
    assert iso_week_bounds("2026-W53") == (utc(2026, 12, 27, 17), utc(2027, 1, 3, 17))
    assert iso_week_bounds(IsoWeek(2027, 1)) == (utc(2027, 1, 3, 17), utc(2027, 1, 10, 17))
    # 2026-W01 starts on Monday 29 December 2025.
    assert iso_week_bounds("2026-W01")[0] == wib(2025, 12, 29)


def test_iso_weeks_step_across_year_boundaries():
    assert previous_iso_week("2027-W01") == IsoWeek(2026, 53)
    assert previous_iso_week("2026-W01") == IsoWeek(2025, 52)
    assert IsoWeek(2026, 53).next() == IsoWeek(2027, 1)
    assert str(previous_iso_week(IsoWeek(2026, 49))) == "2026-W48"


def test_the_current_week_is_read_in_wib():
    # Sunday 3 January 2027 23:59:59 WIB is still 2026-W53; a second later it is 2027-W01.
    assert current_iso_week(utc(2027, 1, 3, 16, 59) + dt.timedelta(seconds=59)) == IsoWeek(2026, 53)
    assert current_iso_week(utc(2027, 1, 3, 17)) == IsoWeek(2027, 1)
    assert current_iso_week(wib(2026, 12, 7, 0, 0)) == parse_iso_week("2026-W50")
    assert isinstance(current_iso_week(), IsoWeek)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-W53", "2025 has no week 53: its weeks are 2025-W01 to 2025-W52."),
        ("2026-W00", "2026 has no week 00: its weeks are 2026-W01 to 2026-W53."),
        ("2026-W54", "2026 has no week 54: its weeks are 2026-W01 to 2026-W53."),
        ("2026-49", "Not an ISO week: use YYYY-Www, e.g. 2026-W49."),
        ("2026-W9", "Not an ISO week: use YYYY-Www, e.g. 2026-W49."),
        ("W49", "Not an ISO week: use YYYY-Www, e.g. 2026-W49."),
        ("1066-W01", "Year 1066 is out of range (1900 to 9998)."),
    ],
)
def test_bad_iso_weeks_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as caught:
        parse_iso_week(text)
    assert str(caught.value) == message


def test_the_next_weekly_report_time():
    monday_seven = WeeklyReportTime(0, dt.time(7, 0))
    # Monday 07:00 WIB is Monday 00:00 UTC.
    assert next_weekly_report(monday_seven, wib(2026, 12, 5, 12, 0)) == utc(2026, 12, 7, 0)
    assert next_weekly_report(monday_seven, wib(2026, 12, 7, 7, 0)) == utc(2026, 12, 14, 0)
    assert next_weekly_report(monday_seven, wib(2026, 12, 7, 6, 59)) == utc(2026, 12, 7, 0)
    sunday_early = WeeklyReportTime(6, dt.time(5, 0))  # Saturday 22:00 UTC
    assert next_weekly_report(sunday_early, wib(2026, 12, 5, 12, 0)) == utc(2026, 12, 5, 22)


# -- settings --------------------------------------------------------------------------------------


def from_env(**env):
    return Settings.from_env({"BRIDGE_SANDBOX": "1", **env})


def test_working_time_settings_defaults():
    s = from_env()
    assert s.working_hours.windows == (*[(8 * 3600, 16 * 3600)] * 5, None, None)
    assert str(s.working_hours) == (
        "Mon 08:00-16:00,Tue 08:00-16:00,Wed 08:00-16:00,Thu 08:00-16:00,Fri 08:00-16:00"
    )
    assert s.extra_holidays == frozenset()
    assert s.weekly_report == WeeklyReportTime(0, dt.time(7, 0))
    assert from_env(BRIDGE_WORKING_HOURS=" ", BRIDGE_WEEKLY_REPORT="").weekly_report == (
        s.weekly_report
    )


@pytest.mark.parametrize(
    "raw",
    [
        SHORT_FRIDAY,
        " mon - thu 7:30-16:00 , FRIDAY 07:30 - 11:00 ,",
        "Mon 07:30-16:00,Tue-Wed 07:30-16:00,Thu 07:30-16:00,Fri 07:30-11:00",
    ],
)
def test_working_hours_spellings(raw):
    windows = from_env(BRIDGE_WORKING_HOURS=raw).working_hours.windows
    assert windows == (*[(27000, 57600)] * 4, (27000, 39600), None, None)


def test_working_hours_ranges_may_wrap_and_end_at_midnight():
    windows = from_env(BRIDGE_WORKING_HOURS="Sat-Mon 00:00-24:00").working_hours.windows
    assert windows == ((0, 86400), None, None, None, None, (0, 86400), (0, 86400))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "Mon-Fri 08:00-16:00,Fri 13:00-15:00",
            "BRIDGE_WORKING_HOURS: Fri is given twice ('Mon-Fri 08:00-16:00' and"
            " 'Fri 13:00-15:00'); only one window per day is supported",
        ),
        (
            "Mon 8-16",
            "BRIDGE_WORKING_HOURS: '8' in 'Mon 8-16' is not a time of day (HH:MM, 00:00 to 24:00)",
        ),
        (
            "Mon-Fri 08:00-24:30",
            "BRIDGE_WORKING_HOURS: '24:30' in 'Mon-Fri 08:00-24:30' is not a time of day"
            " (HH:MM, 00:00 to 24:00)",
        ),
        (
            "Mon 24:00-24:00",
            "BRIDGE_WORKING_HOURS: '24:00' in 'Mon 24:00-24:00' is not a time of day"
            " (HH:MM, 00:00 to 24:00)",
        ),
        (
            "Mon-Fri 16:00-08:00",
            "BRIDGE_WORKING_HOURS: 'Mon-Fri 16:00-08:00' must end after it starts"
            " (a window cannot cross midnight)",
        ),
        (
            "Mon-Jum 08:00-16:00",
            "BRIDGE_WORKING_HOURS: 'Jum' in 'Mon-Jum 08:00-16:00' is not a day"
            " (Mon, Tue, Wed, Thu, Fri, Sat or Sun)",
        ),
        (
            "weekdays",
            "BRIDGE_WORKING_HOURS: 'weekdays' is not DAYS HH:MM-HH:MM (e.g. Mon-Thu 07:30-16:00)",
        ),
        (",", "BRIDGE_WORKING_HOURS names no working day, e.g. Mon-Fri 08:00-16:00"),
    ],
)
def test_bad_working_hours_are_named(raw, message):
    with pytest.raises(SettingsError) as caught:
        from_env(BRIDGE_WORKING_HOURS=raw)
    assert str(caught.value) == message


def test_holidays_setting():
    assert from_env(BRIDGE_HOLIDAYS="2026-03-20, 2026-03-23,,2026-03-20").extra_holidays == {
        dt.date(2026, 3, 20),
        dt.date(2026, 3, 23),
    }
    for bad in ("2026-02-30", "20260320", "2026-3-20", "tomorrow"):
        with pytest.raises(SettingsError) as caught:
            from_env(BRIDGE_HOLIDAYS=f"2026-03-20,{bad}")
        assert str(caught.value) == (
            f"BRIDGE_HOLIDAYS: {bad!r} is not a date (YYYY-MM-DD, comma-separated)"
        )


def test_weekly_report_setting():
    assert from_env(BRIDGE_WEEKLY_REPORT="Sunday 18:30").weekly_report == WeeklyReportTime(
        6, dt.time(18, 30)
    )
    assert from_env(BRIDGE_WEEKLY_REPORT="off").weekly_report is None
    assert from_env(BRIDGE_WEEKLY_REPORT=" OFF ").weekly_report is None
    for bad in ("Mon", "Mon 24:00", "Funday 07:00", "07:00 Mon", "Mon-Fri 07:00", "never"):
        with pytest.raises(SettingsError) as caught:
            from_env(BRIDGE_WEEKLY_REPORT=bad)
        assert str(caught.value) == (
            f"BRIDGE_WEEKLY_REPORT must be DAY HH:MM in WIB (e.g. Mon 07:00) or off, not {bad!r}"
        )


# -- properties against a day-by-day reference -----------------------------------------------------

EXTRA = parse_holidays(CUTI_BERSAMA_MARCH_2026 + ",2027-12-31")
CALENDARS = {
    "default": WorkingCalendar(parse_working_hours(None), EXTRA),
    "short friday": WorkingCalendar(parse_working_hours(SHORT_FRIDAY), EXTRA),
    "weekend nights": WorkingCalendar(parse_working_hours("Sat-Sun 18:00-24:00,Wed 00:00-01:00")),
}


@functools.cache
def public_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("ID", years=range(2025, 2029))


def reference_elapsed(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working seconds the slow, obvious way: each WIB date's window clipped to the span."""
    public = public_holidays()
    total = dt.timedelta(0)
    day = start.astimezone(WIB).date()
    while day <= end.astimezone(WIB).date():
        window = calendar.working_hours.windows[day.weekday()]
        if window and day not in public and day not in calendar.extra_holidays:
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=WIB)
            opens = midnight + dt.timedelta(seconds=window[0])
            closes = midnight + dt.timedelta(seconds=window[1])
            total += max(min(closes, end) - max(opens, start), dt.timedelta(0))
        day += dt.timedelta(days=1)
    return total.total_seconds()


def edges(calendar_name: str):
    """Window edges and the microseconds either side, where off-by-one mistakes live."""
    hours = CALENDARS[calendar_name].working_hours.windows
    return st.builds(
        lambda day, edge, nudge: (
            dt.datetime.combine(day, dt.time(0), tzinfo=WIB)
            + dt.timedelta(seconds=edge, microseconds=nudge)
        ).astimezone(dt.UTC),
        st.dates(dt.date(2025, 12, 1), dt.date(2027, 12, 31)),
        st.sampled_from(sorted({s for w in hours if w for s in w})),
        st.sampled_from([-1, 0, 1]),
    )


instants = st.datetimes(
    min_value=dt.datetime(2025, 12, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.just(dt.UTC),
)
calendar_names = st.sampled_from(sorted(CALENDARS))
durations = st.builds(Duration, st.integers(1, 40), st.sampled_from("smhd"))


def instant_for(data, name):
    return data.draw(st.one_of(instants, edges(name)))


@settings(deadline=None, max_examples=300)
@given(
    name=calendar_names,
    data=st.data(),
    span=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)),
)
def test_elapsed_matches_the_reference(name, data, span):
    calendar = CALENDARS[name]
    start = instant_for(data, name)
    end = start + span
    assert calendar.elapsed(start, end) == pytest.approx(
        reference_elapsed(calendar, start, end), abs=1e-6
    )


@settings(deadline=None, max_examples=300)
@given(name=calendar_names, data=st.data(), duration=durations)
def test_a_deadline_is_the_first_instant_the_duration_has_elapsed(name, data, duration):
    calendar = CALENDARS[name]
    start = instant_for(data, name)
    deadline = calendar.add(start, duration)
    assert deadline > start
    # It lies in working time or at a window's end.
    assert calendar.is_working(deadline - US)
    if duration.unit == "d":
        assert calendar.elapsed_days(start, deadline) == pytest.approx(duration.amount, abs=1e-9)
        assert calendar.elapsed_days(start, deadline - US) < duration.amount
    else:
        assert calendar.elapsed(start, deadline) == duration.seconds
        assert calendar.elapsed(start, deadline - US) < duration.seconds


@settings(deadline=None, max_examples=200)
@given(name=calendar_names, data=st.data(), duration=durations, k=st.integers(1, 3))
def test_deadlines_are_monotonic(name, data, duration, k):
    calendar = CALENDARS[name]
    first, second = sorted((instant_for(data, name), instant_for(data, name)))
    assert calendar.add(first, duration) <= calendar.add(second, duration)
    assert calendar.deadline_multiple(first, duration, k) <= calendar.deadline_multiple(
        first, duration, k + 1
    )
    if duration.unit != "d":
        # For s/m/h, k steps of one duration land where one step of k durations does.
        stepped = first
        for _ in range(k):
            stepped = calendar.add(stepped, duration)
        assert stepped == calendar.deadline_multiple(first, duration, k)


@settings(deadline=None, max_examples=200)
@given(name=calendar_names, data=st.data())
def test_elapsed_adds_up_and_never_runs_backwards(name, data):
    calendar = CALENDARS[name]
    a, b, c = sorted(instant_for(data, name) for _ in range(3))
    assert 0 <= calendar.elapsed(a, b) <= calendar.elapsed(a, c)
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == pytest.approx(
        calendar.elapsed(a, c), abs=1e-6
    )
    assert 0 <= calendar.elapsed_days(a, b) <= calendar.elapsed_days(a, c) + 1e-9
    assert calendar.elapsed(c, a) == -calendar.elapsed(a, c)
    assert calendar.next_working_start(a) >= a
    assert calendar.elapsed(a, calendar.next_working_start(a)) == 0
    assert calendar.is_working(calendar.next_working_start(a))
