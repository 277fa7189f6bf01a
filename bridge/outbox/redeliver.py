"""Redelivery: a person decided that dead or needs-review rows should go out again."""

from __future__ import annotations

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from bridge import queue
from bridge.models import Complaint, Delivery, utcnow
from bridge.statuses import CARRYING_COMPLAINT, REDELIVERABLE, DeliveryStatus
from bridge.workflow import Actor


def redeliver(db: Session, complaint: Complaint, *, channel: str | None, actor: Actor) -> list[int]:
    """Send the complaint's dead and needs-review rows of its current round again (of one
    channel kind, if given); return the rows re-queued. Their attempts stay honest; the retry
    schedule starts again from here."""
    now = utcnow()
    conditions = [
        Delivery.complaint_id == complaint.id,
        Delivery.round == complaint.round,
        Delivery.status.in_([s.value for s in REDELIVERABLE]),
        Delivery.purpose.in_(CARRYING_COMPLAINT),
    ]
    if channel:
        conditions.append(Delivery.kind == channel)
    rows = db.execute(select(Delivery.id, Delivery.lane).where(and_(*conditions))).all()
    if not rows:
        return []
    ids = [row_id for row_id, _lane in rows]
    db.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status.in_([s.value for s in REDELIVERABLE]))
        .values(
            status=DeliveryStatus.RETRYING,
            retry_base=Delivery.attempts,
            next_attempt_at=now,
            published_at=now,
            last_error=f"redelivery requested by {actor.kind}:{actor.name}",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    queue.ring(db, rows)
    db.commit()
    return ids
