"""Closed-loop HTTP load: a few processes, a few threads each, one keep-alive connection each.

Every thread sends a POST, waits for the whole response, and sends the next one at once (no think
time), so the offered load adapts to the server: throughput is what the server sustains at a
fixed number of requests in flight. ``http.client`` keeps the client's own CPU cost per request
small; with two cores shared by servers, PostgreSQL and Redis, that matters, and it is the same
for every target.

Only the standard library is imported here: the load processes are forked from the benchmark and
should not carry more than they need.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import multiprocessing
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the load goes: ``POST http://host:port/path`` with ``headers``."""

    name: str
    host: str
    port: int
    path: str
    headers: dict[str, str]
    #: The status a successful request must have; anything else counts as an error.
    expect: int = 202


@dataclasses.dataclass(frozen=True)
class Window:
    """Monotonic-clock instants shared by all load processes (CLOCK_MONOTONIC is system-wide)."""

    start: float
    measure_from: float
    stop: float

    @property
    def seconds(self) -> float:
        return self.stop - self.measure_from


@dataclasses.dataclass
class Result:
    """What completed inside the measured window (warm-up requests are not counted)."""

    target: str
    seconds: float
    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: Counter = dataclasses.field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def requests(self) -> int:
        return self.ok + sum(self.errors.values())

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of successful requests' latency, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    def add(self, other: Result) -> None:
        """Count ``other``'s requests in this result (same window: the time stays)."""
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)


def combine(rounds: list[Result]) -> Result:
    """One result for several measured windows of the same target: requests and time add up."""
    total = Result(rounds[0].target, sum(r.seconds for r in rounds))
    for result in rounds:
        total.add(result)
    return total


def run(
    target: Target,
    bodies: list[dict],
    *,
    concurrency: int,
    processes: int,
    warmup: float,
    seconds: float,
    id_prefix: str,
    on_window: Callable[[Window], None] | None = None,
) -> Result:
    """Load ``target`` with ``concurrency`` clients for ``warmup`` + ``seconds``.

    Each request is one of ``bodies`` (rotating) with a unique ``wadule_id`` built from
    ``id_prefix``. ``on_window`` runs in this process while the load runs (the benchmark samples
    CPU counters there) and must return by ``window.stop``.
    """
    processes = max(1, min(processes, concurrency))
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    begin = time.monotonic() + 0.5  # time for the processes to fork and connect
    window = Window(begin, begin + warmup, begin + warmup + seconds)
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_leave_signals_to_parent) as pool:
        pending = pool.starmap_async(
            _load_process,
            [
                (target, bodies, sum(shares[:index]), threads, window, f"{id_prefix}-p{index}")
                for index, threads in enumerate(shares)
            ],
        )
        if on_window is not None:
            on_window(window)
        parts = pending.get(timeout=warmup + seconds + 120)
        pool.close()
        pool.join()
    total = Result(target.name, window.seconds)
    for part in parts:
        total.add(part)
    return total


def post_once(target: Target, body: dict) -> tuple[int, str]:
    """Send one request on a new connection; return the status and the response text."""
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", **target.headers}
        conn.request("POST", target.path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def _leave_signals_to_parent() -> None:
    # Ctrl-C is the parent's to handle: it stops the pool and cleans up the services. SIGTERM
    # (how the pool stops its processes) must not inherit the parent's KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _load_process(
    target: Target,
    bodies: list[dict],
    first_client: int,
    threads: int,
    window: Window,
    id_prefix: str,
) -> Result:
    result = Result(target.name, window.seconds)
    lock = threading.Lock()
    workers = [
        threading.Thread(
            target=_client,
            args=(target, bodies, window, f"{id_prefix}t{i}", first_client + i, result, lock),
        )
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return result


def _client(
    target: Target,
    bodies: list[dict],
    window: Window,
    id_prefix: str,
    offset: int,
    result: Result,
    lock: threading.Lock,
) -> None:
    headers = {"Content-Type": "application/json", **target.headers}
    latencies: list[float] = []
    errors: Counter = Counter()
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    time.sleep(max(0.0, window.start - time.monotonic()))
    sent = 0
    while time.monotonic() < window.stop:
        payload = dict(bodies[(offset + sent) % len(bodies)])
        payload["wadule_id"] = f"{id_prefix}n{sent}"
        data = json.dumps(payload).encode()
        sent += 1
        began = time.monotonic()
        try:
            conn.request("POST", target.path, body=data, headers=headers)
            response = conn.getresponse()
            response.read()
            outcome: int | str = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # the next request opens a new connection
            outcome = type(exc).__name__
        finished = time.monotonic()
        if window.measure_from <= finished <= window.stop:
            if outcome == target.expect:
                latencies.append(finished - began)
            else:
                errors[str(outcome)] += 1
    conn.close()
    with lock:
        result.add(Result(target.name, window.seconds, latencies, errors))
