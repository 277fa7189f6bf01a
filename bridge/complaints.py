"""Complaint ingest: route, store durably with its outbox rows, then ring the broker."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bridge import queue
from bridge.channels import is_public
from bridge.directory import route
from bridge.models import Complaint, Delivery, StatusChange, utcnow
from bridge.statuses import ComplaintStatus, DeliveryStatus
from bridge.workflow import Actor

log = logging.getLogger(__name__)

#: Private channels go first: the OPD's WhatsApp group is where people answer.
KIND_ORDER = ("whatsapp_group", "telegram", "webhook", "facebook_page", "instagram", "x")


class ConflictError(Exception):
    """The same ``wadule_id`` arrived earlier with different content."""


def content_hash(data: dict[str, Any]) -> str:
    """A stable hash of a validated complaint body; missing and null fields hash alike."""
    return hashlib.sha256(
        json.dumps(_canonical(data), sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def load_complaint(db: Session, wadule_id: str) -> Complaint | None:
    """A complaint with its OPD, deliveries and history loaded, or None."""
    return db.scalar(
        select(Complaint)
        .where(Complaint.wadule_id == wadule_id)
        .options(
            selectinload(Complaint.opd),
            selectinload(Complaint.deliveries),
            selectinload(Complaint.history),
        )
    )


def ingest(db: Session, data: dict[str, Any], actor: Actor) -> tuple[Complaint, bool]:
    """Store a validated complaint; return it and whether it was created now.

    The complaint, its delivery rows and its first history entry commit in one transaction
    before anything is published. An identical replay returns the stored complaint; the same
    id with other content raises :class:`ConflictError`.
    """
    digest = content_hash(data)
    # No look-up first: replays are rare, and the unique wadule_id catches them at commit.
    chosen = route(db, opd_slug=data.get("opd"), category=data.get("category"))
    now = utcnow()
    complaint = Complaint(
        wadule_id=data["wadule_id"],
        content_hash=digest,
        opd_id=chosen.opd.id,
        routed_by=chosen.routed_by,
        route_note=chosen.note,
        status=ComplaintStatus.RECEIVED,
        round=1,
        title=data["title"],
        body=data["body"],
        category=data.get("category"),
        requested_opd=data.get("opd"),
        location=data.get("location"),
        reporter=data.get("reporter"),
        anonymous=data["anonymous"],
        confidential=data["confidential"],
        attachments=data.get("attachments") or [],
        submitted_at=data.get("submitted_at"),
        created_at=now,
        updated_at=now,
    )
    complaint.known_opd_slug = chosen.opd.slug
    complaint.deliveries = plan_deliveries(complaint, chosen.opd.channels, round_=1, now=now)
    complaint.history = [
        StatusChange(
            status=ComplaintStatus.RECEIVED,
            note=_received_note(chosen),
            actor_kind=actor.kind,
            actor_name=actor.name,
            at=now,
        )
    ]
    db.add(complaint)
    try:
        db.commit()
    except IntegrityError:
        # A concurrent request with the same wadule_id won the race.
        db.rollback()
        existing = load_complaint(db, data["wadule_id"])
        if existing is None:
            raise
        return _replay(existing, digest), False
    log.info(
        "complaint %s received: opd=%s routed_by=%s deliveries=%d",
        complaint.wadule_id,
        chosen.opd.slug,
        chosen.routed_by,
        len(complaint.deliveries),
    )
    queue.ring_or_forget(db, [d.id for d in complaint.deliveries])
    return complaint, True


def _replay(existing: Complaint, digest: str) -> Complaint:
    if existing.content_hash != digest:
        raise ConflictError(existing.wadule_id)
    return existing


def _received_note(chosen) -> str:
    text = f"routed to {chosen.opd.slug} by {chosen.routed_by}"
    return f"{text} ({chosen.note})" if chosen.note else text


def plan_deliveries(
    complaint: Complaint,
    channels,
    *,
    round_: int,
    now,
    purpose: str = "forward",
    note: str | None = None,
) -> list[Delivery]:
    """One outbox row per active channel in ``channels`` (the complaint's OPD's); none public if
    the complaint is confidential. Private channels come first."""
    chosen = [
        ch for ch in channels if ch.active and not (complaint.confidential and is_public(ch.kind))
    ]
    chosen.sort(key=lambda ch: (KIND_ORDER.index(ch.kind), ch.position))
    return [
        Delivery(
            channel_id=ch.id,
            dedupe_key=f"{purpose}:{complaint.wadule_id}:{ch.id}:{round_}",
            purpose=purpose,
            note=note,
            round=round_,
            kind=ch.kind,
            target=ch.target,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            published_at=now,
            created_at=now,
            updated_at=now,
        )
        for ch in chosen
    ]
