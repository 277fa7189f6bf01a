"""A fake Telegram Bot API (``sendMessage``, ``getMe``, ``getChat``, ``getChatMember``), as strict
as the real one.

Answers have the Bot API's shape, ``{"ok", "result"}`` or ``{"ok": false, "error_code",
"description", "parameters"}`` with ``retry_after``/``migrate_to_chat_id`` in ResponseParameters
(https://core.telegram.org/bots/api#making-requests, #responseparameters); text limits are
sendMessage's (1-4096 characters after entities parsing, counted in UTF-16 units as entity
offsets are, #sendmessage and #messageentity).

- a wrong token → 401 ``{"ok": false, "error_code": 401, "description": "Unauthorized"}``;
  an unknown method → 404 ``Not Found``;
- parameters come as JSON or a form; a missing ``chat_id``/``text``, a text over 4096 UTF-16
  units after entity parsing, or entities outside the text → 400 like the real API;
- ``flood(retry_after, times)`` → 429 with ``parameters.retry_after``;
- ``migrate(old, new)`` → 400 ``group chat was upgraded to a supergroup chat`` with
  ``parameters.migrate_to_chat_id``; the new id then works;
- ``kick(chat)`` → 403 ``Forbidden: bot was kicked from the supergroup chat`` (``group``,
  ``channel`` ... after the chat's type in ``chat_types``; supergroup when not set), the same
  for every method in that chat. The Bot API documents no error texts; these are the ones
  libraries match on: aiogram PR 445 ("Actual message after bot kicked: Forbidden: bot was
  kicked from the supergroup chat"), TelegramBots/Telegram.Bot issue 662 (the group and
  channel variants), teloxide issue 372 (the same 403 from unpinChatMessage, not only sends);
  ``known_chats`` set → other chats get 400 ``Bad Request: chat not found``.

Accepted messages answer ``{"ok": true, "result": {"message_id": N, ...}}`` with ids counting up
per chat, and are kept per chat (keyed by the chat id as a string).

``sendPhoto`` (https://core.telegram.org/bots/api#sendphoto), what the weekly report uses:

- the photo is uploaded as the ``photo`` part of ``multipart/form-data`` ("upload a new photo
  using multipart/form-data"); other parameters are form fields, structured ones (here
  ``caption_entities``) JSON-serialized (#making-requests). A ``photo`` given as a string is a
  file_id or URL this fake has never seen: 400 ``Bad Request: wrong file identifier/HTTP URL
  specified`` (reported in eternnoir/pyTelegramBotAPI#352); none at all: 400 ``Bad Request:
  there is no photo in the request``;
- "The photo must be at most 10 MB in size. The photo's width and height must not exceed 10000
  in total. Width and height ratio must be at most 20": otherwise 400 ``Bad Request:
  PHOTO_INVALID_DIMENSIONS`` (go-telegram-bot-api/telegram-bot-api#600) or, over 10 MB,
  ``Bad Request: file is too big``; bytes that are no image: 400 ``Bad Request:
  IMAGE_PROCESS_FAILED`` (TelegramBot/Api#302);
- ``caption`` "0-1024 characters after entities parsing" (UTF-16 units, as entities count):
  longer is 400 ``Bad Request: message caption is too long`` (tactilenews/100eyes#1594);
  ``caption_entities`` outside the caption are refused as sendMessage's entities are;
- the answer is the Message with ``photo`` (an array of PhotoSize: ``file_id``,
  ``file_unique_id``, ``width``, ``height``, ``file_size``), ``caption`` and
  ``caption_entities``; floods, migrated, kicked and unknown chats as for sendMessage. The
  uploaded bytes are kept with the message (``photo``).

What the channel check reads (https://core.telegram.org/bots/api):

- ``getMe`` → a User with the getMe-only fields ``can_join_groups``,
  ``can_read_all_group_messages`` ("True, if privacy mode is disabled for the bot") and
  ``supports_inline_queries``; ``privacy_mode`` (True by default, as @BotFather sets it) drives it;
- ``getChat`` → a ChatFullInfo (``id``, ``type`` group|supergroup|channel|private, ``title``),
  with the same errors as sendMessage for migrated, kicked and unknown chats;
- ``getChatMember(chat_id, user_id)`` for the bot itself → a ChatMember whose ``status`` is
  ``member`` (default), ``administrator`` (:meth:`make_admin`, with ``can_post_messages`` in
  channels) or ``restricted`` (:meth:`restrict`: ``can_send_messages`` false, ``is_member``
  true). A bot that was kicked cannot ask: 403 like every call in that chat.

Updates (what Telegram POSTs to the bridge's webhook), built by :meth:`FakeTelegram.update`, with
the behaviour of https://core.telegram.org/bots/api (Bot API 9.x):

- ``update_id`` grows by one per update ("Update": "This identifier becomes especially handy if
  you're using webhooks, since it allows you to ignore repeated updates");
- message ids count up per chat, the bot's own messages and people's alike ("Message":
  "message_id: Unique message identifier inside this chat");
- an anonymous group administrator's message has ``sender_chat`` = the group itself, and
  ``from`` is a placeholder bot, ``GroupAnonymousBot`` (id 1087968824, ``is_bot: true``)
  ("Message": "sender_chat: Sender of the message when sent on behalf of a chat. For example,
  ... the supergroup itself for messages sent by its anonymous administrators ... For backward
  compatibility, the field from contains a fake sender user in non-channel chats");
- a reply carries the quoted message in ``reply_to_message`` ("Message": "reply_to_message:
  For replies in the same chat and message thread, the original message");
- the webhook request carries the ``secret_token`` given to setWebhook in
  ``X-Telegram-Bot-Api-Secret-Token``, and anything but a 2XY answer is sent again ("setWebhook":
  "In case of an unsuccessful request (a request with response HTTP status code different from
  2XY), we will repeat the request and give up after a reasonable amount of attempts").
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
import time
from collections.abc import Iterable
from typing import Any

import PIL.Image

from tests.fakes.server import MessageLog, Part, Request, Response

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
DEFAULT_TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmno"
#: The placeholder sender of anonymous admins' messages (see the module docstring).
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


@dataclasses.dataclass(frozen=True)
class TelegramMessage:
    chat_id: str
    #: The text, or a photo's caption.
    text: str
    message_id: int
    at: float
    params: dict
    #: The uploaded picture of a sendPhoto.
    photo: bytes | None = None


class FakeTelegram(MessageLog):
    target_field = "chat_id"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        known_chats: Iterable[str | int] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.known_chats = {str(c) for c in known_chats} if known_chats is not None else None
        self._migrated: dict[str, str] = {}
        self._kicked: set[str] = set()
        self._floods: list[int] = []
        self._next_id: dict[str, int] = {}
        #: @BotFather's default: the bot only sees commands and replies to it in groups.
        self.privacy_mode = True
        #: Chat id -> its type (default ``supergroup``) and the bot's ChatMember there.
        self.chat_types: dict[str, str] = {}
        self._members: dict[str, dict[str, Any]] = {}
        self._update_ids = itertools.count(700_000_001)

    # Modes

    def migrate(self, old_chat_id: str | int, new_chat_id: str | int) -> None:
        """The group ``old`` became supergroup ``new``: sends to ``old`` get a 400 with the id."""
        with self._state_lock:
            self._migrated[str(old_chat_id)] = str(new_chat_id)
            if self.known_chats is not None:
                self.known_chats.add(str(new_chat_id))

    def kick(self, chat_id: str | int) -> None:
        with self._state_lock:
            self._kicked.add(str(chat_id))

    def make_admin(self, chat_id: str | int, **rights: bool) -> None:
        """The bot becomes an administrator of the chat (rights as ChatMemberAdministrator)."""
        member = {"status": "administrator", "can_be_edited": False, "is_anonymous": False}
        member.update({"can_manage_chat": True, "can_delete_messages": True, **rights})
        with self._state_lock:
            self._members[str(chat_id)] = member

    def restrict(self, chat_id: str | int) -> None:
        """The bot stays in the chat but may not send messages (ChatMemberRestricted)."""
        with self._state_lock:
            self._members[str(chat_id)] = {
                "status": "restricted",
                "is_member": True,
                "can_send_messages": False,
                "until_date": 0,
            }

    def flood(self, retry_after: int = 5, times: int = 1) -> None:
        """Answer the next ``times`` sendMessage calls with 429 and this ``retry_after``."""
        with self._state_lock:
            self._floods.extend([retry_after] * times)

    # Updates

    def update(
        self,
        chat: str | int,
        text: str,
        *,
        user: int | None = 700_000_101,
        anonymous_admin: bool = False,
        reply_to: int | None = None,
        age: float = 0.0,
    ) -> dict[str, Any]:
        """An update with a group message: ``user`` (or an anonymous admin) wrote ``text``.

        ``reply_to`` is the message id of the bot's message it answers; ``age`` backdates it.
        """
        key = str(chat)
        group = {"id": _as_id(key), "title": "Grup OPD", "type": "supergroup"}
        with self._state_lock:
            message_id = self._next_id.get(key, 0) + 1
            self._next_id[key] = message_id
            quoted = next(
                (m for m in self._messages if m.chat_id == key and m.message_id == reply_to),
                None,
            )
        message: dict[str, Any] = {"message_id": message_id}
        if anonymous_admin:
            message["from"] = dict(ANONYMOUS_ADMIN)
            message["sender_chat"] = dict(group)
        else:
            message["from"] = {"id": user, "is_bot": False, "first_name": "Petugas"}
        message.update({"chat": group, "date": int(time.time() - age), "text": text})
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "from": _bot(self.token),
                "chat": group,
                "date": int(time.time() - age) - 60,
                "text": quoted.text if quoted else "",
            }
        return {"update_id": next(self._update_ids), "message": message}

    # Helpers

    def reset(self) -> None:
        super().reset()
        with self._state_lock:
            self._floods.clear()

    # API

    def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        if not match:
            return _error(404, "Not Found")
        if match.group(1) != self.token:
            return _error(401, "Unauthorized")
        method = match.group(2).lower()
        params = _params(request)
        if params is None:
            return _error(400, "Bad Request: can't parse request body")
        if method == "getme":
            me = _bot(self.token) | {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
            return Response(200, {"ok": True, "result": me})
        if method == "sendmessage":
            return self._send_message(params)
        if method == "sendphoto":
            return self._send_photo(params)
        if method == "getchat":
            return self._get_chat(params)
        if method == "getchatmember":
            return self._get_chat_member(params)
        return _error(404, "Not Found")

    def _send_refusal(self, chat: str) -> Response | None:
        """What a send method answers instead of sending (under the lock): a flood wait
        queued with :meth:`flood`, then the chat's own refusal."""
        if self._floods:
            retry_after = self._floods.pop(0)
            return Response(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
            )
        return self._chat_refusal(chat)

    def _chat_refusal(self, chat: str) -> Response | None:
        """The errors every method gives for a chat the bot cannot use (under the lock)."""
        if chat in self._migrated:
            return Response(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": int(self._migrated[chat])},
                },
            )
        if chat in self._kicked:
            kind = self.chat_types.get(chat, "supergroup")
            return _error(403, f"Forbidden: bot was kicked from the {kind} chat")
        if self.known_chats is not None and chat not in self.known_chats:
            return _error(400, "Bad Request: chat not found")
        return None

    def _get_chat(self, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        chat = str(chat_id)
        with self._state_lock:
            refusal = self._chat_refusal(chat)
            if refusal is not None:
                return refusal
            kind = self.chat_types.get(chat, "supergroup")
        result = {"id": _as_id(chat), "type": kind, "title": "Grup OPD", "accent_color_id": 0}
        return Response(200, {"ok": True, "result": result})

    def _get_chat_member(self, params: dict[str, Any]) -> Response:
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        if str(user_id) != str(_bot(self.token)["id"]):
            return _error(400, "Bad Request: user not found")
        chat = str(chat_id)
        with self._state_lock:
            refusal = self._chat_refusal(chat)
            if refusal is not None:
                return refusal
            member = dict(self._members.get(chat, {"status": "member"}))
        result = {"user": _bot(self.token), **member}
        return Response(200, {"ok": True, "result": result})

    def _send_message(self, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        chat = str(chat_id)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        entities = params.get("entities")
        if entities is not None and not _entities_fit(entities, text):
            return _error(400, "Bad Request: can't parse entities: entity beyond end of text")
        if _utf16_len(text) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        link_preview = params.get("link_preview_options")
        if link_preview is not None and not isinstance(link_preview, dict):
            return _error(400, "Bad Request: can't parse link preview options JSON object")
        with self._state_lock:
            refusal = self._send_refusal(chat)
            if refusal is not None:
                return refusal
            message_id = self._next_id.get(chat, 0) + 1
            self._next_id[chat] = message_id
            self._messages.append(
                TelegramMessage(chat, text, message_id, time.monotonic(), dict(params))
            )
        result = {
            "message_id": message_id,
            "from": _bot(self.token),
            "chat": {"id": _as_id(chat), "title": "Grup OPD", "type": "supergroup"},
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            result["entities"] = entities
        return Response(200, {"ok": True, "result": result})

    def _send_photo(self, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        chat = str(chat_id)
        photo = params.get("photo")
        refusal = _photo_refusal(photo)
        if refusal is not None:
            return refusal
        caption = params.get("caption") or ""
        if not isinstance(caption, str):
            return _error(400, "Bad Request: can't parse caption")
        entities = params.get("caption_entities")
        if entities is not None and not _entities_fit(entities, caption):
            return _error(400, "Bad Request: can't parse entities: entity beyond end of text")
        if _utf16_len(caption) > MAX_CAPTION:
            return _error(400, "Bad Request: message caption is too long")
        with self._state_lock:
            refusal = self._send_refusal(chat)
            if refusal is not None:
                return refusal
            message_id = self._next_id.get(chat, 0) + 1
            self._next_id[chat] = message_id
            stored = {k: v for k, v in params.items() if k != "photo"}
            self._messages.append(
                TelegramMessage(
                    chat, caption, message_id, time.monotonic(), stored, photo=photo.data
                )
            )
        width, height = _image_size(photo.data)
        result = {
            "message_id": message_id,
            "from": _bot(self.token),
            "chat": {"id": _as_id(chat), "title": "Grup OPD", "type": "supergroup"},
            "date": int(time.time()),
            "photo": [
                {
                    "file_id": f"AgACAgUAAxkDAAI{message_id:08d}",
                    "file_unique_id": f"AQAD{message_id:08d}",
                    "width": width,
                    "height": height,
                    "file_size": len(photo.data),
                }
            ],
        }
        if caption:
            result["caption"] = caption
        if entities:
            result["caption_entities"] = entities
        return Response(200, {"ok": True, "result": result})


def _params(request: Request) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        body = request.json
        return body if isinstance(body, dict) else None
    params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    form, parts = request.form, request.multipart
    if form is not None:
        params.update(form)
    elif parts is not None:
        # Uploaded files stay parts; every other field is a string, as in a form.
        params.update({k: p if p.filename is not None else p.text for k, p in parts.items()})
    elif request.body:
        return None
    # Form values of structured parameters are JSON-serialized, as Telegram expects.
    for key in ("entities", "caption_entities", "link_preview_options", "reply_markup"):
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                return None
    return params


def _photo_refusal(photo: Any) -> Response | None:
    """What sendPhoto says about the ``photo`` parameter (see the module docstring)."""
    if photo is None or photo == "":
        return _error(400, "Bad Request: there is no photo in the request")
    if not isinstance(photo, Part):
        return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
    if len(photo.data) > MAX_PHOTO_BYTES:
        return _error(400, "Bad Request: file is too big")
    size = _image_size(photo.data)
    if size is None:
        return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
    width, height = size
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        return _error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    return None


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            image.verify()
            return image.size
    except Exception:
        return None


def _entities_fit(entities: Any, text: str) -> bool:
    if not isinstance(entities, list):
        return False
    size = _utf16_len(text)
    for entity in entities:
        if not isinstance(entity, dict):
            return False
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or "type" not in entity:
            return False
        if offset < 0 or length <= 0 or offset + length > size:
            return False
    return True


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _as_id(chat: str) -> int | str:
    return int(chat) if re.fullmatch(r"-?[0-9]+", chat) else chat


def _bot(token: str) -> dict[str, Any]:
    return {
        "id": int(token.split(":")[0]) if token.split(":")[0].isdigit() else 1,
        "is_bot": True,
        "first_name": "Wadule Bridge",
        "username": "wadule_bridge_bot",
    }


def _error(code: int, description: str) -> Response:
    return Response(code, {"ok": False, "error_code": code, "description": description})
