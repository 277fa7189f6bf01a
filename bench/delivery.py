"""Delivery benchmark: from 202 to ``sent``, and how fast a backlog drains.

Real ``wadule-bridge worker`` processes against a throwaway PostgreSQL database and a private
redis-server; a fake WAHA (the test suite's) that answers at once; rate limits lifted. Not a
test: it prints figures.

1. **Latency**: complaints arrive at ``--rate`` per second for ``--seconds``; for each, the time
   from its commit (the 202) to its WhatsApp delivery's ``sent_at``: p50, p95, p99.
2. **Backlog**: ``--backlog`` complaints are committed while no worker runs; then the workers
   start and the drain rate is measured from the first ``sent`` to the last.

Targets (issue 3): p95 under 1 s at 50 complaints/s; at least 200 deliveries/s on 2 cores.
Each task claims up to ``BRIDGE_DELIVERY_BATCH`` due rows (default 20; ``--batch``).

    .venv/bin/python -m bench.delivery --rate 50 --seconds 20 --backlog 2000 --concurrency 4
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import time

from sqlalchemy import create_engine, text

from bench.services import add_service_arguments, start_services
from bridge import create_app
from bridge.complaints import ingest
from bridge.db import engine_of, new_session
from bridge.queue import QUEUE
from bridge.settings import Settings
from bridge.workflow import Actor
from tests.fakes.waha import FakeWaha
from tests.support import use_directory

GROUPS = 20
DIRECTORY = {
    "triage": "opd0",
    "opds": [
        {
            "slug": f"opd{i}",
            "name": f"Dinas {i}",
            "categories": [f"kat{i}"],
            "channels": [{"kind": "whatsapp_group", "target": f"1203630000{i:08d}@g.us"}],
        }
        for i in range(GROUPS)
    ],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Workers(contextlib.AbstractContextManager):
    """``wadule-bridge worker`` processes (plus beat), killed on exit."""

    def __init__(self, env: dict, count: int, concurrency: int, workdir):
        import subprocess

        self.processes = []
        full = {**os.environ, **env}
        for n in range(count):
            log = open(workdir / f"worker{n}.log", "ab")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bridge.cli",
                        "worker",
                        "--concurrency",
                        str(concurrency),
                    ],
                    env=full,
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        log = open(workdir / "beat.log", "ab")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "beat"],
                env=full,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def __exit__(self, *exc_info) -> None:
        import signal

        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def submit(app, prefix: str, n: int) -> None:
    body = {
        "wadule_id": f"{prefix}-{n:05d}",
        "title": f"Aduan {n}",
        "body": "Lampu jalan mati.",
        "category": f"kat{n % GROUPS}",
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    }
    with app.app_context(), new_session() as db:
        ingest(db, body, Actor("wadule", "bench"))


def sent_times(db_url: str, prefix: str) -> list[tuple[float, float | None]]:
    """(commit time, sent time) in epoch seconds for each complaint of the phase."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT extract(epoch from c.created_at), extract(epoch from d.sent_at) "
                "FROM complaints c JOIN deliveries d ON d.complaint_id = c.id "
                "WHERE c.wadule_id LIKE :p"
            ),
            {"p": prefix + "-%"},
        ).all()
    engine.dispose()
    return [(float(a), float(b) if b is not None else None) for a, b in rows]


def wait_all_sent(db_url: str, prefix: str, expected: int, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        rows = sent_times(db_url, prefix)
        if len(rows) == expected and all(s is not None for _, s in rows):
            return rows
        if time.monotonic() > deadline:
            done = sum(1 for _, s in rows if s is not None)
            raise SystemExit(f"only {done}/{expected} sent after {timeout:.0f} s")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool size per worker")
    parser.add_argument("--batch", type=int, default=20, help="BRIDGE_DELIVERY_BATCH")
    add_service_arguments(parser)
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        services = start_services(
            stack, pg_admin_url=args.pg_admin_url, redis_server=args.redis_server
        )
        waha = stack.enter_context(FakeWaha())
        env = services.env | {
            **waha.bridge_settings(),
            "BRIDGE_RATE_LIMITS": "whatsapp_group=100000/1",
            "BRIDGE_SWEEP_INTERVAL": "5",
            "BRIDGE_DELIVERY_BATCH": str(args.batch),
        }
        app = create_app(settings=Settings.from_env(env))
        stack.callback(engine_of(app).dispose)
        use_directory(app, DIRECTORY)
        db_url = env["BRIDGE_DATABASE_URL"]
        print(
            f"machine: {os.cpu_count()} cores; workers {args.workers} x concurrency "
            f"{args.concurrency} (prefork), batch {args.batch}; PostgreSQL + Redis; "
            "fake WAHA answering at once"
        )

        # Phase 1: steady arrivals, workers running.
        with Workers(env, args.workers, args.concurrency, services.workdir):
            time.sleep(4)  # let the workers connect
            total = int(args.rate * args.seconds)
            started = time.monotonic()
            for n in range(total):
                delay = started + n / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                submit(app, "LAT", n)
            achieved = total / (time.monotonic() - started)
            rows = wait_all_sent(db_url, "LAT", total, 120)
        latencies = [sent - committed for committed, sent in rows]
        print(
            f"\nlatency, 202 -> sent, at {achieved:.1f} complaints/s for {args.seconds:.0f} s"
            f" ({total} complaints):"
        )
        print(
            f"  p50 {percentile(latencies, 50) * 1000:.0f} ms   "
            f"p95 {percentile(latencies, 95) * 1000:.0f} ms   "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms   "
            f"max {max(latencies) * 1000:.0f} ms   (target: p95 < 1000 ms) "
            f"{'PASS' if percentile(latencies, 95) < 1 else 'FAIL'}"
        )

        # Phase 2: a backlog committed with no worker running, then drained.
        started = time.monotonic()
        for n in range(args.backlog):
            submit(app, "BKL", n)
        print(
            f"\nbacklog: {args.backlog} complaints committed in "
            f"{time.monotonic() - started:.1f} s with no worker running"
        )
        with Workers(env, args.workers, args.concurrency, services.workdir):
            rows = wait_all_sent(db_url, "BKL", args.backlog, 600)
            # A task takes on due rows beyond its own, so the doorbells of rows already sent
            # are left in the queue; each finds nothing to do. Report when they are all gone.
            while services.broker.queue_length(QUEUE) > 0:
                time.sleep(0.1)
            emptied = time.time()
        sends = sorted(s for _, s in rows)
        span = sends[-1] - sends[0]
        rate = (len(sends) - 1) / span if span > 0 else float("inf")
        print(
            f"  drained {len(sends)} deliveries in {span:.1f} s (first to last sent): "
            f"{rate:.0f} deliveries/s   (target: >= 200/s) {'PASS' if rate >= 200 else 'FAIL'}"
        )
        print(
            f"  broker queue empty {emptied - sends[0]:.1f} s after the first send "
            "(the doorbells of rows taken on by other tasks find nothing to do)"
        )
        print(
            f"  fake WAHA accepted {len(waha.messages)} messages in all "
            f"(expected {total + args.backlog}: nothing twice)"
        )
        gap = statistics.median(b - a for a, b in itertools.pairwise(sends))
        print(f"  median gap between sends {gap * 1000:.1f} ms")


if __name__ == "__main__":
    main()
