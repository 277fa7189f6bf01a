"""Counters and histograms that operators alert on, correct across processes.

What is counted (every label has a small, fixed set of values):

- ``bridge_http_requests_total{endpoint,method,status}`` and
  ``bridge_http_request_duration_seconds{endpoint}``: ``endpoint`` is the Flask URL rule
  (``/api/v1/complaints/<wadule_id>``), never the path; ``unmatched`` for a 404.
- ``bridge_provider_calls_total{kind,outcome}`` and ``bridge_provider_call_duration_seconds{kind}``:
  each call of a channel adapter (sandbox mode calls none).
- ``bridge_deliveries_finished_total{kind,outcome}``: outbox rows that reached ``sent``, ``dead``
  or ``needs_review`` through a worker.
- ``bridge_callbacks_pushed_total{outcome}``: event pushes to Wadule (delivered, retrying,
  failed, stopped).
- ``bridge_commands_handled_total{source,result}``: group messages from WAHA or Telegram:
  ``applied`` (a status or office changed), ``answered`` (refused or not understood: the
  bridge answered in the group) or ``ignored`` (chatter, a repeat).

Processes. gunicorn's workers and Celery's pool processes each count in memory-mapped files
(prometheus-client's multiprocess mode). Every process tree has its own folder under
``BRIDGE_METRICS_DIR`` (default ``instance/metrics``), named after the tree (``api-8000@host``,
the Celery node name ``private@host``), which the tree's parent empties when it starts: the
gunicorn arbiter (:func:`bridge.server.serve`) and the Celery worker's main process
(``worker_init``, workers/celery.py). ``/metrics`` on the API reads every tree's folder and
labels each series with its tree (``process``), so a restarted tree resets only its own series,
which Prometheus' ``rate()`` takes for what it is. The API and the workers must therefore see
the same folder: one machine (``wadule-bridge run``, systemd units in one working directory), or
a volume shared by the containers. Beat and the CLI count nothing.

prometheus-client decides at import time whether it runs in multiprocess mode (the variable
``PROMETHEUS_MULTIPROC_DIR``), so this module imports it only when the first value is counted,
and the entry points set the variable before that (:func:`use_folder`). A process without it
(tests, a Python shell) counts in memory and ``/metrics`` shows its own counts.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The label that names the process tree a series was counted in (multiprocess mode).
TREE_LABEL = "process"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FINISHED = frozenset({"sent", "dead", "needs_review"})
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "unmatched"
_ENDPOINT_KEY = "bridge.endpoint"

_lock = threading.Lock()
_instruments = None


class _Instruments:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        #: This process's own counts, shown by /metrics outside multiprocess mode.
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "bridge_http_requests",
            "HTTP requests by URL rule, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "bridge_http_request_duration_seconds",
            "Time to answer an HTTP request, by URL rule",
            ["endpoint"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.provider_calls = Counter(
            "bridge_provider_calls",
            "Provider calls by channel kind and outcome",
            ["kind", "outcome"],
            registry=r,
        )
        self.provider_duration = Histogram(
            "bridge_provider_call_duration_seconds",
            "Time a provider took to answer, by channel kind",
            ["kind"],
            buckets=PROVIDER_BUCKETS,
            registry=r,
        )
        self.deliveries_finished = Counter(
            "bridge_deliveries_finished",
            "Deliveries that reached sent, dead or needs_review, by channel kind",
            ["kind", "outcome"],
            registry=r,
        )
        self.callbacks_pushed = Counter(
            "bridge_callbacks_pushed",
            "Event pushes to Wadule by outcome",
            ["outcome"],
            registry=r,
        )
        self.commands_handled = Counter(
            "bridge_commands_handled",
            "Group messages by source and what the bridge did with them",
            ["source", "result"],
            registry=r,
        )


def _m() -> _Instruments:
    global _instruments
    if _instruments is None:
        with _lock:
            if _instruments is None:
                _instruments = _Instruments()
    return _instruments


def _safely(count) -> None:
    # Counting must never break the work it counts.
    with contextlib.suppress(Exception):
        count()


def http_request(endpoint: str, method: str, status: int | str, seconds: float) -> None:
    method = method if method in HTTP_METHODS else "other"

    def count():
        m = _m()
        m.http_requests.labels(endpoint, method, str(status)).inc()
        m.http_duration.labels(endpoint).observe(seconds)

    _safely(count)


def provider_call(kind: str, outcome: str, seconds: float) -> None:
    def count():
        m = _m()
        m.provider_calls.labels(kind, str(outcome)).inc()
        m.provider_duration.labels(kind).observe(seconds)

    _safely(count)


def delivery_finished(kind: str, outcome: str) -> None:
    """Count a row that reached a final outcome (others, such as ``retrying``, are not)."""
    if str(outcome) in FINISHED:
        _safely(lambda: _m().deliveries_finished.labels(kind, str(outcome)).inc())


def callback_pushed(outcome: str) -> None:
    _safely(lambda: _m().callbacks_pushed.labels(str(outcome)).inc())


def command_handled(source: str, outcome) -> None:
    """Count what :func:`bridge.commands.handle` made of a group message."""
    if outcome.status != "handled":
        result = "ignored"
    else:
        result = "applied" if outcome.changed else "answered"
    _safely(lambda: _m().commands_handled.labels(source, result).inc())


# Process trees and their folders


def tree_name(role: str, hostname: str | None = None) -> str:
    """``role@host``: the folder (and ``process`` label) of one process tree."""
    return f"{role}@{hostname or socket.gethostname()}"


def use_folder(settings, tree: str | None = None, *, empty: bool = False) -> Path:
    """Count in ``BRIDGE_METRICS_DIR`` from now on in this process and its children: in
    ``tree``'s own folder (emptied first with ``empty``: the tree's parent does it when it
    starts), or, without ``tree``, the shared folder itself, read by nobody (a process that
    must be in multiprocess mode before it knows its tree, see workers/celery.py).

    Must run before prometheus-client is imported for multiprocess mode to take effect.
    """
    base = Path(settings.metrics_dir)
    folder = base / tree if tree else base
    if empty and tree:
        shutil.rmtree(folder, ignore_errors=True)
    from bridge.instance import private_dir

    private_dir(base)
    private_dir(folder)
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder


def multiprocess() -> bool:
    """Whether this process counts in files (prometheus-client imported in multiprocess mode)."""
    values = sys.modules.get("prometheus_client.values")
    if values is None:
        return MULTIPROC_ENV in os.environ
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def process_ended(pid: int) -> None:
    """Tidy up after a process of this tree ended (gunicorn's ``child_exit``, Celery's
    ``worker_process_shutdown``): prometheus-client drops its live-gauge files. Counters and
    histograms stay, so totals never go down while the tree runs."""
    if not multiprocess() or not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess as mp

    with contextlib.suppress(OSError):
        mp.mark_process_dead(pid)


class TreesCollector:
    """Every process tree's counts under ``base``, each series labelled with its tree."""

    def __init__(self, base: str | Path):
        self.base = Path(base)

    def collect(self):
        from prometheus_client.metrics_core import Metric
        from prometheus_client.multiprocess import MultiProcessCollector

        families: dict[str, Metric] = {}
        for folder in sorted(p for p in self.base.glob("*") if p.is_dir()):
            files = sorted(glob.glob(str(folder / "*.db")))
            if not files:
                continue
            try:
                merged = MultiProcessCollector.merge(files, accumulate=True)
            except (OSError, ValueError):
                continue  # a tree emptying its folder at this moment
            for metric in merged:
                family = families.get(metric.name)
                if family is None:
                    family = families[metric.name] = Metric(
                        metric.name, metric.documentation, metric.type
                    )
                family.samples.extend(
                    s._replace(labels={**s.labels, TREE_LABEL: folder.name}) for s in metric.samples
                )
        yield from families.values()


