"""The delivery engine: claim a batch of outbox rows, call their providers, record what happened.

``pending``/``retrying`` --claim--> ``sending`` --> ``sent`` | ``retrying`` | ``dead`` |
``needs_review``, or back to where it was, unattempted, when a provider asks to wait (throttling,
a media container still processing). A task is only a doorbell: the rows are the work. Short
transactions: the claim (rows and rate-limit slots), the provider calls with no transaction
open, then the record of the outcomes.

Within a batch the rows for different targets are sent side by side (bounded by
:data:`PARALLEL_TARGETS`), each target's rows one after the other in id order, and recorded
together; a target that is slow to answer records its own outcomes later (PostgreSQL).
Nothing in here sleeps: every wait is a row's ``next_attempt_at``, and the waker rings for the
row when it is due (:mod:`bridge.outbox.sweeper`). A row whose outcome is unknown (a timeout
after the request went out, a lease that expired while sending) goes to ``needs_review`` and is
never posted again without a person deciding.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import dataclasses
import datetime as dt
import enum
import logging
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence

from flask import Flask, current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bridge import db as database
from bridge import events, metrics, queue
from bridge.channels import (
    ChannelAdapter,
    NotYetError,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
    adapter_class,
    is_public,
    private_kinds,
)
from bridge.errors import describe
from bridge.models import Channel, Complaint, Delivery, SandboxMessage, utcnow
from bridge.outbox import claim as claims
from bridge.outbox import resources
from bridge.outbox.claim import Attempt
from bridge.outbox.render import render
from bridge.statuses import (
    CARRYING_COMPLAINT,
    ComplaintStatus,
    DeliveryPurpose,
    DeliveryStatus,
    Lane,
)
from bridge.workflow import SYSTEM, advance

log = logging.getLogger(__name__)

JITTER = 0.2
#: Most targets one batch sends to at the same time (each target's rows stay in order).
PARALLEL_TARGETS = 8
#: A provider that says "too many requests" without saying for how long is left alone this long.
DEFAULT_THROTTLE_WAIT = 60.0

Stop = Callable[[], bool]


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"
    NEEDS_REVIEW = "needs_review"
    #: Held back unattempted: our rate limit, or the provider's "wait until" (no attempt spent).
    THROTTLED = "throttled"
    #: The provider is still working on an earlier step; looked at again later (no attempt).
    WAITING = "waiting"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Result:
    outcome: Outcome
    retry_in: float | None = None


@dataclasses.dataclass
class Batch:
    """What one delivery task did: an outcome for each row it looked at."""

    results: dict[int, Result] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return dict(collections.Counter(r.outcome.value for r in self.results.values()))


def _never() -> bool:
    return False


def deliver(delivery_id: int) -> Result:
    """Attempt one outbox row now, if it is due and nobody else holds it; nothing else."""
    batch = deliver_batch([delivery_id], take_on=False)
    return batch.results.get(delivery_id, Result(Outcome.SKIPPED))


def deliver_batch(
    ids: Sequence[int],
    *,
    lane: Lane | str | None = None,
    take_on: bool = True,
    stop: Stop = _never,
) -> Batch:
    """Attempt the rows ``ids`` that are due, and with ``take_on`` other due rows of the same
    lane too, up to ``BRIDGE_DELIVERY_BATCH`` in all.

    Taking on due rows that other doorbells will ring for (they then find nothing to do) lets
    one claim, one record and one broker message serve many rows when a backlog builds up.
    Rows not reached before half the task's time limit are handed back untouched, so a slow
    provider cannot hold a batch past its lease; so are the rows not reached once ``stop()``
    says so (the worker was told to stop). Without ``lane``, each lane of ``ids`` in turn.
    """
    batch = Batch()
    if lane is not None:
        _deliver_lane(list(ids), Lane(lane), take_on, stop, batch)
        return batch
    db = database.session()
    lanes = sorted(set(db.scalars(select(Delivery.lane).where(Delivery.id.in_(list(ids))))))
    db.rollback()
    for found in lanes or [Lane.PRIVATE]:
        _deliver_lane(list(ids), Lane(found), take_on, stop, batch)
    return batch


def _deliver_lane(ids: list[int], lane: Lane, take_on: bool, stop: Stop, batch: Batch) -> None:
    db = database.session()
    settings = resources.settings()
    now = utcnow()
    limit = max(len(ids), settings.delivery_batch) if take_on else None
    picked = claims.pick(db, ids, lane, now, limit=limit)
    rows = picked.rows
    # Groups this claim kept from other tasks (their doorbells found them locked) but leaves:
    # it rings for them, or they would wait for the sweeper's grace period.
    _ring_followers(db, picked.passed_over, now)
    if not rows:
        db.commit()
        return
    token = secrets.token_hex(8)
    attempts, throttled = claims.claim(db, rows, token, now, settings)
    db.commit()
    for delivery, wait in throttled:
        batch.results[delivery.id] = Result(Outcome.THROTTLED, retry_in=wait)
    if not attempts:
        return
    for attempt in attempts:
        if attempt.outcome is not None:  # decided without a provider call
            # The claim writes it as a plain string; outcomes are compared by identity below.
            attempt.outcome = Outcome(attempt.outcome)
            continue
        try:
            attempt.message = render(attempt.delivery, settings)
        except PermanentError as exc:
            attempt.outcome, attempt.details = Outcome.DEAD, {"reason": exc.reason}
    # End the read transaction before the provider calls (SQLite snapshots, idle connections).
    db.commit()
    deadline = time.monotonic() + settings.task_time_limit / 2
    handed_back = _send_and_record(db, token, attempts, deadline, stop, settings, batch)
    if handed_back:
        why = "stop requested" if stop() else "task time budget"
        log.info("%d deliveries handed back unattempted (%s)", len(handed_back), why)


# Sending


def _send_and_record(
    db: Session,
    token: str,
    attempts: list[Attempt],
    deadline: float,
    stop: Stop,
    settings,
    batch: Batch,
) -> list[Attempt]:
    """Send the attempts not decided yet, record every outcome; return the attempts handed
    back unattempted (time budget, stop asked).

    Rows for different targets go side by side in a small thread pool that lives as long as
    the process (so provider connections are reused); one target's rows go one after the other,
    in id order, in one thread. The outcomes are recorded together, in one transaction, once
    every target is done; on PostgreSQL at the latest :data:`RECORD_TOGETHER_WITHIN` after the
    sends began, and a target still sending then (a provider taking its whole read timeout)
    records its own outcomes when it is done. So a slow target holds up neither the others'
    record nor their next rows, which wait for their target to be free. (A record per target
    always cost the private lane 70 % more CPU a row in the delivery benchmark.) SQLite, whose
    writers queue for one lock anyway, records once, at the end.
    """
    decided = [a for a in attempts if a.outcome is not None]
    by_target: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: a.delivery.id):
        if attempt.outcome is None:
            by_target.setdefault(attempt.target_key, []).append(attempt)
    groups = list(by_target.values())
    if len(groups) <= 1 or settings.sandbox:
        # Nothing to overlap: no thread hand-off (the common case of one complaint's row).
        handed_back = [
            a for group in groups for a in _send_in_order(group, deadline, stop, settings)
        ]
        _record(db, token, _answered(decided, groups), handed_back, batch)
        return handed_back
    app = current_app._get_current_object()
    late = _LateTargets(token)
    futures = [
        # Each with a copy of this context: the send threads log with the batch's request id.
        _executor().submit(
            contextvars.copy_context().run,
            _send_group_in_app,
            app,
            group,
            late,
            deadline,
            stop,
            settings,
        )
        for group in groups
    ]
    # SQLite's writers queue for one lock: there the batch waits for every target, so none
    # records on its own.
    patience = RECORD_TOGETHER_WITHIN if claims.side_by_side(db) else None
    concurrent.futures.wait(futures, timeout=patience)
    done = late.close()
    if decided or done:
        _record(
            db,
            token,
            _answered(decided, [group for group, _back in done]),
            [a for _group, back in done for a in back],
            batch,
        )
    handed_back: list[Attempt] = []
    failure: BaseException | None = None
    for future in futures:
        try:
            part, handed = future.result()
        except Exception as exc:  # a late target's record failed; the others still count
            failure = failure or exc
            continue
        batch.results.update(part.results)
        handed_back += handed
    if failure is not None:
        raise failure
    return handed_back


#: Seconds a batch waits for all its targets before it records those that are done.
RECORD_TOGETHER_WITHIN = 2.0


def _answered(decided: list[Attempt], groups: list[list[Attempt]]) -> list[Attempt]:
    return decided + [a for group in groups for a in group if a.outcome is not None]


class _LateTargets:
    """The targets of a batch that finished in time for its record, and after it: those record
    their own outcomes."""

    def __init__(self, token: str):
        self.token = token
        self._lock = threading.Lock()
        self._done: list[tuple[list[Attempt], list[Attempt]]] = []
        self._closed = False

    def hand_in(self, group: list[Attempt], handed_back: list[Attempt]) -> bool:
        """Leave a finished target to the batch's record; False when that record is under way."""
        with self._lock:
            if not self._closed:
                self._done.append((group, handed_back))
            return not self._closed

    def close(self) -> list[tuple[list[Attempt], list[Attempt]]]:
        """The targets handed in so far; later ones record themselves."""
        with self._lock:
            self._closed = True
            return list(self._done)


