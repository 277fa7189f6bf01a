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

from sqlalchemy import and_, bindparam, exists, func, select, text, tuple_, update
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bridge.channels import ChannelAdapter, OutgoingMessage
from bridge.models import Complaint, Delivery
from bridge.outbox import resources
from bridge.ratelimit import Slot
from bridge.statuses import CLAIMABLE, DeliveryStatus, Lane


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
    """The ``limit`` oldest due rows of ``lane`` (id, kind, target), served in order by
    ``ix_deliveries_claimable``."""
    return (
        select(Delivery.id, Delivery.kind, Delivery.target)
        .where(Delivery.lane == lane, due(now), Delivery.id.not_in(list(besides)))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )


@dataclasses.dataclass
class Picked:
    """What :func:`pick` took: the rows, and the targets it locked but takes no row of."""

    rows: list[Delivery]
    #: Other claims skipped these targets while this one held their locks (its batch then
    #: filled up with other rows): this claim must ring for their due rows.
    passed_over: set[tuple[str, str]] = dataclasses.field(default_factory=set)


def pick(
    db: Session, ids: Sequence[int], lane: Lane, now: dt.datetime, *, limit: int | None
) -> Picked:
    """The rows this batch sends, locked for its claim: the due rows of ``ids`` first, then
    (with ``limit``) the oldest other due rows of the lane, up to ``limit`` in all.

    A worker takes whole targets: the rows it takes for one target are that target's oldest due
    rows, in id order, and no other worker sends to that target meanwhile (a target with a row
    ``sending`` is left alone; on PostgreSQL concurrent claims also take a transaction-scoped
    advisory lock per target, SQLite runs one claim at a time). So one target's rows go out in
    the order they were queued, whoever sends them, while different targets go side by side.
    A row waiting for a retry does not hold the target up.
    """
    own = [tuple(r) for r in db.execute(_candidates(now, lane).where(Delivery.id.in_(list(ids))))]
    others = []
    if limit is not None and len(own) < limit:
        others = [tuple(r) for r in db.execute(oldest_due(now, lane, 3 * limit, besides=ids))]
    order: dict[tuple[str, str], None] = {}
    for _id, kind, target in (*own, *others):
        order.setdefault((kind, target), None)
    busy = _busy(db, list(order))
    targets = [t for t in order if t not in busy]
    targets = _take_targets(db, targets)
    if not targets:
        return Picked([])
    if limit is None:
        # Only the rows asked for, and only those whose turn it is in their target's queue.
        asked = {row_id for row_id, _kind, _target in own}
        chosen = [i for i in _heads(db, targets, now, 10 * PER_TARGET * len(own)) if i in asked]
    else:
        chosen = _heads(db, targets, now, limit)
    if not chosen:
        return Picked([], _passed_over(db, targets, []))
    locked = set(
        db.scalars(
            select(Delivery.id)
            .where(Delivery.id.in_(chosen))
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        )
    )
    loaded = db.scalars(
        select(Delivery)
        .where(Delivery.id.in_(sorted(_in_order(db, chosen, locked))))
        .options(
            joinedload(Delivery.channel),
            joinedload(Delivery.complaint).joinedload(Complaint.opd),
        )
    ).all()
    return Picked(sorted(loaded, key=lambda d: d.id), _passed_over(db, targets, loaded))


def side_by_side(db: Session) -> bool:
    """Whether the outbox's writers run side by side on this database: PostgreSQL's claims and
    records do (claims lock their targets), SQLite's queue for its one write lock."""
    return db.get_bind().dialect.name == "postgresql"


def _passed_over(
    db: Session, locked: list[tuple[str, str]], taken: Sequence[Delivery]
) -> set[tuple[str, str]]:
    """Targets whose advisory lock this claim holds but takes no row of. Only PostgreSQL
    claims lock targets (and run concurrently); SQLite's run one at a time and skip nobody."""
    if not side_by_side(db):
        return set()
    return set(locked) - {(d.kind, d.target) for d in taken}


