"""The figures of the weekly report (contract section 10): per office, for an ISO week (WIB).

Figures of a week ``[start, end)``, read "as of" ``min(end, now)`` (a week in progress is the
week so far). A complaint counts for the office that held it at the end of the week, measured
from the clock start of that office (the latest ``received`` entry before the end: a re-route
restarts the clock, as :func:`bridge.worktime.clock_start` says):

- **received**: complaints whose clock started in the week;
- **answered**: complaints whose first answer (``terima`` or later, after the clock start) came
  in the week, whenever they arrived;
- **median first answer**: the median working time from clock start to those first answers, in
  working seconds and, separately, in working days (:mod:`bridge.worktime`);
- **grades**: complaints resolved in the week and still resolved at its end, graded by
  :mod:`bridge.reports.grades` (working days, rounded up);
- **open past SLA**: complaints open at the end (not resolved or rejected, reopened ones
  included) that are past their office's ``sla.answer`` without an answer, or past its
  ``sla.resolve``; deadlines are :meth:`~bridge.worktime.WorkingCalendar.add`, as for reminders;
- **awaiting answer**: complaints open at the end that never had an answer, and of those,
  **awaiting past SLA**: the ones past the answer SLA.

One aggregate query serves the week, the one before it and every office (with a small one for
re-routes since the earlier week ended); working-time arithmetic runs only for the complaints
that count, and "past its SLA" is one search per SLA span and week
(:func:`latest_overdue_start`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Mapping, Sequence

from sqlalchemy import DateTime, and_, case, func, select, text, type_coerce, union
from sqlalchemy.orm import Session

from bridge.events import REROUTED
from bridge.models import Complaint, Event, Opd, StatusChange
from bridge.reports.grades import Grade, grade_of_days
from bridge.reports.grades import days_of as _days_of
from bridge.statuses import ANSWERED_STATUSES, ComplaintStatus
from bridge.worktime import Duration, IsoWeek, Sla, WorkingCalendar

_ONE_US = dt.timedelta(microseconds=1)


# -- the figures ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Median:
    """The median working time to a first answer, over ``answers`` answers."""

    working_seconds: float
    working_days: float
    answers: int


@dataclasses.dataclass(frozen=True)
class Grades:
    """Resolutions graded by :mod:`bridge.reports.grades` (in a change: the differences)."""

    cepat: int = 0
    sedang: int = 0
    lambat: int = 0

    @property
    def total(self) -> int:
        return self.cepat + self.sedang + self.lambat

    def __getitem__(self, grade: Grade | str) -> int:
        return getattr(self, Grade(grade).value)


@dataclasses.dataclass(frozen=True)
class Figures:
    """One office's (or all offices') figures for one week."""

    received: int = 0
    answered: int = 0
    median_first_answer: Median | None = None
    grades: Grades = Grades()
    open_past_sla: int = 0
    awaiting_answer: int = 0
    awaiting_past_sla: int = 0


@dataclasses.dataclass(frozen=True)
class Change:
    """Week over week: this week's figure minus the previous week's (None where either week
    has no median)."""

    received: int
    answered: int
    median_first_answer_seconds: float | None
    median_first_answer_days: float | None
    grades: Grades
    open_past_sla: int
    awaiting_answer: int
    awaiting_past_sla: int

    @classmethod
    def between(cls, current: Figures, previous: Figures) -> Change:
        now, before = current.median_first_answer, previous.median_first_answer
        both = now is not None and before is not None
        return cls(
            received=current.received - previous.received,
            answered=current.answered - previous.answered,
            median_first_answer_seconds=(
                now.working_seconds - before.working_seconds if both else None
            ),
            median_first_answer_days=now.working_days - before.working_days if both else None,
            grades=Grades(
                cepat=current.grades.cepat - previous.grades.cepat,
                sedang=current.grades.sedang - previous.grades.sedang,
                lambat=current.grades.lambat - previous.grades.lambat,
            ),
            open_past_sla=current.open_past_sla - previous.open_past_sla,
            awaiting_answer=current.awaiting_answer - previous.awaiting_answer,
            awaiting_past_sla=current.awaiting_past_sla - previous.awaiting_past_sla,
        )


# -- computing them ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Tally:
    received: int = 0
    seconds: list[float] = dataclasses.field(default_factory=list)
    days: list[float] = dataclasses.field(default_factory=list)
    grades: dict[Grade, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(Grade, 0))
    open_past_sla: int = 0
    awaiting_answer: int = 0
    awaiting_past_sla: int = 0

    def add(self, other: _Tally) -> None:
        self.received += other.received
        self.seconds += other.seconds
        self.days += other.days
        for grade in Grade:
            self.grades[grade] += other.grades[grade]
        self.open_past_sla += other.open_past_sla
        self.awaiting_answer += other.awaiting_answer
        self.awaiting_past_sla += other.awaiting_past_sla

    def figures(self) -> Figures:
        median = None
        if self.seconds:
            median = Median(
                working_seconds=statistics.median(self.seconds),
                working_days=statistics.median(self.days),
                answers=len(self.seconds),
            )
        return Figures(
            received=self.received,
            answered=len(self.seconds),
            median_first_answer=median,
            grades=Grades(**{grade.value: count for grade, count in self.grades.items()}),
            open_past_sla=self.open_past_sla,
            awaiting_answer=self.awaiting_answer,
            awaiting_past_sla=self.awaiting_past_sla,
        )


@dataclasses.dataclass(frozen=True)
class WeekFigures:
    """Each office's figures for one week (by OPD id), and all of them together."""

    tallies: Mapping[int, _Tally]

    def of(self, opd_id: int) -> Figures:
        tally = self.tallies.get(opd_id)
        return tally.figures() if tally is not None else Figures()

    def total(self) -> Figures:
        total = _Tally()
        for tally in self.tallies.values():
            total.add(tally)
        return total.figures()


