"""The tasks. Each takes ids, calls domain code, and returns a short outcome summary.

A task that fails is logged by its exception's type and place only, and Celery is handed an
exception without the original message (:func:`told_safely`): a database driver's message can
quote a failing row, reporter data and all.
"""

from __future__ import annotations

import functools
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from bridge import callbacks, checks, outbox, reports, retention, sla
from bridge import db as database
from bridge.channels.base import Verdict
from bridge.errors import chain, describe
from bridge.models import utcnow
from bridge.queue import (
    CHECK_TASK,
    CHECK_TIME_LIMIT,
    DELIVER_TASK,
    PRUNE_TASK,
    PUSH_TASK,
    SLA_TASK,
    SWEEP_TASK,
    WAKE_TASK,
    WEEKLY_REPORT_TASK,
)
from workers import stopping

log = logging.getLogger(__name__)


class TaskFailed(Exception):
    """A task's failure, told by the types of its exception chain only."""


def told_safely(task):
    """Log a task's unexpected exception without its message; hand Celery one without it."""

    @functools.wraps(task)
    def wrapper(*args, **kwargs):
        try:
            return task(*args, **kwargs)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            log.error("task %s failed: %s", task.__name__, describe(exc))
            raise TaskFailed(chain(exc)) from None

    return wrapper


@shared_task(name=DELIVER_TASK, ignore_result=True)
@told_safely
def deliver(delivery_ids: list[int] | int, lane: str | None = None) -> dict:
    """Attempt these outbox rows, and other due ones of their lane up to a batch; retries are
    scheduled by the domain code through the rows. (A bare id, or no lane, is a message from
    an older version.)"""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    with stopping.batch_running():
        summary = outbox.deliver_batch(ids, lane=lane, stop=stopping.requested).summary()
    if stopping.terminated():
        # The pool terminated this process mid-batch (see workers.stopping): the batch has
        # recorded its outcomes and handed back the rest; now die as asked.
        stopping.end_process()
    return summary


@shared_task(name=WAKE_TASK, ignore_result=True)
@told_safely
def wake_outbox() -> int:
    """Ring for rows whose retry, rate limit or provider wait is over."""
    return outbox.wake()


@shared_task(name=SWEEP_TASK, ignore_result=True)
@told_safely
def sweep_outbox() -> dict:
    """Publish due rows whose doorbell was lost; move rows whose worker vanished to review."""
    result = outbox.sweep()
    return {"published": result.published, "expired": result.expired}


@shared_task(name=PUSH_TASK, ignore_result=True)
@told_safely
def push_events() -> dict:
    """Push due events to Wadule, in order per complaint."""
    result = callbacks.push_due()
    return {
        "delivered": result.delivered,
        "retrying": result.retrying,
        "failed": result.failed,
        "stopped": result.stopped,
    }


@shared_task(
    name=CHECK_TASK,
    ignore_result=True,
    time_limit=CHECK_TIME_LIMIT,
    soft_time_limit=CHECK_TIME_LIMIT - 30,
)
@told_safely
def check_channels() -> dict:
    """Ask every channel's provider whether it can be used; keep each last result."""
    results = checks.run_checks(current_app._get_current_object())
    return {str(v): sum(r.verdict is v for r in results) for v in Verdict}


@shared_task(name=PRUNE_TASK, ignore_result=True)
@told_safely
def prune() -> dict:
    """Delete what has served its purpose (see bridge.retention)."""
    with database.new_session() as db:
        return retention.prune(db, utcnow())


@shared_task(name=SLA_TASK, ignore_result=True)
@told_safely
def sla_ladder() -> dict:
    """Send the SLA reminders and escalations that are due (see bridge.sla)."""
    with database.new_session() as db:
        result = sla.run_ladder(db, utcnow())
    return {"looked": result.looked, "steps": result.steps, "notices": result.notices}


@shared_task(name=WEEKLY_REPORT_TASK, ignore_result=True)
@told_safely
def weekly_report() -> dict:
    """Queue the report of the week that just ended to the leadership channels (once)."""
    with database.new_session() as db:
        return reports.send_last_week(db, current_app.config["BRIDGE_SETTINGS"])
