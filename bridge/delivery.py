"""The delivery lifecycle: claim an outbox row, call its channel, record what happened.

``pending``/``retrying`` --claim--> ``sending`` --> ``sent`` | ``retrying`` | ``dead`` |
``needs_review``. A row is claimed with a conditional UPDATE, so one worker holds it however
many copies of its task the broker hands out; a task claims, sends and records a batch of due
rows at a time (:func:`deliver_batch`). A row whose outcome is unknown (a timeout after the
request went out, a lease that expired while sending) goes to ``needs_review`` and is never
posted again without a person deciding.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import logging
import random
import secrets
import threading
import time
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bridge import db as database
from bridge import messages, public, queue
from bridge.channels import (
    PUBLIC_KINDS,
    ChannelAdapter,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    adapter_class,
    is_public,
)
from bridge.models import Channel, Complaint, Delivery, SandboxMessage, utcnow
from bridge.ratelimit import RateLimiter, Slot
from bridge.statuses import CLAIMABLE, REDELIVERABLE, ComplaintStatus, DeliveryStatus
from bridge.workflow import SYSTEM, Actor, advance, delivery_event_of, record_events

log = logging.getLogger(__name__)

MAX_BROKER_COUNTDOWN = queue.MAX_COUNTDOWN
JITTER = 0.2

#: Set while a batch runs in this process, and when someone asked the batch to stop early.
_running = threading.Event()
_stop = threading.Event()


def stop_softly() -> bool:
    """Ask the running batch to stop before its next provider call: the call in flight ends,
    the outcomes are recorded and the rows not yet attempted are handed back. Returns False
    when no batch runs (the caller may then stop at once). The worker's SIGTERM handler uses
    it, so a pool process that Celery terminates (cancelled on a lost broker connection, cold
    shutdown) does not leave its whole batch to ``needs_review``."""
    if not _running.is_set():
        return False
    _stop.set()
    return True


def stopping() -> bool:
    """Whether a stop was asked for (the worker then ends its process after the batch)."""
    return _stop.is_set()


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"
    NEEDS_REVIEW = "needs_review"
    THROTTLED = "throttled"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Result:
    outcome: Outcome
    retry_in: float | None = None


def _settings():
    return current_app.config["BRIDGE_SETTINGS"]


def _limiter() -> RateLimiter:
    app = current_app
    limiter = app.extensions.get("bridge.ratelimiter")
    if limiter is None:
        limiter = RateLimiter(database.engine_of(app), _settings().rate_limits)
        app.extensions["bridge.ratelimiter"] = limiter
    return limiter


def _adapter(kind: str) -> ChannelAdapter | None:
    cache = current_app.extensions.setdefault("bridge.adapters", {})
    if kind not in cache:
        cls = adapter_class(kind)
        cache[kind] = cls(_settings()) if cls is not None else None
    return cache[kind]


@dataclasses.dataclass
class Batch:
    """What one delivery task did: an outcome for each row it looked at."""

    results: dict[int, Result] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return dict(collections.Counter(r.outcome.value for r in self.results.values()))


@dataclasses.dataclass
class _Attempt:
    """A claimed row on its way through one batch."""

    delivery: Delivery
    was: str
    slot: Slot | None = None
    outcome: Outcome | None = None
    details: dict = dataclasses.field(default_factory=dict)
    #: When the provider answered (the row's ``sent_at``; retries count from it).
    answered_at: dt.datetime | None = None


def deliver(delivery_id: int) -> Result:
    """Attempt one outbox row now, if it is due and nobody else holds it; nothing else."""
    batch = deliver_batch([delivery_id], take_on=False)
    return batch.results.get(delivery_id, Result(Outcome.SKIPPED))


def deliver_batch(ids: Sequence[int], *, take_on: bool = True) -> Batch:
    """Attempt the rows ``ids`` that are due, and with ``take_on`` other due rows too, up to
    ``BRIDGE_DELIVERY_BATCH`` in all.

    A task is only a doorbell: the outbox rows are the work. Taking on due rows that other
    doorbells will ring for (they then find nothing to do) lets one claim, one record and one
    broker message serve many rows when a backlog builds up. Three short transactions: claim
    (rows and rate-limit slots), then the provider calls with no transaction open, then the
    record of every outcome. Rows not reached before half the task's time limit are handed
    back untouched, so a slow provider cannot hold a batch past its lease; so are the rows not
    reached when :func:`stop_softly` was called.
    """
    _running.set()
    try:
        return _deliver_batch(ids, take_on)
    finally:
        _running.clear()


def _deliver_batch(ids: Sequence[int], take_on: bool) -> Batch:
    db = database.session()
    settings = _settings()
    batch = Batch()
    now = utcnow()
    rows = _pick(db, ids, now, limit=max(len(ids), settings.delivery_batch) if take_on else None)
    if not rows:
        db.rollback()
        return batch
    token = secrets.token_hex(8)
    attempts, throttled = _claim(db, rows, token, now, settings)
    db.commit()
    for delivery, wait in throttled:
        batch.results[delivery.id] = Result(Outcome.THROTTLED, retry_in=wait)
        if wait <= MAX_BROKER_COUNTDOWN:
            queue.ring_later(delivery.id, wait)
    if not attempts:
        return batch

    deadline = time.monotonic() + settings.task_time_limit / 2
    handed_back: list[_Attempt] = []
    for attempt in attempts:
        if attempt.outcome is not None:  # decided without a provider call
            continue
        if time.monotonic() > deadline or _stop.is_set():
            handed_back.append(attempt)
            continue
        try:
            message = _render(db, attempt.delivery, settings)
        except PermanentError as exc:
            attempt.outcome, attempt.details = Outcome.DEAD, {"reason": exc.reason}
            continue
        # End any read transaction before the provider call (SQLite snapshots, idle conns).
        db.commit()
        attempt.outcome, attempt.details = _send(_adapter(attempt.delivery.kind), message, settings)
        attempt.answered_at = utcnow()
    _record(db, token, [a for a in attempts if a.outcome is not None], handed_back, batch)
    return batch


def due(now: dt.datetime):
    """Rows a worker may take now. The statuses are written into the SQL as literals: only then
    can PostgreSQL prove that the partial index ``ix_deliveries_claimable`` covers the query
    (a bound parameter could be any status)."""
    claimable = bindparam(None, sorted(CLAIMABLE), expanding=True, literal_execute=True)
    return and_(Delivery.status.in_(claimable), Delivery.next_attempt_at <= now)


def oldest_due(now: dt.datetime, limit: int, *, besides: Sequence[int] = ()):
    """The ``limit`` oldest due rows no other transaction has locked, locked for ours: the
    queue-table pattern, served in order by ``ix_deliveries_claimable``."""
    return (
        select(Delivery.id)
        .where(due(now), Delivery.id.not_in(list(besides)))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _pick(db: Session, ids: Sequence[int], now: dt.datetime, *, limit: int | None):
    """Due rows among ``ids`` that no other worker holds, then (with ``limit``) the oldest
    other due rows up to ``limit``; loaded with channel, complaint and OPD, locked (PostgreSQL
    skips rows another transaction has locked; SQLite's claim re-checks instead)."""
    picked = list(
        db.scalars(
            select(Delivery.id)
            .where(Delivery.id.in_(list(ids)), due(now))
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        )
    )
    if limit is not None and len(picked) < limit:
        picked += db.scalars(oldest_due(now, limit - len(picked), besides=ids))
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
    order = {delivery_id: n for n, delivery_id in enumerate(picked)}
    return sorted(loaded, key=lambda d: order[d.id])


def _claim(db: Session, rows: list[Delivery], token: str, now: dt.datetime, settings):
    """Take the rows (``sending``, with a lease) and a rate-limit slot for each, in one
    transaction the caller commits.

    Returns the attempts, and the rows our own limit holds back: those keep their status and
    attempts, only their time moves, so no attempt is spent. A row that cannot be sent at all
    (e.g. its provider is not configured) is taken without counting an attempt, its outcome
    already decided: dead, without a provider call.
    """
    unsendable = {}
    if not settings.sandbox:
        for delivery in rows:
            reason = _cannot_send(delivery, _adapter(delivery.kind))
            if reason is not None:
                unsendable[delivery.id] = reason
    claimed = _take(db, [d.id for d in rows if d.id not in unsendable], token, now, settings)
    claimed |= _take(db, list(unsendable), token, now, settings, count=False)
    attempts = [_Attempt(d, was=d.status) for d in rows if d.id in claimed]
    for attempt in attempts:
        delivery = attempt.delivery
        set_committed_value(delivery, "attempts", claimed[delivery.id])
        set_committed_value(delivery, "status", DeliveryStatus.SENDING)
        set_committed_value(delivery, "claim_token", token)
        if delivery.id in unsendable:
            attempt.outcome = Outcome.DEAD
            attempt.details = {"reason": unsendable[delivery.id]}
    to_send = [a for a in attempts if a.outcome is None]
    slots = _limiter().acquire_in(
        db, [(a.delivery.kind, a.delivery.target) for a in to_send], settings.lease_seconds
    )
    throttled: list[tuple[Delivery, float]] = []
    for attempt, (slot, wait) in zip(to_send, slots, strict=True):
        attempt.slot = slot
        if slot is None:
            _unclaim(db, attempt, token, now, wait=wait)
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


def _unclaim(db: Session, attempt: _Attempt, token: str, now: dt.datetime, *, wait=None):
    """Give a claimed row back as it was, unattempted. With ``wait`` (our own limit said so)
    its next attempt moves that far, and a doorbell is booked for then; without it, the row
    is due now and the sweeper (or the caller's ring) publishes it again."""
    values: dict = {
        "status": attempt.was,
        "attempts": Delivery.attempts - 1,
        "claim_token": None,
        "lease_until": None,
        "updated_at": now,
        "published_at": None,
    }
    if wait is not None:
        retry_at = now + dt.timedelta(seconds=wait)
        values["next_attempt_at"] = retry_at
        if wait <= MAX_BROKER_COUNTDOWN:
            values["published_at"] = retry_at
    db.execute(
        update(Delivery)
        .where(Delivery.id == attempt.delivery.id, Delivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _send(adapter: ChannelAdapter | None, message: OutgoingMessage, settings):
    """Call the provider (or the sandbox); classify what happened. Never raises."""
    if settings.sandbox:
        return Outcome.SENT, {
            "result": SendResult(external_id=f"sandbox-{message.delivery_id}"),
            "sandbox": message,
        }
    try:
        return Outcome.SENT, {"result": adapter.send(message)}
    except OutcomeUnknownError as exc:
        return Outcome.NEEDS_REVIEW, {"reason": exc.reason}
    except RetryableError as exc:
        return Outcome.RETRYING, {"reason": exc.reason, "retry_after": exc.retry_after}
    except PermanentError as exc:
        return Outcome.DEAD, {"reason": exc.reason}
    except Exception as exc:
        # A bug or an interrupted call (e.g. the soft time limit): the provider may have acted.
        log.exception("delivery %s: unexpected error", message.delivery_id)
        return Outcome.NEEDS_REVIEW, {
            "reason": f"internal error ({type(exc).__name__}); check before resending"
        }


def _cannot_send(delivery: Delivery, adapter: ChannelAdapter | None) -> str | None:
    if adapter is None:
        return f"no adapter for channel kind {delivery.kind!r}"
    channel = delivery.channel
    secrets_ = _settings().channel_secrets
    if channel.token_env and not secrets_.get(channel.token_env):
        return f"token not configured ({channel.token_env})"
    if channel.secret_env and not secrets_.get(channel.secret_env):
        return f"secret not configured ({channel.secret_env})"
    return adapter.missing_configuration()


def _render(db: Session, delivery: Delivery, settings) -> OutgoingMessage:
    """The message for this row: the complaint (forward, reopen) or the bridge's reply."""
    channel: Channel = delivery.channel
    adapter = _adapter(delivery.kind)
    limit = adapter.max_length if adapter is not None else 4096
    secrets_ = settings.channel_secrets

    def checkpoint(progress: dict) -> None:
        with database.new_session() as own:
            own.execute(
                update(Delivery).where(Delivery.id == delivery.id).values(progress=progress)
            )
            own.commit()

    if is_public(delivery.kind):
        wadule_id, text, payload = _render_public(db, delivery, settings, adapter, limit)
    elif delivery.purpose == "reply":
        wadule_id = None
        text = delivery.text[:limit]
        payload = {"type": "bridge.reply", "text": text}
    else:
        complaint = delivery.complaint
        wadule_id = complaint.wadule_id
        link = messages.complaint_link(settings, complaint.wadule_id)
        header = messages.reopen_header(delivery.note) if delivery.purpose == "reopen" else ""
        text = header + messages.private_text(
            complaint,
            opd_name=complaint.opd.name,
            link=link,
            limit=limit - messages.text_length(header),
        )
        payload = messages.private_payload(
            complaint, opd_slug=complaint.opd.slug, opd_name=complaint.opd.name, link=link
        )
        if delivery.purpose == "reopen":
            payload = {**payload, "type": "complaint.reopened", "note": delivery.note}
    return OutgoingMessage(
        delivery_id=delivery.id,
        wadule_id=wadule_id or "",
        kind=delivery.kind,
        target=delivery.target,
        text=text,
        payload=payload,
        token=secrets_.get(channel.token_env) if channel.token_env else None,
        secret=secrets_.get(channel.secret_env) if channel.secret_env else None,
        progress=dict(delivery.progress or {}),
        checkpoint=checkpoint,
    )


def _render_public(db: Session, delivery: Delivery, settings, adapter, limit: int):
    """A public channel's post: the redacted summary fitted to the channel's own length unit,
    and for Instagram the URL of the card image. Confidential complaints raise PermanentError."""
    if delivery.purpose == "reply":
        raise PermanentError(f"replies never go to public channel {delivery.kind!r}")
    complaint = delivery.complaint
    summary = public.public_summary(
        complaint,
        opd_slug=complaint.opd.slug,
        opd_name=complaint.opd.name,
        link=messages.complaint_link(settings, complaint.wadule_id),
        reopened=delivery.purpose == "reopen",
    )
    text = public.public_text(
        summary, limit=limit, measure=getattr(adapter, "measure", messages.text_length)
    )
    image_url = (
        public.card_url(settings, complaint.wadule_id) if delivery.kind == "instagram" else None
    )
    return complaint.wadule_id, text, public.public_payload(summary, text=text, image_url=image_url)


def _retry_delay(delivery: Delivery, retry_after: float | None) -> float | None:
    """Seconds until the next attempt, or None when the schedule is used up."""
    schedule = _settings().delivery_retry_schedule
    failures = delivery.attempts - delivery.retry_base
    if failures > len(schedule):
        return None
    base = schedule[failures - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return max(base, retry_after or 0.0)


def _outcome_values(attempt: _Attempt, now: dt.datetime) -> tuple[dict, Result]:
    """The row's new columns for an attempt's outcome, and the result to report."""
    outcome, details = attempt.outcome, attempt.details
    reason = details.get("reason")
    answered = attempt.answered_at or now
    values: dict = {"claim_token": None, "lease_until": None, "updated_at": now}
    if outcome is Outcome.SENT:
        values |= {
            "status": DeliveryStatus.SENT,
            "external_id": details["result"].external_id,
            "sent_at": answered,
            "last_error": None,
        }
    elif outcome is Outcome.RETRYING:
        retry_in = _retry_delay(attempt.delivery, details.get("retry_after"))
        if retry_in is None:
            attempt.outcome = Outcome.DEAD
            values |= {
                "status": DeliveryStatus.DEAD,
                "last_error": f"retries exhausted: {reason}"[:500],
            }
            return values, Result(Outcome.DEAD)
        retry_at = answered + dt.timedelta(seconds=retry_in)
        values |= {
            "status": DeliveryStatus.RETRYING,
            "last_error": reason,
            "next_attempt_at": retry_at,
            "published_at": retry_at if retry_in <= MAX_BROKER_COUNTDOWN else None,
        }
        return values, Result(Outcome.RETRYING, retry_in=retry_in)
    elif outcome is Outcome.DEAD:
        values |= {"status": DeliveryStatus.DEAD, "last_error": reason}
    else:
        values |= {"status": DeliveryStatus.NEEDS_REVIEW, "last_error": reason}
    return values, Result(outcome)


def _record(
    db: Session,
    token: str,
    attempts: list[_Attempt],
    handed_back: list[_Attempt],
    batch: Batch,
) -> None:
    """Write every attempt's outcome in one transaction, each only while our claim on its
    row still stands; release the slots; tell Wadule; move the complaints on."""
    now = utcnow()
    kept = set(
        db.scalars(
            select(Delivery.id)
            .where(
                Delivery.id.in_([a.delivery.id for a in attempts]), Delivery.claim_token == token
            )
            .with_for_update()
        )
    )
    recorded: list[_Attempt] = []
    changes: dict[tuple[str, ...], list[dict]] = {}
    for attempt in attempts:
        delivery = attempt.delivery
        values, result = _outcome_values(attempt, now)
        if delivery.id not in kept:
            # The lease expired and the sweeper moved the row on; what we learnt is only logged.
            log.warning("delivery %s: claim lost before recording %s", delivery.id, result.outcome)
            batch.results[delivery.id] = Result(Outcome.SKIPPED)
            continue
        batch.results[delivery.id] = result
        recorded.append(attempt)
        changes.setdefault(tuple(sorted(values)), []).append(
            {"row_id": delivery.id, **{f"new_{k}": v for k, v in values.items()}}
        )
    table = Delivery.__table__
    for columns, rows in changes.items():
        # One statement per shape of outcome (sent, retrying, ...), executed for many rows.
        db.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.claim_token == token)
            .values({c: bindparam(f"new_{c}") for c in columns}),
            rows,
        )
    for attempt in handed_back:
        _unclaim(db, attempt, token, now)
    # A send counts from its answer: the slots are released with the outcomes.
    _limiter().release_in(
        db, [(a.slot, _slow_down(a)) for a in (*attempts, *handed_back) if a.slot is not None]
    )
    for attempt in recorded:
        sandbox = attempt.details.get("sandbox")
        if sandbox is not None:
            # The inbox entry commits with the row's "sent": exactly one per sent delivery.
            db.add(
                SandboxMessage(
                    delivery_id=attempt.delivery.id,
                    kind=sandbox.kind,
                    target=sandbox.target,
                    text=sandbox.text,
                    payload=dict(sandbox.payload),
                )
            )
        result = attempt.details.get("result")
        if result is not None and result.new_target:
            _move_target(db, attempt.delivery, result.new_target)
    _after_outcomes(db, recorded, now)
    db.commit()
    if any(a.delivery.purpose != "reply" for a in recorded):
        queue.ring_events()
    for attempt in recorded:
        delivery, reason = attempt.delivery, attempt.details.get("reason")
        log.info(
            "delivery %s (%s) %s%s",
            delivery.id,
            delivery.kind,
            attempt.outcome,
            f": {reason}" if reason else "",
        )
        retry_in = batch.results[delivery.id].retry_in
        if retry_in is not None and retry_in <= MAX_BROKER_COUNTDOWN:
            queue.ring_later(delivery.id, retry_in)
    if handed_back:
        why = "stop requested" if _stop.is_set() else "task time budget"
        log.info("%d deliveries handed back unattempted (%s)", len(handed_back), why)
        queue.ring([a.delivery.id for a in handed_back])


def _slow_down(attempt: _Attempt) -> float:
    result = attempt.details.get("result")
    return (result.slow_down or 0.0) if result is not None else 0.0


def _move_target(db: Session, delivery: Delivery, new_target: str) -> None:
    db.execute(update(Channel).where(Channel.id == delivery.channel_id).values(target=new_target))
    db.execute(update(Delivery).where(Delivery.id == delivery.id).values(target=new_target))
    log.info("channel %s moved to a new target by the provider", delivery.channel_id)


_EVENT_STATUS = {Outcome.SENT: "sent", Outcome.DEAD: "dead", Outcome.NEEDS_REVIEW: "needs_review"}
_WAITING = (ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED, ComplaintStatus.DELIVERY_FAILED)


def _after_outcomes(db: Session, recorded: list[_Attempt], now: dt.datetime) -> None:
    """Tell Wadule, and move the complaints on: ``forwarded`` when a private channel has it,
    ``delivery_failed`` when none can. One event insert for the whole batch."""
    theirs = [a for a in recorded if a.delivery.purpose != "reply" and a.delivery.complaint_id]
    if not theirs:
        return
    # Lock order complaint -> event counter, as every status change takes them; several
    # complaints are taken in id order, so two batches never wait for each other in a cycle.
    current = {
        row.id: (row.status, row.round)
        for row in db.execute(
            select(Complaint.id, Complaint.status, Complaint.round)
            .where(Complaint.id.in_(sorted({a.delivery.complaint_id for a in theirs})))
            .order_by(Complaint.id)
            .with_for_update()
        )
    }
    events, moves = [], []
    for attempt in theirs:
        delivery, outcome = attempt.delivery, attempt.outcome
        if outcome in _EVENT_STATUS:
            result = attempt.details.get("result")
            events.append(
                delivery_event_of(
                    delivery,
                    status=_EVENT_STATUS[outcome],
                    error=attempt.details.get("reason"),
                    external_id=result.external_id if result is not None else None,
                )
            )
        status, round_ = current[delivery.complaint_id]
        if is_public(delivery.kind) or round_ != delivery.round:
            continue
        new = None
        if outcome is Outcome.SENT and status in _WAITING:
            new, note = ComplaintStatus.FORWARDED, f"sent to {delivery.kind}"
        elif (
            outcome is Outcome.DEAD
            and status in (ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED)
            and _every_private_dead(db, delivery)
        ):
            new, note = ComplaintStatus.DELIVERY_FAILED, "every private channel failed"
        if new is not None:
            moves.append((delivery.complaint, status, new, note))
            current[delivery.complaint_id] = (new, round_)
    events += advance(db, moves, actor=SYSTEM, at=now)
    record_events(db, events, at=now)


def _every_private_dead(db: Session, delivery: Delivery) -> bool:
    statuses = db.scalars(
        select(Delivery.status).where(
            Delivery.complaint_id == delivery.complaint_id,
            Delivery.round == delivery.round,
            Delivery.purpose != "reply",
            Delivery.kind.not_in(PUBLIC_KINDS),
        )
    ).all()
    return bool(statuses) and all(s == DeliveryStatus.DEAD for s in statuses)


@dataclasses.dataclass
class SweepResult:
    published: int = 0
    expired: int = 0


def sweep(limit: int = 1000) -> SweepResult:
    """Publish every due row that no task is known to wait for; end expired leases.

    Runs from beat every ``BRIDGE_SWEEP_INTERVAL`` seconds. Rows published recently get a grace
    period, so a queue that is merely busy is not flooded with copies (a copy would be harmless:
    the claim lets one through).
    """
    db = database.session()
    settings = _settings()
    now = utcnow()
    result = SweepResult()

    expired = db.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .limit(limit)
    ).all()
    for delivery in expired:
        moved = db.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.claim_token == delivery.claim_token,
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
        result.expired += moved
    db.commit()

    grace = dt.timedelta(seconds=max(30.0, 4 * settings.sweep_interval))
    due_ids = db.scalars(
        select(Delivery.id)
        .where(
            due(now),
            or_(Delivery.published_at.is_(None), Delivery.published_at < now - grace),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    ).all()
    if due_ids:
        db.execute(
            update(Delivery)
            .where(Delivery.id.in_(due_ids))
            .values(published_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        result.published = queue.ring_or_forget(db, list(due_ids))
    if result.expired or result.published:
        log.info("sweep: %d published, %d leases expired", result.published, result.expired)
    return result


def redeliver(db: Session, complaint: Complaint, *, channel: str | None, actor: Actor) -> list[int]:
    """Send dead and needs-review rows again (a person decided); return the rows re-queued."""
    now = utcnow()
    conditions = [
        Delivery.complaint_id == complaint.id,
        Delivery.round == complaint.round,
        Delivery.status.in_([s.value for s in REDELIVERABLE]),
    ]
    if channel:
        conditions.append(Delivery.kind == channel)
    ids = db.scalars(select(Delivery.id).where(and_(*conditions))).all()
    if not ids:
        return []
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
    db.commit()
    queue.ring(ids)
    return list(ids)
