"""Complaint status changes, re-routes and the events they produce (contract sections 5 and 6).

Every change goes through here: it updates the complaint under a condition on its current
status (so concurrent changes cannot both win), adds a history entry and records one event.
Callers commit; after the commit they ring :func:`bridge.queue.ring_events` (and, for new
outbox rows, :func:`bridge.queue.ring`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bridge.models import Complaint, Counter, Delivery, Event, Opd, StatusChange, utcnow
from bridge.statuses import CLAIMABLE, ComplaintStatus, DeliveryStatus, can_transition

EVENT_SEQ = "events"


@dataclasses.dataclass(frozen=True)
class Actor:
    kind: str
    name: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


SYSTEM = Actor("system", "bridge")


class IllegalTransition(Exception):
    """The complaint cannot go from its current status to the one asked for."""

    def __init__(self, current: str, wanted: str):
        super().__init__(f"a complaint that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def record_event(
    db: Session, *, type_: str, complaint: Complaint | None, data: dict[str, Any], at: dt.datetime
) -> None:
    """Add one event with the next global ``seq`` (see :func:`record_events`)."""
    record_events(db, [(type_, complaint, data)], at=at)


def record_events(
    db: Session,
    events: Sequence[tuple[str, Complaint | None, dict[str, Any]]],
    *,
    at: dt.datetime,
) -> None:
    """Add ``(type, complaint, data)`` events with the next global ``seq`` numbers, in order:
    one counter update and one insert however many there are.

    The counter row stays locked until the caller commits, so events commit in ``seq`` order:
    a poller that has seen ``seq`` N will never later find an event below N.
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
        # First event ever: create the counter (a concurrent first insert makes this fail and
        # the caller's transaction retry is not worth it: the migration seeds the row).
        db.execute(insert(Counter).values(name=EVENT_SEQ, value=len(events)))
        last = len(events)
    push_status = (
        "pending" if current_app.config["BRIDGE_SETTINGS"].wadule_callback_url else "skipped"
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


def envelope(event: Event) -> dict[str, Any]:
    """The event as Wadule receives it, pushed or polled."""
    return {"type": event.type, "timestamp": iso(event.occurred_at), "data": event.data}


def _opd_slug(db: Session, opd_id: int) -> str:
    return db.scalar(select(Opd.slug).where(Opd.id == opd_id))


def change_status(
    db: Session,
    complaint: Complaint,
    new: ComplaintStatus,
    *,
    note: str | None,
    actor: Actor,
    only_from=None,
    at: dt.datetime | None = None,
) -> bool:
    """Move ``complaint`` to ``new``: history entry, event, and re-notification on reopen.

    With ``only_from``, a complaint in another status is left alone and False is returned (the
    delivery engine's "forwarded" is like that). Without it, an illegal transition raises
    :class:`IllegalTransition`.
    """
    at = at or utcnow()
    current = db.scalar(select(Complaint.status).where(Complaint.id == complaint.id))
    allowed = (
        current in [str(s) for s in only_from]
        if only_from is not None
        else can_transition(current, new)
    )
    if not allowed:
        if only_from is not None:
            return False
        raise IllegalTransition(current, str(new))
    values: dict[str, Any] = {"status": new, "updated_at": at}
    if new == ComplaintStatus.REOPENED:
        values["round"] = Complaint.round + 1
    changed = db.execute(
        update(Complaint)
        .where(Complaint.id == complaint.id, Complaint.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        # Someone else changed it between our read and write: decide again on the new status.
        return change_status(db, complaint, new, note=note, actor=actor, only_from=only_from, at=at)
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
        db.refresh(complaint, ["round"])
    record_events(db, [_status_event(complaint, new, current, note, actor)], at=at)
    if new == ComplaintStatus.REOPENED:
        from bridge.complaints import plan_deliveries

        for row in plan_deliveries(
            complaint,
            complaint.opd.channels,
            round_=complaint.round,
            now=at,
            purpose="reopen",
            note=note,
        ):
            row.complaint_id = complaint.id
            db.add(row)
    return True


def _status_event(complaint: Complaint, new: str, previous: str, note: str | None, actor: Actor):
    return (
        "complaint.status_changed",
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


def advance(
    db: Session,
    moves: Sequence[tuple[Complaint, str, ComplaintStatus, str | None]],
    *,
    actor: Actor,
    at: dt.datetime,
) -> list[tuple[str, Complaint, dict[str, Any]]]:
    """The system's status changes for complaints the caller has locked and whose current
    status it has read: ``(complaint, current, new, note)`` each, one update per new status
    and one history insert for all. Returns their events for the caller to record with its
    own (:func:`record_events`), so a batch takes the event counter once.
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
    events = []
    for complaint, current, new, note in moves:
        set_committed_value(complaint, "status", str(new))
        events.append(_status_event(complaint, new, current, note, actor))
    return events


def reroute(
    db: Session, complaint: Complaint, to_opd: Opd, *, note: str | None, actor: Actor
) -> None:
    """Send the complaint to another OPD: back to ``received``, a new round of deliveries.

    Deliveries of the old round that have not gone out are cancelled (``dead`` with the reason).
    """
    at = utcnow()
    from_slug = _opd_slug(db, complaint.opd_id)
    previous = complaint.status
    db.execute(
        update(Delivery)
        .where(
            Delivery.complaint_id == complaint.id,
            Delivery.round == complaint.round,
            Delivery.status.in_([s.value for s in CLAIMABLE]),
        )
        .values(
            status=DeliveryStatus.DEAD,
            last_error=f"cancelled: re-routed to {to_opd.slug}",
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    complaint.opd = to_opd
    complaint.opd_id = to_opd.id
    complaint.status = ComplaintStatus.RECEIVED
    complaint.round = complaint.round + 1
    complaint.updated_at = at
    db.flush()
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
    from bridge.complaints import plan_deliveries

    db.refresh(to_opd)
    for row in plan_deliveries(complaint, to_opd.channels, round_=complaint.round, now=at):
        row.complaint_id = complaint.id
        db.add(row)
    record_event(
        db,
        type_="complaint.rerouted",
        complaint=complaint,
        data={
            "wadule_id": complaint.wadule_id,
            "status": ComplaintStatus.RECEIVED.value,
            "previous_status": previous,
            "from_opd": from_slug,
            "to_opd": to_opd.slug,
            "opd": to_opd.slug,
            "note": note,
            "actor": actor.as_dict(),
        },
        at=at,
    )


def delivery_event(
    db: Session,
    delivery: Delivery,
    *,
    status: str,
    error: str | None,
    at: dt.datetime,
    external_id: str | None = None,
) -> None:
    """Record ``complaint.delivery_updated`` for an outcome of a complaint's own delivery."""
    event = delivery_event_of(delivery, status=status, error=error, external_id=external_id)
    if event is not None:
        record_events(db, [event], at=at)


def delivery_event_of(
    delivery: Delivery, *, status: str, error: str | None, external_id: str | None = None
):
    """The ``complaint.delivery_updated`` event of an outcome, or None for the bridge's
    replies (they are not Wadule's business)."""
    if delivery.purpose == "reply" or delivery.complaint_id is None:
        return None
    complaint = delivery.complaint
    return (
        "complaint.delivery_updated",
        complaint,
        {
            "wadule_id": complaint.wadule_id,
            "opd": complaint.opd.slug,
            "channel": delivery.kind,
            "target": delivery.target,
            "status": status,
            "external_id": external_id or delivery.external_id,
            "error": error,
        },
    )