def weeks_figures(
    db: Session,
    calendar: WorkingCalendar,
    slas: Mapping[int, Sla],
    weeks: Sequence[IsoWeek],
    now: dt.datetime,
) -> list[WeekFigures]:
    """The figures of each of ``weeks`` for the offices in ``slas`` (OPD id -> its SLA), from
    one aggregate query over all of them."""
    # Each week as of its end, or now for the week in progress: only what had happened by then.
    periods = [(week.bounds()[0], min(week.bounds()[1], now)) for week in weeks]
    results = [{opd_id: _Tally() for opd_id in slas} for _ in periods]
    moved = _offices_at(db, [as_of for _start, as_of in periods])
    # Deadlines only move later with the clock start, so "past its SLA at as_of" is "clock
    # started at or before a cut-off": one search per SLA span and week, not one per complaint.
    cutoffs: dict[tuple[Duration, dt.datetime], dt.datetime] = {}

    def overdue(clock: dt.datetime, span: Duration, as_of: dt.datetime) -> bool:
        cutoff = cutoffs.get((span, as_of))
        if cutoff is None:
            cutoff = cutoffs[span, as_of] = latest_overdue_start(calendar, span, as_of)
        return clock <= cutoff

    if db.get_bind().dialect.name == "postgresql":
        # The aggregation's sort fits in memory with a little more than the 4 MB default.
        db.execute(text("SET LOCAL work_mem = '32MB'"))
    rows = db.execute(_clocks(periods)).all()  # one fetch, not a round of calls per row
    if db.get_bind().dialect.name == "sqlite":
        # SQLite hands back aggregates of UTC columns as naive values.
        rows = [tuple(map(_aware, row)) for row in rows]
    for row in rows:
        complaint_id, office_now = row[0], row[1]
        for index, (start, as_of) in enumerate(periods):
            clock, answer, resolved, closed, reopened = row[2 + 5 * index : 7 + 5 * index]
            if clock is None:
                continue  # not yet received by then
            opd_id = moved[index].get(complaint_id, office_now)
            tally = results[index].get(opd_id)
            if tally is None:
                continue  # an inactive office's complaint
            if clock >= start:
                tally.received += 1
            if answer is not None and answer >= start:
                tally.seconds.append(calendar.elapsed(clock, answer))
                tally.days.append(calendar.elapsed_days(clock, answer))
            if closed is not None and (reopened is None or reopened < closed):
                if resolved is not None and resolved == closed and resolved >= start:
                    days = _days_of(calendar.elapsed_days(clock, resolved))
                    tally.grades[grade_of_days(days)] += 1
                continue
            sla = slas[opd_id]
            late_answer = answer is None and overdue(clock, sla.answer, as_of)
            if answer is None:
                tally.awaiting_answer += 1
                tally.awaiting_past_sla += late_answer
            if late_answer or overdue(clock, sla.resolve, as_of):
                tally.open_past_sla += 1
    return [WeekFigures(tallies) for tallies in results]


def latest_overdue_start(
    calendar: WorkingCalendar, span: Duration, as_of: dt.datetime
) -> dt.datetime:
    """The latest clock start whose deadline (``calendar.add(start, span)``) is at or before
    ``as_of``: a complaint is past that SLA at ``as_of`` exactly when its clock started at or
    before this instant, since deadlines never move earlier when the start moves later."""
    back = dt.timedelta(days=1)
    while calendar.add(as_of - back, span) > as_of:
        back *= 2
    # add(low) <= as_of < add(high), to the microsecond.
    low, high = as_of - back, as_of
    while high - low > _ONE_US:
        middle = low + (high - low) // 2
        if calendar.add(middle, span) <= as_of:
            low = middle
        else:
            high = middle
    return low


