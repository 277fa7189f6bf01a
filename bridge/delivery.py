"""The delivery lifecycle: claim an outbox row, call its channel, record what happened.

``pending``/``retrying`` --claim--> ``sending`` --> ``sent`` | ``retrying`` | ``dead`` |
``needs_review``. A row is claimed with a conditional UPDATE, so one worker holds it however
many copies of its task the broker hands out. A row whose outcome is unknown (a timeout after
the request went out, a lease that expired while sending) goes to ``needs_review`` and is never
posted again without a person deciding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import random
import secrets

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bridge import db as database
from bridge import messages, public, queue
from bridge.channels import (
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
from bridge.workflow import SYSTEM, Actor, change_status, delivery_event

log = logging.getLogger(__name__)

MAX_BROKER_COUNTDOWN = queue.MAX_COUNTDOWN
JITTER = 0.2


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


def deliver(delivery_id: int) -> Result:
    """Attempt one outbox row now, if it is due and nobody else holds it."""
    db = database.session()
    settings = _settings()
    # One query for the row, its channel, its complaint and the complaint's OPD.
    delivery = db.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(
            joinedload(Delivery.channel),
            joinedload(Delivery.complaint).joinedload(Complaint.opd),
        )
    )
    if delivery is None or delivery.status not in CLAIMABLE:
        return Result(Outcome.SKIPPED)
    now = utcnow()
    if delivery.next_attempt_at > now:
        # An early duplicate of the doorbell; the row's own time stands.
        return Result(Outcome.SKIPPED)

    adapter = _adapter(delivery.kind)
    if not settings.sandbox:
        reason = _cannot_send(delivery, adapter)
        if reason:
            return _fail_unsent(db, delivery, reason)

    claim = _claim(db, delivery, now, settings)
    if claim is None:
        return Result(Outcome.SKIPPED)
    token, slot, wait = claim
    if slot is None:
        return _throttle(db, delivery, wait)
    try:
        message = _render(db, delivery, settings)
    except PermanentError as exc:
        return _record(db, delivery, token, Outcome.DEAD, reason=exc.reason, slot=slot)
    # End any read transaction before the provider call (SQLite snapshots, idle connections).
    db.commit()
    outcome, details = _send(adapter, message, settings)
    return _record(db, delivery, token, outcome, slot=slot, **details)


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


def _claim(db: Session, delivery: Delivery, now: dt.datetime, settings):
    """Take the row (``sending``, with a lease) and a rate-limit slot in one transaction.

    None when the row is not due or someone else has it. ``(token, None, wait)`` when our own
    limit says wait: the claim is rolled back then, so no attempt is spent.
    """
    token = secrets.token_hex(8)
    attempts = db.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status.in_([s.value for s in CLAIMABLE]),
            Delivery.next_attempt_at <= now,
        )
        .values(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            lease_until=now + dt.timedelta(seconds=settings.lease_seconds),
            attempts=Delivery.attempts + 1,
            updated_at=now,
        )
        .returning(Delivery.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    if attempts is None:
        db.rollback()
        return None
    slot, wait = _limiter().acquire_in(
        db, delivery.kind, delivery.target, hold=settings.lease_seconds
    )
    if slot is None:
        db.rollback()
        return token, None, wait
    db.commit()
    set_committed_value(delivery, "attempts", attempts)
    set_committed_value(delivery, "status", DeliveryStatus.SENDING)
    set_committed_value(delivery, "claim_token", token)
    return token, slot, 0.0


def _throttle(db: Session, delivery: Delivery, wait: float) -> Result:
    """Our own limit says wait: the row keeps its status and attempts, only its time moves."""
    now = utcnow()
    retry_at = now + dt.timedelta(seconds=wait)
    scheduled = wait <= MAX_BROKER_COUNTDOWN
    db.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.status.in_([s.value for s in CLAIMABLE]))
        .values(
            next_attempt_at=retry_at,
            published_at=retry_at if scheduled else None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.commit()
    if scheduled:
        queue.ring_later(delivery.id, wait)
    return Result(Outcome.THROTTLED, retry_in=wait)


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


def _record(
    db: Session,
    delivery: Delivery,
    token: str,
    outcome: Outcome,
    *,
    reason: str | None = None,
    retry_after: float | None = None,
    result: SendResult | None = None,
    sandbox: OutgoingMessage | None = None,
    slot: Slot | None = None,
) -> Result:
    """Write the attempt's outcome, but only while our claim still stands."""
    now = utcnow()
    values: dict = {"claim_token": None, "lease_until": None, "updated_at": now}
    retry_in = None
    if outcome is Outcome.SENT:
        values |= {
            "status": DeliveryStatus.SENT,
            "external_id": result.external_id,
            "sent_at": now,
            "last_error": None,
        }
    elif outcome is Outcome.RETRYING:
        retry_in = _retry_delay(delivery, retry_after)
        if retry_in is None:
            outcome = Outcome.DEAD
            values |= {
                "status": DeliveryStatus.DEAD,
                "last_error": f"retries exhausted: {reason}"[:500],
            }
        else:
            retry_at = now + dt.timedelta(seconds=retry_in)
            scheduled = retry_in <= MAX_BROKER_COUNTDOWN
            values |= {
                "status": DeliveryStatus.RETRYING,
                "last_error": reason,
                "next_attempt_at": retry_at,
                "published_at": retry_at if scheduled else None,
            }
    elif outcome is Outcome.DEAD:
        values |= {"status": DeliveryStatus.DEAD, "last_error": reason}
    else:
        values |= {"status": DeliveryStatus.NEEDS_REVIEW, "last_error": reason}
    recorded = db.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    quiet_for = (result.slow_down or 0.0) if result is not None else 0.0
    if recorded != 1:
        # The lease expired and the sweeper moved the row on; what we learnt is only logged.
        db.rollback()
        if slot is not None:
            _limiter().release(slot, quiet_for=quiet_for)
        log.warning("delivery %s: claim lost before recording %s", delivery.id, outcome)
        return Result(Outcome.SKIPPED)
    if slot is not None:
        # The send counts from its answer: the slot is released with the outcome.
        _limiter().release_in(db, slot, quiet_for=quiet_for)
    if sandbox is not None:
        # The inbox entry commits with the row's "sent": exactly one per sent delivery.
        db.add(
            SandboxMessage(
                delivery_id=delivery.id,
                kind=delivery.kind,
                target=delivery.target,
                text=sandbox.text,
                payload=dict(sandbox.payload),
            )
        )
    if result is not None and result.new_target:
        _move_target(db, delivery, result.new_target)
    _after_outcome(
        db,
        delivery,
        outcome,
        now,
        reason,
        external_id=result.external_id if result is not None else None,
    )
    db.commit()
    queue.ring_events()
    log.info(
        "delivery %s (%s) %s%s",
        delivery.id,
        delivery.kind,
        outcome,
        f": {reason}" if reason else "",
    )
    if outcome is Outcome.RETRYING and retry_in is not None and retry_in <= MAX_BROKER_COUNTDOWN:
        queue.ring_later(delivery.id, retry_in)
    return Result(outcome, retry_in=retry_in)


