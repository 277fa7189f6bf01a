"""Inbound webhooks as WAHA and Telegram really send them: signatures, envelopes of every WAHA
version, each engine's naming of group members, LIDs, receipts, duplicates and stale updates."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bridge.db import new_session
from bridge.models import Delivery, InboundEvent, StatusChange, WahaLid, utcnow
from tests.bridge.groups import (
    DINKES,
    DPUPR,
    HMAC_KEY,
    LISTED_LID,
    RESPONDER,
    RESPONDER_2,
    STRANGER,
    TG_DPUPR,
    TG_RESPONDER,
    TG_SECRET,
    TG_TRIAGE,
    make_bridge,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha, Member, signed

REFUSED = (
    "❌ #WDL-I1: perintah ditolak. Pengirim tidak terdaftar sebagai petugas penjawab "
    "Dinas Pekerjaan Umum dan Penataan Ruang."
)
ACKNOWLEDGED = '✅ #WDL-I1: status dicatat "diterima OPD".'


@pytest.fixture
def telegram():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def bridge(make_app, fake_waha, telegram):
    return make_bridge(make_app, fake_waha, telegram)


def lids(bridge) -> dict[str, str | None]:
    with bridge.app.app_context(), new_session() as db:
        return dict(db.execute(select(WahaLid.lid, WahaLid.phone)).all())


# Signatures


def test_waha_documented_hmac_known_answer(make_app):
    # waha-docs content/docs/how-to/events/index.md "HMAC authentication": this body, key and
    # X-Webhook-Hmac. The signature is accepted; the body has no payload, so it is a 400.
    app = make_app(BRIDGE_WAHA_WEBHOOK_HMAC_KEY="my-secret-key")
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    documented = (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Hmac": documented,
        "X-Webhook-Hmac-Algorithm": "sha512",
    }
    client = app.test_client()
    assert client.post("/webhooks/waha", data=body, headers=headers).status_code == 400
    tampered = body.replace(b"WEBJS", b"NOWEB")
    assert client.post("/webhooks/waha", data=tampered, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Webhook-Hmac": None},
        {"X-Webhook-Hmac": "ab" * 64},
        {"X-Webhook-Hmac": "é" * 128},
        {"X-Webhook-Hmac": "ﬀ" * 10},
        {"X-Webhook-Hmac-Algorithm": "sha256"},
    ],
)
def test_unsigned_forged_or_odd_signatures_are_401_and_change_nothing(bridge, headers):
    event = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER)
    raw, signed_headers = signed(event, HMAC_KEY)
    sent = {k: v for k, v in {**signed_headers, **headers}.items() if v is not None}
    # Werkzeug's test client sends str headers as latin-1; the non-latin-1 ones as UTF-8 bytes.
    sent = {k: v.encode() if any(ord(c) > 255 for c in v) else v for k, v in sent.items()}
    response = bridge.client.post("/webhooks/waha", data=raw, headers=sent)
    assert response.status_code == 401
    assert bridge.status() == "received" and bridge.replies() == []


def test_without_a_configured_key_every_waha_call_is_refused(make_app, fake_waha):
    app = make_app()
    raw, headers = signed(fake_waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER), HMAC_KEY)
    response = app.test_client().post("/webhooks/waha", data=raw, headers=headers)
    assert response.status_code == 401
    assert "BRIDGE_WAHA_WEBHOOK_HMAC_KEY" in response.get_json()["message"]


# Envelopes


def test_a_message_under_message_and_message_any_is_acted_on_once(bridge):
    message = bridge.waha.message(DPUPR, "#WDL-I1 terima", RESPONDER)
    copy = {**message, "event": "message.any", "id": "evt_01jzzzzzzzzzzzzzzzzzzzzzzz"}
    assert message["id"] != copy["id"] and message["payload"] == copy["payload"]
    assert bridge.post_waha(message).get_json()["status"] == "handled"
    again = bridge.post_waha(copy).get_json()
    assert again == {"status": "ignored", "reason": "repeated message"}
    assert bridge.post_waha(message).get_json()["reason"] == "repeated message"
    assert bridge.status() == "acknowledged"
    assert len(bridge.complaint()["history"]) == 2
    assert bridge.replies() == [(DPUPR, ACKNOWLEDGED)]


@pytest.mark.parametrize("version", ["2024.10.8", "2025.2.8"])
def test_older_waha_envelopes_without_id_or_timestamp_are_accepted(make_app, telegram, version):
    with FakeWaha(version=version) as waha:
        bridge = make_bridge(make_app, waha, telegram)
        event = waha.message(DPUPR, "#WDL-I1 terima", RESPONDER)
        assert "timestamp" not in event
        assert ("id" in event) is (version == "2025.2.8")
        assert bridge.post_waha(event).get_json()["status"] == "handled"
        # Without an event id a repeat is still the same message.
        assert bridge.post_waha(event).get_json()["reason"] == "repeated message"
    assert bridge.status() == "acknowledged"


@pytest.mark.parametrize(
    "stamp",
    [
        b'"1733000000000"',
        b"true",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
        b"1" + b"0" * 400,
        b'{"ms": 1}',
    ],
)
def test_a_present_timestamp_must_be_a_finite_number(bridge, stamp):
    event = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER)
    event["timestamp"] = "STAMP"
    raw = json.dumps(event).encode().replace(b'"STAMP"', stamp)
    response = bridge.post_waha(raw)
    assert response.status_code == 400
    assert bridge.status() == "received"
    with bridge.app.app_context(), new_session() as db:
        assert db.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_stale_and_malformed_waha_events_are_400_and_change_nothing(bridge):
    stale = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER)
    stale["timestamp"] -= 3600 * 1000
    assert bridge.post_waha(stale).status_code == 400
    assert bridge.post_waha(b"{not json").status_code == 400
    assert bridge.post_waha({"id": "x", "event": "message"}).status_code == 400
    listed = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER)
    listed["payload"]["body"] = ["not", "text"]
    assert bridge.post_waha(listed).status_code == 400
    nameless = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER)
    nameless["event"] = 7
    assert bridge.post_waha(nameless).status_code == 400
    assert bridge.status() == "received" and bridge.replies() == []


def test_own_messages_media_direct_messages_and_other_events_are_ignored(bridge):
    own = bridge.waha.message(DPUPR, "#WDL-I1 selesai", RESPONDER, event="message.any")
    own["payload"]["fromMe"] = True
    assert bridge.post_waha(own).get_json()["reason"] == "our own message"
    photo = bridge.waha.message(DPUPR, None, RESPONDER)
    photo["payload"]["hasMedia"] = True
    assert bridge.post_waha(photo).get_json() == {"status": "ignored", "reason": "no text"}
    direct = bridge.waha.message("6281200000101@c.us", "#WDL-I1 selesai", RESPONDER)
    assert bridge.post_waha(direct).get_json()["reason"] == "not a group message"
    status = bridge.waha.envelope("session.status", {"status": "WORKING"})
    assert bridge.post_waha(status).get_json()["reason"] == "event 'session.status' is not used"
    assert bridge.say("999@g.us", "#WDL-I1 selesai")["status"] == "ignored"
    assert bridge.say(DPUPR, "Siap, terima kasih")["reason"] == "not a command"
    assert bridge.status() == "received" and bridge.replies() == []


# Who wrote it


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
@pytest.mark.parametrize(
    "member", [RESPONDER, RESPONDER_2, Member(phone="6281200000101", device=12)]
)
def test_each_engines_naming_of_a_listed_phone_is_recognised(bridge, engine, member):
    bridge.waha.set_engine(engine)
    event = bridge.waha.message(DPUPR, "#WDL-I1 terima Segera kami cek", member)
    named = event["payload"]["participant"]
    if engine == "GOWS":
        assert named.endswith("@s.whatsapp.net")
    if member.device is not None and engine != "WEBJS":
        assert f":{member.device}@" in named
    assert bridge.post_waha(event).get_json()["status"] == "handled"
    assert bridge.replies() == [(DPUPR, ACKNOWLEDGED)]
    with bridge.app.app_context(), new_session() as db:
        entry = db.scalars(select(StatusChange).order_by(StatusChange.id.desc())).first()
    assert (entry.status, entry.note, entry.actor_kind, entry.actor_name) == (
        "acknowledged",
        "Segera kami cek",
        "opd",
        "dpupr",
    )


def test_the_sender_is_found_where_older_webjs_put_it(bridge):
    event = bridge.waha.message(DPUPR, "#WDL-I1 terima", RESPONDER)
    del event["payload"]["participant"], event["payload"]["author"]
    assert event["payload"]["_data"]["author"] == "6281200000101@c.us"
    assert bridge.post_waha(event).get_json()["status"] == "handled"
    assert bridge.status() == "acknowledged"


def test_a_sender_waha_does_not_name_is_no_responder(bridge):
    event = bridge.waha.message(DPUPR, "#WDL-I1 terima", RESPONDER)
    del event["payload"]["participant"], event["payload"]["author"], event["payload"]["_data"]
    assert bridge.post_waha(event).get_json()["status"] == "handled"
    assert bridge.replies() == [(DPUPR, REFUSED)]
    assert bridge.status() == "received"


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
def test_a_listed_lid_is_recognised_without_asking_waha(bridge, engine):
    bridge.waha.set_engine(engine)
    sender = Member(lid=LISTED_LID.lid, device=3 if engine == "GOWS" else None)
    assert bridge.say(DPUPR, "#WDL-I1 terima", sender)["status"] == "handled"
    assert bridge.status() == "acknowledged"
    assert bridge.waha.lid_lookups() == []


def test_an_unlisted_lid_is_resolved_through_waha_once(bridge):
    member = Member(lid="555000111222333")
    bridge.waha.lids["555000111222333@lid"] = "6281200000101@c.us"
    assert bridge.say(DPUPR, "#WDL-I1 terima", member)["status"] == "handled"
    assert bridge.say(DPUPR, "#WDL-I1 proses", member)["status"] == "handled"
    assert bridge.status() == "in_progress"
    # One question to WAHA, with the session and key the bridge sends with.
    assert bridge.waha.lid_lookups() == ["555000111222333@lid"]
    [lookup] = [r for r in bridge.waha.requests if "/lids/" in r.path]
    assert lookup.method == "GET"
    assert lookup.path == "/api/default/lids/555000111222333%40lid"
    assert lookup.headers["X-Api-Key"] == bridge.waha.api_key
    assert lids(bridge) == {"555000111222333@lid": "6281200000101"}


def test_a_stranger_behind_a_lid_is_refused(bridge):
    bridge.waha.lids["555000111222333@lid"] = "6289999999999@c.us"
    bridge.say(DPUPR, "#WDL-I1 selesai", Member(lid="555000111222333"))
    assert bridge.replies() == [(DPUPR, REFUSED)]
    assert bridge.status() == "received"


def test_a_lid_waha_cannot_resolve_only_matches_when_listed(bridge):
    unknown = Member(lid="555000111222333")
    bridge.say(DPUPR, "#WDL-I1 selesai", unknown)
    assert bridge.status() == "received"
    assert lids(bridge) == {"555000111222333@lid": None}
    # "Unknown" is remembered for a while: the next command does not ask again...
    bridge.say(DPUPR, "#WDL-I1 selesai", unknown)
    assert bridge.waha.lid_lookups() == ["555000111222333@lid"]
    # ...then WAHA is asked again, and now it knows.
    with bridge.app.app_context(), new_session() as db:
        db.execute(update(WahaLid).values(resolved_at=utcnow() - dt.timedelta(minutes=11)))
        db.commit()
    bridge.waha.lids["555000111222333@lid"] = "6281200000101@c.us"
    bridge.say(DPUPR, "#WDL-I1 selesai", unknown)
    assert bridge.status() == "resolved"
    assert len(bridge.waha.lid_lookups()) == 2


@pytest.mark.parametrize("trouble", ["not working", "old waha", "down"])
def test_when_waha_cannot_say_an_unlisted_lid_is_refused_never_a_5xx(make_app, telegram, trouble):
    with FakeWaha(version="2025.5.3" if trouble == "old waha" else "2026.7.1") as waha:
        waha.lids["555000111222333@lid"] = "6281200000101@c.us"
        bridge = make_bridge(make_app, waha, telegram)
        if trouble == "not working":
            waha.set_session_status("PASSKEY_REQUIRED")
        if trouble == "down":
            waha.stop()
        bridge.say(DPUPR, "#WDL-I1 selesai", Member(lid="555000111222333"))
        assert bridge.replies()[-1] == (DPUPR, REFUSED)
        assert bridge.status() == "received"
        # Only WAHA's answer "I don't know" is remembered; no answer is not one.
        assert lids(bridge) == ({"555000111222333@lid": None} if trouble == "old waha" else {})
        # The listed LID and phone numbers still work.
        bridge.say(DPUPR, "#WDL-I1 terima", LISTED_LID)
        assert bridge.status() == "acknowledged"


# Receipts


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
@pytest.mark.parametrize("version", ["2026.7.1", "2025.11.1"])
def test_group_receipts_move_the_whatsapp_delivery_to_delivered_then_read(
    make_app, telegram, engine, version
):
    with FakeWaha(engine=engine, version=version) as waha:
        bridge = make_bridge(make_app, waha, telegram)
        row = bridge.deliver("WDL-I1", "whatsapp_group")
        [sent] = waha.received(DPUPR)

        def ack(who, level):
            event = waha.ack(DPUPR, sent.id, who, level)
            grouped = version >= "2025.12"
            assert event["event"] == ("message.ack.group" if grouped else "message.ack")
            return bridge.post_waha(event).get_json()["status"]

        assert ack(RESPONDER, 2) == "handled"
        assert ack(RESPONDER_2, 2) == "ignored"  # one receipt per member: the first counts
        assert ack(Member(lid="555000111222333"), 3) == "handled"
        assert ack(RESPONDER, 2) == "ignored"  # never backwards
    with bridge.app.app_context(), new_session() as db:
        assert db.get(Delivery, row.id).status == "read"
    updates = bridge.events("complaint.delivery_updated")
    assert [(u["channel"], u["status"]) for u in updates][-2:] == [
        ("whatsapp_group", "delivered"),
        ("whatsapp_group", "read"),
    ]


def test_receipts_of_unknown_messages_and_odd_acks(bridge):
    unknown = bridge.waha.ack(DPUPR, "3EB0FFFFFFFFFFFFFFFF", RESPONDER, 3)
    assert bridge.post_waha(unknown).get_json() == {
        "status": "ignored",
        "reason": "unknown message",
    }
    pending = bridge.waha.ack(DPUPR, "3EB0FFFFFFFFFFFFFFFF", RESPONDER, 1)
    assert bridge.post_waha(pending).get_json()["reason"] == "ack level not tracked"
    odd = bridge.waha.ack(DPUPR, "3EB0FFFFFFFFFFFFFFFF", RESPONDER, 3)
    odd["payload"]["ack"] = "3"
    assert bridge.post_waha(odd).status_code == 400


# Replies to the bridge's message


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
def test_a_reply_to_the_bridges_message_with_just_the_word(make_app, telegram, engine):
    with FakeWaha(engine=engine) as waha:
        bridge = make_bridge(make_app, waha, telegram)
        bridge.deliver("WDL-I1", "whatsapp_group")
        [sent] = waha.received(DPUPR)
        assert bridge.say(DPUPR, "ok pak", reply_to=sent.id)["reason"] == "not a command"
        answer = bridge.say(DPUPR, "Selesai Sudah ditambal", reply_to=sent.id)
        assert answer["status"] == "handled"
        # A reply to some other message is chatter.
        assert bridge.say(DPUPR, "tolak", reply_to="3EB0FFFFFFFFFFFFFFFF")["status"] == "ignored"
    assert bridge.status() == "resolved"
    assert bridge.complaint()["history"][-1]["note"] == "Sudah ditambal"
    assert bridge.replies() == [(DPUPR, '✅ #WDL-I1: status dicatat "selesai".')]


def test_a_reply_in_another_group_does_not_reach_the_complaint(bridge):
    bridge.deliver("WDL-I1", "whatsapp_group")
    [sent] = bridge.waha.received(DPUPR)
    assert bridge.say(DINKES, "selesai", reply_to=sent.id)["reason"] == "not a command"
    assert bridge.status() == "forwarded"


# Telegram


def test_telegram_secret_is_checked_before_anything(bridge):
    update_ = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=TG_RESPONDER)
    assert bridge.post_telegram(update_, secret=None).status_code == 401
    assert bridge.post_telegram(update_, secret="nope").status_code == 401
    response = bridge.client.post(
        "/webhooks/telegram",
        json=update_,
        headers={"X-Telegram-Bot-Api-Secret-Token": "é".encode() * 3},
    )
    assert response.status_code == 401
    assert bridge.post_telegram({"update_id": "x"}).status_code == 400
    assert bridge.status() == "received"


def test_a_listed_telegram_user_commands_and_others_are_refused(bridge):
    stranger = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=42)
    assert bridge.post_telegram(stranger).get_json()["status"] == "handled"
    assert bridge.status() == "received"
    listed = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=TG_RESPONDER)
    assert bridge.post_telegram(listed).get_json()["status"] == "handled"
    assert bridge.post_telegram(listed).get_json()["reason"] == "repeated message"
    assert bridge.status() == "acknowledged"
    assert bridge.replies() == [(TG_DPUPR, REFUSED), (TG_DPUPR, ACKNOWLEDGED)]


def test_anonymous_group_admins_count_when_the_opd_lists_tg_admins(bridge):
    anonymous = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", anonymous_admin=True)
    message = anonymous["message"]
    assert message["sender_chat"]["id"] == message["chat"]["id"]
    assert message["from"]["is_bot"] is True  # GroupAnonymousBot: not "another bot"
    assert bridge.post_telegram(anonymous).get_json()["status"] == "handled"
    assert bridge.status() == "acknowledged"


def test_anonymous_admins_of_a_group_that_does_not_list_them(make_app, fake_waha, telegram):
    bridge = make_bridge(make_app, fake_waha, telegram)
    with bridge.app.app_context(), new_session() as db:
        from bridge.models import Opd

        db.execute(update(Opd).where(Opd.slug == "dpupr").values(responders=["tg:700000101"]))
        db.commit()
    bridge.post_telegram(bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", anonymous_admin=True))
    assert bridge.status() == "received"
    assert bridge.replies() == [(TG_DPUPR, REFUSED)]


def test_a_channel_posting_in_the_group_and_other_bots(bridge):
    channel = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", anonymous_admin=True)
    channel["message"]["sender_chat"] = {"id": -1002000000000, "type": "channel", "title": "X"}
    assert bridge.post_telegram(channel).get_json()["status"] == "handled"
    assert bridge.replies() == [(TG_DPUPR, REFUSED)]
    bot = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=99)
    bot["message"]["from"]["is_bot"] = True
    assert bridge.post_telegram(bot).get_json()["reason"] == "a bot's message"
    assert bridge.status() == "received"


def test_stale_edited_and_non_text_updates_get_200_and_change_nothing(bridge):
    stale = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=TG_RESPONDER, age=3600)
    response = bridge.post_telegram(stale)
    assert (response.status_code, response.get_json()) == (
        200,
        {"status": "ignored", "reason": "stale update"},
    )
    edited = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=TG_RESPONDER)
    edited["edited_message"] = edited.pop("message")
    assert bridge.post_telegram(edited).status_code == 200
    sticker = bridge.telegram.update(TG_DPUPR, "x", user=TG_RESPONDER)
    del sticker["message"]["text"]
    assert bridge.post_telegram(sticker).get_json()["reason"] == "not a text message"
    private = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", user=TG_RESPONDER)
    private["message"]["chat"]["type"] = "private"
    assert bridge.post_telegram(private).get_json()["reason"] == "not a group message"
    assert bridge.status() == "received" and bridge.replies() == []


def test_a_photo_caption_is_read_like_a_text(bridge):
    photo = bridge.telegram.update(TG_DPUPR, "x", user=TG_RESPONDER)
    message = photo["message"]
    message["caption"] = message.pop("text").replace("x", "#WDL-I1 proses Foto lokasi")
    message["photo"] = [{"file_id": "AgAD", "file_unique_id": "u", "width": 90, "height": 90}]
    assert bridge.post_telegram(photo).get_json()["status"] == "handled"
    assert bridge.status() == "in_progress"


def test_telegram_reply_to_the_bridges_message_by_its_message_id(bridge):
    bridge.deliver("WDL-I1", "telegram")
    [sent] = bridge.telegram.received(TG_DPUPR)
    reply = bridge.telegram.update(
        TG_DPUPR, "proses Survei Senin", user=TG_RESPONDER, reply_to=sent.message_id
    )
    assert reply["message"]["reply_to_message"]["text"] == sent.text
    assert bridge.post_telegram(reply).get_json()["status"] == "handled"
    assert bridge.status() == "in_progress"
    assert bridge.complaint()["history"][-1]["note"] == "Survei Senin"
    # The same message id in another chat is another message.
    other = bridge.telegram.update(TG_TRIAGE, "selesai", user=1, reply_to=sent.message_id)
    assert bridge.post_telegram(other).get_json()["reason"] == "not a command"


# Fuzz

shapes = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
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
                    "ackName",
                    "replyTo",
                    "_data",
                    "me",
                    "text",
                    "chat",
                    "date",
                    "message",
                    "message_id",
                    "sender_chat",
                    "reply_to_message",
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
@given(body=shapes, sign=st.booleans(), raw=st.none() | st.binary(max_size=100))
def test_malformed_webhooks_never_5xx_and_change_nothing(bridge, body, sign, raw):
    before = bridge.complaint()
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-Webhook-Hmac"] = hmac.new(HMAC_KEY.encode(), data, hashlib.sha512).hexdigest()
    assert bridge.client.post("/webhooks/waha", data=data, headers=headers).status_code < 500
    tg = bridge.client.post(
        "/webhooks/telegram",
        data=data,
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, **headers},
    )
    assert tg.status_code < 500
    after = bridge.complaint()
    assert (after["status"], after["opd"], after["history"]) == (
        before["status"],
        before["opd"],
        before["history"],
    )


def test_fuzzed_shapes_around_a_real_message_never_5xx(bridge):
    # Each field of a real message replaced by each odd value: the parser never trips.
    odd_values = [None, True, 0, -1, 1.5, "", "x", [], {}, {"_serialized": 1}, ["a"]]
    base = bridge.waha.message(DPUPR, "#WDL-I1 terima", STRANGER, reply_to="3EB0X")
    for field in [*base["payload"], "me", "event", "id", "timestamp"]:
        for value in odd_values:
            event = json.loads(json.dumps(base))
            target = event["payload"] if field in event["payload"] else event
            target[field] = value
            assert bridge.post_waha(event).status_code < 500, (field, value)


def test_fuzzed_shapes_around_a_real_update_never_5xx(bridge):
    odd_values = [None, True, 0, -1, 1.5, "", "x", [], {}, {"id": "1"}, ["a"]]
    base = bridge.telegram.update(TG_DPUPR, "#WDL-I1 terima", anonymous_admin=True, reply_to=1)
    for field in [*base["message"], "update_id"]:
        for value in odd_values:
            update_ = json.loads(json.dumps(base))
            target = update_["message"] if field in update_["message"] else update_
            target[field] = value
            assert bridge.post_telegram(update_).status_code < 500, (field, value)
    for field in ("id", "type"):
        for value in odd_values:
            update_ = json.loads(json.dumps(base))
            update_["message"]["chat"][field] = value
            update_["message"]["sender_chat"][field] = value
            assert bridge.post_telegram(update_).status_code < 500, (field, value)


def test_commands_on_the_embedded_sqlite_database(sqlite_env, fake_waha, telegram):
    # SQLite is the default database: the insert-or-nothing of the message memory and the
    # refusal limit, and the LID cache, work there too.
    from bridge import create_app
    from bridge.db import engine_of
    from bridge.settings import Settings
    from tests.bridge.groups import DIRECTORY, Bridge
    from tests.support import use_directory

    env = {
        **sqlite_env,
        **fake_waha.bridge_settings(),
        "BRIDGE_WAHA_WEBHOOK_HMAC_KEY": HMAC_KEY,
        "BRIDGE_SECRET_KEY": "x",
    }
    app = create_app(settings=Settings.from_env(env))
    try:
        use_directory(app, DIRECTORY)
        bridge = Bridge(app, fake_waha, telegram)
        bridge.file("WDL-SQLITE-1")
        message = fake_waha.message(DPUPR, "#wdl-sqlite-1 terima", RESPONDER)
        assert bridge.post_waha(message).get_json()["status"] == "handled"
        assert bridge.post_waha(message).get_json()["reason"] == "repeated message"
        for _ in range(2):
            bridge.say(DPUPR, "#WDL-SQLITE-1 tolak", STRANGER)
        fake_waha.lids["555000111222333@lid"] = "6281200000101@c.us"
        bridge.say(DPUPR, "#WDL-SQLITE-1 proses", Member(lid="555000111222333"))
        assert bridge.status("WDL-SQLITE-1") == "in_progress"
        texts = [text for _, text in bridge.replies() if "WDL-SQLITE-1" in text]
        assert [t[:1] for t in texts] == ["✅", "❌", "✅"]
    finally:
        engine_of(app).dispose()