def _clocks(periods: Sequence[tuple[dt.datetime, dt.datetime]]):
    """One row per complaint that can count in any of ``periods`` (a week's start, and the
    instant its figures hold at): its office now, then per period its clock start (the latest
    ``received`` before the period's cut-off) and, from the entries between that and the
    cut-off, the first answer, the last resolution, the last closing and the last reopening.

    ``periods`` run oldest first. Candidates are the complaints with an entry since the oldest
    period began (received, answered or closed in a period, or closed after one ended, so open
    at its end) or open now; a complaint closed before that with nothing since cannot count
    (``ix_status_history_at`` finds the recent entries).
    """
    history = StatusChange.__table__
    complaints = Complaint.__table__
    closing = [ComplaintStatus.RESOLVED.value, ComplaintStatus.REJECTED.value]
    answering = sorted(s.value for s in ANSWERED_STATUSES)
    earliest = periods[0][0]
    last_cutoff = max(as_of for _start, as_of in periods)
    candidates = union(
        select(history.c.complaint_id).where(history.c.at >= earliest),
        select(complaints.c.id).where(complaints.c.status.not_in(closing)),
    )
    received = history.c.status == ComplaintStatus.RECEIVED.value
    starts = (
        select(
            history.c.complaint_id,
            *(
                func.max(case((history.c.at < as_of, history.c.at))).label(f"clock_{n}")
                for n, (_start, as_of) in enumerate(periods)
            ),
        )
        .where(received, history.c.at < last_cutoff, history.c.complaint_id.in_(candidates))
        .group_by(history.c.complaint_id)
        .subquery("starts")
    )
    entry = history.alias("entry")

    def instant(column):
        # Plain timezone-aware values: the column type's per-value conversion costs more than
        # the rest of the loop, and comparisons need no particular zone.
        return type_coerce(column, DateTime(timezone=True))

    columns = [starts.c.complaint_id, complaints.c.opd_id]
    for n, (_start, as_of) in enumerate(periods):
        clock = starts.c[f"clock_{n}"]
        within = and_(entry.c.at >= clock, entry.c.at < as_of)

        def first(statuses, within=within):
            return func.min(case((and_(within, entry.c.status.in_(statuses)), entry.c.at)))

        def last(statuses, within=within):
            return func.max(case((and_(within, entry.c.status.in_(statuses)), entry.c.at)))

        columns += [
            instant(clock),
            instant(first(answering)),
            instant(last([ComplaintStatus.RESOLVED.value])),
            instant(last(closing)),
            instant(last([ComplaintStatus.REOPENED.value])),
        ]
    # Clock starts only grow with the cut-off: the oldest period's (or, for a complaint not
    # received by then, the next one's) is where the entries that matter begin.
    lowest = func.coalesce(*(starts.c[f"clock_{n}"] for n in range(len(periods))))
    return (
        select(*columns)
        .select_from(starts)
        .join(complaints, complaints.c.id == starts.c.complaint_id)
        .join(
            entry,
            and_(
                entry.c.complaint_id == starts.c.complaint_id,
                entry.c.at >= lowest,
                entry.c.at < last_cutoff,
            ),
        )
        .group_by(
            starts.c.complaint_id,
            complaints.c.opd_id,
            *(starts.c[f"clock_{n}"] for n in range(len(periods))),
        )
    )


def _offices_at(db: Session, instants: Sequence[dt.datetime]) -> list[dict[int, int]]:
    """For each instant, the complaints re-routed at or after it: complaint id -> the OPD that
    held it then (the ``from_opd`` of its first re-route since). Others are where they were."""
    ids = {slug: opd_id for slug, opd_id in db.execute(select(Opd.slug, Opd.id))}
    reroutes: dict[int, list[tuple[dt.datetime, int]]] = {}
    for complaint_id, occurred_at, data in db.execute(
        select(Event.complaint_id, Event.occurred_at, Event.data)
        .where(Event.type == REROUTED, Event.occurred_at >= min(instants))
        .order_by(Event.seq)
    ):
        if complaint_id is not None:
            held = ids.get((data or {}).get("from_opd"), -1)
            reroutes.setdefault(complaint_id, []).append((occurred_at, held))
    return [
        {
            complaint_id: next(held for at, held in moves if at >= instant)
            for complaint_id, moves in reroutes.items()
            if any(at >= instant for at, _held in moves)
        }
        for instant in instants
    ]


def _aware(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


__all__ = [
    "Change",
    "Figures",
    "Grades",
    "Median",
    "WeekFigures",
    "latest_overdue_start",
    "weeks_figures",
]
