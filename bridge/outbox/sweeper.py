"""Keeping the outbox moving: the waker rings for rows whose time has come, the sweeper finds
rows whose doorbell was lost and rows whose worker vanished.

Every wait (a retry, a rate limit, a provider's "not yet") lives in a row's ``next_attempt_at``
with no doorbell outstanding (``published_at`` empty); no task sits in the broker with a
countdown, so a broker that restarts, empty or not, loses nothing and no worker holds tasks it
cannot acknowledge. Beat runs :func:`wake` every :data:`WAKE_INTERVAL` seconds (the longest a
retry or a rate-limited message waits beyond its time) and :func:`sweep` every
``BRIDGE_SWEEP_INTERVAL`` seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import or_, select, update

from bridge import db as database
from bridge import queue
from bridge.models import Delivery, utcnow
from bridge.outbox import resources
from bridge.outbox.claim import due
from bridge.queue import WAKE_INTERVAL
from bridge.statuses import DeliveryStatus

log = logging.getLogger(__name__)

__all__ = ["WAKE_INTERVAL", "SweepResult", "sweep", "wake"]


@dataclasses.dataclass
class SweepResult:
    published: int = 0
    expired: int = 0


def wake(limit: int = 1000) -> int:
    """Ring for due rows that have no doorbell outstanding; return how many."""
    db = database.session()
    now = utcnow()
    rows = db.execute(
        select(Delivery.id, Delivery.lane)
        .where(due(now), Delivery.published_at.is_(None))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()
    if rows:
        _publish(db, rows, now)
        log.debug("wake: %d due deliveries rung", len(rows))
    else:
        db.rollback()
    return len(rows)


def sweep(limit: int = 1000) -> SweepResult:
    """Publish every due row whose doorbell seems lost; end expired leases.

    Rows rung recently get a grace period, so a queue that is merely busy is not flooded with
    copies (a copy would be harmless: the claim lets one through). A row still ``sending`` after
    its lease has a worker that vanished mid-call: the provider may have it, so it goes to
    ``needs_review``, never back to the queue.
    """
    db = database.session()
    settings = resources.settings()
    now = utcnow()
    result = SweepResult()

    expired = db.execute(
        select(Delivery.id, Delivery.claim_token)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .limit(limit)
    ).all()
    for delivery_id, token in expired:
        result.expired += db.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.claim_token == token,
                Delivery.status == DeliveryStatus.SENDING,
            )
            .values(
                status=DeliveryStatus.NEEDS_REVIEW,
                claim_token=None,
                lease_until=None,
                last_error="worker lost while sending: the provider may have it; check first",
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    db.commit()

    grace = dt.timedelta(seconds=max(30.0, 4 * settings.sweep_interval))
    rows = db.execute(
        select(Delivery.id, Delivery.lane)
        .where(
            due(now),
            or_(Delivery.published_at.is_(None), Delivery.published_at < now - grace),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()
    if rows:
        _publish(db, rows, now)
        result.published = len(rows)
    else:
        db.rollback()
    if result.expired or result.published:
        log.info("sweep: %d published, %d leases expired", result.published, result.expired)
    return result


def _publish(db, rows, now: dt.datetime) -> None:
    db.execute(
        update(Delivery)
        .where(Delivery.id.in_([row_id for row_id, _lane in rows]))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    queue.ring(db, rows)
    db.commit()