def _fail_unsent(db: Session, delivery: Delivery, reason: str) -> Result:
    """End an unclaimed row as dead without a provider call (e.g. provider not configured)."""
    outcome = Outcome.DEAD
    now = utcnow()
    done = db.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.status.in_([s.value for s in CLAIMABLE]))
        .values(status=DeliveryStatus.DEAD, last_error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done:
        _after_outcome(db, delivery, outcome, now, reason)
    db.commit()
    queue.ring_events()
    log.warning("delivery %s (%s) dead: %s", delivery.id, delivery.kind, reason)
    return Result(outcome if done else Outcome.SKIPPED)


def _move_target(db: Session, delivery: Delivery, new_target: str) -> None:
    db.execute(update(Channel).where(Channel.id == delivery.channel_id).values(target=new_target))
    db.execute(update(Delivery).where(Delivery.id == delivery.id).values(target=new_target))
    log.info("channel %s moved to a new target by the provider", delivery.channel_id)


def _after_outcome(
    db: Session,
    delivery: Delivery,
    outcome: Outcome,
    now: dt.datetime,
    reason: str | None = None,
    external_id: str | None = None,
) -> None:
    """Tell Wadule, and move the complaint on: forwarded when a private channel has it, failed
    when none can."""
    if delivery.purpose == "reply":
        return
    # Lock order complaint -> event counter, as every status change takes them: two
    # transactions taking them the other way round would deadlock.
    db.execute(select(Complaint.id).where(Complaint.id == delivery.complaint_id).with_for_update())
    status = {Outcome.SENT: "sent", Outcome.DEAD: "dead", Outcome.NEEDS_REVIEW: "needs_review"}
    if outcome in status:
        delivery_event(
            db, delivery, status=status[outcome], error=reason, at=now, external_id=external_id
        )
    if is_public(delivery.kind):
        return
    complaint = delivery.complaint
    if complaint.round != delivery.round:
        return
    waiting = (ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED, ComplaintStatus.DELIVERY_FAILED)
    if outcome is Outcome.SENT:
        change_status(
            db,
            complaint,
            ComplaintStatus.FORWARDED,
            only_from=waiting,
            note=f"sent to {delivery.kind}",
            actor=SYSTEM,
            at=now,
        )
    elif outcome is Outcome.DEAD:
        statuses = db.scalars(
            select(Delivery.status).where(
                Delivery.complaint_id == complaint.id,
                Delivery.round == complaint.round,
                Delivery.purpose != "reply",
                Delivery.kind.not_in(["facebook_page", "instagram", "x"]),
            )
        ).all()
        if statuses and all(s == DeliveryStatus.DEAD for s in statuses):
            change_status(
                db,
                complaint,
                ComplaintStatus.DELIVERY_FAILED,
                only_from=(ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED),
                note="every private channel failed",
                actor=SYSTEM,
                at=now,
            )


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
            Delivery.status.in_([s.value for s in CLAIMABLE]),
            Delivery.next_attempt_at <= now,
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
