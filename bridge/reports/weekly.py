"""The weekly OPD report (contract section 10): each active OPD's figures for an ISO week
(WIB) and the week before (:mod:`bridge.reports.figures` defines them), its channel coverage,
and a ranking that puts the offices needing attention first.

Coverage: for WhatsApp group, Facebook, Instagram and X, whether the office has an active
channel of that kind, and whether it is usable per its last channel check (None when never
checked; with several channels of a kind, usable if any is).

Attention and ranking (:func:`rank_key`): an office needs attention when it has a reason:

1. ``open_past_sla``: complaints open past their SLA;
2. ``no_answer``: not one answer in the week while complaints wait past the answer SLA;
3. ``slow_answer``: the median first answer is over the office's ``sla.answer``;
4. ``slow_resolution``: ``lambat`` resolutions in the week;
5. ``channel_unusable``: a covered channel the last check found unusable;
6. ``no_whatsapp_group``: no active WhatsApp group (where complaints are answered).

Offices are ranked: needing attention first; then more complaints open past SLA; then more
complaints waiting past the answer SLA at an office that answered none; then a slower median
first answer relative to the office's SLA; then more ``lambat``; then more channel problems;
then more complaints received; then directory order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bridge import checks
from bridge.models import Opd, utcnow
from bridge.reports import format as fmt
from bridge.reports.figures import Change, Figures, Grades, Median, weeks_figures
from bridge.worktime import IsoWeek, Sla, WorkingCalendar, current_iso_week

#: The channels whose coverage the report shows (contract section 10), in this order.
COVERED_KINDS = tuple(fmt.KIND_LABELS)


class WeekNotStarted(ValueError):
    """The week asked for lies in the future."""


@dataclasses.dataclass(frozen=True)
class ChannelCoverage:
    """Whether an office has a channel of one kind, and whether its last check found it usable
    (None: absent, or never checked); the check's reason and time when there is one."""

    present: bool
    usable: bool | None = None
    reason: str | None = None
    checked_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Coverage:
    whatsapp_group: ChannelCoverage
    facebook_page: ChannelCoverage
    instagram: ChannelCoverage
    x: ChannelCoverage

    def items(self) -> list[tuple[str, ChannelCoverage]]:
        """``(kind, coverage)`` in :data:`COVERED_KINDS` order."""
        return [(kind, getattr(self, kind)) for kind in COVERED_KINDS]

    @property
    def missing(self) -> list[str]:
        return [kind for kind, c in self.items() if not c.present]

    @property
    def unusable(self) -> list[str]:
        return [kind for kind, c in self.items() if c.present and c.usable is False]


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why an office needs attention: a stable ``code`` and the words for people (Indonesian)."""

    code: str
    text: str


@dataclasses.dataclass(frozen=True)
class OfficeLine:
    """One office's line: this week's figures, the previous week's, the change, coverage, and
    whether (and why) it needs attention. ``rank`` is 1 for the office needing it most."""

    rank: int
    opd_slug: str
    opd_name: str
    sla: Sla
    #: The office has its own SLA in the directory (not the defaults).
    own_sla: bool
    figures: Figures
    previous: Figures
    change: Change
    coverage: Coverage
    reasons: tuple[Reason, ...]

    @property
    def attention(self) -> bool:
        return bool(self.reasons)

    # This week's figures, by name.

    @property
    def received(self) -> int:
        return self.figures.received

    @property
    def answered(self) -> int:
        return self.figures.answered

    @property
    def median_first_answer(self) -> Median | None:
        return self.figures.median_first_answer

    @property
    def grades(self) -> Grades:
        return self.figures.grades

    @property
    def open_past_sla(self) -> int:
        return self.figures.open_past_sla

    @property
    def awaiting_answer(self) -> int:
        return self.figures.awaiting_answer

    @property
    def awaiting_past_sla(self) -> int:
        return self.figures.awaiting_past_sla

    @property
    def answer_ratio(self) -> float | None:
        """The median first answer as a multiple of the office's answer SLA (1.0: on the SLA)."""
        return sla_ratio(self.figures.median_first_answer, self.sla)


