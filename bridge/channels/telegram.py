"""Telegram channel: posts the complaint to an OPD's group or channel through the Bot API.

``POST {telegram_api_url}/bot<token>/sendMessage`` with JSON ``chat_id``, ``text``,
``entities`` and ``link_preview_options``. The token is part of the URL, so no URL, request
exception or response text containing it ever reaches an error reason or a log line.

The rendered text uses WhatsApp's ``*bold*`` markers; here they become Telegram ``bold``
entities (plain text plus offsets), which needs no escaping of the complaint's own text.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from bridge.channels.base import (
    ChannelAdapter,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    provider_detail,
    retry_after_seconds,
)

log = logging.getLogger(__name__)

NOT_CONFIGURED = "provider not configured"

# WhatsApp's rule, roughly: a marker pair around non-blank text on one line, not inside a word.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_NUMERIC_ID = re.compile(r"-?[0-9]+")


class Adapter(ChannelAdapter):
    """Sends to a Telegram chat id (``-100…``) or ``@channelusername``."""

    kind: ClassVar[str] = "telegram"
    order: ClassVar[int] = 20
    #: Telegram allows about 20 messages a minute to one group.
    rate_limit: ClassVar[tuple[int, float]] = (20, 60.0)
    public: ClassVar[bool] = False
    #: Telegram's limit, counted in UTF-16 code units after entity parsing.
    max_length: ClassVar[int] = 4096

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        return None if self.settings.telegram_bot_token else NOT_CONFIGURED

    def send(self, message: OutgoingMessage) -> SendResult:
        missing = self.missing_configuration(message)
        if missing:
            raise PermanentError(missing)
        text, entities = bold_entities(message.text)
        try:
            return self._send(message, message.target, text, entities)
        except _Migrated as moved:
            log.info("telegram chat of delivery %s moved to a supergroup", message.delivery_id)
            # Sent once more, to the new id; a second migration answer is an error, not a loop.
            result = self._send(message, moved.new_chat_id, text, entities, may_migrate=False)
            return SendResult(external_id=result.external_id, new_target=moved.new_chat_id)

    def _send(
        self,
        message: OutgoingMessage,
        target: str,
        text: str,
        entities: list[dict[str, Any]],
        *,
        may_migrate: bool = True,
    ) -> SendResult:
        payload: dict[str, Any] = {
            "chat_id": chat_id_value(target),
            "text": text,
            "link_preview_options": {"is_disabled": True},
        }
        if entities:
            payload["entities"] = entities
        base = self.settings.telegram_api_url.rstrip("/")
        response = self.post(
            f"{base}/bot{self.settings.telegram_bot_token}/sendMessage", json=payload
        )
        status = response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        if 200 <= status < 300:
            result = body.get("result")
            if body.get("ok") is True and isinstance(result, dict):
                message_id = result.get("message_id")
                if isinstance(message_id, int | str) and not isinstance(message_id, bool):
                    return SendResult(external_id=str(message_id))
            # A 2xx means Telegram took it, even if the answer is not what the docs promise.
            return SendResult(external_id=None)
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        description = self._safe(body.get("description"))
        if status == 429:
            retry_after = parameters.get("retry_after")
            if not isinstance(retry_after, int | float) or isinstance(retry_after, bool):
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise ThrottledError("telegram: too many requests", retry_after=retry_after)
        if status == 400 and parameters.get("migrate_to_chat_id") is not None:
            new_id = str(parameters["migrate_to_chat_id"])
            if may_migrate and _NUMERIC_ID.fullmatch(new_id):
                raise _Migrated(new_id)
            raise PermanentError("telegram: chat migrated again")
        if status in (401, 404):
            raise PermanentError("telegram: bad bot token")
        if status == 403:
            raise PermanentError(f"telegram: forbidden: {description or 'bot not in chat'}")
        if status == 400:
            if "chat not found" in description.lower():
                raise PermanentError("telegram: chat not found")
            raise PermanentError(f"telegram: bad request: {description or 'no description'}")
        if status >= 500:
            raise RetryableError(
                f"telegram: server error {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            raise PermanentError(f"telegram: unexpected redirect {status}")
        raise PermanentError(
            f"telegram: refused {status}" + (f": {description}" if description else "")
        )

    def _safe(self, value: Any) -> str:
        text = provider_detail(value)
        token = self.settings.telegram_bot_token
        return text.replace(token, "***") if token else text


class _Migrated(Exception):
    def __init__(self, new_chat_id: str):
        super().__init__("chat migrated")
        self.new_chat_id = new_chat_id


def chat_id_value(target: str) -> int | str:
    """Numeric chat ids go out as integers; ``@channelusername`` stays a string."""
    target = target.strip()
    return int(target) if _NUMERIC_ID.fullmatch(target) else target


def bold_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Strip WhatsApp ``*bold*`` markers; return the plain text and Telegram ``bold`` entities.

    Offsets and lengths are in UTF-16 code units, as the Bot API counts them.
    """
    plain: list[str] = []
    entities: list[dict[str, Any]] = []
    units = 0
    position = 0
    for match in _BOLD.finditer(text):
        before = text[position : match.start()]
        plain.append(before)
        units += utf16_len(before)
        inner = match.group(1)
        entities.append({"type": "bold", "offset": units, "length": utf16_len(inner)})
        plain.append(inner)
        units += utf16_len(inner)
        position = match.end()
    plain.append(text[position:])
    return "".join(plain), entities


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


__all__ = ["Adapter", "bold_entities", "chat_id_value", "utf16_len"]
