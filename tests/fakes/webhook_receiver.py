"""A webhook receiver that checks Standard Webhooks signatures, like a careful real endpoint.

Every POST is verified with the ``standardwebhooks`` library (headers ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``; five-minute timestamp tolerance) and recorded as
verified or not, with the reason. By default an unverified delivery gets 401 (set
``reject_unverified = False`` to accept everything) and a verified one 200 with
``{"id": "rcv_<n>"}`` (``respond_with_id = False`` answers 204 with no body). The same receiver
serves as the Wadule callback endpoint: its payloads are the events the bridge pushed.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.fakes.server import FakeServer, Request, Response

DEFAULT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One POST the receiver got."""

    path: str
    webhook_id: str | None
    timestamp: str | None
    verified: bool
    #: Why verification failed (None when verified).
    error: str | None
    payload: Any
    body: bytes
    at: float


class FakeWebhookReceiver(FakeServer):
    def __init__(self, *, secret: str = DEFAULT_SECRET) -> None:
        super().__init__()
        self.secret = secret
        self.reject_unverified = True
        self.respond_with_id = True
        self._deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self._state_lock = threading.Lock()

    def url_for(self, path: str = "/hook") -> str:
        return self.url + path

    @property
    def deliveries(self) -> list[Delivery]:
        with self._state_lock:
            return list(self._deliveries)

    @property
    def verified(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified]

    @property
    def unverified(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.verified]

    @property
    def payloads(self) -> list[Any]:
        """Payloads of verified deliveries, in arrival order (repeats included)."""
        return [d.payload for d in self.verified]

    def received(self, path: str = "/hook") -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def webhook_ids(self) -> list[str | None]:
        """``webhook-id`` of every verified delivery, in order (a retry repeats its id)."""
        return [d.webhook_id for d in self.verified]

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        self.wait_until(lambda: len(self._deliveries) >= count, timeout, f"{count} deliveries")
        return self.deliveries

    def reset(self) -> None:
        super().reset()
        with self._state_lock:
            self._deliveries.clear()

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, {"error": "method not allowed"})
        verified, error, payload = True, None, None
        try:
            payload = Webhook(self.secret).verify(request.body, dict(request.headers))
        except WebhookVerificationError as exc:
            verified, error = False, str(exc) or type(exc).__name__
        except (ValueError, UnicodeDecodeError) as exc:  # signature or body not decodable
            verified, error = False, f"{type(exc).__name__}: {exc}"
        if not verified:
            try:
                payload = json.loads(request.body)
            except ValueError:
                payload = None
        with self._state_lock:
            self._deliveries.append(
                Delivery(
                    path=request.path,
                    webhook_id=request.headers.get("webhook-id"),
                    timestamp=request.headers.get("webhook-timestamp"),
                    verified=verified,
                    error=error,
                    payload=payload,
                    body=request.body,
                    at=time.monotonic(),
                )
            )
            number = next(self._ids)
        if not verified and self.reject_unverified:
            return Response(401, {"error": "invalid signature"})
        if not self.respond_with_id:
            return Response(204)
        return Response(200, {"id": f"rcv_{number}"})
