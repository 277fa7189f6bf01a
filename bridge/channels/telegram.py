"""Telegram channel: posts the complaint to an OPD's group or channel through the Bot API.

``POST {telegram_api_url}/bot<token>/sendMessage`` with JSON ``chat_id``, ``text``,
``entities`` and ``link_preview_options``. The token is part of the URL, so no URL, request
exception or response text containing it ever reaches an error reason or a log line.

The rendered text uses WhatsApp's ``*bold*`` markers; here they become Telegram ``bold``
entities (plain text plus offsets), which needs no escaping of the complaint's own text.

A message with a picture (the weekly report's chart) goes through ``sendPhoto``: multipart
form data with the file as ``photo`` and the text as ``caption`` with ``caption_entities``
(https://core.telegram.org/bots/api#sendphoto: "upload a new photo using multipart/form-data";
caption "0-1024 characters after entities parsing"). A longer text follows the picture as a
``sendMessage``, the picture captioned with the text's first paragraph; the picture's success is
checkpointed, so a retry sends only the text.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, ClassVar

from bridge.channels.base import (
    ChannelAdapter,
    CheckContext,
    Finding,
    Findings,
    OutgoingMessage,
    PermanentError,
    ProbeFailed,
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
#: sendPhoto's caption limit, in UTF-16 units after entity parsing (Bot API "sendPhoto").
CAPTION_LIMIT = 1024


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
        try:
            return self._deliver(message, message.target)
        except _Migrated as moved:
            log.info("telegram chat of delivery %s moved to a supergroup", message.delivery_id)
            # Sent once more, to the new id; a second migration answer is an error, not a loop.
            result = self._deliver(message, moved.new_chat_id, may_migrate=False)
            return SendResult(external_id=result.external_id, new_target=moved.new_chat_id)

    def _deliver(
        self, message: OutgoingMessage, target: str, *, may_migrate: bool = True
    ) -> SendResult:
        text, entities = bold_entities(message.text)
        if message.image is None:
            return self._send(target, text, entities, may_migrate=may_migrate)
        fits = utf16_len(text) <= CAPTION_LIMIT
        if "photo_sent" not in message.progress:
            caption, caption_entities = (
                (text, entities)
                if fits
                # Half the limit in characters is within it in UTF-16 units, whatever they are.
                else bold_entities(first_paragraph(message.text)[: CAPTION_LIMIT // 2])
            )
            result = self._send_photo(
                message, target, caption, caption_entities, may_migrate=may_migrate
            )
            if fits:
                return result
            # The picture is out: a retry of this row sends only the text.
            message.progress["photo_sent"] = result.external_id or True
            message.checkpoint(dict(message.progress))
        return self._send(target, text, entities, may_migrate=may_migrate)

    def _send(
        self,
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
        return self._result(response, may_migrate=may_migrate)

    def _send_photo(
        self,
        message: OutgoingMessage,
        target: str,
        caption: str,
        entities: list[dict[str, Any]],
        *,
        may_migrate: bool = True,
    ) -> SendResult:
        # Form fields are strings; structured ones JSON-serialized (Bot API "Making requests").
        fields: dict[str, str] = {"chat_id": str(chat_id_value(target)), "caption": caption}
        if entities:
            fields["caption_entities"] = json.dumps(entities)
        base = self.settings.telegram_api_url.rstrip("/")
        response = self.post(
            f"{base}/bot{self.settings.telegram_bot_token}/sendPhoto",
            data=fields,
            files={
                "photo": (
                    message.image_name or "image.png",
                    message.image,
                    message.image_type or "image/png",
                )
            },
        )
        return self._result(response, may_migrate=may_migrate)

    def _result(self, response, *, may_migrate: bool) -> SendResult:
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

    # Channel check (contract section 9)

    def check(self, context: CheckContext) -> Finding:
        """The bot token works, the bot is in the chat and may post, and in a group it reads
        the messages (privacy mode off, or the bot an admin)."""
        found = Findings()
        if not self.settings.telegram_bot_token:
            return found.unusable("Telegram is not configured: set BRIDGE_TELEGRAM_BOT_TOKEN")
        try:
            status, body = self._ask("getMe", {})
            if status in (401, 404):
                return found.unusable(
                    "Telegram does not accept the bot token: check BRIDGE_TELEGRAM_BOT_TOKEN"
                )
            me = body.get("result") if status == 200 else None
            if not isinstance(me, dict) or not isinstance(me.get("id"), int):
                return self._check_failed(found, "getMe", status, body)
            bot = f"@{me.get('username')}" if me.get("username") else "the bot"
            found.details.update(
                bot=bot, can_read_all_group_messages=bool(me.get("can_read_all_group_messages"))
            )
            chat: int | str = chat_id_value(context.target)
            status, body = self._ask("getChat", {"chat_id": chat})
            moved = _migrated_to(status, body)
            if moved is not None:
                found.warn(
                    f"the group became a supergroup with id {moved}: the bridge moves there with"
                    f" its next message; put {moved} in the directory file"
                )
                chat = int(moved)
                status, body = self._ask("getChat", {"chat_id": chat})
            info = body.get("result") if status == 200 else None
            if not isinstance(info, dict):
                return self._chat_refused(found, bot, status, body, "getChat")
            kind = str(info.get("type") or "")
            found.details["chat_type"] = kind
            status, body = self._ask("getChatMember", {"chat_id": chat, "user_id": me["id"]})
            member = body.get("result") if status == 200 else None
            if not isinstance(member, dict):
                return self._chat_refused(found, bot, status, body, "getChatMember")
        except ProbeFailed as failed:
            return found.unusable(f"Telegram does not answer ({failed.reason})")
        role = str(member.get("status") or "")
        found.details["member_status"] = role
        admin = role in ("administrator", "creator")
        if role in ("left", "kicked") or member.get("is_member") is False:
            return found.unusable(f"{bot} is not in the chat: add it again")
        if role == "restricted" and member.get("can_send_messages") is False:
            return found.unusable(f"{bot} may not send messages in the chat: lift the restriction")
        if kind == "channel":
            if not (admin and member.get("can_post_messages") is not False):
                return found.unusable(
                    f"{bot} must be an administrator allowed to post in the channel"
                )
            return found.result(f"{bot} is an administrator of the channel and may post")
        reads = admin or bool(me.get("can_read_all_group_messages"))
        if kind in ("group", "supergroup") and not reads:
            # Privacy mode: a bot sees commands and replies to its own messages, nothing else
            # (https://core.telegram.org/bots/features#privacy-mode).
            found.warn(
                f"{bot} cannot read the group's messages: privacy mode is on and it is not an"
                " admin, so '#WDL-… terima' messages never reach the bridge (only replies to"
                " the bridge's own messages do); turn privacy off in @BotFather (/setprivacy,"
                " Disable) and add the bot to the group again, or make it an admin"
            )
        how = "as an administrator" if admin else "as a member"
        reading = "and reads its messages" if reads or kind == "private" else ""
        return found.result(f"{bot} is in the chat {how} {reading}".strip())

    def _ask(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Call a Bot API method for a check: (HTTP status, the JSON object or {})."""
        base = self.settings.telegram_api_url.rstrip("/")
        response = self.probe(
            "POST", f"{base}/bot{self.settings.telegram_bot_token}/{method}", json=params
        )
        body = json_body(response)
        return response.status_code, body if isinstance(body, dict) else {}

    def _chat_refused(
        self, found: Findings, bot: str, status: int, body: dict[str, Any], method: str
    ) -> Finding:
        description = self._safe(body.get("description"))
        if status == 400 and "chat not found" in description.lower():
            return found.unusable(
                f"Telegram knows no such chat for {bot}: add the bot to the group, or fix the"
                " chat id in the directory"
            )
        if status == 403:
            return found.unusable(
                f"{bot} cannot use the chat ({description or 'forbidden'}): add it to the group"
                " again"
            )
        return self._check_failed(found, method, status, body)

    def _check_failed(
        self, found: Findings, method: str, status: int, body: dict[str, Any]
    ) -> Finding:
        description = self._safe(body.get("description"))
        if status == 429 or status >= 500:
            found.warn(f"Telegram answered {status} to {method}, so it could not be checked")
            return found.result("")
        return found.unusable(
            f"Telegram refused {method} ({status}" + (f": {description})" if description else ")")
        )


class _Migrated(Exception):
    def __init__(self, new_chat_id: str):
        super().__init__("chat migrated")
        self.new_chat_id = new_chat_id


def _migrated_to(status: int, body: dict[str, Any]) -> str | None:
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    moved = parameters.get("migrate_to_chat_id")
    if status == 400 and moved is not None and _NUMERIC_ID.fullmatch(str(moved)):
        return str(moved)
    return None


def first_paragraph(text: str) -> str:
    """The text up to its first blank line (a picture's caption when the text follows it)."""
    return text.split("\n\n", 1)[0]


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


__all__ = [
    "CAPTION_LIMIT",
    "Adapter",
    "bold_entities",
    "chat_id_value",
    "first_paragraph",
    "utf16_len",
]
