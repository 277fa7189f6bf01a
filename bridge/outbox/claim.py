"""Taking outbox rows: which rows are due, which a worker picks, and the claim itself.

A row is claimed with a conditional UPDATE (``pending``/``retrying`` and due -> ``sending``, with a
lease and a claim token), so one worker holds it however many copies of its task the broker
hands out. A rate-limit slot is taken for each claimed row in the same transaction; a row whose
target is at its limit goes back untouched, its next attempt moved to when the limit frees up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bridge.channels import ChannelAdapter, OutgoingMessage
from bridge.models import Complaint, Delivery
from bridge.outbox import resources
from bridge.ratelimit import Slot
from bridge.statuses import CLAIMABLE, DeliveryStatus, Lane

#: Unfinished rows: a later row to the same target waits for these (see :func:`pick`).
OPEN = frozenset({*CLAIMABLE, DeliveryStatus.SENDING})


@dataclasses.dataclass
class Attempt:
    """A claimed row on its way through one batch."""

    delivery: Delivery
    #: The status it had before the claim (a row given back returns to it).
    was: str
    slot: Slot | None = None
    #: Set once decided: see :class:`bridge.outbox.engine.Outcome`.
    outcome: str | None = None
    details: dict = dataclasses.field(default_factory=dict)
    #: When the provider answered (the row's ``sent_at``; retries count from it).
    answered_at: dt.datetime | None = None
    #: What goes out, rendered before any provider call of the batch.
    message: OutgoingMessage | None = None

    @property
    def target_key(self) -> tuple[str, str]:
        return (self.delivery.kind, self.delivery.target)


def due(now: dt.datetime):
    """Rows a worker may take now. The statuses are written into the SQL as literals: only then
    can PostgreSQL prove that the partial index ``ix_deliveries_claimable`` covers the query
    (a bound parameter could be any status)."""
    claimable = bindparam(None, sorted(CLAIMABLE), expanding=True, literal_execute=True)
    return and_(Delivery.status.in_(claimable), Delivery.next_attempt_at <= now)


def oldest_due(now: dt.datetime, lane: Lane, limit: int, *, besides: Sequence[int] = ()):
    """The ``limit`` oldest due rows of ``lane`` no other transaction has locked, locked for
    ours: the queue-table pattern, served in order by ``ix_deliveries_claimable``."""
    return (
        select(Delivery.id)
        .where(Delivery.lane == lane, due(now), Delivery.id.not_in(list(besides)))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def pick(
    db: Session, ids: Sequence[int], lane: Lane, now: dt.datetime, *, limit: int | None
) -> list[Delivery]:
    """Due rows of ``lane`` among ``ids`` that no other worker holds, then (with ``limit``) the
    oldest other due rows of the lane up to ``limit``; loaded with channel, complaint and OPD,
    locked (PostgreSQL skips rows another transaction has locked; SQLite's claim re-checks).

    One target's rows go out in order: a row is left for later while an older unfinished row
    of the same target is due or being sent elsewhere (whoever sends that one rings for it
    afterwards, :func:`followers`). An older row waiting for a retry does not hold it up.
    """
    picked = list(
        db.scalars(
            select(Delivery.id)
            .where(Delivery.id.in_(list(ids)), Delivery.lane == lane, due(now))
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        )
    )
    if limit is not None and len(picked) < limit:
        picked += db.scalars(oldest_due(now, lane, limit - len(picked), besides=ids))
    if not picked:
        return []
    loaded = db.scalars(
        select(Delivery)
        .where(Delivery.id.in_(picked))
        .options(
            joinedload(Delivery.channel),
            joinedload(Delivery.complaint).joinedload(Complaint.opd),
        )
    ).all()
    held_back = _behind_others(db, loaded, now)
    return sorted((d for d in loaded if d.id not in held_back), key=lambda d: d.id)


def _behind_others(db: Session, rows: Sequence[Delivery], now: dt.datetime) -> set[int]:
    """Rows of ``rows`` that an older, unfinished row of the same target (not among ``rows``)
    must precede: that row is being sent, or is due and another worker is taking it."""
    targets = {(d.kind, d.target) for d in rows}
    mine = {d.id for d in rows}
    open_ = bindparam(None, sorted(OPEN), expanding=True, literal_execute=True)
    first_open = dict(
        ((kind, target), first)
        for kind, target, first in db.execute(
            select(Delivery.kind, Delivery.target, func.min(Delivery.id))
            .where(
                tuple_(Delivery.kind, Delivery.target).in_(sorted(targets)),
                Delivery.status.in_(open_),
                Delivery.id.not_in(sorted(mine)),
                or_(
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.next_attempt_at <= now,
                ),
            )
            .group_by(Delivery.kind, Delivery.target)
        )
    )
    return {
        d.id
        for d in rows
        if (first := first_open.get((d.kind, d.target))) is not None and first < d.id
    }


def followers(db: Session, targets: set[tuple[str, str]], now: dt.datetime) -> list[Delivery]:
    """Due rows of ``targets``: a batch rings for them once its own rows to those targets are
    recorded, since :func:`pick` left them waiting for those."""
    if not targets:
        return []
    return list(
        db.execute(
            select(Delivery.id, Delivery.lane).where(
                tuple_(Delivery.kind, Delivery.target).in_(sorted(targets)), due(now)
            )
        )
    )


def claim(db: Session, rows: list[Delivery], token: str, now: dt.datetime, settings):
    """Take the rows (``sending``, with a lease) and a rate-limit slot for each, in one
    transaction the caller commits.

    Returns the attempts, and ``(delivery, wait)`` for the rows our own limit holds back: those
    keep their status and attempts, only their time moves, so no attempt is spent. A row that
    cannot be sent at all (e.g. its provider is not configured) is taken without counting an
    attempt, its outcome already decided: dead, without a provider call.
    """
    unsendable = {}
    if not settings.sandbox:
        for delivery in rows:
            reason = cannot_send(delivery, resources.adapter(delivery.kind), settings)
            if reason is not None:
                unsendable[delivery.id] = reason
    claimed = _take(db, [d.id for d in rows if d.id not in unsendable], token, now, settings)
    claimed |= _take(db, list(unsendable), token, now, settings, count=False)
    attempts = [Attempt(d, was=d.status) for d in rows if d.id in claimed]
    for attempt in attempts:
        delivery = attempt.delivery
        set_committed_value(delivery, "attempts", claimed[delivery.id])
        set_committed_value(delivery, "status", DeliveryStatus.SENDING)
        set_committed_value(delivery, "claim_token", token)
        if delivery.id in unsendable:
            attempt.outcome = "dead"
            attempt.details = {"reason": unsendable[delivery.id]}
    to_send = [a for a in attempts if a.outcome is None]
    slots = resources.limiter().acquire_in(
        db, [a.target_key for a in to_send], settings.lease_seconds
    )
    throttled: list[tuple[Delivery, float]] = []
    for attempt, (slot, wait) in zip(to_send, slots, strict=True):
        attempt.slot = slot
        if slot is None:
            unclaim(db, attempt, token, now, wait=wait)
            throttled.append((attempt.delivery, wait))
    return [a for a in attempts if a.slot is not None or a.outcome is not None], throttled


def _take(db: Session, ids: list[int], token: str, now, settings, *, count: bool = True):
    """The claim itself, re-checking that each row is still due: ``{id: attempts}`` taken."""
    if not ids:
        return {}
    return dict(
        db.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),
                Delivery.status.in_([s.value for s in CLAIMABLE]),
                Delivery.next_attempt_at <= now,
            )
            .values(
                status=DeliveryStatus.SENDING,
                claim_token=token,
                lease_until=now + dt.timedelta(seconds=settings.lease_seconds),
                attempts=Delivery.attempts + 1 if count else Delivery.attempts,
                updated_at=now,
            )
            .returning(Delivery.id, Delivery.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    )


def unclaim(db: Session, attempt: Attempt, token: str, now: dt.datetime, *, wait=None) -> None:
    """Give a claimed row back as it was, unattempted. With ``wait`` (our own limit said so)
    its next attempt moves that far and the waker rings for it then; without it, the row is due
    now and the caller rings for it after its commit."""
    values: dict = {
        "status": attempt.was,
        "attempts": Delivery.attempts - 1,
        "claim_token": None,
        "lease_until": None,
        "updated_at": now,
        "published_at": None,
    }
    if wait is not None:
        values["next_attempt_at"] = now + dt.timedelta(seconds=wait)
    db.execute(
        update(Delivery)
        .where(Delivery.id == attempt.delivery.id, Delivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def cannot_send(delivery: Delivery, adapter: ChannelAdapter | None, settings) -> str | None:
    """Why this row cannot be sent at all (nothing to retry), or None."""
    if adapter is None:
        return f"no adapter for channel kind {delivery.kind!r}"
    channel = delivery.channel
    secrets_ = settings.channel_secrets
    if channel.token_env and not secrets_.get(channel.token_env):
        return f"token not configured ({channel.token_env})"
    if channel.secret_env and not secrets_.get(channel.secret_env):
        return f"secret not configured ({channel.secret_env})"
    return adapter.missing_configuration()
