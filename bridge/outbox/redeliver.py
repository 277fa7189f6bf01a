"""Redelivery: a person decided that dead or needs-review rows should go out again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

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
        .values(**_requeued(now, actor))
        .execution_options(synchronize_session=False)
    )
    queue.ring(db, rows)
    db.commit()
    return ids


@dataclasses.dataclass(frozen=True)
class RowsRedelivered:
    """What :func:`redeliver_rows` did with each row it was given."""

    #: Rows sent again (now ``retrying``, due at once).
    requeued: tuple[int, ...]
    #: ``needs_review`` rows left as they were: nobody confirmed the provider did not post them.
    unconfirmed: tuple[int, ...]
    #: Rows not sent again for any other reason: not dead or needs-review (any more), of an
    #: earlier round of their complaint, the bridge's own notices, or no such row.
    skipped: tuple[int, ...]


def redeliver_rows(
    db: Session, ids: Iterable[int], *, actor: Actor, confirmed_review: bool
) -> RowsRedelivered:
    """Send these rows again, each on its own (the console's bulk retry), and commit.

    A row goes again when it carries its complaint, belongs to the complaint's current round
    and is ``dead``, or ``needs_review`` with ``confirmed_review`` (a person looked at the
    target and the message is not there: a needs-review row is never re-posted blindly). As in
    :func:`redeliver`, attempts stay honest and the retry schedule starts again from here.

    The complaints are locked first, so a re-route or reopen that moves a complaint to its next
    round either commits before (its old rows are then left alone) or waits and cancels the
    rows requeued here with the rest of the old round.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return RowsRedelivered((), (), ())
    now = utcnow()
    complaint_ids = db.scalars(
        select(Delivery.complaint_id).where(Delivery.id.in_(wanted)).distinct()
    ).all()
    if complaint_ids:
        # In id order, so two bulk retries of overlapping rows cannot deadlock.
        db.execute(
            select(Complaint.id)
            .where(Complaint.id.in_(complaint_ids))
            .order_by(Complaint.id)
            .with_for_update()
        ).all()
    statuses = [DeliveryStatus.DEAD.value]
    if confirmed_review:
        statuses.append(DeliveryStatus.NEEDS_REVIEW.value)
    current_round = (
        select(Complaint.round).where(Complaint.id == Delivery.complaint_id).scalar_subquery()
    )
    goes_again = [
        Delivery.purpose.in_(CARRYING_COMPLAINT),
        Delivery.round == current_round,
    ]
    rows = db.execute(
        update(Delivery)
        .where(Delivery.id.in_(wanted), Delivery.status.in_(statuses), *goes_again)
        .values(**_requeued(now, actor))
        .returning(Delivery.id, Delivery.lane)
        .execution_options(synchronize_session=False)
    ).all()
    unconfirmed: list[int] = []
    if not confirmed_review:
        unconfirmed = list(
            db.scalars(
                select(Delivery.id).where(
                    Delivery.id.in_(wanted),
                    Delivery.status == DeliveryStatus.NEEDS_REVIEW,
                    *goes_again,
                )
            )
        )
    if rows:
        queue.ring(db, rows)
    db.commit()
    requeued = sorted(row_id for row_id, _lane in rows)
    left = set(wanted) - set(requeued) - set(unconfirmed)
    return RowsRedelivered(tuple(requeued), tuple(sorted(unconfirmed)), tuple(sorted(left)))


def _requeued(now, actor: Actor) -> dict:
    return {
        "status": DeliveryStatus.RETRYING,
        "retry_base": Delivery.attempts,
        "next_attempt_at": now,
        "published_at": now,
        "last_error": f"redelivery requested by {actor.kind}:{actor.name}",
        "updated_at": now,
    }
