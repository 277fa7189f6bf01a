"""The weekly report page (contract section 10) and its CSV: the report of one ISO week as
:func:`bridge.reports.build_weekly_report` makes it, with its chart drawn server-side, a table of
offices that sorts through links, and each office's last 12 weeks as a small line.

Only per-office aggregates: nothing here reads a complaint's reporter, text or location.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
import io
import threading
import time
from collections.abc import Callable

from flask import Response, abort, current_app, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from bridge import db as database
from bridge.console import bp
from bridge.console.i18n import Words, words
from bridge.console.sparkline import sparkline
from bridge.models import Opd, utcnow
from bridge.reports import (
    Figures,
    OfficeLine,
    WeeklyReport,
    WeekNotStarted,
    build_weekly_report,
    last_complete_week,
    render_svg,
)
from bridge.reports.chart import band, sla_days
from bridge.reports.figures import WeekFigures, weeks_figures
from bridge.reports.grades import GRADE_BOUNDS
from bridge.reports.weekly import COVERED_KINDS, sla_ratio
from bridge.worktime import IsoWeek, Sla, WorkingCalendar, current_iso_week, parse_iso_week

#: Weeks each office's trend line covers, the report's week the last of them.
TREND_WEEKS = 12


@dataclasses.dataclass(frozen=True)
class Column:
    """A sortable column: its figure of an office (None sorts last either way) and the
    direction a first click sorts it in."""

    value: Callable[[OfficeLine], object]
    first: str = "desc"


def _median_seconds(line: OfficeLine) -> float | None:
    median = line.median_first_answer
    return median.working_seconds if median is not None else None


#: ``?sort=`` keys; ``rank`` (the report's ranking, needing attention first) is the default.
COLUMNS: dict[str, Column] = {
    "rank": Column(lambda line: line.rank, "asc"),
    "opd": Column(lambda line: line.opd_name.casefold(), "asc"),
    "received": Column(lambda line: line.received),
    "answered": Column(lambda line: line.answered),
    "median": Column(_median_seconds),
    "cepat": Column(lambda line: line.grades.cepat),
    "sedang": Column(lambda line: line.grades.sedang),
    "lambat": Column(lambda line: line.grades.lambat),
    "open_past_sla": Column(lambda line: line.open_past_sla),
}
DIRECTIONS = ("asc", "desc")


class BadRequest(Exception):
    """A query string the page cannot serve; the page says why (400)."""


@dataclasses.dataclass(frozen=True)
class Sorting:
    key: str = "rank"
    direction: str = "asc"

    def link(self, key: str) -> dict[str, str]:
        """The query of a column header's link: the other direction when it is the column
        sorted now, else the column's first direction."""
        if key == self.key:
            direction = "desc" if self.direction == "asc" else "asc"
        else:
            direction = COLUMNS[key].first
        return {"sort": key, "dir": direction}

    def apply(self, lines: tuple[OfficeLine, ...]) -> list[OfficeLine]:
        """``lines`` (in ranking order) in this order; ties keep the ranking."""
        value = COLUMNS[self.key].value
        known = [line for line in lines if value(line) is not None]
        unknown = [line for line in lines if value(line) is None]
        return sorted(known, key=value, reverse=self.direction == "desc") + unknown


# --- Pages --------------------------------------------------------------------------------


@bp.get("/reports/weekly")
def report():
    """The weekly report of ``?week=`` (default: the last complete week), sorted by
    ``?sort=`` and ``?dir=`` (default: the ranking)."""
    t, now = words(), utcnow()
    asked = request.args.get("week", "").strip()
    try:
        week = asked_week(t, asked, now)
        sorting = asked_sorting(t)
        report_ = build_weekly_report(database.session(), _settings(), week, now=now)
    except BadRequest as problem:
        return _problem(str(problem), asked)
    except WeekNotStarted:
        return _problem(t("report.not_started", week=week, current=current_iso_week(now)), asked)
    trends = office_trends(report_, now)
    return render_template(
        "console/report.html",
        report=report_,
        lines=sorting.apply(report_.offices),
        sorting=sorting,
        columns=COLUMNS,
        chart=Markup(render_svg(report_, fluid=True)),  # noqa: S704 (our own escaped SVG)
        trends=trends,
        nav_weeks=_neighbours(week, now),
        asked=str(week),
        problem=None,
        week_last=week.monday + dt.timedelta(days=6),
        week_link=lambda other: week_link(other, sorting),
        grade_bounds=GRADE_BOUNDS,
        reason_text=lambda line, reason: reason_text(t, line, reason),
        median_text=lambda median: median_text(t, median),
        ratio=lambda line: band(line.answer_ratio),
    )


@bp.get("/reports/weekly.csv")
def report_csv():
    """The report of ``?week=`` as CSV: one row per office in ranking order, English column
    ids in the header (stable: scripts read them), UTF-8."""
    report_ = _asked_report()
    return Response(
        report_csv_text(report_),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="wadule-weekly-{report_.week}.csv"'},
    )


