"""A fake Fonnte gateway (``POST /send``), as strict as the real one.

Fonnte answers almost everything with HTTP 200 and reports failures in the body as
``{"status": false, "reason": "..."}``. This fake does the same:

- a missing or wrong ``Authorization`` token (sent bare, no "Bearer") → ``invalid token``;
- a body that is not form-encoded, or lacks ``target``/``message`` → ``input invalid``;
- a target that is neither a phone number nor a group id → ``target invalid``;
- ``device_connected = False`` → ``request invalid on disconnected device``;
- ``quota`` reaching 0 → ``insufficient quota``.

Accepted messages answer ``{"detail": "success! message in queue", "id": ["..."],
"process": "pending", "requestid": N, "status": true, "target": ["..."]}``.
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
        self._ids = itertools.count(80367170)
        self._request_ids = itertools.count(2937124)

    def handle(self, request: Request) -> Response:
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


def _failed(reason: str) -> Response:
    return Response(200, {"reason": reason, "status": False})
