"""A fake Fonnte gateway (``POST /send``, ``/device``, ``/get-whatsapp-group``), as strict as
the real one.

Fonnte answers almost everything with HTTP 200 and reports failures in the body as
``{"status": false, "reason": "..."}``. This fake does the same:

- a missing or wrong ``Authorization`` token (sent bare, no "Bearer") → ``invalid token``;
- a body that is not form-encoded, or lacks ``target``/``message`` → ``input invalid``;
- a target that is neither a phone number nor a group id → ``target invalid``;
- ``device_connected = False`` → ``request invalid on disconnected device``;
- ``quota`` reaching 0 → ``insufficient quota``.

Accepted messages answer ``{"detail": "success! message in queue", "id": ["..."],
"process": "pending", "requestid": N, "status": true, "target": ["..."]}``.

What the channel check reads (docs.fonnte.com, "API Device Profile" at /api-device-profile/ and
"API Get Whatsapp Group List" at /api-get-whatsapp-group-list/):

- ``POST /device`` (device token in ``Authorization``) answers ``{"device": "62…",
  "device_status": "connect"|"disconnect", "expired": "18 November 2029", "messages": N,
  "name", "package", "quota": "78", "status": true}`` (the quota is a string there); a wrong
  token ``{"reason": "token invalid", "status": false}``;
- ``POST /get-whatsapp-group`` lists the groups as Fonnte last fetched them (``fetch-group``,
  which Fonnte warns may get the number banned when called often, so the check never calls it):
  ``{"data": [{"id": "…@g.us", "name": "…"}], "status": true}``; a wrong token ``{"detail":
  "token invalid", "status": false}``; no list yet ``{"detail": "you have no whatsapp group
  yet", "status": false}`` (the docs name this case; the exact wording of its ``detail`` is our
  reading of the heading, the page cut it off).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time

from tests.fakes.server import MessageLog, Request, Response

DEFAULT_TOKEN = "fonnte-test-token"
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
_GROUP = re.compile(r"^[0-9][0-9-]*@g\.us$")


@dataclasses.dataclass(frozen=True)
class FonnteMessage:
    target: str
    message: str
    id: str
    at: float
    form: dict


class FakeFonnte(MessageLog):
    text_field = "message"

    def __init__(self, *, token: str = DEFAULT_TOKEN, quota: int | None = None) -> None:
        super().__init__()
        self.token = token
        self.device_connected = True
        #: Messages left; None means unlimited.
        self.quota = quota
        self.device_number = "6282227097005"
        self.package = "Reguler"
        self.expired = "18 November 2029"
        #: The device's groups as Fonnte last fetched them; None: never fetched.
        self.groups: list[dict] | None = None
        self._ids = itertools.count(80367170)
        self._request_ids = itertools.count(2937124)

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/device":
            return self._device(request)
        if request.method == "POST" and request.path == "/get-whatsapp-group":
            return self._groups(request)
        if request.method != "POST" or request.path != "/send":
            return Response(404, "404 page not found")
        if request.headers.get("Authorization") != self.token:
            return _failed("invalid token")
        form = request.form
        if form is None or not form.get("target") or not form.get("message"):
            return _failed("input invalid")
        target = form["target"]
        if not (_PHONE.match(target) or _GROUP.match(target)):
            return _failed("target invalid")
        if not self.device_connected:
            return _failed("request invalid on disconnected device")
        with self._state_lock:
            if self.quota is not None:
                if self.quota <= 0:
                    return _failed("insufficient quota")
                self.quota -= 1
            message_id = str(next(self._ids))
            self._messages.append(
                FonnteMessage(target, form["message"], message_id, time.monotonic(), form)
            )
            request_id = next(self._request_ids)
        return Response(
            200,
            {
                "detail": "success! message in queue",
                "id": [message_id],
                "process": "pending",
                "requestid": request_id,
                "status": True,
                "target": [target],
            },
        )

    def _device(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.token:
            return _failed("token invalid")
        with self._state_lock:
            sent = len(self._messages)
            quota = self.quota
        return Response(
            200,
            {
                "device": self.device_number,
                "device_status": "connect" if self.device_connected else "disconnect",
                "expired": self.expired,
                "messages": sent,
                "name": "Wadule Bridge",
                "package": self.package,
                # Without a quota the fake sends without limit and reports the docs' "1000".
                "quota": "1000" if quota is None else str(quota),
                "status": True,
            },
        )

    def _groups(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.token:
            return Response(200, {"detail": "token invalid", "status": False})
        if not self.groups:
            return Response(200, {"detail": "you have no whatsapp group yet", "status": False})
        return Response(200, {"data": [dict(g) for g in self.groups], "status": True})


def _failed(reason: str) -> Response:
    return Response(200, {"reason": reason, "status": False})
