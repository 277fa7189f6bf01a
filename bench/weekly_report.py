"""How long the weekly report takes: 17 offices, 50,000 complaints over about 12 weeks.

    .venv/bin/python bench/weekly_report.py                # target: the report under 2 s
    .venv/bin/python bench/weekly_report.py --complaints 100000 --png /tmp/chart.png

A fresh PostgreSQL database (bench/services.py; dropped on exit) gets the sample directory
(examples/pacitan/opds.yaml: 17 offices), channel checks (two channels unusable), and
complaints with histories as the bridge writes them (``received``, ``forwarded``, the first
answer, ``in_progress``, ``resolved``/``rejected``, some ``reopened``; 6% arrive at triage and
are re-routed, with their ``complaint.rerouted`` events), loaded with COPY. Times are spread
over the weeks, mostly in office hours; answer and resolution delays are log-normal in working
time (medians about 3 hours and 2.5 days), slower at three offices; 3-12% are never answered
and 6% of the answered stay open, so about a tenth of all complaints are open at the end.
Then the report of the last complete week is built (both weeks' figures, ranking, coverage),
with its text, PNG and SVG, ``--runs`` times each.

Exit status: 0 when the median report build is under the target, 1 when not, 3 when the
database cannot be set up.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from psycopg.types.json import Jsonb  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench.services import DEFAULT_PG_ADMIN, PostgresDatabase, ServiceError  # noqa: E402
from bridge import create_app  # noqa: E402
from bridge.db import engine_of, new_session  # noqa: E402
from bridge.events import REROUTED  # noqa: E402
from bridge.migrate import upgrade  # noqa: E402
from bridge.models import Channel, ChannelCheck, Event, Opd  # noqa: E402
from bridge.reports import build_weekly_report, render_png, render_svg, weekly_text  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from bridge.worktime import WIB, Duration, IsoWeek, WorkingCalendar  # noqa: E402
from tests import support  # noqa: E402

TARGET_SECONDS = 2.0
#: The report is made on a Tuesday morning for the week before.
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=WIB).astimezone(dt.UTC)
#: Offices that answer slowly, and how much slower.
SLOW = {"dinkes": 3.0, "dpupr": 2.0, "dishub": 4.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each step")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--png", type=Path, default=None, help="write the chart here")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BRIDGE_BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN),
        help="a PostgreSQL URL allowed to create and drop databases"
        " (env BRIDGE_BENCH_POSTGRES_URL)",
    )
    args = parser.parse_args()
    try:
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(PostgresDatabase(args.pg_admin_url, "bridge_report"))
            return run(database, args)
    except ServiceError as exc:
        print(f"cannot set up the benchmark: {exc}", file=sys.stderr)
        return 3


def run(database: PostgresDatabase, args) -> int:
    env = {"BRIDGE_DATABASE_URL": database.url, "BRIDGE_SANDBOX": "1", "BRIDGE_SECRET_KEY": "b"}
    upgrade(database.url)
    settings = Settings.from_env(env)
    app = create_app(settings=settings)
    try:
        support.use_directory(app)
        started = time.perf_counter()
        counts = fill(app, settings, args)
        print(
            f"filled in {time.perf_counter() - started:.1f} s: {counts['complaints']} complaints,"
            f" {counts['history']} history entries, {counts['reroutes']} re-routes,"
            f" {counts['offices']} offices, over {args.weeks} weeks"
        )
        week = IsoWeek.containing(NOW).previous()
        with app.app_context(), new_session() as db:
            timings = measure(db, settings, week, args.runs)
            report = build_weekly_report(db, settings, week, now=NOW)
        text_ = weekly_text(report, public_url=settings.public_url)
        png = render_png(report)
        if args.png:
            args.png.write_bytes(png)
    finally:
        engine_of(app).dispose()
    load = os.getloadavg()
    print(
        f"\nweekly report {week} (as of {NOW:%Y-%m-%d %H:%M} UTC), {args.runs} runs each;"
        f" load average {load[0]:.2f} on {os.cpu_count()} cores:"
    )
    for name, values in timings.items():
        print(
            f"  {name:<28} median {statistics.median(values) * 1000:7.1f} ms"
            f"   min {min(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
        )
    total = statistics.median(timings["report (figures, ranking)"]) + sum(
        statistics.median(timings[k]) for k in ("text", "chart PNG", "chart SVG")
    )
    figures = report.totals.figures
    print(
        f"\nweek {week}: {figures.received} received, {figures.answered} answered,"
        f" {figures.open_past_sla} open past SLA, {report.totals.needing_attention} of"
        f" {report.totals.offices} offices need attention; PNG {len(png)} bytes"
    )
    build = statistics.median(timings["report (figures, ranking)"])
    verdict = "PASS" if build < TARGET_SECONDS else "FAIL"
    print(
        f"\nreport build median {build:.3f} s, with text and both charts {total:.3f} s;"
        f" target < {TARGET_SECONDS:.0f} s: {verdict}"
    )
    print("\n--- the text ---\n" + text_)
    return 0 if verdict == "PASS" else 1


def measure(db, settings, week: IsoWeek, runs: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"report, first call (cold)": []}
    started = time.perf_counter()
    report = build_weekly_report(db, settings, week, now=NOW)
    timings["report, first call (cold)"].append(time.perf_counter() - started)
    db.rollback()
    steps = {
        "report (figures, ranking)": lambda: build_weekly_report(db, settings, week, now=NOW),
        "text": lambda: weekly_text(report, public_url=settings.public_url),
        "chart PNG": lambda: render_png(report),
        "chart SVG": lambda: render_svg(report),
    }
    for name, step in steps.items():
        timings[name] = []
        for _ in range(runs):
            started = time.perf_counter()
            step()
            timings[name].append(time.perf_counter() - started)
            db.rollback()
    # This process's CPU time per build (the database server's is not in it): on a busy
    # machine the wall time above waits for a CPU as well.
    timings["report, CPU of this process"] = []
    for _ in range(runs):
        started = time.process_time()
        build_weekly_report(db, settings, week, now=NOW)
        timings["report, CPU of this process"].append(time.process_time() - started)
        db.rollback()
    return timings


# -- the data ---------------------------------------------------------------------------------


def fill(app, settings, args) -> dict[str, int]:
    rng = random.Random(args.seed)
    calendar = WorkingCalendar.from_settings(settings)
    with app.app_context(), new_session() as db:
        opds = list(db.scalars(select(Opd).where(Opd.active.is_(True)).order_by(Opd.position)))
        triage = next(opd for opd in opds if opd.is_triage)
        channels = list(db.scalars(select(Channel)))
        # Two channels the last check found unusable, the rest fine.
        for channel in channels:
            unusable = (channel.opd.slug, channel.kind) in {
                ("rsud", "instagram"),
                ("dishub", "whatsapp_group"),
            }
            db.add(
                ChannelCheck(
                    channel_id=channel.id,
                    verdict="unusable" if unusable else "ok",
                    reason="not in the group" if unusable else "fine",
                    details={},
                    checked_at=NOW - dt.timedelta(hours=3),
                )
            )
        db.commit()
        offices = [opd for opd in opds if not opd.is_leadership]
        weights = [
            1 + (7 if opd.slug in ("dpupr", "dinkes", "dispendukcapil") else 0) for opd in offices
        ]
    start = NOW - dt.timedelta(weeks=args.weeks)
    span = (NOW - start).total_seconds()
    complaints, history, events = [], [], []
    for number in range(1, args.complaints + 1):
        office = rng.choices(offices, weights)[0]
        received = start + dt.timedelta(seconds=rng.random() * span)
        if rng.random() < 0.75:  # most arrive in the day
            local = received.astimezone(WIB)
            in_hours = local.replace(hour=rng.randint(7, 16), minute=rng.randint(0, 59))
            received = min(in_hours.astimezone(dt.UTC), NOW - dt.timedelta(minutes=1))
        entries = [("received", received)]
        rerouted = office.id != triage.id and rng.random() < 0.06
        if rerouted:
            moved = calendar.add(received, Duration(rng.randint(30, 900), "m"))
            entries.append(("reroute", moved))
            clock = moved
        else:
            clock = entries[0][1]
        entries.append(("forwarded", clock + dt.timedelta(seconds=40)))
        slow = SLOW.get(office.slug, 1.0)
        # A few complaints are never answered; the slow offices leave more unanswered.
        if rng.random() < 1 - 0.03 * slow:
            minutes = max(1, int(rng.lognormvariate(5.2, 1.1) * slow))  # median ~3 working hours
            answered = calendar.add(clock, Duration(minutes, "m"))
            entries.append(("acknowledged", answered))
            # Most are resolved in the end, some rejected; a few stay open for good.
            outcome = rng.random()
            if outcome < 0.86:
                days = rng.lognormvariate(0.9, 0.7) * (slow**0.5)  # median ~2.5 working days
                resolved = calendar.add(answered, Duration(max(1, int(days * 8 * 60)), "m"))
                if rng.random() < 0.5:  # "proses" on the way
                    entries.append(("in_progress", answered + (resolved - answered) / 3))
                entries.append(("resolved", resolved))
                if rng.random() < 0.03:
                    again = resolved + dt.timedelta(days=rng.randint(1, 6))
                    entries.append(("reopened", again))
                    if rng.random() < 0.6:
                        entries.append(("resolved", again + dt.timedelta(days=rng.randint(1, 5))))
            elif outcome < 0.94:
                entries.append(("rejected", answered + dt.timedelta(minutes=rng.randint(5, 300))))
            elif rng.random() < 0.5:
                entries.append(("in_progress", answered + dt.timedelta(hours=rng.randint(1, 30))))
        entries = sorted((e for e in entries if e[1] <= NOW), key=lambda e: e[1])
        status = "received" if entries[-1][0] == "reroute" else entries[-1][0]
        holder = (
            office
            if (rerouted and any(e[0] == "reroute" for e in entries))
            else (triage if rerouted else office)
        )
        complaints.append(
            (
                number, f"WDL-BENCH-{number:06d}", f"{number:064x}", holder.id, "category",
                status, 2 if holder is office and rerouted else 1, f"Aduan {number}",
                "Isi aduan.", False, False, Jsonb([]), entries[0][1], entries[-1][1],
            )
        )  # fmt: skip
        for status_, at in entries:
            if status_ == "reroute":
                events.append(
                    {
                        "seq": len(events) + 1,
                        "complaint_id": number,
                        "type": REROUTED,
                        "data": {"from_opd": triage.slug, "to_opd": office.slug},
                        "occurred_at": at,
                        "push_status": "skipped",
                        "push_attempts": 0,
                        "next_push_at": at,
                    }
                )
                status_ = "received"
            history.append((number, status_, None, "opd", holder.slug, at))
    _copy(app, complaints, history, events)
    return {
        "complaints": len(complaints),
        "history": len(history),
        "reroutes": len(events),
        "offices": len(opds),
    }


def _copy(app, complaints, history, events) -> None:
    engine = create_engine(app.config["BRIDGE_SETTINGS"].database_url, poolclass=NullPool)
    try:
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY complaints (id, wadule_id, content_hash, opd_id, routed_by, status,"
                    " round, title, body, anonymous, confidential, attachments, created_at,"
                    " updated_at) FROM STDIN"
                ) as copy:
                    for row in complaints:
                        copy.write_row(row)
                with cursor.copy(
                    "COPY status_history (complaint_id, status, note, actor_kind, actor_name, at)"
                    " FROM STDIN"
                ) as copy:
                    for row in history:
                        copy.write_row(row)
            connection.commit()
        finally:
            raw.close()
        with engine.begin() as conn:
            if events:
                conn.execute(Event.__table__.insert(), events)
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('complaints', 'id'), :n)"),
                {"n": len(complaints)},
            )
            conn.execute(
                text("UPDATE counters SET value = :n WHERE name = 'events'"), {"n": len(events)}
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
