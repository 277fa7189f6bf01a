"""Events for Wadule (contract section 6): their shapes, their numbering, their envelope.

Every status change, re-route and delivery outcome is one event with a global, strictly
increasing ``seq``. Events are written in the transaction of the change they describe; the
numbers come from a counter row that stays locked until that transaction commits, so events
become visible in ``seq`` order and a poller asking ``after=N`` never misses one. Pushing them
to Wadule is :mod:`bridge.callbacks`' job; polling is ``GET /api/v1/events``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from bridge import queue
from bridge.models import Complaint, Counter, Delivery, Event
from bridge.statuses import DeliveryPurpose, PushStatus

if TYPE_CHECKING:
    from bridge.workflow import Actor

EVENT_SEQ = "events"

STATUS_CHANGED = "complaint.status_changed"
REROUTED = "complaint.rerouted"
DELIVERY_UPDATED = "complaint.delivery_updated"
SLA_REMINDER = "complaint.sla_reminder"
ESCALATED = "complaint.escalated"

#: ``(type, complaint, data)``: an event not yet numbered.
NewEvent = tuple[str, Complaint | None, dict[str, Any]]


def iso(moment: dt.datetime) -> str:
    """``2026-11-28T03:00:00Z``: UTC, as every timestamp Wadule receives."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def record(db: Session, events: Sequence[NewEvent], *, at: dt.datetime) -> None:
    """Add events with the next global ``seq`` numbers, in order: one counter update and one
    insert however many there are.

    The counter row stays locked until the caller commits, so events commit in ``seq`` order:
    a poller that has seen ``seq`` N will never later find an event below N. The pusher is rung
    after the caller's commit (:func:`bridge.queue.push_events`).
    """
    if not events:
        return
    last = db.execute(
        update(Counter)
        .where(Counter.name == EVENT_SEQ)
        .values(value=Counter.value + len(events))
        .returning(Counter.value)
    ).scalar()
    if last is None:
        # First event ever: create the counter (the migration seeds the row, so this only
        # happens on a database someone emptied by hand).
        db.execute(insert(Counter).values(name=EVENT_SEQ, value=len(events)))
        last = len(events)
    push_status = (
        PushStatus.PENDING
        if current_app.config["BRIDGE_SETTINGS"].wadule_callback_url
        else PushStatus.SKIPPED
    )
    occurred = iso(at)
    first = last - len(events) + 1
    db.execute(
        insert(Event),
        [
            {
                "seq": seq,
                "complaint_id": complaint.id if complaint is not None else None,
                "type": type_,
                "data": {"seq": seq, **data, "occurred_at": occurred},
                "occurred_at": at,
                "push_status": push_status,
                "push_attempts": 0,
                "next_push_at": at,
            }
            for seq, (type_, complaint, data) in enumerate(events, start=first)
        ],
    )
    if push_status is PushStatus.PENDING:
        queue.push_events(db)


def envelope(event: Event) -> dict[str, Any]:
    """The event as Wadule receives it, pushed or polled."""
    return {"type": event.type, "timestamp": iso(event.occurred_at), "data": event.data}


def status_changed(
    complaint: Complaint, new: str, previous: str, note: str | None, actor: Actor
) -> NewEvent:
    """``complaint.status_changed``."""
    return (
        STATUS_CHANGED,
        complaint,
        {
            "wadule_id": complaint.wadule_id,
            "status": str(new),
            "previous_status": str(previous),
            "opd": complaint.opd.slug,
            "note": note,
            "actor": actor.as_dict(),
        },
    )


def rerouted(
    complaint: Complaint,
    *,
    status: str,
    previous: str,
    from_opd: str,
    to_opd: str,
    note: str | None,
    actor: Actor,
) -> NewEvent:
    """``complaint.rerouted`` (``from_opd``, ``to_opd``)."""
    return (
        REROUTED,
        complaint,
        {
            "wadule_id": complaint.wadule_id,
            "status": str(status),
            "previous_status": str(previous),
            "from_opd": from_opd,
            "to_opd": to_opd,
            "opd": to_opd,
            "note": note,
            "actor": actor.as_dict(),
        },
    )


def delivery_updated(
    delivery: Delivery, *, status: str, error: str | None, external_id: str | None = None
) -> NewEvent | None:
    """``complaint.delivery_updated`` for an outcome of a complaint's own delivery, or None
    for the bridge's notices in groups (answers to commands, ...: not Wadule's business)."""
    if not DeliveryPurpose(delivery.purpose).carries_complaint or delivery.complaint_id is None:
        return None
    complaint = delivery.complaint
    return (
        DELIVERY_UPDATED,
        complaint,
        {
            "wadule_id": complaint.wadule_id,
            "opd": complaint.opd.slug,
            "channel": delivery.kind,
            "target": delivery.target,
            "status": str(status),
            "external_id": external_id or delivery.external_id,
            "error": error,
        },
    )


def sla_reminder(
    complaint: Complaint, *, sla: str, stage: int, due_at: dt.datetime, to: Sequence[str]
) -> NewEvent:
    """``complaint.sla_reminder``: the office's ``sla`` (``answer`` or ``resolve``) ran out
    at ``due_at``; ``to`` holds the OPD slugs whose groups were reminded (stage 1)."""
    return _sla_step(SLA_REMINDER, complaint, sla=sla, stage=stage, due_at=due_at, to=to)


def escalated(
    complaint: Complaint, *, sla: str, stage: int, due_at: dt.datetime, to: Sequence[str]
) -> NewEvent:
    """``complaint.escalated``: twice (stage 2, to triage) or three times (stage 3, to the
    leadership) the office's ``sla`` passed at ``due_at``; ``to`` holds the OPD slugs whose
    groups were told, empty when there was nobody to tell."""
    return _sla_step(ESCALATED, complaint, sla=sla, stage=stage, due_at=due_at, to=to)


def _sla_step(
    type_: str,
    complaint: Complaint,
    *,
    sla: str,
    stage: int,
    due_at: dt.datetime,
    to: Sequence[str],
) -> NewEvent:
    return (
        type_,
        complaint,
        {
            "wadule_id": complaint.wadule_id,
            "status": str(complaint.status),
            "opd": complaint.opd_slug,
            "sla": sla,
            "stage": stage,
            "due_at": iso(due_at),
            "to": list(to),
        },
    )
