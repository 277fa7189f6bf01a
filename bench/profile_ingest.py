"""Where the real ingest endpoint spends its time, next to the reference endpoint.

In-process, without HTTP or gunicorn: both apps answer through Flask's test client against the
same throwaway PostgreSQL database and redis-server that ``bench/ingest.py`` sets up. Prints per
request, for both targets: CPU and wall milliseconds, SQL statements, transactions, connection
checkouts and Redis commands; then a cProfile of the real endpoint, as own time per package and
as the project's functions by cumulative time::

    .venv/bin/python bench/profile_ingest.py --requests 2000

cProfile measures wall time, so the time a driver spends waiting for PostgreSQL or Redis shows
up as the driver's own time (``psycopg``'s ``wait``), and the profiler's overhead inflates
everything by a similar factor: read the shares, not the absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event  # noqa: E402
from sqlalchemy.pool import Pool  # noqa: E402

from bench import reference_app  # noqa: E402
from bench.services import (  # noqa: E402
    ServiceError,
    add_service_arguments,
    sample_bodies,
    start_services,
)
from bridge import create_app  # noqa: E402
from bridge.db import engine_of  # noqa: E402
from bridge.settings import Settings  # noqa: E402

WARMUP_REQUESTS = 100


class DatabaseCounters:
    """Statements, transactions and pool checkouts of every engine in this process."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        event.listen(Engine, "after_cursor_execute", self._statement)
        event.listen(Engine, "begin", self._begin)
        event.listen(Pool, "checkout", self._checkout)

    def _statement(self, *_args) -> None:
        self.counts["statements"] += 1

    def _begin(self, *_args) -> None:
        self.counts["transactions"] += 1

    def _checkout(self, *_args) -> None:
        self.counts["checkouts"] += 1


class Target:
    """One app behind Flask's test client, posting rotating sample bodies with unique ids."""

    def __init__(self, name: str, app, path: str, key: str, bodies: list[dict]):
        self.name = name
        self.client = app.test_client()
        self.path = path
        self.headers = {"Authorization": f"Bearer {key}"}
        self.bodies = bodies
        self.sent = 0

    def post(self) -> None:
        body = {**self.bodies[self.sent % len(self.bodies)], "wadule_id": f"prof-{self.sent}"}
        self.sent += 1
        response = self.client.post(self.path, json=body, headers=self.headers)
        if response.status_code != 202:
            raise ServiceError(f"{self.name} answered {response.status_code}: {response.text}")


def measure(target: Target, requests: int, db: DatabaseCounters, broker) -> dict[str, float]:
    """Per-request costs of ``requests`` requests (after a warm-up)."""
    for _ in range(WARMUP_REQUESTS):
        target.post()
    db.counts.clear()
    broker.reset_stats()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        target.post()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu ms": 1000 * cpu / requests,
        "wall ms": 1000 * wall / requests,
        **{name: count / requests for name, count in db.counts.items()},
        "redis commands": broker.command_count() / requests,
    }


def _package(filename: str) -> str:
    """The package a profiled function belongs to: a site-package, the project, or stdlib."""
    path = Path(filename)
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
    if path.is_relative_to(ROOT):
        return f"{path.relative_to(ROOT).parts[0]} (project)"
    return "(C builtins)" if filename == "~" else "(stdlib)"


def print_profile(stats: pstats.Stats, requests: int, top: int) -> None:
    entries = stats.stats  # {(file, line, name): (primitive calls, calls, own, cumulative, ...)}
    own: Counter = Counter()
    for (filename, _line, _name), (_pc, _nc, tottime, _ct, _callers) in entries.items():
        own[_package(filename)] += tottime
    total = sum(own.values())
    print(f"\nOwn time by package (cProfile, {requests} requests to the real API)")
    print(f"{'package':<24}{'ms/request':>11}{'share':>8}")
    for package, seconds in own.most_common(15):
        print(f"{package:<24}{1000 * seconds / requests:>11.2f}{100 * seconds / total:>7.0f}%")

    def in_project(filename: str) -> bool:
        path = Path(filename)
        return path.is_relative_to(ROOT / "bridge") or path.is_relative_to(ROOT / "schemas")

    project, boundary = [], []
    for (filename, line, name), (_pc, nc, _tt, ct, callers) in entries.items():
        if in_project(filename):
            project.append((ct, nc, _where(filename, line, name)))
            continue
        for (c_file, c_line, c_name), (_cpc, c_nc, _ctt, c_ct) in callers.items():
            if in_project(c_file):
                caller = _where(c_file, c_line, c_name)
                boundary.append((c_ct, c_nc, f"{_where(filename, line, name)}  <- {caller}"))
    for title, rows in (
        ("Project functions by cumulative time", project),
        ("Library calls made by project code, by cumulative time", boundary),
    ):
        print(f"\n{title} (top {top})")
        print(f"{'calls/req':>9}{'cum ms/req':>11}{'share':>7}  function")
        for cumulative, calls, where in sorted(rows, reverse=True)[:top]:
            print(
                f"{calls / requests:>9.2f}{1000 * cumulative / requests:>11.2f}"
                f"{100 * cumulative / total:>6.0f}%  {where}"
            )


def _where(filename: str, line: int, name: str) -> str:
    path = Path(filename)
    if "site-packages" in path.parts:
        path = Path(*path.parts[path.parts.index("site-packages") + 1 :])
    elif path.is_relative_to(ROOT):
        path = path.relative_to(ROOT)
    return f"{path}:{line}({name})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Per-request costs of the real ingest endpoint and the reference, in-process.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target")
    parser.add_argument("--top", type=int, default=15, help="rows of each function list")
    add_service_arguments(parser)
    args = parser.parse_args(argv)
    counters = DatabaseCounters()
    with contextlib.ExitStack() as stack:
        try:
            services = start_services(
                stack, pg_admin_url=args.pg_admin_url, redis_server=args.redis_server
            )
        except ServiceError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 3
        real_app = create_app(settings=Settings.from_env(services.env))
        reference = reference_app.create_app(services.env | {"BENCH_REF_TOKEN": services.key})
        stack.callback(engine_of(real_app).dispose)
        # Doorbells still gathered go out before the services they need are torn down.
        stack.callback(real_app.extensions["bridge.doorbell"].flush)
        bodies = sample_bodies()
        real = Target("real API", real_app, "/api/v1/complaints", services.key, bodies)
        targets = [real, Target("reference", reference, "/ref", services.key, bodies)]
        figures = {t.name: measure(t, args.requests, counters, services.broker) for t in targets}
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            real.post()
        profiler.disable()
    columns = ["cpu ms", "wall ms", "statements", "transactions", "checkouts", "redis commands"]
    print(f"In-process, {args.requests} requests per target (test client, no HTTP server)")
    print(f"{'per request':<12}" + "".join(f"{c:>15}" for c in columns))
    for name, row in figures.items():
        print(f"{name:<12}" + "".join(f"{row.get(c, 0.0):>15.2f}" for c in columns))
    print(
        "Round trips to PostgreSQL: statements + BEGIN and COMMIT per transaction"
        " + one per checkout where the pool pre-pings (bridge.db.make_engine does)."
    )
    print_profile(pstats.Stats(profiler), args.requests, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
