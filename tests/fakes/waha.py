"""A fake WAHA (devlikeapro WhatsApp HTTP API) server, as strict as the real one.

Where each behaviour comes from (WAHA is the authority; "docs" is github.com/devlikeapro/waha-docs
at 1a6f1c4 (2026-07-24, WAHA 2026.7.1), "src" is github.com/devlikeapro/waha at the path given):

Supports ``POST /api/sendText``, ``GET /api/sessions/{name}`` and what the channel check reads:
``GET /api/{session}/groups/{id}/participants/v2`` (and the older ``.../participants``) and
``GET /api/{session}/lids/pn/{phone}`` (the same LID table as ``/lids/{lid}``, read the other
way). Sources, devlikeapro/waha:
``src/structures/sessions.dto.ts`` (``SessionInfo.me`` is ``MeInfo {id, lid?, jid?, pushName}``:
``id`` ``…@c.us``, ``lid`` ``…@lid``, ``jid`` ``…:device@s.whatsapp.net``; ``me`` is only there
while the session is logged in), ``src/structures/groups.dto.ts`` (``GroupParticipant {id,
pn?, role}``: ``id`` ``@c.us`` or ``@lid``, ``pn`` the ``@c.us`` id when WhatsApp shows it,
``role`` ``left|participant|admin|superadmin``), ``src/api/groups.controller.ts`` (both
participants routes need a ``WORKING`` session), ``src/api/lids.controller.ts`` (``{lid, pn}``
with ``lid: null`` when unknown) and ``src/nestjs/AllExceptionsFilter.ts``: a group the session is
not in makes the engine throw a plain ``Error`` ("Group with id '…' not found" in NOWEB's
``getGroup``), which WAHA answers as 500 with the serialised exception.


API (``POST /api/sendText``, ``GET /api/sessions/{name}``, ``GET /api/{session}/lids/{lid}``):

- a missing or wrong ``X-Api-Key`` gets 401 ``{"message": "Unauthorized", "statusCode": 401}``
  (docs static/swagger/openapi.json securitySchemes.api_key);
- a body that is not a JSON object, or lacks ``session``/``chatId``/``text``, gets NestJS's 400;
- an unknown session gets 404 with WAHA's "We didn't find a session" message;
- a session that is not ``WORKING`` gets WAHA's 422 ``{"error": "Session status is not as
  expected...", "session", "status", "expected": ["WORKING"]}`` (the ``WorkingSessionParam``
  of every session endpoint, src/api/lids.controller.ts uses it too);
- session statuses are those of docs content/docs/how-to/sessions/index.md, including the
  passkey pairing steps ``PASSKEY_REQUIRED``/``PASSKEY_CONFIRMATION_REQUIRED`` (2026.7.1, GOWS);
- a ``chatId`` not ending in ``@g.us``/``@c.us`` gets 422, an unknown chat (when ``known_chats``
  is set) 404;
- groups the session is in are set with :meth:`FakeWaha.add_group`; ``participants_v2 = False``
  plays a WAHA from before the v2 route (404 ``Cannot GET``, engine-shaped v1 list instead);
- accepted messages answer 201 in the shape of the configured engine (``WEBJS``, ``NOWEB``,
  ``GOWS``) or with an ``EMPTY`` or non-JSON ``TEXT`` body, and are kept per chat with a
  monotonic arrival time;
- ``GET /api/{session}/lids/{lid}`` (WAHA >= 2025.5.4, docs content/docs/how-to/contacts/
  index.md "Get Phone Number by LID", src src/api/lids.controller.ts): the ``@`` may come
  escaped as ``%40`` or be left out (``/lids/123`` means ``123@lid``); anything else that does
  not end in ``@lid`` gets 422 "Invalid LID - it must end with @lid"; a known LID answers
  ``{"lid", "pn": "<phone>@c.us"}``, an unknown one the same with ``"pn": null`` (200, not
  404). Older versions have no such route: NestJS answers 404 ``Cannot GET ...``.

``POST /api/sendImage`` (docs content/docs/how-to/send-messages/index.md "Send Image", static/
swagger/openapi.json ``MessageImageRequest``): ``session``, ``chatId`` and ``file`` are required;
``file`` is a ``RemoteFile`` (``mimetype``, ``url``) or a ``BinaryFile`` (``mimetype``, ``data``
in base64, optional ``filename``); ``caption`` is optional; anything else is NestJS's 400. This
fake takes ``BinaryFile`` only (a ``url`` would need WAHA to fetch it) and keeps the decoded
bytes with the message. Every engine sends images (docs .../send-messages/features.md), but
WAHA Core before 2026.6.1 did not: its engines' ``sendImage`` threw ``AvailableInPlusVersion``,
a 422 ``{"statusCode": 422, "message": "The feature is available only in Plus version. Check
this out: https://waha.devlike.pro/", "error": "Unprocessable Entity"}`` (src at 2024.10
src/core/exceptions.ts, src/core/engines/*/session.*.core.ts), after the session checks. From
2026.6.1 every Plus feature is in Core (docs content/blog/waha-2026-6/index.md). ``tier`` is
``CORE`` or ``PLUS``.

Webhooks (what WAHA POSTs to the bridge), built by :meth:`FakeWaha.message`, :meth:`ack` and
signed by :func:`signed`:

- the envelope ``{id, timestamp, event, session, metadata, me, payload, engine, environment}``
  (docs content/docs/how-to/events/index.md "Event Payload"); ``id`` is ``evt_`` + a lower-case
  ULID and came with WAHA 2024.11 (docs commit 070ac36 "event.id", 2024-11-17), ``timestamp``
  (milliseconds) with 2025.3.1 (docs changelog "Add event.timestamp to Events", issue 755):
  a fake of an older ``version`` leaves them out;
- ``message`` and ``message.any`` carry the same payload, so a bridge subscribed to both gets
  each incoming message twice under two event ids (docs events/index.md "message.any: Fired on
  all message creations, including your own. The payload is the same as for message");
- message ids are ``{fromMe}_{chatId}_{id}[_{participant}]``: group messages end with the
  sender (src src/core/utils/ids.ts ``SerializeMessageKey``; GOWS ``buildMessageId`` in
  src/core/engines/gows/session.gows.core.ts);
- how the sender of a group message is named depends on the engine:
  WEBJS: ``participant`` ``<phone>@c.us`` or ``<lid>@lid``, also in ``_data.author``
  (whatsapp-web.js ``Message.author``; docs openapi WAMessage ``participant``/``author``);
  NOWEB: ``participant`` is ``toCusFormat(key.participant)``, which in older releases kept the
  ``:device`` part (``628…:12@c.us``; src at tag 2024.10.8 src/core/engines/noweb/
  session.noweb.core.ts ``toCusFormat`` only splits at ``@``), with ``_data.key.participant``
  ``628…:12@s.whatsapp.net``;
  GOWS: ``participant`` is whatsmeow's raw ``Info.Sender``, ``628…:12@s.whatsapp.net`` (src
  src/core/engines/gows/session.gows.core.ts ``getFromToParticipant``), also in
  ``_data.Info.Sender``;
  newer groups name members by LID only, ``<lid>@lid`` (docs contacts/index.md "@lid and
  @c.us"), before 2025.10.3 possibly with a device part (changelog "Handle {device}@lid in
  groups");
- ``replyTo`` (docs content/docs/how-to/receive-messages/index.md "replyTo"): ``id`` is the
  quoted message's short id in every engine (WEBJS ``quotedMsg.id.id``, NOWEB
  ``contextInfo.stanzaId``, GOWS ``contextInfo.stanzaID``), with ``participant`` and ``body``;
- receipts of group messages: from 2025.12.2 a ``message.ack.group`` event per participant with
  ``id`` ``true_{group}_{id}_{participant}`` (docs events/index.md "message.ack.group"; changelog
  2025.12.2; GOWS partitions receipts into MESSAGE_ACK_GROUP and MESSAGE_ACK), before that a
  ``message.ack`` with ``true_{group}_{id}``; ``ack`` 2 DEVICE, 3 READ, 4 PLAYED;
- signing: ``X-Webhook-Hmac`` is the hex HMAC-SHA512 of the raw body under the webhook's
  ``hmac.key``, with ``X-Webhook-Hmac-Algorithm: sha512``, beside ``X-Webhook-Request-Id`` and
  ``X-Webhook-Timestamp`` (docs events/index.md "Headers", "HMAC authentication", whose
  known answer tests/bridge/test_inbound.py checks). WAHA Core signs since 2024.11.5
  (changelog "All Webhooks features in WAHA Core version now: Retries, HMAC").
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterable
from typing import Any

from tests.fakes.server import MessageLog, Request, Response

DEFAULT_API_KEY = "waha-test-key"
ENGINES = ("WEBJS", "NOWEB", "GOWS", "EMPTY", "TEXT")
SESSION_STATUSES = (
    "STOPPED",
    "STARTING",
    "SCAN_QR_CODE",
    "PASSKEY_REQUIRED",
    "PASSKEY_CONFIRMATION_REQUIRED",
    "WORKING",
    "FAILED",
)
LATEST = "2026.7.1"
_CHAT_ID = re.compile(r"^[0-9][0-9-]*@(g|c)\.us$")
_ULID = "0123456789abcdefghjkmnpqrstvwxyz"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@dataclasses.dataclass(frozen=True)
class WahaMessage:
    """A message WAHA accepted."""

    session: str
    chat_id: str
    text: str
    #: The short WhatsApp message id (``3EB0…``); the engines wrap it differently.
    id: str
    #: ``time.monotonic()`` at acceptance.
    at: float
    body: dict
    #: The picture of a sendImage (decoded), its text then being the caption.
    image: bytes | None = None


@dataclasses.dataclass(frozen=True)
class Member:
    """A group member as WhatsApp knows them: a phone number, a LID, or both."""

    phone: str | None = None
    lid: str | None = None
    #: The member's linked-device number (``:12``), which some engines keep in the JID.
    device: int | None = None


class FakeWaha(MessageLog):
    """Fake WAHA. ``api_key=None`` runs it without key checking, like WAHA without one.

    ``version`` decides which envelope fields and events the webhooks have (see the module
    docstring); ``lids`` maps ``<digits>@lid`` to ``<phone>@c.us`` for the LID API.
    """

    target_field = "chat_id"

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        sessions: dict[str, str] | None = None,
        engine: str = "WEBJS",
        known_chats: Iterable[str] | None = None,
        me: str = "6281200000000@c.us",
        me_lid: str | None = None,
        version: str = LATEST,
        lids: dict[str, str] | None = None,
        tier: str = "CORE",
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.sessions = dict(sessions if sessions is not None else {"default": "WORKING"})
        self.engine = engine
        self.known_chats = set(known_chats) if known_chats is not None else None
        self.me = me
        #: The session's own LID; older WAHA versions do not report one.
        self.me_lid = me_lid
        self.push_name = "Wadule Bridge"
        #: Group id -> its members as ``participants/v2`` lists them.
        self.groups: dict[str, list[dict]] = {}
        self.participants_v2 = True
        self.version = version
        self.tier = tier
        #: LID (``…@lid``) -> phone chat id (``…@c.us``), for ``/lids/{lid}`` and
        #: ``/lids/pn/{phone}``.
        self.lids = dict(lids or {})
        self._ids = itertools.count(1)

    def bridge_settings(self) -> dict[str, str]:
        """The settings that send the bridge's WhatsApp messages here instead of the sandbox."""
        return {
            "BRIDGE_SANDBOX": "0",
            "BRIDGE_WAHA_URL": self.url,
            "BRIDGE_WAHA_API_KEY": self.api_key or "",
        }

    # Modes

    def set_engine(self, engine: str) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}")
        self.engine = engine

    def set_session_status(self, status: str, session: str = "default") -> None:
        if status not in SESSION_STATUSES:
            raise ValueError(f"status must be one of {SESSION_STATUSES}")
        self.sessions[session] = status

    def add_group(self, group_id: str, members: Iterable[dict] = (), *, with_me: bool = True):
        """A group the session can read: ``members`` as ``participants/v2`` dicts, plus the
        session's own number (by its ``@c.us`` id) unless ``with_me`` is false."""
        listed = [dict(m) for m in members]
        if with_me:
            listed.append({"id": self.me, "role": "participant"})
        self.groups[group_id] = listed

    def has(self, since: str) -> bool:
        """Whether this fake's WAHA version has a feature that came with ``since``."""
        return _version(self.version) >= _version(since)

    # API

    def handle(self, request: Request) -> Response:
        if self.api_key is not None and request.headers.get("X-Api-Key") != self.api_key:
            return Response(401, {"message": "Unauthorized", "statusCode": 401})
        if request.method == "POST" and request.path == "/api/sendText":
            return self._send_text(request)
        if request.method == "POST" and request.path == "/api/sendImage":
            return self._send_image(request)
        match = re.fullmatch(r"/api/sessions/([^/]+)", request.path)
        if request.method == "GET" and match:
            name = match.group(1)
            if name not in self.sessions:
                return _not_found(name)
            return Response(
                200,
                {
                    "name": name,
                    "status": self.sessions[name],
                    "me": self._me_info() if self.sessions[name] == "WORKING" else None,
                    "engine": {"engine": self._engine_name()},
                },
            )
        path = urllib.parse.unquote(request.path)
        match = re.fullmatch(r"/api/([^/]+)/groups/([^/]+)/participants(/v2)?/?", path)
        if request.method == "GET" and match and (self.participants_v2 or not match.group(3)):
            return self._participants(match.group(1), match.group(2), v2=bool(match.group(3)))
        match = re.fullmatch(r"/api/([^/]+)/lids/pn/([^/]+)", path)
        if request.method == "GET" and match:
            refused = self._working(match.group(1))
            if refused is not None:
                return refused
            phone = match.group(2) if "@" in match.group(2) else f"{match.group(2)}@c.us"
            lid = next((lid for lid, pn in self.lids.items() if pn == phone), None)
            return Response(200, {"lid": lid, "pn": phone})
        match = re.fullmatch(r"/api/([^/]+)/lids/([^/]+)", request.path)
        if request.method == "GET" and match and self.has("2025.5.4"):
            return self._lid(match.group(1), urllib.parse.unquote(match.group(2)))
        return _cannot(request)

    def _lid(self, session: str, lid: str) -> Response:
        refusal = self._working(session)
        if refusal is not None:
            return refusal
        if "@" not in lid:
            lid += "@lid"
        if not lid.endswith("@lid"):
            return Response(
                422,
                {
                    "message": "Invalid LID - it must end with @lid",
                    "error": "Unprocessable Entity",
                    "statusCode": 422,
                },
            )
        return Response(200, {"lid": lid, "pn": self.lids.get(lid)})

    def lid_lookups(self) -> list[str]:
        """The LIDs the bridge asked about, in order (``@`` unescaped)."""
        return [
            urllib.parse.unquote(r.path.rsplit("/", 1)[-1])
            for r in self.requests
            if "/lids/" in r.path
        ]

    def _engine_name(self) -> str:
        return self.engine if self.engine in ("WEBJS", "NOWEB", "GOWS") else "WEBJS"

    def _me_info(self) -> dict:
        info = {"id": self.me, "pushName": self.push_name}
        if self.me_lid:
            # Newer versions add the LID and the device JID.
            info["lid"] = self.me_lid
            info["jid"] = self.me.replace("@c.us", ":12@s.whatsapp.net")
        return info

    def _working(self, session: str) -> Response | None:
        """WAHA's ``WorkingSessionParam``: 404 for an unknown session, 422 unless WORKING."""
        if session not in self.sessions:
            return _not_found(session)
        if self.sessions[session] != "WORKING":
            return _not_working(session, self.sessions[session])
        return None

    def _participants(self, session: str, group_id: str, *, v2: bool) -> Response:
        refused = self._working(session)
        if refused is not None:
            return refused
        members = self.groups.get(group_id)
        if members is None:
            return Response(
                500,
                {
                    "statusCode": 500,
                    "timestamp": "2026-11-28T03:00:00.000Z",
                    "exception": {
                        "message": f"Group with id '{group_id}' not found",
                        "name": "Error",
                    },
                    "request": {"path": f"/api/{session}/groups/{group_id}/participants"},
                    "version": {"version": "2026.11.1", "engine": self._engine_name()},
                },
            )
        if v2:
            return Response(200, members)
        if self._engine_name() == "NOWEB":
            # Baileys' GroupParticipant: a JID and ``admin`` ("admin", "superadmin" or null).
            return Response(
                200,
                [
                    {
                        "id": (m.get("pn") or m["id"]).replace("@c.us", "@s.whatsapp.net"),
                        "admin": m["role"] if m["role"] in ("admin", "superadmin") else None,
                    }
                    for m in members
                    if m["role"] != "left"
                ],
            )
        # whatsapp-web.js: a Wid object per member and two flags.
        return Response(
            200,
            [
                {
                    "id": {
                        "server": (m.get("pn") or m["id"]).split("@")[1],
                        "user": (m.get("pn") or m["id"]).split("@")[0],
                        "_serialized": m.get("pn") or m["id"],
                    },
                    "isAdmin": m["role"] in ("admin", "superadmin"),
                    "isSuperAdmin": m["role"] == "superadmin",
                }
                for m in members
                if m["role"] != "left"
            ],
        )

    def _send_text(self, request: Request) -> Response:
        body = request.json
        if not isinstance(body, dict):
            return _bad_request(["body must be a JSON object (Content-Type: application/json)"])
        problems = [
            f"{field} should not be empty"
            for field in ("session", "chatId", "text")
            if not isinstance(body.get(field), str) or not body.get(field)
        ]
        if problems:
            return _bad_request(problems)
        session, chat_id, text = body["session"], body["chatId"], body["text"]
        refusal = self._working(session) or self._chat_refusal(chat_id)
        if refusal is not None:
            return refusal
        return self._accept(session, chat_id, text, dict(body))

    def _chat_refusal(self, chat_id: str) -> Response | None:
        """What the send routes answer for a chat id they cannot send to."""
        if not _CHAT_ID.match(chat_id):
            return Response(
                422,
                {
                    "statusCode": 422,
                    "message": f"Invalid chatId '{chat_id}': use <phone>@c.us or <group>@g.us",
                    "error": "Unprocessable Entity",
                },
            )
        if self.known_chats is not None and chat_id not in self.known_chats:
            return Response(
                404, {"statusCode": 404, "message": "Chat not found", "error": "Not Found"}
            )
        return None

    def _send_image(self, request: Request) -> Response:
        body = request.json
        if not isinstance(body, dict):
            return _bad_request(["body must be a JSON object (Content-Type: application/json)"])
        problems = [
            f"{field} should not be empty"
            for field in ("session", "chatId")
            if not isinstance(body.get(field), str) or not body.get(field)
        ]
        file = body.get("file")
        if not isinstance(file, dict):
            problems.append("file must be an object")
        else:
            if not isinstance(file.get("mimetype"), str) or not file.get("mimetype"):
                problems.append("file.mimetype should not be empty")
            if not isinstance(file.get("data"), str) or not file.get("data"):
                problems.append("file.data should not be empty (this fake takes no url)")
        caption = body.get("caption")
        if caption is not None and not isinstance(caption, str):
            problems.append("caption must be a string")
        data = None
        if not problems:
            try:
                data = base64.b64decode(file["data"], validate=True)
            except ValueError:
                problems.append("file.data must be base64")
        if problems:
            return _bad_request(problems)
        session, chat_id = body["session"], body["chatId"]
        refusal = self._working(session)
        if refusal is not None:
            return refusal
        if self.tier != "PLUS" and not self.has("2026.6.1"):
            return Response(
                422,
                {
                    "statusCode": 422,
                    "message": "The feature is available only in Plus version. Check this out:"
                    " https://waha.devlike.pro/",
                    "error": "Unprocessable Entity",
                },
            )
        refusal = self._chat_refusal(chat_id)
        if refusal is not None:
            return refusal
        params = {k: v for k, v in body.items() if k != "file"}
        return self._accept(session, chat_id, caption or "", params, image=data)

    def _accept(
        self, session: str, chat_id: str, text: str, params: dict, image: bytes | None = None
    ) -> Response:
        """Keep a message a send route accepted; answer 201 in the engine's shape."""
        with self._state_lock:
            short_id = self._short_id()
            self._messages.append(
                WahaMessage(session, chat_id, text, short_id, time.monotonic(), params, image)
            )
        return Response(201, self._engine_body(chat_id, text, short_id))

    def _short_id(self) -> str:
        return f"3EB0{next(self._ids):016X}"

    def _engine_body(self, chat_id: str, text: str, short_id: str):
        now = int(time.time())
        serialized = f"true_{chat_id}_{short_id}"
        if self.engine == "WEBJS":
            return {
                "id": {
                    "fromMe": True,
                    "remote": chat_id,
                    "id": short_id,
                    "_serialized": serialized,
                },
                "ack": 0,
                "hasMedia": False,
                "body": text,
                "type": "chat",
                "timestamp": now,
                "from": self.me,
                "to": chat_id,
                "fromMe": True,
                "_data": {"id": {"_serialized": serialized}},
            }
        if self.engine == "NOWEB":
            return {
                "key": {
                    "remoteJid": chat_id.replace("@c.us", "@s.whatsapp.net"),
                    "fromMe": True,
                    "id": short_id,
                },
                "message": {"extendedTextMessage": {"text": text}},
                "messageTimestamp": str(now),
                "status": "PENDING",
            }
        if self.engine == "GOWS":
            # A group message's id ends with its sender, here the session's own number.
            suffix = f"_{self.me}" if chat_id.endswith("@g.us") else ""
            return {
                "id": serialized + suffix,
                "timestamp": now,
                "from": self.me,
                "fromMe": True,
                "to": chat_id,
                "body": text,
                "ack": 1,
                "ackName": "SERVER",
                "_data": {"Info": {"ID": short_id, "Chat": chat_id}},
            }
        if self.engine == "EMPTY":
            return b""
        return "OK"

    # Webhooks

    def envelope(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The webhook body WAHA wraps every event in, as this fake's version has it."""
        engine = self.engine if self.engine in ("WEBJS", "NOWEB", "GOWS") else "WEBJS"
        body: dict[str, Any] = {}
        if self.has("2024.11.5"):
            body["id"] = "evt_" + "".join(secrets.choice(_ULID) for _ in range(26))
        if self.has("2025.3.1"):
            body["timestamp"] = int(time.time() * 1000)
        body.update(
            {
                "event": event,
                "session": "default",
                "metadata": {},
                "me": {"id": self.me, "pushName": "Wadule Bridge"},
                "payload": payload,
                "engine": engine,
                "environment": {"version": self.version, "engine": engine, "tier": self.tier},
            }
        )
        return body

    def message(
        self,
        group: str,
        text: str | None,
        sender: Member,
        *,
        event: str = "message",
        reply_to: str | None = None,
        short_id: str | None = None,
    ) -> dict[str, Any]:
        """A ``message`` (or ``message.any``) event: ``sender`` wrote ``text`` in ``group``.

        ``reply_to`` is the short id of the quoted message (one this fake accepted).
        """
        engine = self.engine if self.engine in ("WEBJS", "NOWEB", "GOWS") else "WEBJS"
        short_id = short_id or self._short_id()
        named = _engine_name(engine, sender)
        cus = _cus(sender)
        payload: dict[str, Any] = {
            "id": f"false_{group}_{short_id}_{cus}",
            "timestamp": int(time.time()),
            "from": group,
            "fromMe": False,
            "source": "app",
            "to": self.me,
            "participant": named,
            "body": text,
            "hasMedia": False,
            "ack": 1,
            "ackName": "SERVER",
            "vCards": [],
        }
        if reply_to is not None:
            quoted = next((m for m in self.messages if m.id == reply_to), None)
            payload["replyTo"] = {
                "id": reply_to,
                "participant": self.me,
                "body": quoted.text if quoted else None,
                "hasMedia": False,
            }
        if engine == "WEBJS":
            payload["author"] = named
            payload["_data"] = {
                "id": {"fromMe": False, "remote": group, "id": short_id, "participant": named},
                "author": named,
                "body": text,
                "type": "chat",
            }
        elif engine == "NOWEB":
            payload["_data"] = {
                "key": {
                    "remoteJid": group,
                    "fromMe": False,
                    "id": short_id,
                    "participant": _jid(sender),
                },
                "message": {"conversation": text},
            }
        else:
            payload["_data"] = {
                "Info": {
                    "ID": short_id,
                    "Chat": group,
                    "Sender": _jid(sender),
                    "IsFromMe": False,
                    "IsGroup": True,
                },
                "Message": {"conversation": text},
            }
        return self.envelope(event, payload)

    def ack(self, group: str, short_id: str, participant: Member, level: int) -> dict[str, Any]:
        """A receipt for our message ``short_id`` in ``group``: ``message.ack.group`` from
        2025.12.2, ``message.ack`` before."""
        names = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}
        who = _cus(participant)
        grouped = self.has("2025.12.2")
        payload = {
            "id": f"true_{group}_{short_id}" + (f"_{who}" if grouped else ""),
            "from": group,
            "to": group,
            "participant": who,
            "fromMe": True,
            "ack": level,
            "ackName": names[level],
        }
        return self.envelope("message.ack.group" if grouped else "message.ack", payload)


