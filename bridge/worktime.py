"""Working time: SLA clocks, deadlines and ISO weeks, in WIB (contract section 10).

Every function takes and returns aware datetimes and hands back UTC; WIB (UTC+7, no daylight
saving) is used only inside, to decide which calendar day an instant belongs to.

Definitions
-----------
*Working time* is each day's window from ``BRIDGE_WORKING_HOURS`` (WIB), on days that are
neither an Indonesian public holiday (the ``holidays`` package, country ``ID``) nor listed in
``BRIDGE_HOLIDAYS``. A window is half-open: 08:00 is inside, 16:00 is not.

The *working clock* ``W(t)`` counts the working time before ``t``; it stands still outside
working hours. ``elapsed(a, b)`` is ``W(b) - W(a)`` in seconds.

A *working day* is one day's window, however long it is: with ``Fri 07:30-11:00`` a Friday is
one working day of 3.5 hours. The *day clock* ``D(t)`` counts whole working days before ``t``'s
day plus the fraction of ``t``'s own window already past; ``elapsed_days(a, b)`` is
``D(b) - D(a)``.

Deadlines: ``add(start, duration)`` is the *earliest* instant at which the duration has elapsed,
so that "overdue" is simply ``now >= add(start, duration)``:

- ``30s``, ``45m``, ``4h``: the earliest ``u`` with ``W(u) - W(start) == duration``. Four hours
  from Monday 14:00 with 08:00-16:00 is Tuesday 10:00; from Monday 12:00 it is Monday 16:00
  (the window's end), not Tuesday 08:00.
- ``Nd``: an instant at fraction ``f`` of its day's window lands at fraction ``f`` of the Nth
  working day after it (Thursday 11:45 of 07:30-16:00 is half-way, so ``1d`` later is Friday
  09:15, half-way through 07:30-11:00). An instant outside working hours first moves to the
  next window's start (fraction 0), and at fraction 0 the deadline is the end of the Nth
  working day counting that day: ``1d`` from Saturday, or from Monday 08:00, is Monday 16:00.
  (Fraction 0 of the next day would be the same working instant, only later on the wall
  clock.) The landing point is rounded up to the microsecond, so ``elapsed_days(t, add(t, Nd))``
  is N to within 1e-9.

Both clocks are read from per-year tables of every date's window (in epoch microseconds) and
running totals, built once per year and cached: ``elapsed`` costs two dictionary lookups and
``add`` a binary search, however far apart the instants are.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import holidays as holidays_package

from bridge.settings import WeeklyReportTime, WorkingHours
from bridge.statuses import ComplaintStatus
from schemas.directory import parse_duration

if TYPE_CHECKING:
    from bridge.settings import Settings

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")

_US = 1_000_000
_DAY_US = 86_400 * _US
_WIB_OFFSET_US = 7 * 3600 * _US
_ONE_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _us(instant: dt.datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("working time needs aware datetimes (UTC), not a naive one")
    return (instant - _EPOCH) // _ONE_US


def _instant(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


# -- durations and SLAs ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Duration:
    """A span of working time: ``amount`` of ``s``, ``m``, ``h`` or ``d`` (working days)."""

    amount: int
    unit: str

    def __post_init__(self):
        if self.unit not in ("s", "m", "h", "d") or self.amount < 1:
            raise ValueError(f"not a duration: {self.amount}{self.unit}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``"4h"`` -> ``Duration(4, "h")``; ValueError with the directory's message if not."""
        return cls(*parse_duration(text))

    @property
    def seconds(self) -> int:
        """Working seconds of an ``s``/``m``/``h`` duration (a day has no fixed length)."""
        if self.unit == "d":
            raise ValueError("a working day has no fixed length in seconds")
        return self.amount * {"s": 1, "m": 60, "h": 3600}[self.unit]

    def __mul__(self, factor: int) -> Duration:
        return Duration(self.amount * factor, self.unit)

    __rmul__ = __mul__

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def _duration(value: Duration | str) -> Duration:
    return value if isinstance(value, Duration) else Duration.parse(value)


@dataclasses.dataclass(frozen=True)
class Sla:
    """An OPD's SLA: time to the first answer and to resolution (defaults 1d and 6d)."""

    answer: Duration = Duration(1, "d")
    resolve: Duration = Duration(6, "d")

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Sla:
        """An ``Opd.sla`` column (None for OPDs imported before it existed: the defaults)."""
        value = value or {}
        default = cls()
        return cls(
            answer=Duration.parse(value["answer"]) if value.get("answer") else default.answer,
            resolve=Duration.parse(value["resolve"]) if value.get("resolve") else default.resolve,
        )


