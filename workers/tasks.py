"""The tasks. Each takes ids, calls domain code, and returns a short outcome string."""

from __future__ import annotations

from celery import shared_task

from bridge import callbacks, delivery
from bridge.queue import DELIVER_TASK, PUSH_TASK, SWEEP_TASK
from workers import stopping


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int] | int) -> dict:
    """Attempt these outbox rows, and other due ones up to a batch; retries are scheduled by
    the domain code through the rows. (A bare id is a message from an older version.)"""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    summary = delivery.deliver_batch(ids).summary()
    if delivery.stopping():
        # The pool terminated this process mid-batch (see workers.stopping): the batch has
        # recorded its outcomes and handed back the rest; now die as asked.
        stopping.end_process()
    return summary


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outbox() -> dict:
    """Publish due rows no task waits for; move rows whose worker vanished to needs_review."""
    result = delivery.sweep()
    return {"published": result.published, "expired": result.expired}


@shared_task(name=PUSH_TASK, ignore_result=True)
def push_events() -> dict:
    """Push due events to Wadule, in order per complaint."""
    result = callbacks.push_due()
    return {
        "delivered": result.delivered,
        "retrying": result.retrying,
        "failed": result.failed,
        "stopped": result.stopped,
    }
