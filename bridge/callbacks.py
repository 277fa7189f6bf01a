"""Pushing events to Wadule: signed per Standard Webhooks, in order per complaint, with retries.

For one complaint, event N+1 is not pushed before event N was accepted (2xx) or given up on.
Different complaints go independently, so one stuck complaint never holds up the rest. A
``410 Gone`` stops all pushing until an operator resumes it; the events stay in the feed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
import time

import requests
from flask import current_app
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased
from standardwebhooks.webhooks import Webhook

from bridge import db as database
from bridge import metrics
from bridge.channels.base import retry_after_seconds
from bridge.events import envelope
from bridge.models import BridgeState, Event, utcnow

log = logging.getLogger(__name__)

STATE_KEY = "callbacks"
LEASE = dt.timedelta(seconds=60)
TIMEOUT = (5.0, 15.0)
JITTER = 0.2


@dataclasses.dataclass
class PushResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    stopped: bool = False


def webhook_id(event: Event) -> str:
    """Stable across retries of one event, as the spec asks."""
    return f"evt_{event.seq}"


def signed_request(secret: str, event: Event, *, now: float | None = None) -> tuple[bytes, dict]:
    """The body and Standard Webhooks headers for one push of ``event``."""
    body = json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":"))
    timestamp = int(now if now is not None else time.time())
    msg_id = webhook_id(event)
    signature = Webhook(secret).sign(
        msg_id=msg_id, timestamp=dt.datetime.fromtimestamp(timestamp, dt.UTC), data=body
    )
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "user-agent": "wadule-bridge",
    }
    return body.encode("utf-8"), headers


def stopped_reason() -> str | None:
    """Why pushing is stopped (a 410 from Wadule), or None while it runs."""
    with database.new_session() as db:
        state = db.get(BridgeState, STATE_KEY)
    if state is None or not state.value.get("stopped"):
        return None
    return state.value.get("reason", "stopped")


def resume() -> None:
    """Start pushing again after an operator dealt with a ``410``."""
    with database.new_session() as db:
        state = db.get(BridgeState, STATE_KEY)
        if state is not None:
            state.value = {"stopped": False}
            db.commit()


def _stop(reason: str) -> None:
    with database.new_session() as db:
        state = db.get(BridgeState, STATE_KEY)
        value = {"stopped": True, "reason": reason, "at": utcnow().isoformat()}
        if state is None:
            db.add(BridgeState(key=STATE_KEY, value=value))
        else:
            state.value = value
        db.commit()
    # An alert: operators' log monitoring and /readyz both show it.
    log.error("callbacks stopped: %s; events stay readable through GET /events", reason)


def due_heads(db, now: dt.datetime, limit: int) -> list[int]:
    """Seqs of pending events that are due and first in line for their complaint."""
    earlier = aliased(Event)
    blocked = exists().where(
        earlier.complaint_id == Event.complaint_id,
        earlier.seq < Event.seq,
        earlier.push_status == "pending",
    )
    return list(
        db.scalars(
            select(Event.seq)
            .where(
                Event.push_status == "pending",
                Event.next_push_at <= now,
                or_(Event.push_lease_until.is_(None), Event.push_lease_until < now),
                or_(Event.complaint_id.is_(None), ~blocked),
            )
            .order_by(Event.seq)
            .limit(limit)
        )
    )


def push_due(limit: int = 200, session: requests.Session | None = None) -> PushResult:
    """Push every due head event once; schedule retries for failures."""
    settings = current_app.config["BRIDGE_SETTINGS"]
    result = PushResult()
    if not settings.wadule_callback_url or stopped_reason():
        result.stopped = bool(settings.wadule_callback_url)
        return result
    http = session or requests.Session()
    while True:
        with database.new_session() as db:
            heads = due_heads(db, utcnow(), limit)
        if not heads:
            return result
        for seq in heads:
            outcome = _push_one(seq, settings, http)
            if outcome == "stopped":
                result.stopped = True
                return result
            setattr(result, outcome, getattr(result, outcome) + 1)


def _push_one(seq: int, settings, http: requests.Session) -> str:
    now = utcnow()
    with database.new_session() as db:
        claimed = db.execute(
            update(Event)
            .where(
                Event.seq == seq,
                Event.push_status == "pending",
                or_(Event.push_lease_until.is_(None), Event.push_lease_until < now),
            )
            .values(push_lease_until=now + LEASE, push_attempts=Event.push_attempts + 1)
        ).rowcount
        db.commit()
        if not claimed:
            return "retrying"  # another pusher has it; counted as not delivered by us
        event = db.get(Event, seq)
        body, headers = signed_request(settings.wadule_webhook_secret, event)
        try:
            response = http.post(
                settings.wadule_callback_url,
                data=body,
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
            )
            status, retry_after = (
                response.status_code,
                retry_after_seconds(response.headers.get("Retry-After")),
            )
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except requests.RequestException as exc:
            status, retry_after, error = None, None, f"{type(exc).__name__}"
        values: dict = {"push_lease_until": None}
        if status is not None and 200 <= status < 300:
            values |= {"push_status": "delivered", "pushed_at": utcnow(), "last_push_error": None}
            outcome = "delivered"
        elif status == 410:
            values |= {"last_push_error": "HTTP 410 Gone: pushing stopped"}
            outcome = "stopped"
        else:
            delay = _delay(settings, event.push_attempts, retry_after)
            if delay is None:
                values |= {"push_status": "failed", "last_push_error": f"gave up: {error}"}
                outcome = "failed"
                log.error(
                    "event %s: callback gave up after %d attempts (%s)",
                    seq,
                    event.push_attempts,
                    error,
                )
            else:
                values |= {
                    "next_push_at": utcnow() + dt.timedelta(seconds=delay),
                    "last_push_error": error,
                }
                outcome = "retrying"
        db.execute(update(Event).where(Event.seq == seq).values(**values))
        db.commit()
    metrics.callback_pushed(outcome)
    if outcome == "stopped":
        _stop(f"Wadule answered 410 Gone for event {seq}")
    return outcome


def _delay(settings, attempts: int, retry_after: float | None) -> float | None:
    schedule = settings.callback_retry_schedule
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return max(base, retry_after or 0.0)


def backlog(db) -> tuple[int, float]:
    """Pending events and the age in seconds of the oldest (for /metrics and /readyz)."""
    count, oldest = db.execute(
        select(func.count(), func.min(Event.occurred_at)).where(Event.push_status == "pending")
    ).one()
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return count, age
