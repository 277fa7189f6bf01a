"""Celery wiring (as Flask's ``examples/celery`` does it) and the doorbells, rung after commit.

The Flask app never imports worker modules: it publishes tasks by their stable names. Every task
runs inside the app context, so domain code reads settings and the session the same way as the
API does.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from bridge import logs
from bridge.errors import chain
from bridge.statuses import Lane

#: How often beat wakes the outbox (see bridge.outbox.sweeper; kept here so that this module
#: needs nothing from the outbox at import time).
WAKE_INTERVAL = 1.0
#: Seconds a process gathers doorbells after ringing one (see :class:`Doorbell`).
RING_WINDOW = 0.05

log = logging.getLogger(__name__)

DELIVER_TASK = "bridge.deliver"
SWEEP_TASK = "bridge.sweep_outbox"
WAKE_TASK = "bridge.wake_outbox"
PUSH_TASK = "bridge.push_events"
CHECK_TASK = "bridge.check_channels"
PRUNE_TASK = "bridge.prune"
SLA_TASK = "bridge.sla_ladder"
WEEKLY_REPORT_TASK = "bridge.weekly_report"
#: Checking every channel may wait on many slow providers (each call is bounded).
CHECK_TIME_LIMIT = 900

#: One queue per lane: a worker serving the private lane never waits behind public posts.
QUEUES = {Lane.PRIVATE: "bridge.private", Lane.PUBLIC: "bridge.public"}
#: Housekeeping (waker, sweeper, event pusher) is short and goes with the private lane.
HOUSEKEEPING_QUEUE = QUEUES[Lane.PRIVATE]

#: Redis hands an unacknowledged task to another worker after this long, so it must stay above
#: the task time limit (at most 1800 s, see settings). No task is ever scheduled with a
#: countdown: waits live in the rows (bridge.outbox.sweeper).
VISIBILITY_TIMEOUT = 3600


def celery_config(settings) -> dict:
    """The Celery settings that make a Redis broker safe for at-least-once delivery."""
    if settings.embedded_broker:
        # kombu's SQLAlchemy transport hands its options to create_engine(); it has no
        # visibility timeout (unacked messages return when the worker's connection closes).
        Path("instance").mkdir(exist_ok=True)
        transport_options: dict = {"connect_args": {"timeout": 30}}
    else:
        transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}
        if settings.broker_url.startswith(("redis://", "rediss://")):
            transport_options |= {"socket_connect_timeout": 5, "socket_keepalive": True}
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_channel_error_retry": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 10.0,
        "worker_enable_soft_shutdown_on_idle": True,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_time_limit - min(20.0, settings.task_time_limit / 4),
        "task_ignore_result": True,
        "task_default_queue": HOUSEKEEPING_QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "beat_schedule_filename": str(Path("instance") / "celerybeat-schedule"),
        "beat_schedule": {
            "wake-outbox": {
                "task": WAKE_TASK,
                "schedule": WAKE_INTERVAL,
                # A wake-up older than the next one is worth nothing.
                "options": {"queue": HOUSEKEEPING_QUEUE, "expires": 10 * WAKE_INTERVAL},
            },
            "sweep-outbox": {
                "task": SWEEP_TASK,
                "schedule": settings.sweep_interval,
                "options": {"queue": HOUSEKEEPING_QUEUE},
            },
            "push-events": {
                "task": PUSH_TASK,
                "schedule": settings.sweep_interval,
                "options": {"queue": HOUSEKEEPING_QUEUE},
            },
            # Daily, before the offices open: 06:30 WIB (23:30 UTC).
            "check-channels": {
                "task": CHECK_TASK,
                "schedule": crontab(minute=30, hour=23),
                "options": {"queue": HOUSEKEEPING_QUEUE},
            },
            # Every minute: reminders and escalations that are due (bridge.sla). A run that
            # has waited past the next one is worth nothing: the next one does the same.
            "sla-ladder": {
                "task": SLA_TASK,
                "schedule": 60.0,
                "options": {"queue": HOUSEKEEPING_QUEUE, "expires": 60.0},
            },
            # Daily, at night: 03:15 WIB (20:15 UTC).
            "prune": {
                "task": PRUNE_TASK,
                "schedule": crontab(minute=15, hour=20),
                "options": {"queue": HOUSEKEEPING_QUEUE},
            },
            **_weekly_report_entry(settings),
        },
        "timezone": "UTC",
    }


def weekly_report_crontab(when) -> crontab:
    """``BRIDGE_WEEKLY_REPORT`` (a weekday and time in WIB) as a crontab in UTC, beat's
    timezone: ``Mon 07:00`` WIB is Monday 00:00 UTC, ``Mon 03:00`` WIB is Sunday 20:00 UTC."""
    # 1 January 2024 was a Monday: any week serves, WIB has no daylight saving.
    local = dt.datetime.combine(dt.date(2024, 1, 1) + dt.timedelta(days=when.weekday), when.time)
    utc = local - dt.timedelta(hours=7)
    # crontab counts days of the week from Sunday (0), Python from Monday.
    return crontab(minute=utc.minute, hour=utc.hour, day_of_week=(utc.weekday() + 1) % 7)


def _weekly_report_entry(settings) -> dict:
    if settings.weekly_report is None:  # BRIDGE_WEEKLY_REPORT=off
        return {}
    return {
        "weekly-report": {
            "task": WEEKLY_REPORT_TASK,
            "schedule": weekly_report_crontab(settings.weekly_report),
            "options": {"queue": HOUSEKEEPING_QUEUE},
        }
    }


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app``; tasks run inside its app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(app.config["BRIDGE_SETTINGS"]))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def init_app(app: Flask) -> None:
    """Ring the broker from one place: after the commit of the session that made the work.

    Code that writes outbox rows or events asks for a doorbell with :func:`ring` or
    :func:`push_events` on its session; the hook publishes once that transaction has committed
    (so a worker never looks for rows it cannot see yet) and forgets the request when it rolls
    back (so nothing is rung for work that does not exist). After pypa/warehouse's
    ``addAfterCommitHook``.
    """
    factory = app.extensions["bridge.db"]
    factory.kw.setdefault("info", {})["app"] = app
    app.extensions["bridge.doorbell"] = Doorbell(app)
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_transaction_end", _after_transaction_end)


_RING = "bridge.ring"
_PUSH = "bridge.push_events"

#: ``(delivery id, lane)``: what a doorbell needs to know of a row.
Row = tuple[int, Lane | str]


def ring(db: Session, rows: Iterable[Row]) -> None:
    """Publish delivery tasks for ``rows`` once ``db`` commits."""
    db.info.setdefault(_RING, []).extend((row_id, Lane(lane)) for row_id, lane in rows)


def push_events(db: Session) -> None:
    """Ask a worker to push due events to Wadule once ``db`` commits (beat asks again every
    sweep, so a lost doorbell only delays them)."""
    db.info[_PUSH] = True


def _after_commit(db: Session) -> None:
    rows, push = db.info.pop(_RING, None), db.info.pop(_PUSH, False)
    if not rows and not push:
        return
    app = db.info.get("app")
    with app.app_context() if app is not None and not has_app_context() else nullcontext():
        if rows:
            current_app.extensions["bridge.doorbell"].ring(list(dict.fromkeys(rows)))
        if push:
            ring_events()


def _after_transaction_end(db: Session, transaction) -> None:
    if transaction.parent is None:
        # A root transaction ended without a commit (rolled back or closed): nothing to ring.
        db.info.pop(_RING, None)
        db.info.pop(_PUSH, None)


class Doorbell:
    """The delivery doorbells of one process, gathered while they come thick and fast.

    A doorbell after a quiet spell is published at once, by the thread that rang it. Doorbells
    rung within :data:`RING_WINDOW` of the last one published wait for the window to end and go
    out together from a timer thread: one task per lane and batch for all of them. At 200
    complaints a second a process then publishes some 40 tasks a second instead of 300 (a
    task costs ~0.8 ms of CPU in Celery and kombu, a fifth of an ingest), and a row waits at
    most the window longer for its worker; the deliver task drains other due rows of its lane
    anyway. What is gathered when the process exits is published on the way out; a process
    killed outright leaves it to the sweeper, as a lost doorbell.
    """

    def __init__(self, app: Flask, window: float = RING_WINDOW):
        self.app = app
        self.window = window
        self._start(os.getpid())
        _DOORBELLS.add(self)

    def _start(self, pid: int) -> None:
        self._pid = pid
        self._lock = threading.Lock()
        self._waiting: list[Row] = []
        self._timer: threading.Timer | None = None
        self._last = -float("inf")

    def ring(self, rows: list[Row]) -> None:
        now = time.monotonic()
        if os.getpid() != self._pid:  # a forked child (a pool process): nothing is inherited
            self._start(os.getpid())
        with self._lock:
            if self._timer is None and now - self._last >= self.window:
                self._last = now
            else:
                self._waiting.extend(rows)
                if self._timer is None:
                    self._timer = threading.Timer(self._last + self.window - now, self.flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
        ring_or_forget(rows)

    def flush(self) -> None:
        """Publish what has been gathered (the timer's work; also at exit)."""
        with self._lock:
            rows, self._waiting, timer, self._timer = self._waiting, [], self._timer, None
            if rows:  # publishing now: the window starts again
                self._last = time.monotonic()
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()  # flushed early (at exit): the timer has nothing left to do
        if not rows or os.getpid() != self._pid:
            return
        try:
            with self.app.app_context(), logs.request_id_scope(None):
                ring_or_forget(list(dict.fromkeys(rows)))
        except Exception as exc:  # the database is gone too: the sweeper publishes them later
            log.warning(
                "doorbell for %d deliveries not rung (%s); the sweeper will publish them",
                len(rows),
                chain(exc),
            )


_DOORBELLS: weakref.WeakSet[Doorbell] = weakref.WeakSet()


@atexit.register
def _flush_doorbells() -> None:
    for doorbell in list(_DOORBELLS):
        doorbell.flush()


def publish(rows: Iterable[Row]) -> list[int]:
    """Publish delivery tasks for ``rows`` now, to each row's lane; return the ids published.

    One task carries up to ``BRIDGE_DELIVERY_BATCH`` ids (a complaint's rows of one lane travel
    together), so the broker sees a message per batch, not per row. A broker that is down or
    wiped only delays work: the rows are committed already and the sweeper publishes them
    again, so a failure here is logged, never raised to the caller.
    """
    celery_app: Celery = current_app.extensions["celery"]
    batch = current_app.config["BRIDGE_SETTINGS"].delivery_batch
    by_lane: dict[Lane, list[int]] = {}
    for row_id, lane in rows:
        by_lane.setdefault(Lane(lane), []).append(row_id)
    published: list[int] = []
    if not by_lane:
        return published
    try:
        with celery_app.producer_or_acquire() as producer:
            for lane, ids in sorted(by_lane.items()):
                for start in range(0, len(ids), batch):
                    chunk = ids[start : start + batch]
                    celery_app.send_task(
                        DELIVER_TASK,
                        args=[chunk],
                        kwargs={"lane": lane.value},
                        queue=QUEUES[lane],
                        headers=logs.task_headers(),
                        producer=producer,
                        retry=True,
                        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
                    )
                    published += chunk
    except Exception as exc:  # any broker failure: the sweeper will publish these later
        total = sum(len(ids) for ids in by_lane.values())
        log.warning(
            "broker publish failed after %d of %d deliveries (%s); the waker will retry",
            len(published),
            total,
            type(exc).__name__,
        )
    return published


def ring_or_forget(rows: list[Row]) -> int:
    """Publish for ``rows``; rows the broker did not take lose their ``published_at``, so the
    waker publishes them within a second instead of the sweeper after its grace period."""
    published = set(publish(rows))
    missed = [row_id for row_id, _lane in rows if row_id not in published]
    if missed:
        from bridge.db import engine_of
        from bridge.models import Delivery

        with engine_of().begin() as conn:
            conn.execute(
                update(Delivery.__table__)
                .where(Delivery.__table__.c.id.in_(missed))
                .values(published_at=None)
            )
    return len(published)


def ring_events() -> None:
    """Ask a worker to push due events to Wadule now (beat asks again every sweep)."""
    if not current_app.config["BRIDGE_SETTINGS"].wadule_callback_url:
        return
    celery_app: Celery = current_app.extensions["celery"]
    try:
        celery_app.send_task(
            PUSH_TASK, queue=HOUSEKEEPING_QUEUE, headers=logs.task_headers(), retry=False
        )
    except Exception as exc:  # beat rings again within one sweep interval
        log.warning("broker publish failed for the event pusher (%s)", type(exc).__name__)