def _send_group_in_app(
    app: Flask, group: list[Attempt], late: _LateTargets, deadline, stop, settings
) -> tuple[Batch, list[Attempt]]:
    """Send one target's rows in a pool thread; record them here if the batch has recorded
    without them."""
    with app.app_context():
        handed_back = _send_in_order(group, deadline, stop, settings)
        part = Batch()
        if not late.hand_in(group, handed_back):
            done = [a for a in group if a.outcome is not None]
            _record(database.session(), late.token, done, handed_back, part)
        return part, handed_back


def _send_in_order(group: list[Attempt], deadline: float, stop: Stop, settings) -> list[Attempt]:
    for index, attempt in enumerate(group):
        if time.monotonic() > deadline or stop():
            return group[index:]
        started = time.monotonic()
        attempt.outcome, attempt.details = _send(attempt, settings)
        attempt.answered_at = utcnow()
        if not settings.sandbox:
            metrics.provider_call(
                attempt.delivery.kind, attempt.outcome, time.monotonic() - started
            )
    return []


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    """This process's send threads (created after a fork, never inherited across one)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = concurrent.futures.ThreadPoolExecutor(
                PARALLEL_TARGETS, thread_name_prefix="bridge-send"
            )
            _pool_pid = os.getpid()
        return _pool


def _thread_adapter(kind: str) -> ChannelAdapter | None:
    """An adapter for this thread: its HTTP session (and connection pool) is not shared."""
    cache = current_app.extensions.setdefault("bridge.thread_adapters", {})
    key = (kind, threading.get_ident())
    if key not in cache:
        cls = adapter_class(kind)
        cache[key] = cls(resources.settings()) if cls is not None else None
    return cache[key]


def _send(attempt: Attempt, settings) -> tuple[Outcome, dict]:
    """Call the provider (or the sandbox); classify what happened. Never raises."""
    message = attempt.message
    if settings.sandbox:
        return Outcome.SENT, {
            "result": SendResult(external_id=f"sandbox-{message.delivery_id}"),
            "sandbox": message,
        }
    try:
        return Outcome.SENT, {"result": _thread_adapter(message.kind).send(message)}
    except OutcomeUnknownError as exc:
        return Outcome.NEEDS_REVIEW, {"reason": exc.reason}
    except NotYetError as exc:
        return Outcome.WAITING, {"reason": exc.reason, "retry_after": exc.check_after}
    except ThrottledError as exc:
        return Outcome.THROTTLED, {"reason": exc.reason, "retry_after": exc.retry_after}
    except RetryableError as exc:
        return Outcome.RETRYING, {"reason": exc.reason, "retry_after": exc.retry_after}
    except PermanentError as exc:
        return Outcome.DEAD, {"reason": exc.reason}
    except Exception as exc:
        # A bug or an interrupted call (e.g. the soft time limit): the provider may have acted.
        log.error("delivery %s: unexpected %s", message.delivery_id, describe(exc))
        return Outcome.NEEDS_REVIEW, {
            "reason": f"internal error ({type(exc).__name__}); check before resending"
        }


# Recording


def _retry_delay(delivery: Delivery, retry_after: float | None) -> float | None:
    """Seconds until the next attempt, or None when the schedule is used up."""
    schedule = resources.settings().delivery_retry_schedule
    failures = delivery.attempts - delivery.retry_base
    if failures > len(schedule):
        return None
    base = schedule[failures - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return max(base, retry_after or 0.0)


def _outcome_values(attempt: Attempt, now: dt.datetime) -> tuple[dict, Result]:
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
        return values, Result(outcome)
    if outcome in (Outcome.THROTTLED, Outcome.WAITING):
        # The provider asked us to come back later: no attempt is spent on that.
        wait = details.get("retry_after")
        wait = DEFAULT_THROTTLE_WAIT if wait is None else max(0.0, wait)
        values |= {
            "status": attempt.was,
            "attempts": attempt.delivery.attempts - 1,
            "last_error": reason,
            "next_attempt_at": answered + dt.timedelta(seconds=wait),
            "published_at": None,
        }
        return values, Result(outcome, retry_in=wait)
    if outcome is Outcome.RETRYING:
        retry_in = _retry_delay(attempt.delivery, details.get("retry_after"))
        if retry_in is None:
            attempt.outcome = Outcome.DEAD
            values |= {
                "status": DeliveryStatus.DEAD,
                "last_error": f"retries exhausted: {reason}"[:500],
            }
            return values, Result(Outcome.DEAD)
        values |= {
            "status": DeliveryStatus.RETRYING,
            "last_error": reason,
            "next_attempt_at": answered + dt.timedelta(seconds=retry_in),
            "published_at": None,
        }
        return values, Result(Outcome.RETRYING, retry_in=retry_in)
    status = DeliveryStatus.DEAD if outcome is Outcome.DEAD else DeliveryStatus.NEEDS_REVIEW
    values |= {"status": status, "last_error": reason}
    return values, Result(outcome)


def _record(
    db: Session,
    token: str,
    attempts: list[Attempt],
    handed_back: list[Attempt],
    batch: Batch,
) -> None:
    """Write every attempt's outcome in one transaction, each only while our claim on its
    row still stands; release the slots; tell Wadule; move the complaints on; ring for the
    rows that waited behind ours."""
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
    recorded: list[Attempt] = []
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
        claims.unclaim(db, attempt, token, now)
    # A send counts from its answer: the slots are released with the outcomes.
    resources.limiter().release_in(
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
    _ring_followers(db, {a.target_key for a in (*attempts, *handed_back)}, now)
    db.commit()
    for attempt in recorded:
        delivery, reason = attempt.delivery, attempt.details.get("reason")
        metrics.delivery_finished(delivery.kind, attempt.outcome)
        log.info(
            "delivery %s (%s) %s%s",
            delivery.id,
            delivery.kind,
            attempt.outcome,
            f": {reason}" if reason else "",
        )


def _ring_followers(db: Session, targets: set[tuple[str, str]], now: dt.datetime) -> None:
    """Rows of these targets that are due now (handed back, or left waiting behind ours by
    :func:`bridge.outbox.claim.pick`) are rung for after the commit."""
    followers = claims.followers(db, targets, now, resources.settings().delivery_batch)
    if not followers:
        return
    db.execute(
        update(Delivery)
        .where(Delivery.id.in_([row_id for row_id, _lane in followers]))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    queue.ring(db, followers)


def _slow_down(attempt: Attempt) -> float:
    result = attempt.details.get("result")
    return (result.slow_down or 0.0) if result is not None else 0.0


def _move_target(db: Session, delivery: Delivery, new_target: str) -> None:
    db.execute(update(Channel).where(Channel.id == delivery.channel_id).values(target=new_target))
    db.execute(update(Delivery).where(Delivery.id == delivery.id).values(target=new_target))
    log.info("channel %s moved to a new target by the provider", delivery.channel_id)


_EVENT_STATUS = {Outcome.SENT: "sent", Outcome.DEAD: "dead", Outcome.NEEDS_REVIEW: "needs_review"}
_WAITING = (ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED, ComplaintStatus.DELIVERY_FAILED)


def _after_outcomes(db: Session, recorded: list[Attempt], now: dt.datetime) -> None:
    """Tell Wadule, and move the complaints on: ``forwarded`` when a private channel has it,
    ``delivery_failed`` when none can. One event insert for the whole batch."""
    theirs = [
        a
        for a in recorded
        if DeliveryPurpose(a.delivery.purpose).carries_complaint and a.delivery.complaint_id
    ]
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
    changes, moves = [], []
    for attempt in theirs:
        delivery, outcome = attempt.delivery, attempt.outcome
        if outcome in _EVENT_STATUS:
            result = attempt.details.get("result")
            changes.append(
                events.delivery_updated(
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
    changes += advance(db, moves, actor=SYSTEM, at=now)
    events.record(db, changes, at=now)


def _every_private_dead(db: Session, delivery: Delivery) -> bool:
    statuses = db.scalars(
        select(Delivery.status).where(
            Delivery.complaint_id == delivery.complaint_id,
            Delivery.round == delivery.round,
            Delivery.purpose.in_(CARRYING_COMPLAINT),
            Delivery.kind.in_(private_kinds()),
        )
    ).all()
    return bool(statuses) and all(s == DeliveryStatus.DEAD for s in statuses)