@dataclasses.dataclass(frozen=True)
class Totals:
    """Every office together (the median is over all answers, not of the offices' medians)."""

    figures: Figures
    previous: Figures
    change: Change
    offices: int
    needing_attention: int


@dataclasses.dataclass(frozen=True)
class WeeklyReport:
    """The weekly report of ``week``: offices ranked, needing attention first."""

    week: IsoWeek
    #: The week's bounds in UTC (Monday 00:00 WIB to the next Monday 00:00 WIB).
    starts_at: dt.datetime
    ends_at: dt.datetime
    #: The figures hold as of this instant: the week's end, or now for the week in progress.
    as_of: dt.datetime
    generated_at: dt.datetime
    default_sla: Sla
    offices: tuple[OfficeLine, ...]
    totals: Totals
    #: The mean length of a working day's window, in seconds: where the chart places an SLA
    #: given in hours (``4h`` of an 8-hour day is half a day).
    typical_day_seconds: float = 8 * 3600.0

    @property
    def complete(self) -> bool:
        """The week is over: its figures no longer change (except through re-routes)."""
        return self.as_of >= self.ends_at

    @property
    def previous_week(self) -> IsoWeek:
        return self.week.previous()

    @property
    def needing_attention(self) -> tuple[OfficeLine, ...]:
        return tuple(line for line in self.offices if line.attention)

    def office(self, slug: str) -> OfficeLine:
        """The line of one office; KeyError when it is not in the report."""
        for line in self.offices:
            if line.opd_slug == slug:
                return line
        raise KeyError(slug)


def sla_ratio(median: Median | None, sla: Sla) -> float | None:
    """``median`` over the answer SLA, in the SLA's own unit (working days or seconds)."""
    if median is None:
        return None
    if sla.answer.unit == "d":
        return median.working_days / sla.answer.amount
    return median.working_seconds / sla.answer.seconds


# -- building it ------------------------------------------------------------------------------


def build_weekly_report(
    db: Session, settings, week: IsoWeek | None = None, *, now: dt.datetime | None = None
) -> WeeklyReport:
    """The report of ``week`` (default: the week holding ``now``, so far).

    Raises :class:`WeekNotStarted` for a week that begins after ``now``. Reads only.
    """
    now = now or utcnow()
    week = week or current_iso_week(now)
    starts_at, ends_at = week.bounds()
    if starts_at > now:
        raise WeekNotStarted(f"{week} has not begun yet")
    calendar = WorkingCalendar.from_settings(settings)
    opds = list(
        db.scalars(
            select(Opd)
            .where(Opd.active.is_(True))
            .options(selectinload(Opd.channels))
            .order_by(Opd.position, Opd.id)
        )
    )
    slas = {opd.id: Sla.from_json(opd.sla) for opd in opds}
    previous, current = weeks_figures(db, calendar, slas, [week.previous(), week], now)
    last_checks = {result.channel_id: result for result in checks.last_results(db)}

    lines = []
    for position, opd in enumerate(opds):
        coverage = _coverage(opd, last_checks)
        figures, before = current.of(opd.id), previous.of(opd.id)
        line = OfficeLine(
            rank=0,
            opd_slug=opd.slug,
            opd_name=opd.name,
            sla=slas[opd.id],
            own_sla=bool(opd.sla) and slas[opd.id] != Sla(),
            figures=figures,
            previous=before,
            change=Change.between(figures, before),
            coverage=coverage,
            reasons=tuple(reasons_for(figures, slas[opd.id], coverage)),
        )
        lines.append((rank_key(line, position), line))
    lines.sort(key=lambda pair: pair[0])
    offices = tuple(
        dataclasses.replace(line, rank=rank) for rank, (_key, line) in enumerate(lines, 1)
    )
    total, total_before = current.total(), previous.total()
    return WeeklyReport(
        week=week,
        starts_at=starts_at,
        ends_at=ends_at,
        as_of=min(ends_at, now),
        generated_at=now,
        default_sla=Sla(),
        offices=offices,
        totals=Totals(
            figures=total,
            previous=total_before,
            change=Change.between(total, total_before),
            offices=len(offices),
            needing_attention=sum(1 for line in offices if line.attention),
        ),
        typical_day_seconds=typical_day_seconds(settings.working_hours),
    )


