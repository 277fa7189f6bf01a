"""A fake WAHA (devlikeapro WhatsApp HTTP API) server, as strict as the real one.

Supports ``POST /api/sendText`` and ``GET /api/sessions/{name}``:

- a missing or wrong ``X-Api-Key`` gets 401 ``{"message": "Unauthorized", "statusCode": 401}``;
- a body that is not a JSON object, or lacks ``session``/``chatId``/``text``, gets NestJS's 400;
- an unknown session gets 404 with WAHA's "We didn't find a session" message;
- a session that is not ``WORKING`` gets WAHA's 422 ``{"error": "Session status is not as
  expected...", "session", "status", "expected": ["WORKING"]}``;
- a ``chatId`` not ending in ``@g.us``/``@c.us`` gets 422, an unknown chat (when ``known_chats``
  is set) 404;
- accepted messages answer 201 in the shape of the configured engine (``WEBJS``, ``NOWEB``,
  ``GOWS``) or with an ``EMPTY`` or non-JSON ``TEXT`` body, and are kept per chat with a
  monotonic arrival time.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
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
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.sessions = dict(sessions if sessions is not None else {"default": "WORKING"})
        self.engine = engine
        self.known_chats = set(known_chats) if known_chats is not None else None
        self.me = me
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
            engine = self.engine if self.engine in ("WEBJS", "NOWEB", "GOWS") else "WEBJS"
            return Response(
                200, {"name": name, "status": self.sessions[name], "engine": {"engine": engine}}
            )
        return Response(
            404,
            {
                "message": f"Cannot {request.method} {request.path}",
                "error": "Not Found",
                "statusCode": 404,
            },
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
            return Response(
                422,
                {
                    "error": "Session status is not as expected. "
                    "Try again later or restart the session",
                    "session": session,
                    "status": status,
                    "expected": ["WORKING"],
                },
            )
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