class _OwnCounts:
    def collect(self):
        return _m().registry.collect()


def collectors(settings) -> Iterable:
    """What ``/metrics`` shows of the counters: every tree's files in multiprocess mode, this
    process's own counts otherwise."""
    if multiprocess():
        return [TreesCollector(settings.metrics_dir)]
    return [_OwnCounts()]


# HTTP


class _Timed:
    """WSGI middleware: time each request and count it under its URL rule and status."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status: list[str] = []

        def start(code, headers, exc_info=None):
            status[:] = [code.split(" ", 1)[0]]
            return start_response(code, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            http_request(
                environ.get(_ENDPOINT_KEY, UNMATCHED),
                environ.get("REQUEST_METHOD", ""),
                status[0] if status else "500",
                time.perf_counter() - started,
            )


def _note_endpoint(sender, **_extra) -> None:
    from flask import request

    rule = request.url_rule
    request.environ[_ENDPOINT_KEY] = _label(rule.rule) if rule is not None else UNMATCHED


def init_app(app) -> None:
    """Count and time every request of ``app``."""
    from flask import request_started

    request_started.connect(_note_endpoint, app)
    app.wsgi_app = _Timed(app.wsgi_app)


_CONVERTER = re.compile(r"<[^:<>]+:([^<>]+)>")


def _label(rule: str) -> str:
    """The URL rule as operators read it: ``/api/v1/complaints/<wadule_id>`` (converters left
    out, so the label does not change with how a parameter is checked)."""
    return _CONVERTER.sub(r"<\1>", rule)