@bp.get("/reports/weekly.svg")
def report_svg():
    """The chart of ``?week=`` on its own, full size (1080 px wide), to zoom into on a phone."""
    return Response(render_svg(_asked_report()), mimetype="image/svg+xml")


def _asked_report() -> WeeklyReport:
    """The report of ``?week=`` (default: the last complete week); 400 saying why not."""
    t, now = words(), utcnow()
    try:
        week = asked_week(t, request.args.get("week", "").strip(), now)
        return build_weekly_report(database.session(), _settings(), week, now=now)
    except BadRequest as problem:
        abort(400, description=str(problem))
    except WeekNotStarted:
        abort(400, description=t("report.not_started", week=week, current=current_iso_week(now)))


def asked_week(t: Words, asked: str, now: dt.datetime) -> IsoWeek:
    """The week of ``?week=``: the last complete week when absent; BadRequest naming the
    format when it is not an ISO week."""
    if not asked:
        return last_complete_week(now)
    try:
        return parse_iso_week(asked[:40])
    except ValueError:
        raise BadRequest(
            t("report.bad_week", week=asked[:40], example=last_complete_week(now))
        ) from None


def asked_sorting(t: Words) -> Sorting:
    key = request.args.get("sort") or "rank"
    direction = request.args.get("dir") or COLUMNS.get(key, COLUMNS["rank"]).first
    if key not in COLUMNS or direction not in DIRECTIONS:
        raise BadRequest(t("report.bad_sort", allowed=", ".join(COLUMNS)))
    return Sorting(key, direction)


def week_link(week: IsoWeek, sorting: Sorting) -> str:
    """The page of ``week`` in the same order as this one."""
    if sorting == Sorting():
        return url_for("console.report", week=str(week))
    return url_for("console.report", week=str(week), sort=sorting.key, dir=sorting.direction)


def _problem(message: str, asked: str):
    return (
        render_template(
            "console/report.html",
            report=None,
            problem=message,
            asked=asked[:40],
            nav_weeks=(None, None),
        ),
        400,
    )


def _neighbours(week: IsoWeek, now: dt.datetime) -> tuple[IsoWeek | None, IsoWeek | None]:
    """The weeks the previous and next links go to (None: no such week to show)."""
    try:
        previous = week.previous()
    except ValueError:  # before 1900-W01
        previous = None
    following = week.next() if week.next().bounds()[0] <= now else None
    return previous, following


def _settings():
    return current_app.config["BRIDGE_SETTINGS"]


# --- Each office's last weeks ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Trend:
    """An office's figures over ``weeks`` (oldest first), and its line drawn as SVG."""

    weeks: tuple[IsoWeek, ...]
    figures: tuple[Figures, ...]
    svg: Markup


def office_trends(report_: WeeklyReport, now: dt.datetime) -> dict[str, Trend]:
    """Per office slug, the median first answer of each of the :data:`TREND_WEEKS` weeks up
    to the report's: one batch of figures for every office and week
    (:func:`~bridge.reports.figures.weeks_figures`), not a query per office or week."""
    weeks = [report_.week]
    while len(weeks) < TREND_WEEKS:
        try:
            weeks.insert(0, weeks[0].previous())
        except ValueError:  # the calendar's first week
            break
    db, settings, t = database.session(), _settings(), words()
    slugs = {line.opd_slug: line for line in report_.offices}
    opds = [
        (opd_id, slug, Sla.from_json(sla))
        for opd_id, slug, sla in db.execute(
            select(Opd.id, Opd.slug, Opd.sla).where(Opd.active.is_(True))
        )
        if slug in slugs
    ]
    calendar = WorkingCalendar.from_settings(settings)
    per_week = settled_weeks_figures(
        db, calendar, {opd_id: sla for opd_id, _, sla in opds}, weeks, now
    )
    trends = {}
    for opd_id, slug, sla in opds:
        figures = tuple(week.of(opd_id) for week in per_week)
        days = [
            f.median_first_answer.working_days if f.median_first_answer else None for f in figures
        ]
        points = [
            (
                str(week),
                value,
                band(sla_ratio(f.median_first_answer, sla)),
                median_text(t, f.median_first_answer)
                if value is not None
                else t("report.no_answer"),
            )
            for week, value, f in zip(weeks, days, figures, strict=True)
        ]
        title = t("report.trend_title", opd=slugs[slug].opd_name, first=weeks[0], last=weeks[-1])
        svg = sparkline(points, sla_days(sla.answer, report_.typical_day_seconds), title)
        trends[slug] = Trend(tuple(weeks), figures, svg)
    return trends


#: A week this long over is settled: its figures (history before its end, offices re-routed
#: since) no longer change, even for an answer recorded with a provider's slightly older
#: timestamp. Settled weeks' figures are kept in the process for :data:`CACHE_SECONDS`.
SETTLED_AFTER = dt.timedelta(days=1)
CACHE_SECONDS = 3600
_CACHE_SIZE = 256
_cache: collections.OrderedDict[tuple, tuple[float, WeekFigures]] = collections.OrderedDict()
_cache_lock = threading.Lock()


