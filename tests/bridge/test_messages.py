"""Rendering of the private-channel message and the webhook payload."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.messages import (
    EXAMPLE_NOTE,
    complaint_link,
    format_wib,
    iso_utc,
    maps_link,
    place,
    private_payload,
    private_text,
    reopen_header,
    reply_help,
    reroute_header,
    text_length,
    trim_words,
)
from bridge.models import Complaint
from bridge.settings import Settings

LINK = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
HELP = (
    "Balas: #WDL-2026-000101 terima|proses|selesai|tolak|bukan [catatan]\n"
    "Contoh: #WDL-2026-000101 proses Tim survei ke lokasi Senin\n"
    "Atau balas pesan ini dengan katanya saja, mis.: selesai Sudah ditambal"
)
OPD = "Dinas Pekerjaan Umum dan Penataan Ruang"


def complaint(**overrides) -> Complaint:
    fields = {
        "wadule_id": "WDL-2026-000101",
        "title": "Jalan berlubang di Desa Arjosari",
        "body": (
            "Jalan kabupaten dari pasar Arjosari ke arah Tegalombo berlubang besar sepanjang "
            "kurang lebih 200 meter. Sudah dua pengendara motor jatuh minggu ini."
        ),
        "category": "jalan",
        "location": {
            "address": "Jl. Raya Arjosari",
            "village": "Arjosari",
            "district": "Arjosari",
            "lat": -8.1203,
            "lon": 111.1795,
        },
        "reporter": {
            "name": "Sutrisno",
            "phone": "081234560101",
            "email": "sutrisno@example.com",
        },
        "anonymous": False,
        "confidential": False,
        "attachments": [],
        "submitted_at": dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC),
    }
    fields.update(overrides)
    return Complaint(**fields)


def render(c: Complaint | None = None, limit: int = 4096, link: str = LINK) -> str:
    return private_text(c or complaint(), opd_name=OPD, link=link, limit=limit)


def test_complaint_link_uses_the_template():
    settings_ = Settings.from_env(
        {
            "BRIDGE_SANDBOX": "1",
            "BRIDGE_WADULE_COMPLAINT_URL": "https://w.example/a/{wadule_id}?x=1",
        }
    )
    assert complaint_link(settings_, "WDL-1") == "https://w.example/a/WDL-1?x=1"
    assert complaint_link(Settings(), "WDL-2026-000101") == LINK


def test_full_text():
    text = render()
    assert text == (
        "📣 *Aduan baru #WDL-2026-000101*\n"
        "\n"
        "*Judul:* Jalan berlubang di Desa Arjosari\n"
        f"*Untuk:* {OPD}\n"
        "*Kategori:* jalan\n"
        "*Lokasi:* Jl. Raya Arjosari, Desa Arjosari, Kec. Arjosari\n"
        "🗺️ https://www.google.com/maps/search/?api=1&query=-8.1203,111.1795\n"
        "*Masuk:* 20 Nov 2026 08.15 WIB\n"
        "\n"
        "*Isi aduan:*\n"
        "Jalan kabupaten dari pasar Arjosari ke arah Tegalombo berlubang besar sepanjang "
        "kurang lebih 200 meter. Sudah dua pengendara motor jatuh minggu ini.\n"
        "\n"
        "*Pelapor:* Sutrisno\n"
        "*Telepon:* 081234560101\n"
        "*Email:* sutrisno@example.com\n"
        "\n"
        f"🔗 {LINK}\n"
        "\n"
        f"{HELP}"
    )


def test_ends_with_reply_help_exactly():
    text = render()
    assert text.endswith(HELP)
    assert reply_help("WDL-2026-000101") == HELP
    # The contract's command line, then a worked example, then replying with the word.
    command, example, reply = text.splitlines()[-3:]
    assert command == "Balas: #WDL-2026-000101 terima|proses|selesai|tolak|bukan [catatan]"
    assert example.startswith("Contoh: #WDL-2026-000101 proses ")
    assert reply.startswith("Atau balas pesan ini")


def test_reply_help_example_is_a_command_the_bridge_understands():
    from bridge.commands import parse, parse_reply

    help_ = reply_help("wdl_2026.000-7")
    example = help_.splitlines()[1].removeprefix("Contoh: ")
    assert parse(example) == parse(f"#wdl_2026.000-7 proses {EXAMPLE_NOTE}")
    assert parse(example).word == "proses" and parse(example).rest == EXAMPLE_NOTE
    reply_example = help_.splitlines()[2].split("mis.: ", 1)[1]
    assert parse_reply(reply_example).word == "selesai"
    assert parse_reply(reply_example).rest == "Sudah ditambal"


def test_reroute_header_names_the_office_and_the_note():
    assert reroute_header("Dinas Kesehatan", "  bukan urusan  kami ") == (
        "↪️ *Aduan dialihkan dari Dinas Kesehatan*\n*Catatan:* bukan urusan kami\n\n"
    )
    assert reroute_header("Dinas Kesehatan", None) == (
        "↪️ *Aduan dialihkan dari Dinas Kesehatan*\n\n"
    )
    assert reroute_header("Dinas Kesehatan", "  ") == reroute_header("Dinas Kesehatan", None)


def test_reopen_header_says_why():
    assert reopen_header("Pelapor: jalan belum ditambal") == (
        "🔁 *Aduan dibuka kembali oleh Wadule*\n*Alasan:* Pelapor: jalan belum ditambal\n\n"
    )
    assert reopen_header(None) == "🔁 *Aduan dibuka kembali oleh Wadule*\n\n"


def test_headers_and_help_fit_the_length_limit_together():
    header = reroute_header("Dinas Pekerjaan Umum dan Penataan Ruang", "catatan " * 50)
    body = " ".join(f"kata{i}" for i in range(2000))
    text = header + render(complaint(body=body), limit=4096 - text_length(header))
    assert text_length(text) <= 4096
    assert text.startswith("↪️ *Aduan dialihkan dari Dinas Pekerjaan Umum")
    assert text.endswith(HELP)


def test_wadule_id_is_verbatim():
    odd = "wdl_2026.000-7"
    text = private_text(
        complaint(wadule_id=odd), opd_name=OPD, link=f"https://w.example/{odd}", limit=4096
    )
    assert text.splitlines()[0] == f"📣 *Aduan baru #{odd}*"
    assert text.endswith(reply_help(odd))
    assert f"Balas: #{odd} terima|proses|selesai|tolak|bukan [catatan]\nContoh: #{odd} " in text


def test_anonymous_reporter_appears_nowhere():
    c = complaint(
        anonymous=True,
        reporter={"name": "Budi Santoso", "phone": "081300000106", "email": "budi@example.com"},
    )
    text = render(c)
    payload = private_payload(c, opd_slug="dpupr", opd_name=OPD, link=LINK)
    dumped = json.dumps(payload, ensure_ascii=False)
    for secret in ("Budi", "Santoso", "081300000106", "budi@example.com", "Telepon", "Email"):
        assert secret not in text
        assert secret not in dumped
    assert "*Pelapor:* anonim" in text
    assert "reporter" not in payload
    assert payload["anonymous"] is True


def test_reporter_missing_but_not_anonymous():
    text = render(complaint(reporter=None))
    assert "*Pelapor:* tidak dicantumkan" in text
    assert "Telepon" not in text
    text = render(complaint(reporter={"name": "Wahyuningsih", "phone": "+6285712340102"}))
    assert "*Pelapor:* Wahyuningsih\n*Telepon:* +6285712340102\n\n" in text
    assert "Email" not in text


def test_optional_fields_leave_no_empty_lines():
    text = render(complaint(category=None, location=None, submitted_at=None))
    assert "Kategori" not in text and "Lokasi" not in text and "Masuk" not in text
    assert "google.com/maps" not in text
    assert "\n\n\n" not in text


def test_confidential_is_flagged():
    assert "🔒 *Rahasia:* jangan disebarluaskan" in render(complaint(confidential=True))
    assert "Rahasia" not in render()


def test_attachments_are_listed():
    c = complaint(
        attachments=[
            {"url": "https://wadul.pacitankab.go.id/f/1.jpg", "content_type": "image/jpeg"},
            {"url": "https://wadul.pacitankab.go.id/f/2.pdf", "content_type": "application/pdf"},
        ]
    )
    text = render(c)
    assert (
        "📎 https://wadul.pacitankab.go.id/f/1.jpg\n📎 https://wadul.pacitankab.go.id/f/2.pdf"
        in text
    )


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC), "20 Nov 2026 08.15 WIB"),
        (dt.datetime.fromisoformat("2026-11-20T08:15:00+07:00"), "20 Nov 2026 08.15 WIB"),
        (dt.datetime(2026, 12, 31, 17, 5, tzinfo=dt.UTC), "1 Jan 2027 00.05 WIB"),
        (dt.datetime(2026, 5, 3, 23, 59), "4 Mei 2026 06.59 WIB"),  # naive: stored UTC
        (dt.datetime(2026, 8, 17, 3, 0, tzinfo=dt.UTC), "17 Agu 2026 10.00 WIB"),
    ],
)
def test_time_in_wib(when, expected):
    assert format_wib(when) == expected


def test_place_and_maps():
    assert place({"village": "Desa Tulakan", "district": "Kecamatan Tulakan"}) == (
        "Desa Tulakan, Kecamatan Tulakan"
    )
    assert place({"village": "Kel. Sidoharjo", "district": "Kec. Pacitan"}) == (
        "Kel. Sidoharjo, Kec. Pacitan"
    )
    assert place({"address": "  Jl.  Ahmad   Yani "}) == "Jl. Ahmad Yani"
    assert place({}) is None and place(None) is None
    assert maps_link({"lat": -8.2, "lon": 111}) == (
        "https://www.google.com/maps/search/?api=1&query=-8.2,111"
    )
    assert maps_link({"lat": -8.2}) is None
    assert maps_link({"lat": "x", "lon": 1}) is None
    assert maps_link({"lat": True, "lon": 1}) is None


# Trimming


def test_long_body_is_trimmed_at_a_word_boundary():
    body = " ".join(f"kata{i}" for i in range(2000))
    text = render(complaint(body=body), limit=1000)
    assert text_length(text) <= 1000
    assert text.endswith(HELP)
    assert f"🔗 {LINK}" in text
    assert text.startswith("📣 *Aduan baru #WDL-2026-000101*")
    assert "*Pelapor:* Sutrisno" in text
    kept = text.split("*Isi aduan:*\n", 1)[1].split("\n\n", 1)[0]
    assert kept.endswith("…")
    words = kept[:-1].split(" ")
    assert words == [f"kata{i}" for i in range(len(words))]
    assert len(words) > 50


def test_uses_the_room_it_has():
    body = " ".join(f"kata{i}" for i in range(2000))
    for limit in (700, 1000, 2500, 4096):
        text = render(complaint(body=body), limit=limit)
        # Trimming wastes at most one word (6-9 characters) and the ellipsis.
        assert limit - 12 <= text_length(text) <= limit


def test_link_in_body_is_never_cut():
    url = "https://example.org/" + "x" * 80
    body = "Lihat foto di " + url + " ya " + "tambahan " * 300
    for limit in range(700, 900, 7):
        text = render(complaint(body=body), limit=limit)
        kept = text.split("*Isi aduan:*\n", 1)[1].split("\n\n", 1)[0]
        assert url in kept or "https://example.org" not in kept


def test_trim_words():
    assert trim_words("satu dua tiga", 100) == "satu dua tiga"
    assert trim_words("satu dua tiga", 10) == "satu dua…"
    assert trim_words("satu, dua tiga", 7) == "satu…"
    assert trim_words("panjangsekali", 5) == "…"
    assert trim_words("a\nb c", 4) == "a\nb…"


def test_emoji_count_double():
    assert text_length("📣") == 2
    assert text_length("abc") == 3
    text = render(complaint(body="🌊 " * 3000), limit=1200)
    assert text_length(text) <= 1200 < len(text.encode("utf-16-le"))


def test_attachment_links_go_before_the_essentials():
    c = complaint(
        body="isi " * 500,
        attachments=[
            {"url": "https://wadul.pacitankab.go.id/f/" + "a" * 150 + f"{i}.jpg"} for i in range(5)
        ],
    )
    text = render(c, limit=900)
    assert text_length(text) <= 900
    assert "📎 5 lampiran (lihat tautan)" in text
    assert "a" * 150 not in text
    assert text.endswith(HELP)


def test_minimal_layout_when_nothing_else_fits():
    c = complaint(title="Judul " * 30, location={"address": "Alamat panjang " * 20})
    text = render(c, limit=460)
    assert text_length(text) <= 460
    assert text.startswith("📣 *Aduan baru #WDL-2026-000101*")
    assert "Isi lengkap di tautan." in text
    assert f"🔗 {LINK}\n\n{HELP}" in text
    assert "Sutrisno" not in text


def test_limit_too_small_is_an_error():
    with pytest.raises(ValueError, match="too small"):
        render(limit=100)


@settings(max_examples=150, deadline=None)
@given(
    body=st.lists(
        st.sampled_from([*"abc xyz\n.,🙏é-", "https://t.co/x1", "kata", "  "]), max_size=1500
    ).map("".join),
    title=st.text(min_size=1, max_size=200),
    anonymous=st.booleans(),
    limit=st.integers(min_value=560, max_value=4096),
)
def test_rendering_properties(body, title, anonymous, limit):
    c = complaint(body=body, title=title, anonymous=anonymous)
    text = render(c, limit=limit)
    assert text_length(text) <= limit
    assert text.startswith("📣 *Aduan baru #WDL-2026-000101*")
    assert text.endswith(f"🔗 {LINK}\n\n{HELP}")
    if anonymous:
        assert "081234560101" not in text and "Sutrisno" not in text
    if "*Isi aduan:*\n" in text:
        kept = text.split("*Isi aduan:*\n", 1)[1].rsplit("\n\n*Pelapor:*", 1)[0]
        stripped = body.strip()
        if kept != stripped:
            assert kept.endswith("…")
            # Every kept word is a whole word of the body: no word or link was cut.
            source_words = stripped.split()
            kept_words = kept[:-1].split()
            if kept_words:
                # Only trailing punctuation may go from the last kept word.
                *whole, last = kept_words
                assert whole == source_words[: len(whole)]
                source = source_words[len(whole)]
                assert source.startswith(last)
                assert set(source[len(last) :]) <= set(",;:.!?")


# Payload


def test_payload():
    c = complaint(
        attachments=[
            {"url": "https://wadul.pacitankab.go.id/f/1.jpg", "content_type": "image/jpeg"}
        ]
    )
    payload = private_payload(c, opd_slug="dpupr", opd_name=OPD, link=LINK)
    assert payload == {
        "type": "complaint.forwarded",
        "wadule_id": "WDL-2026-000101",
        "title": "Jalan berlubang di Desa Arjosari",
        "body": c.body,
        "category": "jalan",
        "location": c.location,
        "reporter": {
            "name": "Sutrisno",
            "phone": "081234560101",
            "email": "sutrisno@example.com",
        },
        "anonymous": False,
        "confidential": False,
        "attachments": [
            {"url": "https://wadul.pacitankab.go.id/f/1.jpg", "content_type": "image/jpeg"}
        ],
        "submitted_at": "2026-11-20T01:15:00Z",
        "opd": {"slug": "dpupr", "name": OPD},
        "link": LINK,
    }
    json.dumps(payload)  # serializable as is
    # A copy: changing the payload does not touch the ORM object.
    payload["location"]["lat"] = 0
    assert c.location["lat"] == -8.1203


def test_payload_with_empty_optionals():
    c = complaint(category=None, location=None, reporter=None, attachments=None, submitted_at=None)
    payload = private_payload(c, opd_slug="dinkes", opd_name="Dinas Kesehatan", link=LINK)
    assert payload["location"] is None
    assert payload["reporter"] is None
    assert payload["attachments"] == []
    assert payload["submitted_at"] is None


def test_iso_utc():
    assert iso_utc(dt.datetime.fromisoformat("2026-11-20T08:15:00+07:00")) == "2026-11-20T01:15:00Z"
    assert iso_utc(None) is None


def test_no_markup_characters_from_labels_leak_into_words():
    # Bold labels are whole "*Label:*" tokens so Telegram can turn them into entities.
    labels = re.findall(r"\*[^*\n]+\*", render())
    assert labels == [
        "*Aduan baru #WDL-2026-000101*",
        "*Judul:*",
        "*Untuk:*",
        "*Kategori:*",
        "*Lokasi:*",
        "*Masuk:*",
        "*Isi aduan:*",
        "*Pelapor:*",
        "*Telepon:*",
        "*Email:*",
    ]