# -- the calendar ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class _Year:
    """One calendar year (WIB dates) as arrays indexed by day of the year (0 = 1 January)."""

    year: int
    first_day: int  # days since 1970-01-01 of 1 January
    starts: tuple[int, ...]  # window start, epoch microseconds (midnight WIB on days off)
    lengths: tuple[int, ...]  # window length in microseconds, 0 on days off
    cum_us: tuple[int, ...]  # working microseconds before each day; [-1] is the year's total
    cum_days: tuple[int, ...]  # working days before each day; [-1] is the year's count
    working: tuple[int, ...]  # indexes of the working days, in order

    @property
    def total_us(self) -> int:
        return self.cum_us[-1]

    @property
    def total_days(self) -> int:
        return self.cum_days[-1]


class WorkingCalendar:
    """Working-time arithmetic for one ``BRIDGE_WORKING_HOURS`` and ``BRIDGE_HOLIDAYS``.

    Immutable; the per-year tables it builds on first use are a cache (building one twice in
    two threads is harmless). Get one with :meth:`from_settings`, which shares calendars.
    """

    __slots__ = ("_by_day", "_extra", "_hours", "_years")

    def __init__(self, working_hours: WorkingHours, extra_holidays: Iterable[dt.date] = ()):
        object.__setattr__(self, "_hours", working_hours)
        object.__setattr__(self, "_extra", frozenset(extra_holidays))
        object.__setattr__(self, "_years", {})
        object.__setattr__(self, "_by_day", {})

    def __setattr__(self, name, value):
        raise AttributeError("WorkingCalendar is immutable")

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkingCalendar:
        """The calendar of ``settings``, shared by every caller with the same hours and days."""
        return _shared_calendar(settings.working_hours, settings.extra_holidays)

    @property
    def working_hours(self) -> WorkingHours:
        return self._hours

    @property
    def extra_holidays(self) -> frozenset[dt.date]:
        return self._extra

    def __repr__(self) -> str:
        return f"WorkingCalendar({str(self._hours)!r}, {len(self._extra)} extra holidays)"

    # -- days --

    def is_holiday(self, day: dt.date) -> bool:
        """Whether ``day`` is an Indonesian public holiday or one of ``BRIDGE_HOLIDAYS``."""
        return day in self._extra or day in _public_holidays(day.year)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working window of a WIB date, in UTC, or None when it is not a working day."""
        table = self._year(day.year)
        index = day.toordinal() - _EPOCH_ORDINAL - table.first_day
        if not table.lengths[index]:
            return None
        start = table.starts[index]
        return _instant(start), _instant(start + table.lengths[index])

    # -- instants --

    def is_working(self, instant: dt.datetime) -> bool:
        """Whether ``instant`` is inside working hours (a window's end is not)."""
        table, index = self._locate(us := _us(instant))
        start = table.starts[index]
        return start <= us < start + table.lengths[index]

    def next_working_start(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` itself inside working hours, else the start of the next window."""
        table, index = self._locate(us := _us(instant))
        start, length = table.starts[index], table.lengths[index]
        if length and us < start + length:
            return instant.astimezone(dt.UTC) if us >= start else _instant(start)
        table, index = self._nth_working(table, table.cum_days[index + 1])
        return _instant(table.starts[index])

    def add(self, start: dt.datetime, duration: Duration | str) -> dt.datetime:
        """The deadline: the earliest instant at which ``duration`` of working time has passed
        since ``start`` (the module docstring defines working days)."""
        duration = _duration(duration)
        us = _us(start)
        if duration.unit == "d":
            return _instant(self._add_days(us, duration.amount))
        table, index = self._locate(us)
        target = self._clock_in(table, index, us) + duration.seconds * _US
        while target > table.total_us:
            target -= table.total_us
            table = self._year(table.year + 1)
        # The first day whose running total at its end reaches the target is a working day.
        index = bisect.bisect_left(table.cum_us, target, 1) - 1
        return _instant(table.starts[index] + target - table.cum_us[index])

    def deadline_multiple(
        self, start: dt.datetime, duration: Duration | str, k: int
    ) -> dt.datetime:
        """``k`` times ``duration`` after ``start``: the reminder ladder's steps (k = 1, 2, 3)."""
        return self.add(start, _duration(duration) * k)

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds between two instants (negative when ``end`` is before ``start``)."""
        a, b = _us(start), _us(end)
        table_a, index_a = self._locate(a)
        table_b, index_b = self._locate(b)
        value = self._clock_in(table_b, index_b, b) - self._clock_in(table_a, index_a, a)
        if table_a is not table_b:
            value += self._between_years(table_a, table_b, "total_us")
        return value / _US

    def elapsed_days(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working days between two instants: per day, the fraction of its window covered."""
        a, b = _us(start), _us(end)
        table_a, index_a = self._locate(a)
        table_b, index_b = self._locate(b)
        value = self._day_clock_in(table_b, index_b, b) - self._day_clock_in(table_a, index_a, a)
        if table_a is not table_b:
            value += self._between_years(table_a, table_b, "total_days")
        return value

    # -- internals --

    def _add_days(self, us: int, days: int) -> int:
        table, index = self._locate(us)
        start, length = table.starts[index], table.lengths[index]
        if length and start < us < start + length:
            offset = us - start
            target, target_index = self._nth_working(table, table.cum_days[index] + days)
            target_length = target.lengths[target_index]
            # Rounded up: the deadline is never before the fraction is reached.
            return target.starts[target_index] + -(-offset * target_length // length)
        # At a window's start, or outside working hours: the first working day counts whole.
        first = table.cum_days[index] if length and us <= start else table.cum_days[index + 1]
        target, target_index = self._nth_working(table, first + days - 1)
        return target.starts[target_index] + target.lengths[target_index]

    @staticmethod
    def _clock_in(table: _Year, index: int, us: int) -> int:
        """Working microseconds from 1 January (WIB) of ``table``'s year to ``us``."""
        length = table.lengths[index]
        if not length:
            return table.cum_us[index]
        return table.cum_us[index] + min(max(us - table.starts[index], 0), length)

    @staticmethod
    def _day_clock_in(table: _Year, index: int, us: int) -> float:
        length = table.lengths[index]
        if not length:
            return table.cum_days[index]
        return table.cum_days[index] + min(max(us - table.starts[index], 0), length) / length

    def _between_years(self, table_a: _Year, table_b: _Year, total: str) -> int:
        """What a clock gains from 1 January of ``a``'s year to 1 January of ``b``'s."""
        if table_a.year <= table_b.year:
            years, sign = range(table_a.year, table_b.year), 1
        else:
            years, sign = range(table_b.year, table_a.year), -1
        return sign * sum(getattr(self._year(year), total) for year in years)

    def _nth_working(self, table: _Year, rank: int) -> tuple[_Year, int]:
        """The working day with 0-based ``rank`` counted from 1 January of ``table``'s year."""
        while rank >= table.total_days:
            rank -= table.total_days
            table = self._year(table.year + 1)
        return table, table.working[rank]

    def _locate(self, us: int) -> tuple[_Year, int]:
        day = (us + _WIB_OFFSET_US) // _DAY_US
        table = self._by_day.get(day)
        if table is None:
            table = self._year(dt.date.fromordinal(_EPOCH_ORDINAL + day).year)
        return table, day - table.first_day

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            if year >= dt.MAXYEAR:
                raise ValueError("working time beyond the calendar's last year")
            table = self._build_year(year)
            self._years[year] = table
            days = range(table.first_day, table.first_day + len(table.starts))
            self._by_day.update(dict.fromkeys(days, table))
        return table

    def _build_year(self, year: int) -> _Year:
        first = dt.date(year, 1, 1)
        first_day = first.toordinal() - _EPOCH_ORDINAL
        count = dt.date(year + 1, 1, 1).toordinal() - first.toordinal()
        public = _public_holidays(year)
        starts, lengths, cum_us, cum_days, working = [], [], [0], [0], []
        for index in range(count):
            day = first + dt.timedelta(days=index)
            midnight = (first_day + index) * _DAY_US - _WIB_OFFSET_US
            window = self._hours.windows[day.weekday()]
            if window is None or day in public or day in self._extra:
                starts.append(midnight)
                lengths.append(0)
            else:
                starts.append(midnight + window[0] * _US)
                lengths.append((window[1] - window[0]) * _US)
                working.append(index)
            cum_us.append(cum_us[-1] + lengths[-1])
            cum_days.append(cum_days[-1] + (1 if lengths[-1] else 0))
        return _Year(
            year, first_day, tuple(starts), tuple(lengths), tuple(cum_us), tuple(cum_days),
            tuple(working),
        )  # fmt: skip


@functools.lru_cache(maxsize=256)
def _public_holidays(year: int) -> frozenset[dt.date]:
    # Public holidays only: cuti bersama (the package's "government" category) are decreed
    # late and changed often, so the contract leaves them to BRIDGE_HOLIDAYS.
    return frozenset(holidays_package.country_holidays("ID", years=year))


@functools.lru_cache(maxsize=16)
def _shared_calendar(hours: WorkingHours, extra: frozenset[dt.date]) -> WorkingCalendar:
    return WorkingCalendar(hours, extra)


# -- the complaint's clock ------------------------------------------------------------------------


class HistoryEntry(Protocol):
    status: str
    at: dt.datetime


def clock_start(history: Iterable[HistoryEntry]) -> dt.datetime | None:
    """When the complaint's current office received it: the latest ``received`` entry.

    ``history`` is in time order. A re-route (``bukan`` or assign) writes a new ``received``
    entry, so it restarts the clock; None when there is no such entry.
    """
    start = None
    for entry in history:
        if entry.status == ComplaintStatus.RECEIVED:
            start = entry.at
    return start


# -- ISO weeks in WIB -----------------------------------------------------------------------------

_ISO_WEEK = re.compile(r"(\d{4})-[Ww](\d{2})")
ISO_WEEK_ERROR = "Not an ISO week: use YYYY-Www, e.g. 2026-W49."


@dataclasses.dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week, Monday 00:00 to the next Monday 00:00 in WIB."""

    year: int
    week: int

    def __post_init__(self):
        if not 1900 <= self.year <= 9998:
            raise ValueError(f"Year {self.year} is out of range (1900 to 9998).")
        last = weeks_in_year(self.year)
        if not 1 <= self.week <= last:
            raise ValueError(
                f"{self.year} has no week {self.week:02d}: its weeks are"
                f" {self.year}-W01 to {self.year}-W{last:02d}."
            )

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``"2026-W49"`` -> ``IsoWeek(2026, 49)``; ValueError naming the problem if not."""
        match = _ISO_WEEK.fullmatch(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(ISO_WEEK_ERROR)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, instant: dt.datetime) -> IsoWeek:
        """The week holding ``instant`` (its WIB date)."""
        _us(instant)  # refuses a naive datetime
        year, week, _ = instant.astimezone(WIB).isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Monday 00:00 WIB and the next Monday 00:00 WIB, both in UTC (end exclusive)."""
        start = dt.datetime.combine(self.monday, dt.time(0), tzinfo=WIB).astimezone(dt.UTC)
        return start, start + dt.timedelta(days=7)

    def previous(self) -> IsoWeek:
        year, week, _ = (self.monday - dt.timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)

    def next(self) -> IsoWeek:
        year, week, _ = (self.monday + dt.timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


def weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return dt.date(year, 12, 28).isocalendar().week


def parse_iso_week(text: str) -> IsoWeek:
    """Validate a ``YYYY-Www`` string (ValueError with a message fit for an API client)."""
    return IsoWeek.parse(text)


def iso_week_bounds(week: IsoWeek | str) -> tuple[dt.datetime, dt.datetime]:
    """``"2026-W49"`` -> (Monday 00:00 WIB, next Monday 00:00 WIB) as UTC datetimes."""
    return (week if isinstance(week, IsoWeek) else IsoWeek.parse(week)).bounds()


def current_iso_week(now: dt.datetime | None = None) -> IsoWeek:
    """The ISO week (in WIB) holding ``now`` (default: the current time)."""
    return IsoWeek.containing(now or dt.datetime.now(dt.UTC))


def previous_iso_week(week: IsoWeek | str) -> IsoWeek:
    """The week before ``week`` (2027-W01 -> 2026-W53)."""
    return (week if isinstance(week, IsoWeek) else IsoWeek.parse(week)).previous()


def next_weekly_report(when: WeeklyReportTime, after: dt.datetime) -> dt.datetime:
    """The first instant strictly after ``after`` that is ``when`` (weekday and time, WIB)."""
    local = after.astimezone(WIB)
    candidate = dt.datetime.combine(
        local.date() + dt.timedelta(days=(when.weekday - local.weekday()) % 7),
        when.time,
        tzinfo=WIB,
    )
    if candidate <= local:
        candidate += dt.timedelta(days=7)
    return candidate.astimezone(dt.UTC)