def signed(body: dict[str, Any] | bytes, key: str | None) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers WAHA posts: JSON, signed with ``key`` when one is set."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WAHA/" + LATEST,
        "X-Webhook-Request-Id": "req_" + "".join(secrets.choice(_ULID) for _ in range(26)),
        "X-Webhook-Timestamp": str(int(time.time() * 1000)),
    }
    if key is not None:
        headers["X-Webhook-Hmac"] = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
        headers["X-Webhook-Hmac-Algorithm"] = "sha512"
    return raw, headers


def _digits(member: Member) -> tuple[str, str]:
    if member.lid:
        return member.lid, "lid"
    if member.phone:
        return member.phone, "c.us"
    raise ValueError("a member needs a phone number or a LID")


def _cus(member: Member) -> str:
    """The member as WAHA's ``toCusFormat`` names them (ids, acks): no device part."""
    user, server = _digits(member)
    return f"{user}@{server}"


def _jid(member: Member) -> str:
    """The member's raw JID as the NOWEB/GOWS engines hold it (device part included)."""
    user, server = _digits(member)
    device = f":{member.device}" if member.device is not None else ""
    return f"{user}{device}@{'lid' if server == 'lid' else 's.whatsapp.net'}"


def _engine_name(engine: str, member: Member) -> str:
    if engine == "GOWS":
        return _jid(member)
    if engine == "NOWEB" and member.device is not None:
        user, server = _digits(member)
        return f"{user}:{member.device}@{server}"
    return _cus(member)


def _bad_request(messages: list[str]) -> Response:
    return Response(400, {"message": messages, "error": "Bad Request", "statusCode": 400})


def _cannot(request: Request) -> Response:
    return Response(
        404,
        {
            "message": f"Cannot {request.method} {request.path}",
            "error": "Not Found",
            "statusCode": 404,
        },
    )


def _not_working(session: str, status: str) -> Response:
    return Response(
        422,
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": session,
            "status": status,
            "expected": ["WORKING"],
        },
    )


def _not_found(session: str) -> Response:
    return Response(
        404,
        {
            "message": f"We didn't find a session with name '{session}'.\n"
            f"Please start it first by using POST /api/sessions/{session}/start request",
            "error": "Not Found",
            "statusCode": 404,
        },
    )
