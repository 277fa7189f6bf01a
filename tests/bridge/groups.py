"""A bridge that OPD groups talk to: a directory with responders, complaints filed, the fake WAHA
and fake Telegram as its providers, and helpers that post their webhooks and read the outcome."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlalchemy import select

from bridge.auth import create_api_key
from bridge.db import new_session
from bridge.models import Complaint, Delivery, Event
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha, Member, signed
from tests.support import auth, use_directory

HMAC_KEY = "waha-hmac-key"
TG_SECRET = "tg-secret-token"
TRIAGE = "120363000000000100@g.us"
DPUPR = "120363000000000101@g.us"
DINKES = "120363000000000102@g.us"
PDAM = "120363000000000115@g.us"
TG_TRIAGE = "-1001000000000100"
TG_DPUPR = "-1001000000000101"

#: Responders as OPD staff write them: each spelling must match its sender.
RESPONDER = Member(phone="6281200000101")  # listed as 081200000101
RESPONDER_2 = Member(phone="6281200000102")  # listed as +62 812-0000-0102
LISTED_LID = Member(lid="139884413590101")  # listed as a LID
TG_RESPONDER = 700000101
STRANGER = Member(phone="6289999999999")

DIRECTORY = {
    "triage": "diskominfo",
    "opds": [
        {
            "slug": "diskominfo",
            "name": "Dinas Komunikasi dan Informatika",
            "categories": ["informasi"],
            "channels": [
                {"kind": "whatsapp_group", "target": TRIAGE},
                {"kind": "telegram", "target": TG_TRIAGE},
            ],
        },
        {
            "slug": "dpupr",
            "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "categories": ["jalan"],
            "responders": [
                "081200000101",
                "+62 812-0000-0102",
                "139884413590101@lid",
                f"tg:{TG_RESPONDER}",
                "tg:admins",
            ],
            "channels": [
                {"kind": "whatsapp_group", "target": DPUPR},
                {"kind": "telegram", "target": TG_DPUPR},
            ],
        },
        {
            "slug": "dinkes",
            "name": "Dinas Kesehatan",
            "categories": ["kesehatan"],
            "channels": [{"kind": "whatsapp_group", "target": DINKES}],
        },
        {
            "slug": "pdam",
            "name": "Perumda Air Minum",
            "categories": ["air"],
            "channels": [{"kind": "whatsapp_group", "target": PDAM}],
        },
    ],
}
_names = itertools.count(1)


class Bridge:
    """The app under test with its two fake providers."""

    def __init__(self, app, waha: FakeWaha, telegram: FakeTelegram):
        self.app = app
        self.waha = waha
        self.telegram = telegram
        self.client = app.test_client()
        with app.app_context(), new_session() as db:
            self.key = create_api_key(db, name=f"ops{next(_names)}", role="operator", opd_slug=None)
            wadule = create_api_key(db, name=f"wadule{next(_names)}", role="wadule", opd_slug=None)
        self.wadule_key = wadule

    def file(self, wadule_id: str, category: str = "jalan") -> None:
        body = {"wadule_id": wadule_id, "title": "t", "body": "b", "category": category}
        response = self.client.post("/api/v1/complaints", json=body, headers=auth(self.wadule_key))
        assert response.status_code == 202, response.get_json()

    # Posting

    def post_waha(self, event: dict[str, Any] | bytes, *, key: str | None = HMAC_KEY, **headers):
        raw, signed_headers = signed(event, key)
        return self.client.post("/webhooks/waha", data=raw, headers={**signed_headers, **headers})

    def say(self, group: str, text: str, sender: Member = RESPONDER, **options) -> dict:
        """A group member writes ``text``; returns the bridge's JSON answer (asserting 200)."""
        response = self.post_waha(self.waha.message(group, text, sender, **options))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def post_telegram(self, update: dict[str, Any] | bytes, secret: str | None = TG_SECRET):
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = update if isinstance(update, bytes) else json.dumps(update).encode()
        return self.client.post("/webhooks/telegram", data=data, headers=headers)

    # Reading

    def complaint(self, wadule_id: str = "WDL-I1") -> dict[str, Any]:
        response = self.client.get(f"/api/v1/complaints/{wadule_id}", headers=auth(self.key))
        assert response.status_code == 200
        return response.get_json()

    def status(self, wadule_id: str = "WDL-I1") -> str:
        return self.complaint(wadule_id)["status"]

    def replies(self) -> list[tuple[str, str]]:
        """(group, text) of every answer the bridge queued, in the order it will send them."""
        with self.app.app_context(), new_session() as db:
            return [
                tuple(row)
                for row in db.execute(
                    select(Delivery.target, Delivery.text)
                    .where(Delivery.purpose == "reply")
                    .order_by(Delivery.id)
                )
            ]

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.app.app_context(), new_session() as db:
            query = select(Event.data).order_by(Event.seq)
            if type_:
                query = query.where(Event.type == type_)
            return list(db.scalars(query))

    def deliver(self, wadule_id: str, kind: str) -> Delivery:
        """Send a complaint's pending forward to ``kind`` through the fake provider now."""
        from bridge import outbox

        with self.app.app_context(), new_session() as db:
            row_id = db.scalar(
                select(Delivery.id)
                .join(Complaint, Complaint.id == Delivery.complaint_id)
                .where(Complaint.wadule_id == wadule_id, Delivery.kind == kind)
                .where(Delivery.purpose != "reply")
                .order_by(Delivery.id.desc())
            )
        with self.app.app_context():
            outbox.deliver(row_id)
        with self.app.app_context(), new_session() as db:
            row = db.get(Delivery, row_id)
        assert row.status == "sent", (row.status, row.last_error)
        return row


def make_bridge(make_app, waha: FakeWaha, telegram: FakeTelegram, **overrides) -> Bridge:
    env = {
        **waha.bridge_settings(),
        "BRIDGE_WAHA_WEBHOOK_HMAC_KEY": HMAC_KEY,
        "BRIDGE_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "BRIDGE_TELEGRAM_API_URL": telegram.url,
        "BRIDGE_TELEGRAM_BOT_TOKEN": telegram.token,
        "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1,telegram=100/1",
        "BRIDGE_HTTP_TIMEOUT": "2",
    }
    app = make_app(**(env | overrides))
    use_directory(app, DIRECTORY)
    bridge = Bridge(app, waha, telegram)
    bridge.file("WDL-I1", "jalan")
    bridge.file("WDL-I2", "kesehatan")
    return bridge
