"""One log format for every process (API, worker, beat, the CLI), and the request id.

:func:`configure_logging` is called once by each entry point: the ``wadule-bridge`` group
callback (every command, ``serve``'s gunicorn workers inherit it), and Celery's ``setup_logging``
signal (``celery -A workers.celery worker`` started by hand). ``BRIDGE_LOG_FORMAT=text`` writes

    2026-11-28T03:00:00.123Z INFO worker[4242] bridge.outbox.engine [9f1c...] delivery 12 ...

(time in UTC, level, process role and pid, logger, request id or ``-``, message);
``BRIDGE_LOG_FORMAT=json`` writes one JSON object a line with the keys of :data:`JSON_KEYS`
(``exception`` added when there is one).

An exception attached to a record is written as its type chain and frames only
(:func:`bridge.errors.describe`): a driver's message can quote a failing row, reporter data and
all, and that holds for any library that logs with ``exc_info`` too.

The request id comes from ``X-Request-ID`` when it is short and plain (:func:`valid_request_id`),
else it is made here; it is sent back on the response, written on every line logged while the
request runs, and travels to the tasks the request publishes (:func:`task_headers`), whose log
lines then carry it too (workers/celery.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

from bridge.errors import describe

REQUEST_ID_HEADER = "X-Request-ID"
#: The task header (and request attribute in the worker) that carries the request id.
TASK_HEADER = "bridge_request_id"
JSON_KEYS = ("time", "level", "process", "pid", "logger", "request_id", "message")
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Each CLI command's process role in the log lines.
ROLES = {"serve": "api", "worker": "worker", "beat": "beat", "run": "run"}

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bridge_request_id", default=None
)
_process = "cli"


def request_id() -> str | None:
    """The id of the request (or of the request behind the task) being handled, if any."""
    return _request_id.get()


def valid_request_id(value: Any) -> str | None:
    """``value`` when it is a usable request id (1-64 of ``A-Za-z0-9._-``), else None."""
    if isinstance(value, str) and _VALID_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_id_scope(value: str | None) -> Iterator[str | None]:
    """Log with request id ``value`` inside the block (None: without one)."""
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


def set_request_id(value: str | None) -> contextvars.Token:
    """Set the request id until :func:`reset_request_id` (for signal pairs such as Celery's
    ``task_prerun``/``task_postrun``, which cannot hold a ``with`` block)."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def task_headers() -> dict[str, str] | None:
    """The headers that carry the current request id to a task, or None without one."""
    current = request_id()
    return {TASK_HEADER: current} if current else None


def process_role() -> str:
    """The role this process logs as (``api``, ``worker``, ``beat``, ``run``, ``cli``)."""
    return _process


def _timestamp(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _SafeExceptions(logging.Formatter):
    def formatException(self, ei) -> str:
        # Types and places only, never what the exception says (see the module docstring).
        error = ei[1]
        return describe(error) if error is not None else ""


class TextFormatter(_SafeExceptions):
    """``time LEVEL role[pid] logger [request id] message``."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_timestamp(record)} {record.levelname} {_process}[{record.process}]"
            f" {record.name} [{request_id() or '-'}] {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(_SafeExceptions):
    """One JSON object a line, keys :data:`JSON_KEYS` (and ``exception`` when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "process": _process,
            "pid": record.process,
            "logger": record.name,
            "request_id": request_id(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Demote(logging.Filter):
    """Routine lines of a chatty logger go to DEBUG: Celery says "Sending due task" for the
    waker every second, and "received"/"succeeded" for every task it runs."""

    def __init__(self, *messages: str):
        super().__init__()
        self.messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        routine = (
            record.levelno == logging.INFO
            and isinstance(record.msg, str)
            and record.msg.startswith(self.messages)
        )
        if routine:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


#: Logger -> the beginnings of the messages it writes at INFO that are routine.
ROUTINE = {
    "celery.beat": ("Scheduler: Sending due task",),
    "celery.app.trace": ("Task %(name)s[%(id)s] succeeded",),
    "celery.worker.strategy": ("Task %(name)s[%(id)s] received",),
    "alembic.runtime.plugins": ("setup plugin",),
}


class _Handler(logging.StreamHandler):
    """The handler :func:`configure_logging` installs (found again by its class)."""


def configure_logging(
    settings=None, *, process: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record of this process to ``stream`` (standard error) in the format of
    ``settings.log_format``, as ``process`` (``api``, ``worker``, ...; kept when None).

    Safe to call again: the handler installed before is replaced, other handlers are left.
    """
    global _process
    if process is not None:
        _process = process
    formatter = (
        JsonFormatter() if getattr(settings, "log_format", "text") == "json" else TextFormatter()
    )
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(formatter)
    # billiard's "multiprocessing" logger does not propagate (a pool process that died).
    for logger in (logging.getLogger(), logging.getLogger("multiprocessing")):
        for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # Python's warnings as log lines too
    logging.getLogger("bridge").setLevel(logging.INFO)
    for name, messages in ROUTINE.items():
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _Demote)]:
            logger.removeFilter(old)
        logger.addFilter(_Demote(*messages))
    return handler


def role_for(command: str | None) -> str:
    """The process role of a ``wadule-bridge`` command (``serve`` -> ``api``)."""
    return ROLES.get(command or "", "cli")


class RequestIdMiddleware:
    """WSGI middleware: a request id for every request, in the log context and the response.

    Wrapping the whole app (not a ``before_request`` hook) makes the id cover everything the
    request logs, error handlers and teardown included, and answer even a 404 with it.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_"))
        current = valid_request_id(given) or new_request_id()
        environ["bridge.request_id"] = current

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, current))
            return start_response(status, headers, exc_info)

        with request_id_scope(current):
            return self.wsgi_app(environ, start)


def init_app(app) -> None:
    """Give every request of ``app`` a request id (see :class:`RequestIdMiddleware`)."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