def typical_day_seconds(working_hours) -> float:
    """The mean length of the working days' windows of ``BRIDGE_WORKING_HOURS``, in seconds."""
    windows = [end - start for start, end in filter(None, working_hours.windows)]
    return sum(windows) / len(windows)


def reasons_for(figures: Figures, sla: Sla, coverage: Coverage) -> list[Reason]:
    """Why an office needs attention this week (empty: it does not), most serious first."""
    reasons = []
    if figures.open_past_sla:
        reasons.append(
            Reason("open_past_sla", f"{figures.open_past_sla} aduan terbuka melewati SLA")
        )
    if figures.awaiting_past_sla and not figures.answered:
        reasons.append(
            Reason(
                "no_answer",
                f"tidak menjawab satu pun aduan ({figures.awaiting_past_sla} menunggu jawaban"
                " melewati SLA)",
            )
        )
    ratio = sla_ratio(figures.median_first_answer, sla)
    if ratio is not None and ratio > 1:
        reasons.append(
            Reason(
                "slow_answer",
                f"median jawaban pertama {fmt.span(figures.median_first_answer, sla.answer)}"
                f" (SLA {fmt.duration(sla.answer)})",
            )
        )
    if figures.grades.lambat:
        reasons.append(
            Reason(
                "slow_resolution",
                f"{figures.grades.lambat} aduan selesai lambat (lebih dari 6 hari kerja)",
            )
        )
    if coverage.unusable:
        names = ", ".join(fmt.KIND_LABELS[kind] for kind in coverage.unusable)
        reasons.append(Reason("channel_unusable", f"saluran tidak dapat dipakai: {names}"))
    if not coverage.whatsapp_group.present:
        reasons.append(Reason("no_whatsapp_group", "tidak punya grup WhatsApp"))
    return reasons


def rank_key(line: OfficeLine, position: int) -> tuple:
    """The sort key of the ranking (see the module docstring); ``position`` is directory order."""
    figures = line.figures
    ratio = line.answer_ratio
    silent = figures.awaiting_past_sla if not figures.answered else 0
    channel_problems = len(line.coverage.unusable) + (
        0 if line.coverage.whatsapp_group.present else 1
    )
    return (
        not line.attention,
        -figures.open_past_sla,
        -silent,
        -(ratio if ratio is not None else -1.0),
        -figures.grades.lambat,
        -channel_problems,
        -figures.received,
        position,
    )


def _coverage(opd: Opd, last_checks: Mapping[int, checks.CheckResult]) -> Coverage:
    by_kind: dict[str, ChannelCoverage] = {}
    for kind in COVERED_KINDS:
        channels = [c for c in opd.channels if c.active and c.kind == kind]
        results = [last_checks[c.id] for c in channels if c.id in last_checks]
        if not channels:
            by_kind[kind] = ChannelCoverage(present=False)
        elif not results:
            by_kind[kind] = ChannelCoverage(present=True)
        else:
            working = [r for r in results if r.usable]
            # With several channels of a kind, one that works is enough; one never checked
            # leaves the kind unknown unless another works.
            usable = True if working else (False if len(results) == len(channels) else None)
            shown = working[0] if working else results[0]
            by_kind[kind] = ChannelCoverage(
                present=True, usable=usable, reason=shown.reason, checked_at=shown.checked_at
            )
    return Coverage(**by_kind)


__all__ = [
    "COVERED_KINDS",
    "Change",
    "ChannelCoverage",
    "Coverage",
    "Figures",
    "Grades",
    "Median",
    "OfficeLine",
    "Reason",
    "Totals",
    "WeekNotStarted",
    "WeeklyReport",
    "build_weekly_report",
    "rank_key",
    "reasons_for",
    "sla_ratio",
    "typical_day_seconds",
]