def settled_weeks_figures(
    db, calendar: WorkingCalendar, slas: dict[int, Sla], weeks: list[IsoWeek], now: dt.datetime
) -> list[WeekFigures]:
    """:func:`~bridge.reports.figures.weeks_figures` of ``weeks``, the settled ones from this
    process's cache when it has them: the weeks missing are computed in one batch.

    The key holds the working calendar and every office's SLA, so a directory or settings
    change is a new entry; an entry lives an hour at most.
    """
    offices = tuple(sorted(slas.items()))
    clock = time.monotonic()
    found: dict[IsoWeek, WeekFigures] = {}
    with _cache_lock:
        for week in weeks:
            entry = _cache.get((calendar, offices, week))
            if entry is not None and clock - entry[0] < CACHE_SECONDS:
                found[week] = entry[1]
    missing = [week for week in weeks if week not in found]
    if missing:
        computed = weeks_figures(db, calendar, slas, missing, now)
        with _cache_lock:
            for week, figures in zip(missing, computed, strict=True):
                found[week] = figures
                if week.bounds()[1] + SETTLED_AFTER <= now:
                    _cache[calendar, offices, week] = (clock, figures)
                    _cache.move_to_end((calendar, offices, week))
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return [found[week] for week in weeks]


# --- Words ------------------------------------------------------------------------------------


def median_text(t: Words, median) -> str:
    """A median first answer in working days, or a dash."""
    if median is None:
        return t("report.no_answer")
    return t("report.days", days=t.number(median.working_days))


def reason_text(t: Words, line: OfficeLine, reason) -> str:
    """Why ``line`` needs attention, in the console's language (the report's own Indonesian
    words for a reason this page does not know)."""
    figures, sla = line.figures, line.sla
    if reason.code == "open_past_sla":
        return t("reason.open_past_sla", count=figures.open_past_sla)
    if reason.code == "no_answer":
        return t("reason.no_answer", count=figures.awaiting_past_sla)
    if reason.code == "slow_answer" and figures.median_first_answer is not None:
        median = figures.median_first_answer
        if sla.answer.unit == "d":
            spent = t("report.working_days", days=t.number(median.working_days))
        else:
            spent = t("report.working_hours", hours=t.number(median.working_seconds / 3600))
        return t("reason.slow_answer", median=spent, sla=t.duration(sla.answer))
    if reason.code == "slow_resolution":
        return t("reason.slow_resolution", count=figures.grades.lambat, days=GRADE_BOUNDS[-1][1])
    if reason.code == "channel_unusable":
        names = ", ".join(t.channel(kind) for kind in line.coverage.unusable)
        return t("reason.channel_unusable", channels=names)
    if reason.code == "no_whatsapp_group":
        return t("reason.no_whatsapp_group")
    return reason.text


# --- CSV --------------------------------------------------------------------------------------

#: The CSV's columns, in order. Their ids are part of the console's interface: add, never rename.
CSV_COLUMNS = (
    "week",
    "rank",
    "opd",
    "opd_name",
    "needs_attention",
    "received",
    "received_change",
    "answered",
    "answered_change",
    "median_first_answer_working_days",
    "median_first_answer_working_days_change",
    "median_first_answer_working_seconds",
    "resolved_cepat",
    "resolved_sedang",
    "resolved_lambat",
    "resolved_lambat_change",
    "open_past_sla",
    "open_past_sla_change",
    "awaiting_answer",
    "awaiting_past_sla",
    "sla_answer",
    "sla_resolve",
    *(f"channel_{kind}" for kind in COVERED_KINDS),
    "reasons",
    "complete",
)
#: A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading apostrophe before ``=``, ``+``,
    ``-``, ``@``, tab or carriage return (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _decimal(value: float | None, places: int = 4) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _coverage_value(coverage) -> str:
    if not coverage.present:
        return "absent"
    return {True: "usable", False: "unusable", None: "unchecked"}[coverage.usable]


def report_csv_text(report_: WeeklyReport) -> str:
    """The CSV of ``report_`` (see :data:`CSV_COLUMNS`); numbers with a decimal point."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in report_.offices:
        median, change = line.median_first_answer, line.change
        writer.writerow(
            [
                str(report_.week),
                line.rank,
                safe_cell(line.opd_slug),
                safe_cell(line.opd_name),
                "yes" if line.attention else "no",
                line.received,
                change.received,
                line.answered,
                change.answered,
                _decimal(median.working_days if median else None),
                _decimal(change.median_first_answer_days),
                _decimal(median.working_seconds if median else None, 0),
                line.grades.cepat,
                line.grades.sedang,
                line.grades.lambat,
                change.grades.lambat,
                line.open_past_sla,
                change.open_past_sla,
                line.awaiting_answer,
                line.awaiting_past_sla,
                str(line.sla.answer),
                str(line.sla.resolve),
                *(_coverage_value(coverage) for _kind, coverage in line.coverage.items()),
                ";".join(reason.code for reason in line.reasons),
                "yes" if report_.complete else "no",
            ]
        )
    return out.getvalue()
