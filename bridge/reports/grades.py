"""Wadule's grades for a resolved complaint: ``cepat``, ``sedang``, ``lambat`` (contract
section 10). The one definition in the bridge: the weekly report uses it, and so should any
page that grades resolutions.

Definition
----------
The time a resolution took is counted in **working days** (clocks run in working time,
``BRIDGE_WORKING_HOURS`` minus holidays, see :mod:`bridge.worktime`), from the complaint's
clock start (the ``received`` entry of its current office, :func:`bridge.worktime.clock_start`)
to its ``resolved`` entry. Each working day counts the fraction of its window that passed, and
the total is **rounded up**: every working day begun counts whole, so a complaint resolved the
day it arrived took 1 day, and one resolved outside working hours before its first working day
began also took 1 day (the minimum). A resolution that lands exactly on the end of the third
working day took 3 days; a microsecond into the fourth, 4 (a tolerance of 1e-9 day absorbs the
float arithmetic of :meth:`~bridge.worktime.WorkingCalendar.elapsed_days`).

Then: 1-3 days ``cepat``, 4-6 ``sedang``, 7 or more ``lambat``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math

#: Rounding slack: elapsed_days() divides microseconds, so an exact 3.0 may come out 3.0000000001.
_EPSILON = 1e-9


class Grade(enum.StrEnum):
    CEPAT = "cepat"
    SEDANG = "sedang"
    LAMBAT = "lambat"


#: Upper bounds in working days, fastest first; above the last: ``lambat``.
GRADE_BOUNDS = ((Grade.CEPAT, 3), (Grade.SEDANG, 6))


def days_taken(calendar, start: dt.datetime, end: dt.datetime) -> int:
    """Working days from ``start`` to ``end``, each day begun counting whole, at least 1."""
    return days_of(calendar.elapsed_days(start, end))


def days_of(working_days: float) -> int:
    """A span of working days rounded up to whole days begun, at least 1."""
    return max(1, math.ceil(working_days - _EPSILON))


def grade_of_days(days: int) -> Grade:
    """The grade of a resolution that took ``days`` working days (rounded as above)."""
    for grade, upper in GRADE_BOUNDS:
        if days <= upper:
            return grade
    return Grade.LAMBAT


def grade(calendar, start: dt.datetime, resolved_at: dt.datetime) -> Grade:
    """The grade of a complaint whose clock started at ``start`` and that was resolved at
    ``resolved_at``, in the working time of ``calendar``."""
    return grade_of_days(days_taken(calendar, start, resolved_at))


__all__ = ["GRADE_BOUNDS", "Grade", "days_of", "days_taken", "grade", "grade_of_days"]
