"""Complaint status changes and re-routes (contract sections 4 and 5).

Every change goes through here: it updates the complaint under a condition on its current
status (so concurrent changes cannot both win), adds a history entry and records one event
(:mod:`bridge.events`). New outbox rows and the event pusher are rung after the caller's commit
(:mod:`bridge.queue`'s after-commit hook); callers only commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bridge import events, queue
from bridge.models import Complaint, Delivery, Opd, StatusChange, utcnow
from bridge.routing import plan_deliveries
from bridge.statuses import (
    CLAIMABLE,
    ComplaintStatus,
    DeliveryPurpose,
    DeliveryStatus,
    can_transition,
)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who made a change: ``{"kind": "opd", "name": "dpupr"}`` in events and history."""

    kind: str
    name: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


SYSTEM = Actor("system", "bridge")


class ConcurrentChange(Exception):
    """Another change to the complaint (a re-route, a reopen, a status change that moved it to
    another office's round) committed while this one was being made: nothing was written."""

    def __init__(self, wadule_id: str):
        super().__init__(f"complaint {wadule_id} changed while this change was being made")
        self.wadule_id = wadule_id


class IllegalTransition(Exception):
    """The complaint cannot go from its current status to the one asked for."""

    def __init__(self, current: str, wanted: str):
        super().__init__(f"a complaint that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def change_status(
    db: Session,
    complaint: Complaint,
    new: ComplaintStatus,
    *,
    note: str | None,
    actor: Actor,
    at: dt.datetime | None = None,
) -> None:
    """Move ``complaint`` to ``new``: history entry, event, and re-notification on reopen.

    The change applies to the complaint as the caller read it (its ``round``): if a re-route or
    a reopen happened meanwhile, :class:`ConcurrentChange` is raised and nothing is written, so
    an answer meant for one office never lands on another's assignment. A status that moved
    meanwhile is decided again; a transition no longer allowed raises
    :class:`IllegalTransition`.
    """
    at = at or utcnow()
    seen_round = complaint.round
    while True:
        row = db.execute(
            select(Complaint.status, Complaint.round).where(Complaint.id == complaint.id)
        ).one()
        current, round_ = row.status, row.round
        if round_ != seen_round:
            raise ConcurrentChange(complaint.wadule_id)
        if not can_transition(current, new):
            raise IllegalTransition(current, str(new))
        values: dict[str, Any] = {"status": new, "updated_at": at}
        if new == ComplaintStatus.REOPENED:
            values["round"] = Complaint.round + 1
            # The SLA's resolve clock starts again (bridge.sla): the ladder looks at it now.
            values["next_sla_at"] = at
        changed = db.execute(
            update(Complaint)
            .where(
                Complaint.id == complaint.id,
                Complaint.status == current,
                Complaint.round == seen_round,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed == 1:
            break
        # Someone else changed it between our read and write: look again.
    db.add(
        StatusChange(
            complaint_id=complaint.id,
            status=new,
            note=note,
            actor_kind=actor.kind,
            actor_name=actor.name,
            at=at,
        )
    )
    set_committed_value(complaint, "status", str(new))
    if new == ComplaintStatus.REOPENED:
        set_committed_value(complaint, "round", seen_round + 1)
    events.record(db, [events.status_changed(complaint, new, current, note, actor)], at=at)
    if new == ComplaintStatus.REOPENED:
        # The reopened complaint's message carries it whole: what the last round has not sent
        # yet would only repeat it, out of date.
        _cancel_unsent(db, complaint, before_round=complaint.round, reason="superseded by reopen")
        _add_round(
            db,
            complaint,
            complaint.opd.channels,
            at=at,
            purpose=DeliveryPurpose.REOPEN,
            note=note,
        )


def advance(
    db: Session,
    moves: Sequence[tuple[Complaint, str, ComplaintStatus, str | None]],
    *,
    actor: Actor,
    at: dt.datetime,
) -> list[events.NewEvent]:
    """The system's status changes for complaints the caller has locked and whose current
    status it has read: ``(complaint, current, new, note)`` each, one update per new status
    and one history insert for all. Returns their events for the caller to record with its
    own (:func:`bridge.events.record`), so a batch takes the event counter once.
    """
    by_status: dict[str, list[int]] = {}
    for complaint, current, new, _note in moves:
        if new == ComplaintStatus.REOPENED or not can_transition(current, new):
            raise IllegalTransition(current, str(new))
        by_status.setdefault(str(new), []).append(complaint.id)
    for new, ids in by_status.items():
        db.execute(
            update(Complaint)
            .where(Complaint.id.in_(ids))
            .values(status=new, updated_at=at)
            .execution_options(synchronize_session=False)
        )
    if moves:
        db.execute(
            insert(StatusChange),
            [
                {
                    "complaint_id": complaint.id,
                    "status": str(new),
                    "note": note,
                    "actor_kind": actor.kind,
                    "actor_name": actor.name,
                    "at": at,
                }
                for complaint, _current, new, note in moves
            ],
        )
    changes = []
    for complaint, current, new, note in moves:
        set_committed_value(complaint, "status", str(new))
        changes.append(events.status_changed(complaint, new, current, note, actor))
    return changes


def reroute(
    db: Session, complaint: Complaint, to_opd: Opd, *, note: str | None, actor: Actor
) -> None:
    """Send the complaint to another OPD: back to ``received``, a new round of deliveries.

    Applies to the complaint as the caller read it (its office and round): when another change
    won the race (two assigns, an assign and a command), :class:`ConcurrentChange` is raised and
    nothing is written, so a complaint is never forwarded to two offices at once. Deliveries of
    the old round that have not gone out are cancelled (``dead`` with the reason).
    """
    at = utcnow()
    from_id, seen_round, previous = complaint.opd_id, complaint.round, complaint.status
    moved = db.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.round == seen_round,
            Complaint.opd_id == from_id,
        )
        .values(
            opd_id=to_opd.id,
            status=ComplaintStatus.RECEIVED,
            round=seen_round + 1,
            updated_at=at,
            # The new office's SLA clocks start now (bridge.sla): the ladder looks at it now.
            next_sla_at=at,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise ConcurrentChange(complaint.wadule_id)
    from_slug = db.scalar(select(Opd.slug).where(Opd.id == from_id))
    set_committed_value(complaint, "opd_id", to_opd.id)
    set_committed_value(complaint, "opd", to_opd)
    set_committed_value(complaint, "status", str(ComplaintStatus.RECEIVED))
    set_committed_value(complaint, "round", seen_round + 1)
    set_committed_value(complaint, "updated_at", at)
    _cancel_unsent(
        db, complaint, before_round=complaint.round, reason=f"re-routed to {to_opd.slug}"
    )
    db.add(
        StatusChange(
            complaint_id=complaint.id,
            status=ComplaintStatus.RECEIVED,
            note=f"re-routed from {from_slug} to {to_opd.slug}" + (f": {note}" if note else ""),
            actor_kind=actor.kind,
            actor_name=actor.name,
            at=at,
        )
    )
    _add_round(db, complaint, to_opd.channels, at=at, purpose=DeliveryPurpose.REROUTE, note=note)
    events.record(
        db,
        [
            events.rerouted(
                complaint,
                status=ComplaintStatus.RECEIVED,
                previous=previous,
                from_opd=from_slug,
                to_opd=to_opd.slug,
                note=note,
                actor=actor,
            )
        ],
        at=at,
    )


def _cancel_unsent(db: Session, complaint: Complaint, *, before_round: int, reason: str) -> None:
    """Rows of earlier rounds that have not gone out never will: ``dead``, with the reason."""
    db.execute(
        update(Delivery)
        .where(
            Delivery.complaint_id == complaint.id,
            Delivery.round < before_round,
            Delivery.status.in_([s.value for s in CLAIMABLE]),
        )
        .values(status=DeliveryStatus.DEAD, last_error=f"cancelled: {reason}", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _add_round(
    db: Session,
    complaint: Complaint,
    opd_channels,
    *,
    at: dt.datetime,
    purpose: DeliveryPurpose = DeliveryPurpose.FORWARD,
    note: str | None = None,
) -> list[int]:
    """The complaint's outbox rows for its current round, rung after the caller's commit."""
    rows = plan_deliveries(
        complaint, opd_channels, round_=complaint.round, now=at, purpose=purpose, note=note
    )
    for row in rows:
        row.complaint_id = complaint.id
        db.add(row)
    db.flush()
    queue.ring(db, [(row.id, row.lane) for row in rows])
    return [row.id for row in rows]
