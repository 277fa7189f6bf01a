"""Inbound webhooks (contract section 7): WAHA and Telegram tell us what groups said.

What each provider sends, and what the bridge makes of it, is in docs/providers/waha.md and
docs/providers/telegram.md. In short: unsigned or forged input gets a 401, malformed input a
400, and neither changes anything; a message is acted on once however often it arrives; no
input yields a 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select, update

from bridge import commands, events, metrics
from bridge import db as database
from bridge.models import Delivery, utcnow
from bridge.senders import ANONYMOUS_ADMINS, UNKNOWN, LidResolver, telegram_sender, whatsapp_sender
from bridge.statuses import DeliveryStatus

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__, url_prefix="/webhooks")

#: Events older than this are not acted on: a replay of a captured request changes nothing.
MAX_AGE_SECONDS = 15 * 60
#: WAHA ack levels: 2 reached a device, 3 read, 4 played (voice).
ACK_STATUS = {2: DeliveryStatus.DELIVERED, 3: DeliveryStatus.READ, 4: DeliveryStatus.READ}
ACK_NAMES = {"DEVICE": 2, "READ": 3, "PLAYED": 4}
ACK_RANK = {DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.READ: 3}


def _error(status: int, message: str):
    response = jsonify(code=status, message=message)
    response.status_code = status
    return response


def _ignored(reason: str):
    return jsonify(status="ignored", reason=reason)


def _body() -> dict | None:
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _run(message: commands.Inbound, resolver: LidResolver | None = None):
    db = database.session()
    outcome = commands.handle(db, message, resolver=resolver)
    db.commit()  # the answer's outbox row and any events are rung after this commit
    metrics.command_handled(message.source, outcome)
    return jsonify(status=outcome.status, reason=outcome.reason)


# WAHA


@bp.post("/waha")
def waha():
    """WAHA events, signed with ``X-Webhook-Hmac`` (hex HMAC-SHA512 of the raw body)."""
    settings = current_app.config["BRIDGE_SETTINGS"]
    key = settings.waha_webhook_hmac_key
    if not key:
        return _error(401, "WAHA webhooks are refused: BRIDGE_WAHA_WEBHOOK_HMAC_KEY is not set")
    if not _waha_signed(request.get_data(cache=True), key):
        return _error(401, "bad or missing X-Webhook-Hmac")
    body = _body()
    if body is None or not isinstance(body.get("payload"), dict):
        return _error(400, "malformed WAHA event")
    kind, payload = body.get("event"), body["payload"]
    if not isinstance(kind, str):
        return _error(400, "a WAHA event needs its event name")
    # WAHA before 2024.11 sends no event id, before 2025.3.1 no timestamp: both are optional.
    # A timestamp that is there must be a finite number; a missing one cannot be checked.
    if body.get("id") is not None and not isinstance(body["id"], str):
        return _error(400, "a WAHA event id is a string")
    stamp = body.get("timestamp")
    if stamp is not None:
        age = _age(stamp, per_second=1000)
        if age is None:
            return _error(400, "a WAHA event timestamp is a number of milliseconds")
        if age > MAX_AGE_SECONDS:
            return _error(400, "stale event")
    if kind in ("message", "message.any"):
        return _waha_message(body, payload)
    if kind in ("message.ack", "message.ack.group"):
        return _waha_ack(body, payload)
    return _ignored(f"event {kind[:40]!r} is not used")


def _waha_signed(raw: bytes, key: str) -> bool:
    algorithm = request.headers.get("X-Webhook-Hmac-Algorithm")
    if algorithm is not None and algorithm.strip().lower() != "sha512":
        return False
    given = request.headers.get("X-Webhook-Hmac", "").strip().lower()
    expected = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
    # Bytes, not str: compare_digest refuses a non-ASCII str instead of answering False.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _age(stamp: Any, *, per_second: int) -> float | None:
    """Seconds since ``stamp`` (a Unix time in 1/``per_second`` s), None when it is not one."""
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return None
    try:
        seconds = float(stamp) / per_second
    except OverflowError:
        return None
    if not math.isfinite(seconds):
        return None
    return abs(time.time() - seconds)


def _waha_message(body: dict, payload: dict):
    chat, message_id, text = payload.get("from"), payload.get("id"), payload.get("body")
    if not isinstance(chat, str) or not isinstance(message_id, str):
        return _error(400, "a message needs id and from")
    if payload.get("fromMe") is True:
        return _ignored("our own message")
    if text is None:
        return _ignored("no text")  # media without a caption, a sticker, a location
    if not isinstance(text, str):
        return _error(400, "a message body is text")
    if not chat.endswith("@g.us"):
        return _ignored("not a group message")
    _fromme, _chat, short_id = _waha_id_parts(message_id)
    reply_to = payload.get("replyTo")
    quoted_id = reply_to.get("id") if isinstance(reply_to, dict) else None
    quoted = _waha_ids(chat, quoted_id, body) if isinstance(quoted_id, str) else ()
    message = commands.Inbound(
        source="waha",
        kind="whatsapp_group",
        group=chat,
        sender=whatsapp_sender(_waha_sender(payload)),
        text=text,
        message_key=f"{chat}_{short_id}",
        quoted=quoted,
    )
    return _run(message, LidResolver(current_app.config["BRIDGE_SETTINGS"]))


def _waha_sender(payload: dict) -> str | None:
    """The group member who wrote the message, wherever the engine put them: ``participant``
    (all engines), ``author`` and ``_data.author`` (WEBJS), ``_data.key.participant`` (NOWEB),
    ``_data.Info.Sender`` (GOWS)."""
    data = payload.get("_data") if isinstance(payload.get("_data"), dict) else {}
    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    info = data.get("Info") if isinstance(data.get("Info"), dict) else {}
    for candidate in (
        payload.get("participant"),
        payload.get("author"),
        data.get("author"),
        key.get("participant"),
        info.get("Sender"),
    ):
        if isinstance(candidate, dict):
            candidate = candidate.get("_serialized")
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _waha_id_parts(message_id: str) -> tuple[str | None, str | None, str]:
    """``true_<chat>_<id>[_<participant>]`` → (fromMe, chat, id); a bare id is just the id."""
    parts = message_id.split("_")
    if len(parts) >= 3 and parts[0] in ("true", "false"):
        return parts[0], parts[1], parts[2]
    return None, None, message_id


def _waha_ids(chat: str, message_id: str, body: dict) -> tuple[str, ...]:
    """Every ``Delivery.external_id`` our message ``message_id`` in ``chat`` may be stored as:
    the engines answered sendText with ``true_<chat>_<id>`` (WEBJS), the bare ``<id>``
    (NOWEB) or ``true_<chat>_<id>_<our number>`` (group messages, GOWS and WEBJS)."""
    _fromme, _chat, short_id = _waha_id_parts(message_id)
    ids = [message_id, short_id, f"true_{chat}_{short_id}"]
    me = body.get("me") if isinstance(body.get("me"), dict) else {}
    for own in (me.get("id"), me.get("lid")):
        if isinstance(own, str) and own:
            ids.append(f"true_{chat}_{short_id}_{own}")
    return tuple(dict.fromkeys(i[:200] for i in ids))


def _waha_ack(body: dict, payload: dict):
    """A receipt: our message reached a member's device or was read (the first one counts;
    WAHA sends one per member, as ``message.ack.group`` since 2025.12.2)."""
    db = database.session()
    message_id, level = payload.get("id"), payload.get("ack")
    if isinstance(level, bool) or not isinstance(level, int):
        level = ACK_NAMES.get(payload.get("ackName")) if level is None else None
    if not isinstance(message_id, str) or level is None:
        return _error(400, "an ack needs id and ack")
    new = ACK_STATUS.get(level)
    if new is None:
        return _ignored("ack level not tracked")
    _fromme, chat, _short = _waha_id_parts(message_id)
    chat = chat or payload.get("from")
    if not isinstance(chat, str):
        return _ignored("unknown message")
    delivery = db.scalar(
        select(Delivery)
        .where(
            Delivery.kind == "whatsapp_group",
            Delivery.target == chat,
            Delivery.external_id.in_(_waha_ids(chat, message_id, body)),
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    if delivery is None:
        return _ignored("unknown message")
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


# Telegram


@bp.post("/telegram")
def telegram():
    """Telegram updates, authenticated by ``X-Telegram-Bot-Api-Secret-Token``.

    Every authentic update is answered 200, also those the bridge ignores: Telegram sends
    anything else again.
    """
    settings = current_app.config["BRIDGE_SETTINGS"]
    secret = settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(secret.encode(), given.encode("utf-8", "replace")):
        return _error(401, "bad or missing X-Telegram-Bot-Api-Secret-Token")
    body = _body()
    update_id = body.get("update_id") if body is not None else None
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        return _error(400, "malformed Telegram update")
    message = body.get("message")
    if not isinstance(message, dict):
        return _ignored("not a new message")  # edits, channel posts, member changes
    chat, message_id = message.get("chat"), message.get("message_id")
    text = message.get("text") if message.get("text") is not None else message.get("caption")
    if not isinstance(chat, dict) or chat.get("type") not in ("group", "supergroup"):
        return _ignored("not a group message")
    chat_id = chat.get("id")
    if not isinstance(text, str) or not isinstance(message_id, int) or not isinstance(chat_id, int):
        return _ignored("not a text message")
    age = _age(message.get("date"), per_second=1)
    if age is None or age > MAX_AGE_SECONDS:
        return _ignored("stale update")
    sender = _telegram_sender(message, chat_id)
    if sender is None:
        return _ignored("a bot's message")
    reply_to = message.get("reply_to_message")
    quoted_id = reply_to.get("message_id") if isinstance(reply_to, dict) else None
    inbound = commands.Inbound(
        source="telegram",
        kind="telegram",
        group=str(chat_id),
        sender=sender,
        text=text,
        message_key=f"{chat_id}:{message_id}",
        quoted=(str(quoted_id),) if isinstance(quoted_id, int) else (),
    )
    return _run(inbound)


def _telegram_sender(message: dict, chat_id: int):
    """The sender as responders name them; None for another bot.

    An anonymous admin posts as the group itself (``sender_chat`` is the chat, ``from`` the
    placeholder bot GroupAnonymousBot): they are ``tg:admins``. A channel posting in the group
    is nobody the directory can list.
    """
    sender_chat = message.get("sender_chat")
    if isinstance(sender_chat, dict):
        return ANONYMOUS_ADMINS if sender_chat.get("id") == chat_id else UNKNOWN
    user = message.get("from")
    if not isinstance(user, dict):
        return UNKNOWN
    if user.get("is_bot") is True:
        return None
    user_id = user.get("id")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return UNKNOWN
    return telegram_sender(user_id)
