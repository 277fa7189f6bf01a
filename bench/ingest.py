"""Ingest benchmark: the real ``POST /api/v1/complaints`` against a minimal reference endpoint.

Run from the repository root (services are set up and torn down by the script)::

    .venv/bin/python bench/ingest.py                      # or: make bench
    .venv/bin/python bench/ingest.py --seconds 15 --json /tmp/ingest.json

It prints complaints per second and latency percentiles of both targets and checks the target
``real >= 0.6 x reference``. Exit status: 0 PASS, 1 FAIL, 3 when a service cannot be set up,
130 on Ctrl-C. See ``bench/README.md`` for the method and its choices.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import signal
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench import loadgen, procstat, reference_app  # noqa: E402
from bench.services import (  # noqa: E402
    GunicornServer,
    ServiceError,
    add_service_arguments,
    free_port,
    sample_bodies,
    start_services,
)
from bridge.queue import QUEUES  # noqa: E402
from bridge.server import THREADS, default_workers  # noqa: E402

RATIO_TARGET = 0.6
CPU_GROUPS = ("server", "postgres", "redis", "clients", "other")
#: Above this share of the box's CPU going to other processes, the figures get a warning.
OTHER_CPU_WARNING = 0.10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ingest throughput of the real API against a minimal reference endpoint.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time per target")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="load processes sharing the clients"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers per server (4 threads each); default: serve's own default",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate real/reference this many times"
    )
    add_service_arguments(parser)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers <= 0:
        parser.error("--workers must be > 0")
    if min(args.seconds, args.concurrency, args.client_processes, args.rounds) <= 0:
        parser.error("--seconds, --concurrency, --client-processes, --rounds must be > 0")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    return args


@dataclasses.dataclass
class CpuShare:
    """CPU seconds each group used during measured windows, and the length of those windows."""

    seconds: float = 0.0
    used: dict[str, float] = dataclasses.field(default_factory=lambda: dict.fromkeys(CPU_GROUPS, 0))

    def ms_per(self, requests: int) -> dict[str, float]:
        return {group: 1000 * used / max(requests, 1) for group, used in self.used.items()}

    def busy_percent(self) -> float:
        total = sum(self.used.values())
        return 100 * total / (self.seconds * (os.cpu_count() or 1)) if self.seconds else 0.0

    def other_percent(self) -> float:
        """How much of the CPU used went to processes outside the benchmark."""
        total = sum(self.used.values())
        return 100 * self.used["other"] / total if total else 0.0


class Bench:
    """The services of one run and the measurements taken on them."""

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack):
        self.args = args
        services = start_services(
            stack, pg_admin_url=args.pg_admin_url, redis_server=args.redis_server
        )
        self.db, self.broker, self.key = services.db, services.broker, services.key
        workdir = services.workdir
        # The servers see our settings only: no BRIDGE_* or GUNICORN_CMD_ARGS from the shell.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BRIDGE_") and k != "GUNICORN_CMD_ARGS"
        }
        env |= services.env | {"BENCH_REF_TOKEN": self.key, "PYTHONUNBUFFERED": "1"}
        real_port, ref_port = free_port(), free_port()
        # Both servers through bridge.server.serve: the same gunicorn options and defaults.
        server_args = ["--workers", str(args.workers)] if args.workers else []
        self.real = stack.enter_context(
            GunicornServer(
                "real API",
                [
                    sys.executable,
                    "-m",
                    "bridge.cli",
                    "serve",
                    *server_args,
                    "--bind",
                    f"127.0.0.1:{real_port}",
                ],
                env=env,
                cwd=workdir,
                log=workdir / "real.log",
                port=real_port,
                probe="/healthz",
            )
        )
        self.reference = stack.enter_context(
            GunicornServer(
                "reference",
                [
                    sys.executable,
                    str(ROOT / "bench" / "reference_server.py"),
                    *server_args,
                    "--bind",
                    f"127.0.0.1:{ref_port}",
                ],
                env=env,
                cwd=workdir,
                log=workdir / "reference.log",
                port=ref_port,
                probe="/ref",  # GET: 405 once the app is loaded
            )
        )
        auth = {"Authorization": f"Bearer {self.key}"}
        self.targets = {
            "real API": (
                loadgen.Target("real API", "127.0.0.1", real_port, "/api/v1/complaints", auth),
                self.real,
            ),
            "reference": (
                loadgen.Target("reference", "127.0.0.1", ref_port, "/ref", auth),
                self.reference,
            ),
        }
        self.bodies = sample_bodies()
        self.run_id = uuid.uuid4().hex[:8]

    def smoke_test(self) -> None:
        """One request per target; a wrong status stops the run before any measuring."""
        for target, server in self.targets.values():
            body = {**self.bodies[0], "wadule_id": f"smoke-{self.run_id}-{target.port}"}
            status, text = loadgen.post_once(target, body)
            if status != target.expect:
                raise ServiceError(
                    f"{target.name} answered {status} instead of {target.expect}: {text[:500]}\n"
                    f"{server.log_tail()}"
                )

    def measure(self, name: str, round_: int) -> tuple[loadgen.Result, CpuShare]:
        """One warm-up and one measured window of load on ``name``."""
        target, server = self.targets[name]
        share = CpuShare()

        def sample_cpu(window: loadgen.Window) -> None:
            time.sleep(max(0.0, window.measure_from - time.monotonic()))
            before, busy_before = self._cpu_by_group(server), procstat.machine_busy_seconds()
            time.sleep(max(0.0, window.stop - time.monotonic()))
            after, busy_after = self._cpu_by_group(server), procstat.machine_busy_seconds()
            share.seconds = window.seconds
            for group, times in after.items():
                share.used[group] = sum(t - before[group].get(pid, 0.0) for pid, t in times.items())
            share.used["other"] = max(0.0, busy_after - busy_before - sum(share.used.values()))

        tag = "r" if name == "real API" else "x"
        result = loadgen.run(
            target,
            self.bodies,
            concurrency=self.args.concurrency,
            processes=self.args.client_processes,
            warmup=self.args.warmup,
            seconds=self.args.seconds,
            id_prefix=f"b{self.run_id}{tag}{round_}",
            on_window=sample_cpu,
        )
        return result, share

    def _cpu_by_group(self, server: GunicornServer) -> dict[str, dict[int, float]]:
        servers = procstat.descendants(self.real.pid) | procstat.descendants(self.reference.pid)
        ours = procstat.descendants(os.getpid())
        clients = ours - servers - {os.getpid(), self.broker.pid}
        return {
            "server": procstat.cpu_seconds(procstat.descendants(server.pid)),
            "postgres": procstat.cpu_seconds(self.db.backend_pids()),
            "redis": procstat.cpu_seconds({self.broker.pid}),
            "clients": procstat.cpu_seconds(clients),
        }

    def facts(self) -> dict:
        """Versions and what the servers stored and queued (warm-up and smoke test included)."""
        return {
            "postgres": self.db.scalar("SHOW server_version"),
            "redis": self.broker.info("redis_version"),
            "real API": {
                "complaints": self.db.scalar("SELECT count(*) FROM complaints"),
                "deliveries": self.db.scalar("SELECT count(*) FROM deliveries"),
                "tasks queued": sum(self.broker.queue_length(q) for q in QUEUES.values()),
            },
            "reference": {
                "rows": self.db.scalar("SELECT count(*) FROM ref_complaints"),
                "tasks queued": self.broker.queue_length(reference_app.QUEUE),
            },
        }


def run(args: argparse.Namespace) -> dict:
    """Set everything up, measure, tear everything down; return the figures."""
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        bench = Bench(args, stack)
        bench.smoke_test()
        rounds: dict[str, list[loadgen.Result]] = {name: [] for name in bench.targets}
        cpu = {name: CpuShare() for name in bench.targets}
        for round_ in range(args.rounds):
            for name in bench.targets:
                result, share = bench.measure(name, round_)
                rounds[name].append(result)
                cpu[name].seconds += share.seconds
                for group, used in share.used.items():
                    cpu[name].used[group] += used
        facts = bench.facts()
    results = {name: loadgen.combine(parts) for name, parts in rounds.items()}
    real, ref = results["real API"], results["reference"]
    ratio = real.per_second / ref.per_second if ref.per_second else 0.0
    real_cpu = cpu["real API"].ms_per(real.ok)["server"]
    ref_cpu = cpu["reference"].ms_per(ref.ok)["server"]
    return {
        "machine": {
            "nproc": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "python": platform.python_version(),
            "postgres": facts.pop("postgres"),
            "redis": facts.pop("redis"),
        },
        "settings": {
            "gunicorn_workers": args.workers or default_workers("postgresql"),
            "gunicorn_workers_from": "--workers" if args.workers else "serve's default",
            "gunicorn_threads": THREADS,
            "concurrency": args.concurrency,
            "client_processes": args.client_processes,
            "warmup_seconds": args.warmup,
            "seconds": args.seconds,
            "rounds": args.rounds,
        },
        "targets": {
            name: {
                "requests": r.requests,
                "errors": r.errors.total(),
                "error_kinds": dict(r.errors),
                "complaints_per_second": round(r.per_second, 1),
                "p50_ms": round(r.percentile_ms(50), 1),
                "p95_ms": round(r.percentile_ms(95), 1),
                "p99_ms": round(r.percentile_ms(99), 1),
                "cpu_ms_per_complaint": {g: round(v, 2) for g, v in cpu[name].ms_per(r.ok).items()},
                "cpu_busy_percent": round(cpu[name].busy_percent(), 1),
                "cpu_other_percent": round(cpu[name].other_percent(), 1),
                "stored": facts[name],
            }
            for name, r in results.items()
        },
        "ratio": round(ratio, 3),
        "server_cpu_ratio": round(ref_cpu / real_cpu, 3) if real_cpu else 0.0,
        "target_ratio": RATIO_TARGET,
        "passed": ratio >= RATIO_TARGET and real.errors.total() == 0,
    }


def report(figures: dict) -> None:
    machine, settings, targets = figures["machine"], figures["settings"], figures["targets"]
    print("Wadule Bridge ingest benchmark")
    print(
        f"  machine  nproc {machine['nproc']}, load average {machine['load_average_before']}"
        f" before the run, Python {machine['python']}, PostgreSQL {machine['postgres']},"
        f" Redis {machine['redis']}"
    )
    print(
        f"  servers  gunicorn {settings['gunicorn_workers']} workers x gthread"
        f" {settings['gunicorn_threads']} threads ({settings['gunicorn_workers_from']}),"
        " both targets through bridge.server.serve; no Celery worker"
    )
    print(
        f"  load     {settings['concurrency']} closed-loop clients ({settings['client_processes']}"
        f" processes, keep-alive), warm-up {settings['warmup_seconds']:g} s, measured"
        f" {settings['seconds']:g} s x {settings['rounds']} round(s), real API then reference"
    )
    print()
    header = f"{'target':<11}{'requests':>9}{'errors':>8}{'complaints/s':>14}"
    print(header + f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, t in targets.items():
        print(
            f"{name:<11}{t['requests']:>9}{t['errors']:>8}{t['complaints_per_second']:>14.1f}"
            f"{t['p50_ms']:>9.1f}{t['p95_ms']:>9.1f}{t['p99_ms']:>9.1f}"
        )
    print()
    verdict = "PASS" if figures["passed"] else "FAIL"
    print(
        f"ratio real/reference: {figures['ratio']:.2f}"
        f"   target: real >= {figures['target_ratio']} x reference   {verdict}"
    )
    for name, t in targets.items():
        if t["error_kinds"]:
            print(f"errors of {name}: {t['error_kinds']}")
        if t["cpu_other_percent"] > 100 * OTHER_CPU_WARNING:
            print(
                f"warning: other processes took {t['cpu_other_percent']:.0f}% of the CPU used"
                f" while {name} was measured; rerun on a quiet machine or with --rounds"
            )
    print()
    print("CPU ms per complaint" + "".join(f"{g:>9}" for g in CPU_GROUPS) + "   box busy")
    for name, t in targets.items():
        per = t["cpu_ms_per_complaint"]
        print(
            f"{name:<20}"
            + "".join(f"{per[g]:>9.2f}" for g in CPU_GROUPS)
            + f"{t['cpu_busy_percent']:>9.0f}%"
        )
    print(
        f"server CPU per complaint, reference/real: {figures['server_cpu_ratio']:.2f}"
        " (the ratio the throughput tends to on a saturated box, whatever else runs on it)"
    )
    real, ref = targets["real API"]["stored"], targets["reference"]["stored"]
    per_complaint = real["tasks queued"] / max(real["complaints"], 1)
    print(
        f"stored: real API {real['complaints']} complaints, {real['deliveries']} delivery rows,"
        f" {real['tasks queued']} tasks queued ({per_complaint:.2f} per complaint);"
        f" reference {ref['rows']} rows, {ref['tasks queued']} tasks queued"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGINT and SIGTERM unwind as KeyboardInterrupt, so the services are stopped and the
    # database dropped (SIGINT explicitly too: a shell starts background jobs ignoring it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        figures = run(args)
    except ServiceError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("bench: interrupted; services stopped, database dropped", file=sys.stderr)
        return 130
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
