"""Group commands as people actually type them, who may give them, and what the bridge answers."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, update

from bridge.commands import Command, parse, parse_reply
from bridge.db import new_session
from bridge.models import BridgeState, Delivery, Opd, StatusChange, utcnow
from schemas.directory import DirectorySchema, normalize_responder
from tests.bridge.groups import (
    DINKES,
    DPUPR,
    PDAM,
    RESPONDER,
    STRANGER,
    TG_DPUPR,
    TRIAGE,
    make_bridge,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import Member

REFUSED = (
    "❌ #WDL-I1: perintah ditolak. Pengirim tidak terdaftar sebagai petugas penjawab "
    "Dinas Pekerjaan Umum dan Penataan Ruang."
)


@pytest.fixture
def bridge(make_app, fake_waha):
    with FakeTelegram() as telegram:
        yield make_bridge(make_app, fake_waha, telegram)


def last_note(bridge) -> str | None:
    with bridge.app.app_context(), new_session() as db:
        return db.scalars(select(StatusChange.note).order_by(StatusChange.id.desc())).first()


# Reading a message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#WDL-2026-000123 terima", ("WDL-2026-000123", "terima", "", True)),
        ("#wdl-2026-000123 TERIMA Segera", ("wdl-2026-000123", "terima", "Segera", True)),
        ("Siap, #WDL-2026-000123 terima", ("WDL-2026-000123", "terima", "", True)),
        (
            "Siap pak 🙏 #WDL-2026-000123: proses Tim survei",
            ("WDL-2026-000123", "proses", "Tim survei", True),
        ),
        (
            "#WDL-1 selesai\nSudah ditambal\nterima kasih",
            ("WDL-1", "selesai", "Sudah ditambal\nterima kasih", True),
        ),
        ("#WDL-1 terima, segera kami cek", ("WDL-1", "terima", "segera kami cek", True)),
        ("#WDL-1 hapus", ("WDL-1", "hapus", "", True)),
        (
            "WDL-2026-000123 selesai Sudah ditambal",
            ("WDL-2026-000123", "selesai", "Sudah ditambal", False),
        ),
        (
            "Baik, wdl-2026-000123 Tolak bukan wewenang",
            ("wdl-2026-000123", "tolak", "bukan wewenang", False),
        ),
        (
            "siap terima kasih, WDL-2026-000123 selesai",
            ("WDL-2026-000123", "selesai", "", False),
        ),
        ("Siap, terima kasih", None),
        ("terima kasih pak", None),
        ("jam 10 selesai", None),
        ("rapat tadi selesai jam 10", None),
        ("lihat https://x.org/#bagian terima", None),
        ("email budi#123 terima", None),
        ("WDL-2026-000123 sudah kami terima", None),
        ("", None),
    ],
)
def test_parse(text, expected):
    command = parse(text)
    if expected is None:
        assert command is None
        return
    assert command == Command(*expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("selesai Sudah ditambal", Command(None, "selesai", "Sudah ditambal", False)),
        ("Selesai.", Command(None, "selesai", "", False)),
        ("selesai: Sudah ditambal", Command(None, "selesai", "Sudah ditambal", False)),
        ("👍 terima", Command(None, "terima", "", False)),
        ("PROSES", Command(None, "proses", "", False)),
        ("alihkan pdam salah kirim", Command(None, "alihkan", "pdam salah kirim", False)),
        ("ok terima", None),
        ("terimakasih", None),
        ("siap", None),
        ("", None),
    ],
)
def test_parse_reply(text, expected):
    assert parse_reply(text) == expected


# Spellings, end to end


@pytest.mark.parametrize(
    ("text", "status", "note"),
    [
        ("#WDL-I1 terima", "acknowledged", None),
        ("#wdl-i1 TERIMA", "acknowledged", None),
        ("Siap, #WDL-I1 terima Segera kami cek", "acknowledged", "Segera kami cek"),
        ("#WDL-I1. proses", "in_progress", None),
        ("#WDL-I1: tolak bukan wewenang kami", "rejected", "bukan wewenang kami"),
        ("WDL-I1 proses", "in_progress", None),
        ("Baik pak, wdl-i1 selesai Sudah ditambal", "resolved", "Sudah ditambal"),
    ],
)
def test_each_spelling_changes_the_status(bridge, text, status, note):
    assert bridge.say(DPUPR, text)["status"] == "handled"
    assert bridge.status() == status
    assert last_note(bridge) == note
    # The answer names the complaint as Wadule wrote its id, whatever the typing.
    [(group, answer)] = bridge.replies()
    assert group == DPUPR and answer.startswith("✅ #WDL-I1: status dicatat")


@pytest.mark.parametrize(
    "text",
    [
        "Siap, terima kasih",
        "jam 10 selesai",
        "WDL-NOPE1 selesai",
        "tolak",
        "proses dulu ya",
    ],
)
def test_chatter_never_changes_anything_and_gets_no_answer(bridge, text):
    assert bridge.say(DPUPR, text, STRANGER)["status"] == "ignored"
    assert bridge.say(DPUPR, text)["status"] == "ignored"
    assert bridge.status() == "received" and bridge.replies() == []


def test_an_id_in_another_mix_of_cases(bridge):
    bridge.file("Wdl-Campur-7", "jalan")
    bridge.say(DPUPR, "#WDL-CAMPUR-7 terima")
    assert bridge.status("Wdl-Campur-7") == "acknowledged"
    assert bridge.replies() == [(DPUPR, '✅ #Wdl-Campur-7: status dicatat "diterima OPD".')]


def test_the_exact_id_wins_over_one_in_other_case(bridge):
    bridge.file("wdl-i1", "jalan")
    bridge.say(DPUPR, "#wdl-i1 terima")
    assert bridge.status("wdl-i1") == "acknowledged"
    assert bridge.status("WDL-I1") == "received"


def test_an_unknown_id_written_with_hash_is_answered(bridge):
    bridge.say(DPUPR, "#WDL-NOPE terima")
    assert bridge.replies() == [
        (DPUPR, "❌ #WDL-NOPE: aduan tidak ditemukan. Periksa nomor aduannya.")
    ]


def test_illegal_and_unknown_commands_get_a_reason(bridge):
    for text in ("#WDL-I1 selesai", "#WDL-I1 proses", "#WDL-I1 hapus"):
        bridge.say(DPUPR, text)
    texts = [text for _, text in bridge.replies()]
    assert texts[1] == (
        '❌ #WDL-I1: tidak bisa menjadi "diproses" karena statusnya sekarang "selesai".'
    )
    assert texts[2] == (
        '❌ #WDL-I1: perintah "hapus" tidak dikenal. '
        "Gunakan terima, proses, selesai, tolak atau bukan."
    )
    assert bridge.status() == "resolved"


def test_answers_to_a_group_are_queued_in_the_order_of_the_commands(bridge):
    commands = ["#WDL-I1 terima", "#WDL-I1 hapus", "#WDL-I1 proses", "#WDL-I1 selesai"]
    for text in commands:
        bridge.say(DPUPR, text)
    assert [text.split(":", 1)[1] for _, text in bridge.replies()] == [
        ' status dicatat "diterima OPD".',
        ' perintah "hapus" tidak dikenal. Gunakan terima, proses, selesai, tolak atau bukan.',
        ' status dicatat "diproses".',
        ' status dicatat "selesai".',
    ]
    with bridge.app.app_context(), new_session() as db:
        rows = db.scalars(select(Delivery).where(Delivery.purpose == "reply")).all()
    # One outbox row per command, due at once, in id order: the engine sends them in that order.
    assert [r.id for r in rows] == sorted(r.id for r in rows) and len(rows) == 4
    assert {(r.kind, r.target, r.status) for r in rows} == {("whatsapp_group", DPUPR, "pending")}


# Who may


def test_another_opds_group_is_refused_with_the_reason(bridge):
    bridge.say(DINKES, "#WDL-I1 selesai", Member(phone="6281300000000"))
    assert bridge.status() == "received"
    [(group, text)] = bridge.replies()
    assert group == DINKES
    assert text == (
        "❌ #WDL-I1: perintah ditolak. Aduan ini ditangani Dinas Pekerjaan Umum dan Penataan "
        "Ruang; hanya grup OPD tersebut (atau grup triase) yang bisa mengubah statusnya."
    )


def test_an_opd_without_responders_takes_commands_from_anyone_in_its_group(bridge):
    bridge.say(DINKES, "#WDL-I2 terima", Member(phone="6281300000000"))
    assert bridge.status("WDL-I2") == "acknowledged"


def test_non_responders_get_at_most_one_refusal_a_minute_per_group(bridge):
    for text in ("#WDL-I1 selesai", "#WDL-I1 tolak", "WDL-I1 selesai"):
        bridge.say(DPUPR, text, STRANGER)
    assert bridge.replies() == [(DPUPR, REFUSED)]
    # A responder in between is answered as always.
    bridge.say(DPUPR, "#WDL-I1 terima")
    # The same minute in another group is that group's own.
    answer = bridge.post_telegram(bridge.telegram.update(TG_DPUPR, "#WDL-I1 tolak", user=42))
    assert answer.get_json()["status"] == "handled"
    bridge.say(DPUPR, "#WDL-I1 tolak", STRANGER)
    assert [group for group, _ in bridge.replies()] == [DPUPR, DPUPR, TG_DPUPR]
    # A minute later the group may hear one refusal again.
    with bridge.app.app_context(), new_session() as db:
        db.execute(update(BridgeState).values(updated_at=utcnow() - dt.timedelta(seconds=61)))
        db.commit()
    bridge.say(DPUPR, "#WDL-I1 tolak", STRANGER)
    bridge.say(DPUPR, "#WDL-I1 tolak", STRANGER)
    assert bridge.replies()[-1] == (DPUPR, REFUSED) and len(bridge.replies()) == 4
    assert bridge.status() == "acknowledged"


def test_responders_stored_before_they_were_normalised_still_match(bridge):
    with bridge.app.app_context(), new_session() as db:
        db.execute(
            update(Opd)
            .where(Opd.slug == "dpupr")
            .values(responders=["081200000101", "not a number"])
        )
        db.commit()
    bridge.say(DPUPR, "#WDL-I1 terima", RESPONDER)
    assert bridge.status() == "acknowledged"


# Re-routing


def test_bukan_returns_to_triage_and_triage_reassigns(bridge):
    bridge.say(DPUPR, "#WDL-I1 bukan ini urusan PDAM")
    assert bridge.complaint()["opd"] == "diskominfo"
    assert "dikembalikan ke Dinas Komunikasi dan Informatika" in bridge.replies()[0][1]
    # Now the triage's: the office that gave it back has no say, and only triage re-routes.
    bridge.say(DPUPR, "#WDL-I1 alihkan pdam")
    assert bridge.replies()[-1][1].startswith(
        "❌ #WDL-I1: perintah ditolak. Aduan ini ditangani Dinas Komunikasi dan Informatika;"
    )
    bridge.say(DINKES, "#WDL-I2 alihkan pdam", Member(phone="6281300000000"))
    assert bridge.replies()[-1] == (DINKES, '❌ #WDL-I2: "alihkan" hanya bisa dari grup triase.')
    bridge.say(TRIAGE, "#WDL-I1 alihkan PDAM salah kirim", Member(phone="6281111111111"))
    complaint = bridge.complaint()
    assert (complaint["status"], complaint["opd"]) == ("received", "pdam")
    assert bridge.replies()[-1] == (TRIAGE, "✅ #WDL-I1: dialihkan ke Perumda Air Minum.")
    assert bridge.events("complaint.rerouted")[-1]["note"] == "salah kirim"
    with bridge.app.app_context(), new_session() as db:
        new_rows = db.scalars(
            select(Delivery.target).where(
                Delivery.purpose == "reroute", Delivery.status == "pending", Delivery.target == PDAM
            )
        ).all()
    assert new_rows == [PDAM]
    # The new office reads where it came from and why, before the complaint itself.
    bridge.deliver("WDL-I1", "whatsapp_group")
    (text,) = [m.text for m in bridge.waha.received(PDAM)]
    with bridge.app.app_context(), new_session() as db:
        triage = db.scalar(select(Opd.name).where(Opd.is_triage.is_(True)))
    assert text.startswith(f"↪️ *Aduan dialihkan dari {triage}*\n*Catatan:* salah kirim\n\n")
    assert "#WDL-I1" in text


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("#WDL-I1 alihkan pu jalan rusak", 'OPD "pu" tidak dikenal'),
        ("#WDL-I1 alihkan", "OPD tujuan belum ditulis"),
    ],
)
def test_alihkan_with_an_unknown_slug_lists_the_valid_ones(bridge, text, asked):
    bridge.say(TRIAGE, text)
    assert bridge.replies() == [
        (
            TRIAGE,
            f"❌ #WDL-I1: {asked}. Tulis: #WDL-I1 alihkan <kode OPD> [catatan]. "
            "Kode yang ada: dpupr, dinkes, pdam.",
        )
    ]
    assert bridge.complaint()["opd"] == "dpupr"


# Responders in the directory


@pytest.mark.parametrize(
    ("entry", "normal"),
    [
        ("081200000101", "6281200000101"),
        ("0812-0000-0101", "6281200000101"),
        ("+62 812-0000-0101", "6281200000101"),
        ("62812 0000 0101", "6281200000101"),
        ("6281200000101", "6281200000101"),
        (81200000101, "6281200000101"),  # YAML's reading of an unquoted 081200000101
        ("6281200000101@c.us", "6281200000101"),
        ("6281200000101:12@s.whatsapp.net", "6281200000101"),
        ("+1 415 555 0100", "14155550100"),
        ("139884413591234@lid", "139884413591234@lid"),
        ("139884413591234:7@LID", "139884413591234@lid"),
        ("tg:123456789", "tg:123456789"),
        ("TG:Admins", "tg:admins"),
    ],
)
def test_responder_spellings_are_normalised(entry, normal):
    assert normalize_responder(entry) == normal


def test_invalid_responders_are_refused_naming_the_entry():
    data = {
        "triage": "a",
        "opds": [
            {
                "slug": "a",
                "name": "A",
                "responders": ["081200000101", "0812", "tg:-100123", "abc@lid", True],
            }
        ],
    }
    with pytest.raises(ValidationError) as caught:
        DirectorySchema().load(data)
    errors = caught.value.messages["opds"][0]["responders"]
    assert sorted(errors) == [1, 2, 3, 4]
    assert errors[1] == [
        '"0812" is not a phone number (e.g. 0812-3456-7890 or +62 812 3456 7890), '
        "a WhatsApp LID (…@lid), tg:<user id> or tg:admins"
    ]
    assert errors[2] == ['"tg:-100123": a Telegram responder is tg:<numeric user id> or tg:admins']
    assert errors[3] == ['"abc@lid": a WhatsApp LID is digits followed by @lid']
    assert errors[4] == ["Not a valid string."]
    loaded = DirectorySchema().load({**data, "opds": [{**data["opds"][0], "responders": []}]})
    assert loaded["opds"][0]["responders"] == []
