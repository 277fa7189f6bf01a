"""The tasks. Each takes ids, calls domain code, and returns a short outcome summary."""

from __future__ import annotations

from celery import shared_task

from bridge import callbacks, outbox
from bridge.queue import DELIVER_TASK, PUSH_TASK, SWEEP_TASK, WAKE_TASK
from workers import stopping


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int] | int, lane: str | None = None) -> dict:
    """Attempt these outbox rows, and other due ones of their lane up to a batch; retries are
    scheduled by the domain code through the rows. (A bare id, or no lane, is a message from
    an older version.)"""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    with stopping.batch_running():
        summary = outbox.deliver_batch(ids, lane=lane, stop=stopping.requested).summary()
    if stopping.requested():
        # The pool terminated this process mid-batch (see workers.stopping): the batch has
        # recorded its outcomes and handed back the rest; now die as asked.
        stopping.end_process()
    return summary


@shared_task(name=WAKE_TASK, ignore_result=True)
def wake_outbox() -> int:
    """Ring for rows whose retry, rate limit or provider wait is over."""
    return outbox.wake()


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outbox() -> dict:
    """Publish due rows whose doorbell was lost; move rows whose worker vanished to review."""
    result = outbox.sweep()
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