def _in_order(db: Session, chosen: list[int], locked: set[int]) -> list[int]:
    """``chosen`` rows we could lock, each target's only up to its first row we could not (a
    row another transaction holds, e.g. a re-route cancelling it): never one behind it."""
    kinds = dict(
        ((row_id), (kind, target))
        for row_id, kind, target in db.execute(
            select(Delivery.id, Delivery.kind, Delivery.target).where(Delivery.id.in_(chosen))
        )
    )
    stopped: set[tuple[str, str]] = set()
    kept = []
    for row_id in chosen:
        target = kinds.get(row_id)
        if target in stopped:
            continue
        if row_id not in locked:
            stopped.add(target)
            continue
        kept.append(row_id)
    return kept


#: Most rows of one target a batch takes (they go out one after the other, in order).
PER_TARGET = 5


def _candidates(now: dt.datetime, lane: Lane):
    return (
        select(Delivery.id, Delivery.kind, Delivery.target)
        .where(Delivery.lane == lane, due(now))
        .order_by(Delivery.id)
    )


def _busy(db: Session, targets: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Targets another worker is sending to now."""
    if not targets:
        return set()
    return {
        (kind, target)
        for kind, target in db.execute(
            select(Delivery.kind, Delivery.target)
            .where(
                tuple_(Delivery.kind, Delivery.target).in_(targets),
                Delivery.status == DeliveryStatus.SENDING,
            )
            .distinct()
        )
    }


def _take_targets(db: Session, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The targets this claim may take, in order. PostgreSQL: those whose advisory lock we got
    (held until the claim commits, by when their rows are ``sending``). SQLite: all of them;
    its claims run one at a time, and the claim re-checks that no row of the target is sent
    by someone else."""
    if not targets or not side_by_side(db):
        return targets
    keys = [f"{kind}:{target}" for kind, target in targets]
    got = set(
        db.scalars(
            text(
                "SELECT key FROM unnest(CAST(:keys AS text[])) AS key"
                " WHERE pg_try_advisory_xact_lock(hashtextextended(key, 0))"
            ),
            {"keys": keys},
        )
    )
    return [t for t, key in zip(targets, keys, strict=True) if key in got]


def _heads(db: Session, targets: list[tuple[str, str]], now: dt.datetime, limit: int) -> list[int]:
    """Up to :data:`PER_TARGET` oldest due rows of each target, up to ``limit`` rows, taking
    the targets in the order given."""
    rank = (
        func.row_number()
        .over(partition_by=(Delivery.kind, Delivery.target), order_by=Delivery.id)
        .label("rank")
    )
    ranked = (
        select(Delivery.id, Delivery.kind, Delivery.target, rank)
        .where(tuple_(Delivery.kind, Delivery.target).in_(targets), due(now))
        .subquery()
    )
    heads: dict[tuple[str, str], list[int]] = {}
    for row_id, kind, target, _rank in db.execute(
        select(ranked).where(ranked.c.rank <= PER_TARGET).order_by(ranked.c.id)
    ):
        heads.setdefault((kind, target), []).append(row_id)
    chosen: list[int] = []
    for target in targets:
        room = limit - len(chosen)
        if room <= 0:
            break
        chosen += heads.get(target, [])[:room]
    return chosen


def followers(
    db: Session, targets: set[tuple[str, str]], now: dt.datetime, limit: int
) -> list[tuple[int, str]]:
    """Up to ``limit`` due rows (id, lane) of ``targets``, the oldest first: a batch rings for
    them once its own rows to those targets are recorded, so a target's queue keeps moving."""
    if not targets:
        return []
    return [
        (row_id, lane)
        for row_id, lane in db.execute(
            select(Delivery.id, Delivery.lane)
            .where(tuple_(Delivery.kind, Delivery.target).in_(sorted(targets)), due(now))
            .order_by(Delivery.id)
            .limit(limit)
            # Rows another transaction holds are its business (and waiting for them could
            # wait on a claim that waits on us).
            .with_for_update(skip_locked=True)
        )
    ]


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


_other = aliased(Delivery)


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
                ~exists().where(
                    _other.kind == Delivery.kind,
                    _other.target == Delivery.target,
                    _other.status == DeliveryStatus.SENDING,
                    _other.claim_token != token,
                ),
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
