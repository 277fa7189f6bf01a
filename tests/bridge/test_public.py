"""Public messages: the redacted summary, its text per channel, the Instagram card and route."""

from __future__ import annotations

import io
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bridge.channels.base import PermanentError
from bridge.channels.x import weighted_length
from bridge.complaints import Actor, ingest
from bridge.db import new_session
from bridge.messages import ELLIPSIS, text_length
from bridge.public import (
    CARD_SIZE,
    card_text,
    card_url,
    fit_words,
    public_payload,
    public_summary,
    public_text,
    render_card,
)
from bridge.redaction import PLACEHOLDER
from bridge.settings import Settings
from tests.bridge.test_redaction import FIRST, LAST, emails, niks, phones

LINK = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
OFFICE = "Dinas Pekerjaan Umum dan Penataan Ruang"


def complaint(**fields):
    values = {
        "wadule_id": "WDL-2026-000101",
        "title": "Jalan berlubang di Desa Arjosari",
        "body": "Jalan rusak sepanjang 200 meter sejak 2024, biaya Rp 500.000 per meter.",
        "category": "jalan",
        "location": {"address": "Jl. Melati 5", "village": "Arjosari", "district": "Arjosari"},
        "reporter": {"name": "Budi Santoso", "phone": "081234567890", "email": "budi@gmail.com"},
        "anonymous": False,
        "confidential": False,
    } | fields
    return types.SimpleNamespace(**values)


def summary_of(**fields):
    return public_summary(complaint(**fields), opd_slug="dpupr", opd_name=OFFICE, link=LINK)


def test_full_text_has_every_public_piece_and_nothing_personal():
    summary = summary_of(
        body="Saya Budi Santoso, HP 0812-3456-7890, email budi@gmail.com. Jalan rusak 200 meter.",
        title="Jalan rusak depan rumah Pak Budi",
    )
    text = public_text(summary, limit=5000)
    assert text.splitlines()[0] == "📢 Aduan warga #WDL-2026-000101"
    assert text.splitlines()[1] == f"Jalan rusak depan rumah Pak {PLACEHOLDER}"
    assert f"Saya {PLACEHOLDER}, HP {PLACEHOLDER}, email {PLACEHOLDER}." in text
    assert "Kategori: jalan · Kec. Arjosari" in text
    assert f"Ditangani: {OFFICE}" in text
    assert text.endswith(f"Selengkapnya: {LINK}")
    for secret in ("Budi", "Santoso", "0812", "budi@", "Melati"):
        assert secret not in text


def test_anonymous_complaints_name_nobody():
    summary = summary_of(anonymous=True, body="Laporan dari Budi Santoso.")
    payload = public_payload(summary, text=public_text(summary, limit=2200))
    assert "Budi" not in repr(payload) and "reporter" not in payload


def test_confidential_is_refused():
    with pytest.raises(PermanentError, match="confidential"):
        summary_of(confidential=True)


def test_reopened_header():
    summary = public_summary(
        complaint(), opd_slug="dpupr", opd_name=OFFICE, link=LINK, reopened=True
    )
    assert public_text(summary, limit=280).startswith("🔁 Aduan dibuka kembali #WDL-2026-000101")


@pytest.mark.parametrize(
    ("limit", "measure"), [(280, weighted_length), (2200, text_length), (5000, text_length)]
)
def test_long_bodies_are_trimmed_at_a_word_without_cutting_links(limit, measure):
    words = [f"kata{i} https://contoh.example.org/halaman/{i}" for i in range(400)]
    summary = summary_of(body=" ".join(words))
    text = public_text(summary, limit=limit, measure=measure)
    assert measure(text) <= limit
    excerpt = text.split("\n\n")[1]
    assert excerpt.endswith(ELLIPSIS)
    kept = excerpt.removesuffix(ELLIPSIS).split()
    body_words = summary.excerpt.split()
    assert kept == body_words[: len(kept)]  # whole words, in order: no word or link was cut
    assert text.endswith(f"Selengkapnya: {LINK}") and "#WDL-2026-000101" in text


