"""Delivery benchmark: 202 -> WhatsApp ``sent`` for offices with every channel, and a backlog.

Real processes as users run them: ``wadule-bridge worker`` with its defaults (both lanes, each
its own pool) and ``wadule-bridge beat``, against a throwaway PostgreSQL database and a private
redis-server. Every office has a WhatsApp group, a Facebook page, an Instagram account and X
(the realistic mix: issue 11). The test suite's fake providers answer after a delay each
(``--waha-ms``, ``--graph-ms``, ``--x-ms``), and Meta takes ``--ig-seconds`` to process each
Instagram card. Per-target rate limits are lifted: the benchmark measures the engine, not the
limits. Not a test: it prints figures.

1. **Latency**: complaints arrive at ``--rate`` per second for ``--seconds``; for each, the time
   from its commit (the 202) to its WhatsApp delivery's ``sent_at``: p50, p95, p99. Public
   posts go on meanwhile in their own lane.
2. **Backlog**: ``--backlog`` complaints (4 rows each) are committed while no worker runs; then
   the worker starts and the private rows' drain rate is measured from the first WhatsApp
   ``sent`` to the last.

Targets (issue 11): p95 under 1 s at 50 complaints/s on 2 cores with one ``wadule-bridge worker``;
private rows of a 2,000-complaint backlog drain at 200/s or more.

    .venv/bin/python -m bench.delivery
    .venv/bin/python -m bench.delivery --rate 50 --seconds 20 --backlog 2000 --waha-ms 100
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from bench import procstat
from bench.services import add_service_arguments, free_port, start_services
from bridge import create_app
from bridge.complaints import ingest
from bridge.db import engine_of, new_session
from bridge.queue import QUEUES
from bridge.settings import Settings
from bridge.statuses import Lane
from bridge.workflow import Actor
from tests.fakes.graph import FB_TOKEN, IG_TOKEN, FakeGraph
from tests.fakes.waha import FakeWaha
from tests.fakes.x_api import X_CONSUMER_KEY, X_CONSUMER_SECRET, X_SECRET, X_TOKEN, FakeX
from tests.support import use_directory

OFFICES = 17
DIRECTORY = {
    "triage": "opd0",
    "opds": [
        {
            "slug": f"opd{i}",
            "name": f"Dinas {i}",
            "categories": [f"kat{i}"],
            "channels": [
                {"kind": "whatsapp_group", "target": f"1203630000{i:08d}@g.us"},
                {"kind": "facebook_page", "target": f"1000000000{i:05d}", "token_env": "FB"},
                {"kind": "instagram", "target": f"178414000{i:08d}", "token_env": "IG"},
                {
                    "kind": "x",
                    "target": "dpupr_pacitan",
                    "auth": "oauth1",
                    "token_env": "X_TOKEN",
                    "secret_env": "X_SECRET",
                },
            ],
        }
        for i in range(OFFICES)
    ],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Processes(contextlib.AbstractContextManager):
    """``wadule-bridge worker`` and ``beat`` with their defaults; stopped (TERM, then KILL)."""

    def __init__(self, env: dict, workdir, worker_args: list[str]):
        full = {**os.environ, **env}
        self.processes = []
        for name, argv in (("worker", ["worker", *worker_args]), ("beat", ["beat"])):
            log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bridge.cli", *argv],
                    env=full,
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def __exit__(self, *exc_info) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class CpuSplit:
    """Where the box's CPU goes while the backlog drains: each lane's worker processes, beat,
    this process (the fake providers, the card route and the benchmark itself), PostgreSQL,
    Redis, and everything else on the machine. Counted from the first WhatsApp row sent (the
    workers' start-up is left out) to the last."""

    def __init__(self, services, processes: Processes):
        self.services = services
        self.processes = processes
        self.busy = procstat.machine_busy_seconds()
        self.before = self._times()

    def _times(self) -> dict[str, dict[int, float]]:
        worker, beat = self.processes.processes
        # `wadule-bridge worker` starts one `worker --lane NAME` per lane, each with its pool.
        lanes = {f"{lane.value} lane": set() for lane in Lane}
        for pid in procstat.children(worker.pid):
            argv = procstat.argv(pid)
            if "--lane" in argv[:-1]:
                lanes[f"{argv[argv.index('--lane') + 1]} lane"] = procstat.descendants(pid)
        groups = lanes | {
            "worker's supervisor": {worker.pid},
            "beat": procstat.descendants(beat.pid),
            "bench and fakes": {os.getpid()},
            "PostgreSQL": self.services.db.backend_pids(),
            "Redis": {self.services.broker.pid},
        }
        return {name: procstat.cpu_seconds(pids) for name, pids in groups.items()}

    def spent(self) -> dict[str, float]:
        after = self._times()
        spent = {
            name: sum(t - self.before[name].get(pid, 0.0) for pid, t in times.items())
            for name, times in after.items()
        }
        spent["other"] = procstat.machine_busy_seconds() - self.busy - sum(spent.values())
        return {name: max(0.0, seconds) for name, seconds in spent.items()}


def wait_first_sent(db_url: str, prefix: str, timeout: float) -> None:
    engine = create_engine(db_url)
    first = text(
        "SELECT 1 FROM complaints c JOIN deliveries d ON d.complaint_id = c.id"
        " WHERE c.wadule_id LIKE :p AND d.kind = 'whatsapp_group' AND d.sent_at IS NOT NULL"
        " LIMIT 1"
    )
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            while conn.execute(first, {"p": prefix + "-%"}).first() is None:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no WhatsApp row sent after {timeout:.0f} s")
                conn.rollback()
                time.sleep(0.05)
    finally:
        engine.dispose()


def submit(app, prefix: str, n: int) -> None:
    body = {
        "wadule_id": f"{prefix}-{n:05d}",
        "title": f"Aduan {n}",
        "body": f"Lampu jalan mati di dusun {n}.",
        "category": f"kat{n % OFFICES}",
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    }
    with app.app_context(), new_session() as db:
        ingest(db, body, Actor("wadule", "bench"))


def sent_times(db_url: str, prefix: str, kind: str) -> list[tuple[float, float | None]]:
    """(commit time, sent time) in epoch seconds for each complaint of the phase."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT extract(epoch from c.created_at), extract(epoch from d.sent_at) "
                "FROM complaints c JOIN deliveries d ON d.complaint_id = c.id "
                "WHERE c.wadule_id LIKE :p AND d.kind = :k"
            ),
            {"p": prefix + "-%", "k": kind},
        ).all()
    engine.dispose()
    return [(float(a), float(b) if b is not None else None) for a, b in rows]


def row_statuses(db_url: str, prefix: str) -> dict[tuple[str, str], int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.kind, d.status, count(*) FROM deliveries d JOIN complaints c"
                " ON c.id = d.complaint_id WHERE c.wadule_id LIKE :p GROUP BY d.kind, d.status"
            ),
            {"p": prefix + "-%"},
        ).all()
    engine.dispose()
    return {(kind, status): count for kind, status, count in rows}


def wait_all_sent(db_url: str, prefix: str, expected: int, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        rows = sent_times(db_url, prefix, "whatsapp_group")
        if len(rows) == expected and all(s is not None for _, s in rows):
            return rows
        if time.monotonic() > deadline:
            done = sum(1 for _, s in rows if s is not None)
            raise SystemExit(f"only {done}/{expected} WhatsApp rows sent after {timeout:.0f} s")
        time.sleep(0.5)


def describe(statuses: dict[tuple[str, str], int]) -> str:
    by_kind: dict[str, list[str]] = collections.defaultdict(list)
    for (kind, status), count in sorted(statuses.items()):
        by_kind[kind].append(f"{count} {status}")
    return "; ".join(f"{kind}: {', '.join(parts)}" for kind, parts in by_kind.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--waha-ms", type=float, default=50.0, help="WAHA's answer time")
    parser.add_argument("--graph-ms", type=float, default=200.0, help="Graph API's answer time")
    parser.add_argument("--x-ms", type=float, default=200.0, help="X API's answer time")
    parser.add_argument("--ig-seconds", type=float, default=10.0, help="Meta's processing time")
    parser.add_argument(
        "--worker-args",
        default="",
        help="extra arguments for `wadule-bridge worker` (default: none, its own defaults)",
    )
    add_service_arguments(parser)
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        services = start_services(
            stack, pg_admin_url=args.pg_admin_url, redis_server=args.redis_server
        )
        waha = stack.enter_context(FakeWaha())
        graph = stack.enter_context(FakeGraph(processing_seconds=args.ig_seconds))
        x_api = stack.enter_context(FakeX())
        waha.latency, graph.latency, x_api.latency = (
            args.waha_ms / 1000,
            args.graph_ms / 1000,
            args.x_ms / 1000,
        )
        port = free_port()
        env = services.env | {
            **waha.bridge_settings(),
            "BRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "BRIDGE_GRAPH_URL": graph.url,
            "BRIDGE_X_API_URL": x_api.url,
            "BRIDGE_X_CONSUMER_KEY": X_CONSUMER_KEY,
            "BRIDGE_X_CONSUMER_SECRET": X_CONSUMER_SECRET,
            "BRIDGE_RATE_LIMITS": (
                "whatsapp_group=100000/1,facebook_page=100000/1,instagram=100000/1,x=100000/1"
            ),
            "FB": FB_TOKEN,
            "IG": IG_TOKEN,
            "X_TOKEN": X_TOKEN,
            "X_SECRET": X_SECRET,
        }
        app = create_app(settings=Settings.from_env(env))
        stack.callback(engine_of(app).dispose)
        use_directory(app, DIRECTORY)
        # The bridge's card route, which the fake Meta fetches each Instagram card from.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per card fetched
        cards = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=cards.serve_forever, daemon=True).start()
        stack.callback(cards.shutdown)
        db_url = env["BRIDGE_DATABASE_URL"]
        worker_args = args.worker_args.split()
        print(
            f"machine: {os.cpu_count()} cores; `wadule-bridge worker {' '.join(worker_args)}`"
            f" (its defaults: both lanes) + beat; PostgreSQL + Redis; {OFFICES} offices with"
            f" WhatsApp, Facebook, Instagram and X; fakes answer in WAHA {args.waha_ms:.0f} ms,"
            f" Graph {args.graph_ms:.0f} ms, X {args.x_ms:.0f} ms; Meta processes each card"
            f" {args.ig_seconds:.0f} s"
        )

        # Phase 1: steady arrivals, workers running.
        with Processes(env, services.workdir, worker_args):
            submit(app, "WARM", 0)
            wait_all_sent(db_url, "WARM", 1, 90)  # the workers are up
            total = int(args.rate * args.seconds)
            started = time.monotonic()
            for n in range(total):
                delay = started + n / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                submit(app, "LAT", n)
            achieved = total / (time.monotonic() - started)
            rows = wait_all_sent(db_url, "LAT", total, 180)
            public_at_end = row_statuses(db_url, "LAT")
            stopping = time.monotonic()
        stopped_in = time.monotonic() - stopping
        after_stop = row_statuses(db_url, "LAT")
        latencies = [sent - committed for committed, sent in rows]
        print(
            f"\nlatency, 202 -> WhatsApp sent, at {achieved:.1f} complaints/s for"
            f" {args.seconds:.0f} s ({total} complaints, {4 * total} deliveries):"
        )
        p95 = percentile(latencies, 95)
        print(
            f"  p50 {percentile(latencies, 50) * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms   max {max(latencies) * 1000:.0f} ms"
            f"   (target: p95 < 1000 ms) {'PASS' if p95 < 1 else 'FAIL'}"
        )
        print(f"  when the last WhatsApp row was sent: {describe(public_at_end)}")
        print(f"  worker stopped in {stopped_in:.1f} s, leaving: {describe(after_stop)}")

        # Phase 2: a backlog committed with no worker running, then drained.
        started = time.monotonic()
        for n in range(args.backlog):
            submit(app, "BKL", n)
        print(
            f"\nbacklog: {args.backlog} complaints ({4 * args.backlog} deliveries) committed in "
            f"{time.monotonic() - started:.1f} s with no worker running"
        )
        with Processes(env, services.workdir, worker_args) as processes:
            wait_first_sent(db_url, "BKL", 90)
            cpu = CpuSplit(services, processes)
            rows = wait_all_sent(db_url, "BKL", args.backlog, 600)
            split = cpu.spent()
            statuses = row_statuses(db_url, "BKL")
            queued = services.broker.queue_length(QUEUES[Lane.PRIVATE])
        sends = sorted(s for _, s in rows)
        span = sends[-1] - sends[0]
        rate = (len(sends) - 1) / span if span > 0 else float("inf")
        print(
            f"  private rows drained: {len(sends)} in {span:.1f} s (first to last sent): "
            f"{rate:.0f} deliveries/s   (target: >= 200/s) {'PASS' if rate >= 200 else 'FAIL'}"
        )
        print(f"  meanwhile: {describe(statuses)}; private queue left {queued}")
        print(
            "  CPU seconds from the first WhatsApp row sent to the last: "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in split.items())
            + f"; private lane {1000 * split['private lane'] / len(sends):.1f} ms a row;"
            f" box busy {100 * sum(split.values()) / (os.cpu_count() * span):.0f}%"
        )
        twice = len(waha.messages) - len({m.text for m in waha.messages})
        print(f"  fake WAHA accepted {len(waha.messages)} messages, {twice} of them twice")


if __name__ == "__main__":
    main()
