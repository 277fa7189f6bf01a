"""Celery wiring (as Flask's ``examples/celery`` does it) and the doorbell the API rings.

The Flask app never imports worker modules: it publishes tasks by their stable names. Every task
runs inside the app context, so domain code reads settings and the session the same way as the
API does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from celery import Celery, Task
from flask import Flask, current_app
from sqlalchemy import update

log = logging.getLogger(__name__)

DELIVER_TASK = "bridge.deliver"
SWEEP_TASK = "bridge.sweep_outbox"
PUSH_TASK = "bridge.push_events"
QUEUE = "bridge"

#: Redis hands an unacknowledged task to another worker after this long, so it must stay above
#: the task time limit (at most 1800 s, see settings) and above the longest broker countdown.
VISIBILITY_TIMEOUT = 3600
#: Waits up to this long are scheduled on the broker; longer ones are left to the sweeper.
MAX_COUNTDOWN = 300.0


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
        "task_default_queue": QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "beat_schedule_filename": str(Path("instance") / "celerybeat-schedule"),
        "beat_schedule": {
            "sweep-outbox": {"task": SWEEP_TASK, "schedule": settings.sweep_interval},
            "push-events": {"task": PUSH_TASK, "schedule": settings.sweep_interval},
        },
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


def ring(delivery_ids: Iterable[int]) -> int:
    """Publish delivery tasks for ``delivery_ids``; return how many ids were published.

    One task carries up to ``BRIDGE_DELIVERY_BATCH`` ids (a complaint's rows travel together),
    so the broker sees a message per batch, not per row. A broker that is down or wiped only
    delays work: the rows are committed already and the sweeper publishes them again, so a
    failure here is logged, never raised to the caller.
    """
    celery_app: Celery = current_app.extensions["celery"]
    batch = current_app.config["BRIDGE_SETTINGS"].delivery_batch
    published = 0
    ids = list(delivery_ids)
    if not ids:
        return 0
    try:
        with celery_app.producer_or_acquire() as producer:
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                celery_app.send_task(
                    DELIVER_TASK,
                    args=[chunk],
                    queue=QUEUE,
                    producer=producer,
                    retry=True,
                    retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
                )
                published += len(chunk)
    except Exception as exc:  # any broker failure: the sweeper will publish these later
        log.warning(
            "broker publish failed after %d of %d deliveries (%s); the sweeper will retry",
            published,
            len(ids),
            type(exc).__name__,
        )
    return published


def ring_or_forget(db, delivery_ids: list[int]) -> int:
    """Ring for ``delivery_ids``; rows the broker did not take lose their ``published_at``.

    The sweeper then publishes them on its next pass instead of waiting out its grace period.
    """
    published = ring(delivery_ids)
    missed = delivery_ids[published:]
    if missed:
        from bridge.models import Delivery

        db.execute(
            update(Delivery)
            .where(Delivery.id.in_(missed))
            .values(published_at=None)
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return published


def ring_later(delivery_id: int, countdown: float) -> None:
    """Publish one delivery task to run after ``countdown`` seconds (kept short: see sweeper)."""
    celery_app: Celery = current_app.extensions["celery"]
    try:
        celery_app.send_task(
            DELIVER_TASK, args=[[delivery_id]], queue=QUEUE, countdown=max(0.0, countdown)
        )
    except Exception as exc:  # the row keeps its time; the sweeper publishes it when due
        log.warning("broker publish failed for delivery %s (%s)", delivery_id, type(exc).__name__)


def ring_events() -> None:
    """Ask a worker to push due events to Wadule now (beat asks again every sweep)."""
    if not current_app.config["BRIDGE_SETTINGS"].wadule_callback_url:
        return
    celery_app: Celery = current_app.extensions["celery"]
    try:
        celery_app.send_task(PUSH_TASK, queue=QUEUE, retry=False)
    except Exception as exc:  # beat rings again within one sweep interval
        log.warning("broker publish failed for the event pusher (%s)", type(exc).__name__)
