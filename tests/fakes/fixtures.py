"""Pytest fixtures that run each fake for one test. Import them into a conftest.py:

from tests.fakes.fixtures import fake_fonnte, fake_telegram, fake_waha, webhook_receiver
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fonnte import FakeFonnte
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha
from tests.fakes.webhook_receiver import FakeWebhookReceiver


@pytest.fixture
def fake_waha() -> Iterator[FakeWaha]:
    with FakeWaha() as fake:
        yield fake


@pytest.fixture
def fake_fonnte() -> Iterator[FakeFonnte]:
    with FakeFonnte() as fake:
        yield fake


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def webhook_receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake
