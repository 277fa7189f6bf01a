"""Local fake provider servers, shaped like the real APIs (see each module's docstring)."""

from tests.fakes.fonnte import FakeFonnte
from tests.fakes.server import FakeServer, Request, Response, free_port
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha
from tests.fakes.webhook_receiver import FakeWebhookReceiver

__all__ = [
    "FakeFonnte",
    "FakeServer",
    "FakeTelegram",
    "FakeWaha",
    "FakeWebhookReceiver",
    "Request",
    "Response",
    "free_port",
]
