"""Fixtures for adapter tests: the fake providers and a factory for outgoing messages."""

from __future__ import annotations

import pytest

from bridge.channels.base import OutgoingMessage
from tests.fakes.fixtures import (  # noqa: F401 (fixtures are used by name)
    fake_fonnte,
    fake_telegram,
    fake_waha,
    webhook_receiver,
)

TEXT = (
    "📣 *Aduan baru #WDL-2026-000101*\n\n*Judul:* Jalan berlubang di Desa Arjosari\n\n"
    "🔗 https://wadul.pacitankab.go.id/aduan/WDL-2026-000101\n\n"
    "Balas: #WDL-2026-000101 terima|proses|selesai|tolak|bukan [catatan]"
)


@pytest.fixture
def make_message():
    """Build an :class:`OutgoingMessage`; keyword arguments override the defaults."""

    def make(**overrides) -> OutgoingMessage:
        fields = {
            "delivery_id": 42,
            "wadule_id": "WDL-2026-000101",
            "kind": "whatsapp_group",
            "target": "120363000000000101@g.us",
            "text": TEXT,
            "payload": {"type": "complaint.forwarded", "wadule_id": "WDL-2026-000101"},
        }
        fields.update(overrides)
        return OutgoingMessage(**fields)

    return make
