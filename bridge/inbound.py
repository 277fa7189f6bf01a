"""Inbound webhooks (contract section 7): WAHA and Telegram tell us what groups said.

Unsigned, forged, stale, repeated or malformed input gets a 4xx (or a 200 "ignored" for a
repeat) and changes nothing; no input yields a 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bridge import commands, events
from bridge import db as database
from bridge.models import Delivery, InboundEvent, utcnow
from bridge.statuses import DeliveryStatus

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__, url_prefix="/webhooks")

#: Events older than this are refused: a replay of a captured request cannot change anything.
MAX_AGE_SECONDS = 15 * 60
#: WAHA ack levels: 2 reached a device, 3 read, 4 played (voice).
ACK_STATUS = {2: DeliveryStatus.DELIVERED, 3: DeliveryStatus.READ, 4: DeliveryStatus.READ}
ACK_RANK = {DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.READ: 3}


def _error(status: int, message: str):
    response = jsonify(code=status, message=message)
    response.status_code = status
    return response


def _body() -> tuple[bytes, dict | None]:
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return raw, None
    return raw, parsed if isinstance(parsed, dict) else None


def _first_time(source: str, event_id: str) -> bool:
    """Remember an event id; False when it was handled before."""
    db = database.session()
    db.add(InboundEvent(source=source, event_id=event_id[:200]))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        return False
    return True


@bp.post("/waha")
def waha():
    """WAHA events, signed with ``X-Webhook-Hmac`` (hex HMAC-SHA512 of the raw body)."""
    settings = current_app.config["BRIDGE_SETTINGS"]
    key = settings.waha_webhook_hmac_key
    raw = request.get_data(cache=True)
    given = request.headers.get("X-Webhook-Hmac", "")
    if not key:
        return _error(401, "WAHA webhooks are refused: BRIDGE_WAHA_WEBHOOK_HMAC_KEY is not set")
    expected = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
    if not hmac.compare_digest(expected, given.strip().lower()):
        return _error(401, "bad or missing X-Webhook-Hmac")
    _raw, body = _body()
    if body is None or not isinstance(body.get("payload"), dict):
        return _error(400, "malformed WAHA event")
    event_id, kind, payload = body.get("id"), body.get("event"), body["payload"]
    if not isinstance(event_id, str) or not event_id or not isinstance(kind, str):
        return _error(400, "a WAHA event needs id and event")
    stamp = body.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return _error(400, "a WAHA event needs a timestamp")
    if abs(time.time() - stamp / 1000) > MAX_AGE_SECONDS:
        return _error(400, "stale event")
    if not _first_time("waha", event_id):
        return jsonify(status="ignored", reason="repeated event id")
    if kind in ("message", "message.any"):
        return _waha_message(event_id, payload)
    if kind == "message.ack":
        return _waha_ack(payload)
    database.session().commit()
    return jsonify(status="ignored", reason=f"event {kind[:40]!r} is not used")


def _waha_message(event_id: str, payload: dict):
    db = database.session()
    text, group = payload.get("body"), payload.get("from")
    sender = payload.get("participant") or payload.get("author") or ""
    if payload.get("fromMe") is True:
        db.commit()
        return jsonify(status="ignored", reason="our own message")
    if not all(isinstance(v, str) for v in (text, group, sender)):
        db.rollback()
        return _error(400, "a message needs body, from and participant as strings")
    message = commands.Inbound("waha", event_id, "whatsapp_group", group, sender, text)
    return _run_command(message)


def _run_command(message: commands.Inbound):
    db = database.session()
    outbox, _changed = commands.handle(db, message)
    db.commit()
    return jsonify(status="handled" if outbox else "ignored")


def _waha_ack(payload: dict):
    """The first ack of a group message counts (WAHA sends one per participant)."""
    db = database.session()
    message_id, level = payload.get("id"), payload.get("ack")
    if not isinstance(message_id, str) or not isinstance(level, int) or isinstance(level, bool):
        db.rollback()
        return _error(400, "an ack needs id and ack")
    new = ACK_STATUS.get(level)
    if new is None:
        db.commit()
        return jsonify(status="ignored", reason="ack level not tracked")
    short_id = message_id.rsplit("_", 1)[-1]
    delivery = db.scalar(
        select(Delivery).where(
            Delivery.kind == "whatsapp_group",
            Delivery.external_id.in_([message_id, short_id]),
        )
    )
    if delivery is None:
        db.commit()
        return jsonify(status="ignored", reason="unknown message")
    behind = [s.value for s, rank in ACK_RANK.items() if rank < ACK_RANK[new]]
    moved = db.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.status.in_(behind))
        .values(status=new, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        event = events.delivery_updated(delivery, status=new.value, error=None)
        events.record(db, [event] if event else [], at=utcnow())
    db.commit()
    return jsonify(status="handled" if moved else "ignored")


@bp.post("/telegram")
def telegram():
    """Telegram updates, authenticated by ``X-Telegram-Bot-Api-Secret-Token``."""
    settings = current_app.config["BRIDGE_SETTINGS"]
    secret = settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
        return _error(401, "bad or missing X-Telegram-Bot-Api-Secret-Token")
    _raw, body = _body()
    if body is None or not isinstance(body.get("update_id"), int):
        return _error(400, "malformed Telegram update")
    message = body.get("message")
    if not isinstance(message, dict):
        return jsonify(status="ignored", reason="not a message")
    chat, sender, text = message.get("chat"), message.get("from"), message.get("text")
    if not (isinstance(chat, dict) and isinstance(sender, dict) and isinstance(text, str)):
        return jsonify(status="ignored", reason="not a text message")
    date = message.get("date")
    if isinstance(date, int) and abs(time.time() - date) > MAX_AGE_SECONDS:
        return _error(400, "stale update")
    if not _first_time("telegram", str(body["update_id"])):
        return jsonify(status="ignored", reason="repeated update id")
    if sender.get("is_bot"):
        database.session().commit()
        return jsonify(status="ignored", reason="a bot's message")
    inbound = commands.Inbound(
        "telegram",
        str(body["update_id"]),
        "telegram",
        str(chat.get("id")),
        str(sender.get("id", "")),
        text,
    )
    return _run_command(inbound)
