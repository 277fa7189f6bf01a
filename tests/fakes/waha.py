"""A fake WAHA (devlikeapro WhatsApp HTTP API) server, as strict as the real one.

Supports ``POST /api/sendText``, ``GET /api/sessions/{name}`` and what the channel check reads:
``GET /api/{session}/groups/{id}/participants/v2`` (and the older ``.../participants``) and
``GET /api/{session}/lids/pn/{phone}``. Sources, devlikeapro/waha:
``src/structures/sessions.dto.ts`` (``SessionInfo.me`` is ``MeInfo {id, lid?, jid?, pushName}``:
``id`` ``…@c.us``, ``lid`` ``…@lid``, ``jid`` ``…:device@s.whatsapp.net``; ``me`` is only there
while the session is logged in), ``src/structures/groups.dto.ts`` (``GroupParticipant {id,
pn?, role}``: ``id`` ``@c.us`` or ``@lid``, ``pn`` the ``@c.us`` id when WhatsApp shows it,
``role`` ``left|participant|admin|superadmin``), ``src/api/groups.controller.ts`` (both
participants routes need a ``WORKING`` session), ``src/api/lids.controller.ts`` (``{lid, pn}``
with ``lid: null`` when unknown) and ``src/nestjs/AllExceptionsFilter.ts``: a group the session is
not in makes the engine throw a plain ``Error`` ("Group with id '…' not found" in NOWEB's
``getGroup``), which WAHA answers as 500 with the serialised exception.


- a missing or wrong ``X-Api-Key`` gets 401 ``{"message": "Unauthorized", "statusCode": 401}``;
- a body that is not a JSON object, or lacks ``session``/``chatId``/``text``, gets NestJS's 400;
- an unknown session gets 404 with WAHA's "We didn't find a session" message;
- a session that is not ``WORKING`` gets WAHA's 422 ``{"error": "Session status is not as
  expected...", "session", "status", "expected": ["WORKING"]}``;
- a ``chatId`` not ending in ``@g.us``/``@c.us`` gets 422, an unknown chat (when ``known_chats``
  is set) 404;
- groups the session is in are set with :meth:`FakeWaha.add_group`; ``participants_v2 = False``
  plays a WAHA from before the v2 route (404 ``Cannot GET``, engine-shaped v1 list instead);
- accepted messages answer 201 in the shape of the configured engine (``WEBJS``, ``NOWEB``,
  ``GOWS``) or with an ``EMPTY`` or non-JSON ``TEXT`` body, and are kept per chat with a
  monotonic arrival time.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
import urllib.parse
from collections.abc import Iterable

from tests.fakes.server import MessageLog, Request, Response

DEFAULT_API_KEY = "waha-test-key"
ENGINES = ("WEBJS", "NOWEB", "GOWS", "EMPTY", "TEXT")
SESSION_STATUSES = ("STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED")
_CHAT_ID = re.compile(r"^[0-9][0-9-]*@(g|c)\.us$")


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


class FakeWaha(MessageLog):
    """Fake WAHA. ``api_key=None`` runs it without key checking, like WAHA without one."""

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
        #: Phone chat id (``…@c.us``) -> LID, for ``/lids/pn/{phone}``.
        self.lids: dict[str, str] = {}
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

    # API

    def handle(self, request: Request) -> Response:
        if self.api_key is not None and request.headers.get("X-Api-Key") != self.api_key:
            return Response(401, {"message": "Unauthorized", "statusCode": 401})
        if request.method == "POST" and request.path == "/api/sendText":
            return self._send_text(request)
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
            return Response(200, {"lid": self.lids.get(phone), "pn": phone})
        return Response(
            404,
            {
                "message": f"Cannot {request.method} {request.path}",
                "error": "Not Found",
                "statusCode": 404,
            },
        )

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
        if session not in self.sessions:
            return _not_found(session)
        status = self.sessions[session]
        if status != "WORKING":
            return _not_working(session, status)
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
        with self._state_lock:
            short_id = f"3EB0{next(self._ids):016X}"
            self._messages.append(
                WahaMessage(session, chat_id, text, short_id, time.monotonic(), dict(body))
            )
        return Response(201, self._engine_body(chat_id, text, short_id))

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
            return {
                "id": serialized,
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


def _bad_request(messages: list[str]) -> Response:
    return Response(400, {"message": messages, "error": "Bad Request", "statusCode": 400})


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