def test_x_counts_urls_as_23_and_wide_characters_as_2():
    summary = summary_of(body="道路" * 300, title="Jalan 🚧 rusak")
    text = public_text(summary, limit=280, measure=weighted_length)
    assert weighted_length(text) <= 280
    assert LINK in text
    assert len(text) < 280  # the wide characters counted double


def test_tiny_limits_drop_details_then_shorten_the_title():
    summary = summary_of(title="Jalan " + "sangat " * 40 + "rusak")
    text = public_text(summary, limit=120, measure=weighted_length)
    assert weighted_length(text) <= 120
    assert text.startswith("📢 Aduan warga #WDL-2026-000101\nJalan sangat")
    assert text.endswith(LINK)
    with pytest.raises(ValueError):
        public_text(summary, limit=40, measure=weighted_length)


def test_fit_words():
    assert fit_words("satu dua tiga", 100) == "satu dua tiga"
    assert fit_words("satu dua, tiga", 10) == "satu dua…"
    assert fit_words("satu", 0) == ""


def test_card_is_a_portrait_jpeg_with_the_id_and_office():
    summary = summary_of()
    data = render_card(summary)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", CARD_SIZE)
    text = card_text(summary)
    assert text.wadule_id == "#WDL-2026-000101" and text.office == OFFICE
    assert "wadul.pacitankab.go.id/aduan/WDL-2026-000101" in text.footer


def test_card_url_is_stable():
    settings_ = Settings(public_url="https://bridge.pacitankab.go.id")
    assert card_url(settings_, "WDL-1") == "https://bridge.pacitankab.go.id/public/cards/WDL-1.jpg"


# Property: nothing planted reaches any public text or the card.


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from(FIRST),
    last=st.sampled_from(LAST),
    phone=phones(),
    nik=niks(),
    email=emails(),
    anonymous=st.booleans(),
)
def test_no_public_rendering_holds_planted_data(first, last, phone, nik, email, anonymous):
    spelled, national = phone
    name = f"{first} {last}"
    summary = summary_of(
        title=f"Aduan {name} {spelled}",
        body=f"Saya {name.upper()} NIK {nik}, HP {spelled}, surel {email}. Jalan rusak. {last}",
        reporter={"name": name, "phone": national, "email": email},
        anonymous=anonymous,
    )
    texts = [
        public_text(summary, limit=280, measure=weighted_length),
        public_text(summary, limit=2200),
        public_text(summary, limit=5000),
        *card_text(summary).strings(),
    ]
    texts.append(repr(public_payload(summary, text=texts[1], image_url=LINK)))
    for text in texts:
        for secret in (first, last, spelled, nik, email):
            assert secret.lower() not in text.lower()


# The card route


@pytest.fixture
def filed(directory):
    """Complaints in the sample directory: dpupr has Instagram, diskominfo does not."""
    with directory.app_context(), new_session() as db:
        base = {
            "title": "Jalan rusak",
            "body": "HP saya 0812-3456-7890, Budi Santoso.",
            "reporter": {"name": "Budi Santoso", "phone": "081234567890"},
            "anonymous": False,
            "attachments": [],
        }
        actor = Actor("wadule", "test")
        ingest(
            db, base | {"wadule_id": "WDL-IG", "category": "jalan", "confidential": False}, actor
        )
        ingest(
            db, base | {"wadule_id": "WDL-SECRET", "category": "jalan", "confidential": True}, actor
        )
        ingest(
            db,
            base | {"wadule_id": "WDL-NOIG", "category": "informasi", "confidential": False},
            actor,
        )
    return directory


def test_card_route_serves_a_jpeg_for_an_instagram_complaint(filed):
    client = filed.test_client()
    response = client.get("/public/cards/WDL-IG.jpg")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "JPEG"
    assert client.head("/public/cards/WDL-IG.jpg").status_code == 200


@pytest.mark.parametrize("wadule_id", ["WDL-SECRET", "WDL-NOIG", "WDL-NONE"])
def test_card_route_refuses_confidential_unknown_and_non_instagram(filed, wadule_id):
    assert filed.test_client().get(f"/public/cards/{wadule_id}.jpg").status_code == 404
