"""Benchmark (not part of the suite): the cost of one SLA ladder run over N open complaints.

N open complaints of the sample directory's offices, received on a Monday between 09:00 and
11:00 (WIB), are written straight into a fresh PostgreSQL database. Then, in process:

1. the first look at all of them (nothing due yet: each gets its next look planned);
2. an idle run a minute later (nothing due: the index finds nothing);
3. the run at which every one is due for its reminder (N steps, their notices and events);
4. an idle run again, with the plan of the due look-up.

Run it with the suite's fixtures:

    PYTHONPATH=. .venv/bin/pytest -p tests.conftest bench/sla_ladder.py -s -q

``BENCH_SLA_COMPLAINTS`` sets N (default 5000); ``BENCH_SLA_PROFILE=1`` prints where each run's
time goes.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import os
import pstats
import time

from sqlalchemy import func, insert, select

from bridge import sla
from bridge.db import engine_of, new_session
from bridge.models import Complaint, Delivery, Event, Opd, SlaStep, StatusChange
from bridge.worktime import WIB
from tests.support import use_directory

N = int(os.environ.get("BENCH_SLA_COMPLAINTS", "5000"))


def wib(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=WIB).astimezone(dt.UTC)


def test_sla_ladder_cost(make_app):
    app = make_app()
    use_directory(app)
    start = wib(2, 9)  # Monday 09:00
    with app.app_context(), new_session() as db:
        offices = db.scalars(
            select(Opd.id).where(Opd.is_triage.is_(False), Opd.is_leadership.is_(False))
        ).all()
        rows = []
        for i in range(N):
            at = start + dt.timedelta(seconds=7200 * i / N)  # over two hours
            rows.append(
                {
                    "wadule_id": f"WDL-B{i}",
                    "content_hash": "0" * 64,
                    "opd_id": offices[i % len(offices)],
                    "routed_by": "opd",
                    "status": "forwarded",
                    "round": 1,
                    "title": f"Aduan {i}",
                    "body": "b",
                    "anonymous": False,
                    "confidential": False,
                    "attachments": [],
                    "created_at": at,
                    "updated_at": at,
                    "next_sla_at": at,
                }
            )
        ids = db.execute(insert(Complaint.__table__).returning(Complaint.id), rows).scalars().all()
        db.execute(
            insert(StatusChange.__table__),
            [
                {
                    "complaint_id": complaint_id,
                    "status": "received",
                    "actor_kind": "wadule",
                    "actor_name": "bench",
                    "at": row["created_at"],
                }
                for complaint_id, row in zip(ids, rows, strict=True)
            ],
        )
        db.commit()
        db.execute(func.now())  # a round trip, so the inserts are done
    with engine_of(app).connect() as conn:
        conn.exec_driver_sql("ANALYZE")

    def timed(label, now):
        with app.app_context(), new_session() as db:
            profile = cProfile.Profile() if os.environ.get("BENCH_SLA_PROFILE") else None
            began = time.perf_counter()
            if profile:
                profile.enable()
            result = sla.run_ladder(db, now, budget=600)
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            took = time.perf_counter() - began
        print(
            f"{label:<40} {took * 1000:9.1f} ms  looked={result.looked} steps={result.steps}"
            f" notices={result.notices}"
        )
        return result

    print(f"\n{N} open complaints, {len(offices)} offices")
    timed("first look at all (nothing due)", wib(2, 11, 30))
    timed("idle, a minute later", wib(2, 11, 31))
    timed("idle, the next morning before 09:00", wib(3, 8, 59))
    result = timed("all due: one reminder each", wib(3, 12))
    assert result.steps == N
    timed("idle, a minute later", wib(3, 12, 1))
    with app.app_context(), new_session() as db:
        counts = {
            model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (SlaStep, Delivery, Event)
        }
    print(f"rows: {counts}")
    engine = engine_of(app)
    statement = (
        select(Complaint.id)
        .where(Complaint.next_sla_at <= wib(3, 12, 2))
        .order_by(Complaint.next_sla_at, Complaint.id)
        .limit(sla.BATCH)
        .with_for_update(skip_locked=True)
    )
    sql = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN ANALYZE {sql}")]
    print("the due look-up when idle:\n  " + "\n  ".join(plan))
