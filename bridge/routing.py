"""Routing (contract section 3) and the choice of channels a complaint goes out to.

A complaint goes to its ``opd`` slug if that names an active OPD; else to the first OPD, in
directory order, whose ``categories`` hold its ``category``; else to the triage OPD. An unknown
slug is not an error: the complaint records why it was routed as it was. Then one outbox row is
planned per active channel of that OPD, private channels first (the OPD's WhatsApp group is
where people answer), and none public for a ``confidential`` complaint.

Ingest routes every complaint, so the active directory is cached per process and reloaded only
when ``directory import`` changed its version (:mod:`bridge.directory`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bridge import channels
from bridge.directory import VERSION_QUERY
from bridge.models import Delivery, Opd
from bridge.statuses import DeliveryPurpose, DeliveryStatus, RoutedBy

_NOTED_VERSION = "bridge.directory_version"


@dataclasses.dataclass(frozen=True)
class ChannelInfo:
    id: int
    kind: str
    target: str
    position: int
    active: bool = True


@dataclasses.dataclass(frozen=True)
class OpdInfo:
    """What routing and delivery planning need of an OPD, cached per process."""

    id: int
    slug: str
    name: str
    categories: tuple[str, ...]
    is_triage: bool
    channels: tuple[ChannelInfo, ...]


@dataclasses.dataclass(frozen=True)
class Route:
    opd: OpdInfo
    routed_by: RoutedBy
    note: str | None = None


class NoTriageError(RuntimeError):
    """No active triage OPD: the directory has not been imported."""


def note_version(db: Session, version: int | None) -> None:
    """Hand the next :func:`route` in ``db`` the directory version just read with an API key
    (:mod:`bridge.auth` reads it in the same statement, sparing routing a round trip).

    A version read a few milliseconds earlier in the same request is as good as a fresh one:
    routing then sees the directory as a request arriving that much earlier would.
    """
    db.info[_NOTED_VERSION] = version


class DirectoryCache:
    """The active directory, reloaded when ``directory import`` bumped its version."""

    def __init__(self):
        self._version: int | None = None
        self._opds: tuple[OpdInfo, ...] = ()
        self._lock = threading.Lock()

    def opds(self, db: Session) -> tuple[OpdInfo, ...]:
        if _NOTED_VERSION in db.info:
            version = db.info.pop(_NOTED_VERSION) or 0
        else:
            version = db.scalar(VERSION_QUERY) or 0
        if version != self._version:
            rows = db.scalars(
                select(Opd)
                .where(Opd.active.is_(True))
                .options(selectinload(Opd.channels))
                .order_by(Opd.position, Opd.id)
            ).all()
            opds = tuple(
                OpdInfo(
                    id=o.id,
                    slug=o.slug,
                    name=o.name,
                    categories=tuple(o.categories),
                    is_triage=o.is_triage,
                    channels=tuple(
                        ChannelInfo(c.id, c.kind, c.target, c.position)
                        for c in o.channels
                        if c.active
                    ),
                )
                for o in rows
            )
            with self._lock:
                self._opds, self._version = opds, version
        return self._opds


def _cache() -> DirectoryCache:
    # One per app (so per database), created on first use.
    return current_app.extensions.setdefault("bridge.directory_cache", DirectoryCache())


def route(db: Session, *, opd_slug: str | None, category: str | None) -> Route:
    """Pick the OPD for a complaint: its ``opd`` slug, else its category, else triage."""
    opds = _cache().opds(db)
    note = None
    if opd_slug:
        for opd in opds:
            if opd.slug == opd_slug:
                return Route(opd, RoutedBy.OPD)
        note = f"unknown opd {opd_slug!r}"
    if category:
        wanted = category.strip().lower()
        for opd in opds:
            if wanted in opd.categories:
                return Route(opd, RoutedBy.CATEGORY, note)
        note = (note + "; " if note else "") + f"no OPD handles category {category!r}"
    for opd in opds:
        if opd.is_triage:
            return Route(opd, RoutedBy.TRIAGE, note)
    raise NoTriageError("no triage OPD: run `wadule-bridge directory import FILE` first")


class _ChannelLike(Protocol):
    id: int
    kind: str
    target: str
    position: int
    active: bool


def outbox_rows(
    wadule_id: str,
    confidential: bool,
    opd_channels: Iterable[_ChannelLike],
    *,
    round_: int,
    now: dt.datetime,
    purpose: DeliveryPurpose = DeliveryPurpose.FORWARD,
    note: str | None = None,
) -> list[dict[str, Any]]:
    """The column values of a complaint's outbox rows, for a Core insert: one per active
    channel of its OPD, in the registry's order (private first, then the directory's order
    within a kind), none public when the complaint is ``confidential``."""
    chosen = [
        ch
        for ch in opd_channels
        if ch.active and not (confidential and channels.is_public(ch.kind))
    ]
    chosen.sort(key=lambda ch: (channels.order_of(ch.kind), ch.position))
    return [
        {
            "channel_id": ch.id,
            "dedupe_key": f"{purpose}:{wadule_id}:{ch.id}:{round_}",
            "purpose": purpose,
            "note": note,
            "round": round_,
            "kind": ch.kind,
            "lane": channels.lane_of(ch.kind),
            "target": ch.target,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "published_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for ch in chosen
    ]


def plan_deliveries(
    complaint,
    opd_channels,
    *,
    round_: int,
    now: dt.datetime,
    purpose: DeliveryPurpose = DeliveryPurpose.FORWARD,
    note: str | None = None,
) -> list[Delivery]:
    """:func:`outbox_rows` as ORM objects (status changes and re-routes add them to a session)."""
    return [
        Delivery(**row)
        for row in outbox_rows(
            complaint.wadule_id,
            complaint.confidential,
            opd_channels,
            round_=round_,
            now=now,
            purpose=purpose,
            note=note,
        )
    ]
