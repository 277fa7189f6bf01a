"""Inbound webhooks: WAHA (HMAC-SHA512) and Telegram (secret token); group commands."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bridge.db import new_session
from bridge.models import Delivery, Event, InboundEvent, StatusChange
from tests.support import auth, use_directory

HMAC_KEY = "waha-hmac-key"
TG_SECRET = "tg-secret-token"
DPUPR = "120363000000000101@g.us"
DINKES = "120363000000000102@g.us"
TRIAGE = "120363000000000100@g.us"
RESPONDER = "6281200000101@c.us"
_ids = itertools.count(1)


@pytest.fixture
def hooked(make_app, keys):
    """An app that takes signed WAHA and Telegram webhooks, with two complaints filed."""
    app = make_app(BRIDGE_WAHA_WEBHOOK_HMAC_KEY=HMAC_KEY, BRIDGE_TELEGRAM_WEBHOOK_SECRET=TG_SECRET)
    use_directory(app)
    client = app.test_client()
    for wadule_id, category in (("WDL-I1", "jalan"), ("WDL-I2", "kesehatan")):
        body = {"wadule_id": wadule_id, "title": "t", "body": "b", "category": category}
        assert (
            client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
            == 202
        )
    return app


def waha_event(
    text=None,
    *,
    group=DPUPR,
    sender=RESPONDER,
    event="message",
    payload=None,
    event_id=None,
    age=0.0,
):
    return {
        "id": event_id or f"evt_{next(_ids):026d}",
        "timestamp": int((time.time() - age) * 1000),
        "event": event,
        "session": "default",
        "me": {"id": "6281299999999@c.us"},
        "payload": payload
        if payload is not None
        else {
            "id": f"false_{group}_3EB0{next(_ids):016d}",
            "timestamp": int(time.time()),
            "from": group,
            "fromMe": False,
            "participant": sender,
            "body": text,
            "hasMedia": False,
        },
        "engine": "WEBJS",
    }


def post_waha(app, body, *, key=HMAC_KEY, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Webhook-Hmac-Algorithm": "sha512"}
    if key is not None:
        headers["X-Webhook-Hmac"] = hmac.new(key.encode(), data, hashlib.sha512).hexdigest()
    return app.test_client().post("/webhooks/waha", data=data, headers=headers)


def state(app, wadule_id="WDL-I1"):
    """(status, opd, history length, reply texts by group) of a complaint."""
    client = app.test_client()
    with app.app_context(), new_session() as db:
        replies = db.execute(
            select(Delivery.target, Delivery.text)
            .where(Delivery.purpose == "reply")
            .order_by(Delivery.id)
        ).all()
        events = db.scalar(select(func.count()).select_from(Event))
    from bridge.auth import create_api_key

    with app.app_context(), new_session() as db:
        key = create_api_key(db, name=f"k{next(_ids)}", role="operator", opd_slug=None)
    complaint = client.get(f"/api/v1/complaints/{wadule_id}", headers=auth(key)).get_json()
    return complaint["status"], complaint["opd"], len(complaint["history"]), replies, events


def test_a_responder_in_the_assigned_group_changes_the_status(hooked):
    app = hooked
    response = post_waha(app, waha_event("#WDL-I1 terima Segera kami cek"))
    assert response.status_code == 200 and response.get_json()["status"] == "handled"
    status, opd, history, replies, events = state(app)
    assert (status, opd, history, events) == ("acknowledged", "dpupr", 2, 1)
    assert replies == [(DPUPR, '✅ #WDL-I1: status dicatat "diterima OPD".')]
    with app.app_context(), new_session() as db:
        entry = db.scalars(select(StatusChange).order_by(StatusChange.id.desc())).first()
        assert (entry.note, entry.actor_kind, entry.actor_name) == (
            "Segera kami cek",
            "opd",
            "dpupr",
        )
    # Case does not matter for the word; the id is kept verbatim.
    assert post_waha(app, waha_event("#WDL-I1 PROSES")).status_code == 200
    assert state(app)[0] == "in_progress"


def test_a_repeated_event_id_is_ignored(hooked):
    app = hooked
    event = waha_event("#WDL-I1 terima")
    assert post_waha(app, event).get_json()["status"] == "handled"
    before = state(app)
    again = post_waha(app, event)
    assert again.status_code == 200 and again.get_json()["reason"] == "repeated event id"
    assert state(app) == before


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, 401), ("wrong-key", 401)],
)
def test_unsigned_or_forged_is_401_and_changes_nothing(hooked, key, code):
    app = hooked
    before = state(app)
    assert post_waha(app, waha_event("#WDL-I1 selesai"), key=key).status_code == code
    assert state(app) == before


def test_without_a_configured_key_every_waha_call_is_refused(make_app, keys):
    app = make_app()
    response = post_waha(app, waha_event("#WDL-I1 selesai"))
    assert response.status_code == 401
    assert "BRIDGE_WAHA_WEBHOOK_HMAC_KEY" in response.get_json()["message"]


def test_stale_and_malformed_are_400(hooked):
    app = hooked
    before = state(app)
    assert post_waha(app, waha_event("#WDL-I1 selesai", age=3600)).status_code == 400
    assert post_waha(app, None, raw=b"{not json").status_code == 400
    assert post_waha(app, {"id": "x", "event": "message"}).status_code == 400
    body = waha_event("#WDL-I1 selesai")
    body["payload"]["body"] = ["not", "text"]
    assert post_waha(app, body).status_code == 400
    assert state(app) == before
    with app.app_context(), new_session() as db:
        assert db.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_another_opds_group_is_refused_with_the_reason(hooked):
    app = hooked
    post_waha(app, waha_event("#WDL-I1 selesai", group=DINKES, sender="6281300000000@c.us"))
    status, _, history, replies, events = state(app)
    assert (status, history, events) == ("received", 1, 0)
    assert replies[0][0] == DINKES
    assert replies[0][1].startswith(
        "❌ #WDL-I1: perintah ditolak. Aduan ini ditangani Dinas Pekerjaan Umum"
    )


def test_a_non_responder_is_refused(hooked):
    app = hooked
    post_waha(app, waha_event("#WDL-I1 selesai", sender="6289999999999@c.us"))
    status, _, _, replies, _ = state(app)
    assert status == "received"
    assert replies == [
        (
            DPUPR,
            "❌ #WDL-I1: perintah ditolak. Pengirim tidak terdaftar sebagai "
            "petugas penjawab Dinas Pekerjaan Umum dan Penataan Ruang.",
        )
    ]


def test_our_own_messages_and_chatter_are_ignored(hooked):
    app = hooked
    body = waha_event("#WDL-I1 selesai")
    body["payload"]["fromMe"] = True
    assert post_waha(app, body).get_json()["reason"] == "our own message"
    assert post_waha(app, waha_event("Siap, terima kasih")).get_json()["status"] == "ignored"
    assert post_waha(app, waha_event("#WDL-I1 selesai", group="999@g.us")).status_code == 200
    assert state(app)[0] == "received" and state(app)[3] == []


def test_illegal_and_unknown_commands_get_a_reason(hooked):
    app = hooked
    post_waha(app, waha_event("#WDL-I1 selesai"))
    post_waha(app, waha_event("#WDL-I1 proses"))
    post_waha(app, waha_event("#WDL-I1 hapus"))
    post_waha(app, waha_event("#WDL-NOPE terima"))
    texts = [text for _, text in state(app)[3]]
    assert texts[1] == (
        '❌ #WDL-I1: tidak bisa menjadi "diproses" karena statusnya sekarang "selesai".'
    )
    assert texts[2].startswith('❌ #WDL-I1: perintah "hapus" tidak dikenal.')
    assert texts[3] == "❌ #WDL-NOPE: aduan tidak ditemukan. Periksa nomor aduannya."
    assert state(app)[0] == "resolved"


def test_bukan_returns_to_triage_and_triage_reassigns(hooked):
    app = hooked
    post_waha(app, waha_event("#WDL-I1 bukan ini urusan PDAM"))
    status, opd, _, replies, _ = state(app)
    assert (status, opd) == ("received", "diskominfo")
    assert "dikembalikan ke Dinas Komunikasi dan Informatika" in replies[0][1]
    refused = post_waha(app, waha_event("#WDL-I1 alihkan pdam", group=DPUPR))
    assert refused.status_code == 200
    post_waha(app, waha_event("#WDL-I1 alihkan pdam", group=TRIAGE, sender="6281111@c.us"))
    status, opd, _, replies, _ = state(app)
    assert (status, opd) == ("received", "pdam")
    assert replies[-1] == (TRIAGE, "✅ #WDL-I1: dialihkan ke Perumda Air Minum.")
    with app.app_context(), new_session() as db:
        new_rows = db.scalars(
            select(Delivery.target).where(
                Delivery.purpose == "forward",
                Delivery.status == "pending",
                Delivery.target == "120363000000000115@g.us",
            )
        ).all()
    assert new_rows == ["120363000000000115@g.us"]


def test_acks_move_the_whatsapp_delivery_forward_once(hooked):
    app = hooked
    message_id = f"true_{DPUPR}_3EB0AAAABBBBCCCC"
    with app.app_context(), new_session() as db:
        db.execute(
            update(Delivery)
            .where(Delivery.target == DPUPR)
            .values(status="sent", external_id=message_id)
        )
        db.commit()

    def ack(level, participant):
        payload = {
            "id": message_id,
            "from": DPUPR,
            "participant": participant,
            "ack": level,
            "ackName": {2: "DEVICE", 3: "READ"}[level],
            "fromMe": True,
        }
        return post_waha(app, waha_event(event="message.ack", payload=payload))

    assert ack(2, "6281@c.us").get_json()["status"] == "handled"
    assert ack(2, "6282@c.us").get_json()["status"] == "ignored"  # one per participant
    assert ack(3, "6281@c.us").get_json()["status"] == "handled"
    assert ack(2, "6283@c.us").get_json()["status"] == "ignored"  # never backwards
    with app.app_context(), new_session() as db:
        assert db.scalar(select(Delivery.status).where(Delivery.target == DPUPR)) == "read"
        updates = db.scalars(
            select(Event.data).where(Event.type == "complaint.delivery_updated")
        ).all()
    assert [u["status"] for u in updates] == ["delivered", "read"]


def telegram_update(text, *, chat="-1001000000000100", user=6281111, update_id=None, age=0):
    return {
        "update_id": update_id or next(_ids),
        "message": {
            "message_id": 7,
            "date": int(time.time() - age),
            "text": text,
            "chat": {"id": int(chat), "type": "supergroup"},
            "from": {"id": user, "is_bot": False, "first_name": "Admin"},
        },
    }


def post_telegram(app, body, secret=TG_SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return app.test_client().post("/webhooks/telegram", json=body, headers=headers)


def test_telegram_commands_from_the_triage_group(hooked):
    app = hooked
    assert post_telegram(app, telegram_update("#WDL-I1 terima"), secret=None).status_code == 401
    assert post_telegram(app, telegram_update("#WDL-I1 terima"), secret="nope").status_code == 401
    assert post_telegram(app, telegram_update("#WDL-I1 terima", age=3600)).status_code == 400
    assert post_telegram(app, {"update_id": "x"}).status_code == 400
    assert state(app)[0] == "received"
    update_ = telegram_update("#WDL-I1 terima")
    assert post_telegram(app, update_).get_json()["status"] == "handled"
    assert post_telegram(app, update_).get_json()["reason"] == "repeated update id"
    status, _, history, replies, _ = state(app)
    assert (status, history) == ("acknowledged", 2)
    assert replies == [("-1001000000000100", '✅ #WDL-I1: status dicatat "diterima OPD".')]


waha_shapes = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "event",
                    "payload",
                    "timestamp",
                    "body",
                    "from",
                    "participant",
                    "fromMe",
                    "ack",
                    "text",
                    "chat",
                    "message",
                    "update_id",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=15,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=waha_shapes, sign=st.booleans(), raw=st.none() | st.binary(max_size=100))
def test_malformed_webhooks_never_5xx_and_change_nothing(hooked, body, sign, raw):
    app = hooked
    before = state(app)
    data = raw if raw is not None else json.dumps(body).encode()
    response = post_waha(app, None, raw=data, key=HMAC_KEY if sign else None)
    assert response.status_code < 500
    tg = app.test_client().post(
        "/webhooks/telegram",
        data=data,
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"},
    )
    assert tg.status_code < 500
    assert state(app)[:3] == before[:3]
