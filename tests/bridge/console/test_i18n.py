"""The console's two languages: one catalogue each, Indonesian by default, English by setting;
and what every page holds to (labelled cells for phones, nothing the CSP would block)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import update

from bridge.channels import kinds
from bridge.channels.base import Verdict
from bridge.commands import STATUS_ID
from bridge.console import i18n
from bridge.db import new_session
from bridge.models import Delivery
from bridge.settings import Settings, SettingsError
from bridge.statuses import ComplaintStatus, DeliveryPurpose, DeliveryStatus, RoutedBy
from tests.bridge.console.test_console import PASSWORD, login, submit, table

# --- the catalogue ------------------------------------------------------------------------


def forms(entry) -> tuple[str, ...]:
    return entry if isinstance(entry, tuple) else (entry,)


def test_both_languages_have_every_entry_with_the_same_fields():
    assert set(i18n.ID) == set(i18n.EN)
    for key in i18n.ID:
        fields = {frozenset(i18n.fields_of(form)) for form in forms(i18n.ID[key])}
        fields |= {frozenset(i18n.fields_of(form)) for form in forms(i18n.EN[key])}
        assert len(fields) == 1, key
        # A pair (one, other) is chosen by a count, so it must be able to show it.
        if isinstance(i18n.EN[key], tuple):
            assert "count" in next(iter(fields)), key


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_status_kind_verdict_and_purpose_has_a_name(language):
    catalogue = i18n.CATALOGUES[language]
    for prefix, values in (
        ("status", [*ComplaintStatus, *DeliveryStatus]),
        ("verdict", list(Verdict)),
        ("kind", list(kinds())),
        ("purpose", list(DeliveryPurpose)),
        ("routed", list(RoutedBy)),
    ):
        for value in values:
            assert f"{prefix}.{value}" in catalogue, (language, prefix, value)


def test_complaint_statuses_are_named_as_the_groups_read_them():
    words = i18n.Words("id")
    assert {value: words.status(value) for value in STATUS_ID} == STATUS_ID
    assert words.status("needs_review") == "perlu diperiksa"
    assert words.status("a-future-status") == "a-future-status"  # shown, never a crash
    assert words.kind("whatsapp_group") == "Grup WhatsApp"
    assert words.verdict("unusable") == "tidak bisa dipakai"


def test_unknown_keys_fail_loudly():
    with pytest.raises(KeyError):
        i18n.Words("id")("no.such.key")
    with pytest.raises(KeyError):
        i18n.Words("id")("page")  # a field left out is a mistake too, not "halaman {page}"


def test_english_counts_choose_singular_or_plural():
    en, id_ = i18n.Words("en"), i18n.Words("id")
    assert en("bulk.done", count=1) == "Requeued 1 delivery."
    assert en("bulk.done", count=3) == "Requeued 3 deliveries."
    assert en("bulk.done", count=0) == "Requeued 0 deliveries."
    assert id_("bulk.done", count=3) == "3 pengiriman dijadwalkan ulang."


def test_times_in_wib_with_each_languages_month_names():
    moment = dt.datetime(2026, 8, 20, 1, 5, tzinfo=dt.UTC)  # 08:05 WIB
    assert i18n.Words("id").when(moment) == "20 Agu 2026 08.05 WIB"
    assert i18n.Words("en").when(moment) == "20 Aug 2026 08:05 WIB"
    # Past midnight in Pacitan while still the day before in UTC.
    late = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)
    assert i18n.Words("id").when(late) == "1 Jan 2027 00.30 WIB"
    assert i18n.Words("id").when(None) == i18n.MISSING


@pytest.mark.parametrize(
    ("seconds", "indonesian", "english"),
    [
        (45, "45 dtk", "45 s"),
        (89 * 60, "89 mnt", "89 min"),
        (90 * 60, "1 jam 30 mnt", "1 h 30 min"),
        (47 * 3600 + 59 * 60, "47 jam 59 mnt", "47 h 59 min"),
        (50 * 3600, "2 hari 2 jam", "2 d 2 h"),
        (-5, "di masa depan", "in the future"),
    ],
)
def test_relative_times(seconds, indonesian, english):
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    then = now - dt.timedelta(seconds=seconds)
    assert i18n.Words("id").ago(then, now) == indonesian
    assert i18n.Words("en").ago(then, now) == english


def test_hours_use_the_languages_decimal_mark():
    assert i18n.Words("id").hours(6.5) == "6,5 jam"
    assert i18n.Words("en").hours(6.5) == "6.5 h"
    assert i18n.Words("id").hours(None) == i18n.MISSING


# --- the setting --------------------------------------------------------------------------


def test_the_language_setting():
    base = {"BRIDGE_SANDBOX": "1"}
    assert Settings.from_env(base).console_language == "id"
    assert Settings.from_env(base | {"BRIDGE_CONSOLE_LANGUAGE": ""}).console_language == "id"
    assert Settings.from_env(base | {"BRIDGE_CONSOLE_LANGUAGE": " EN "}).console_language == "en"
    with pytest.raises(
        SettingsError, match=r"^BRIDGE_CONSOLE_LANGUAGE must be id or en, not 'fr'$"
    ):
        Settings.from_env(base | {"BRIDGE_CONSOLE_LANGUAGE": "fr"})


def test_the_english_console(make_app):
    from bridge.operators import create_operator
    from tests.support import use_directory

    app = make_app(BRIDGE_CONSOLE_LANGUAGE="en")
    use_directory(app)
    with app.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
    client = app.test_client()
    page = client.get("/ops/login").text
    assert '<html lang="en">' in page and "Log in" in page
    assert "Unknown username or wrong password." in login(client, "siti", "wrong-one").text
    assert login(client, "siti", PASSWORD).status_code == 302

    complaint = submit(app, "WDL-EN1")
    whatsapp = next(d.id for d in complaint.deliveries if d.kind == "whatsapp_group")
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id == whatsapp).values(status="dead"))
        db.commit()
    assert "Queue health" in client.get("/ops/").text
    (header, row) = table(client.get("/ops/deliveries").text, "delivery-table")
    assert header[:5] == ["complaint", "OPD", "channel", "target", "status"]
    assert row[2:5] == ["WhatsApp group", "120363000000000101@g.us", "dead"]
    assert re.fullmatch(r"\d{1,2} \w{3} \d{4} \d\d:\d\d WIB", row[7])
    assert "Channel checks" in client.get("/ops/checks").text


# --- every page ---------------------------------------------------------------------------


class _Page(HTMLParser):
    """What the layout rules look at: cells of stacked tables, style attributes, scripts."""

    def __init__(self):
        super().__init__()
        self.stack_depth = 0
        self.unlabelled: list[int] = []
        self.cells = 0
        self.styled: list[str] = []
        self.scripts = 0
        self.text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes or any(name.startswith("on") for name in attributes):
            self.styled.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._open.append("stack" if "stack" in (attributes.get("class") or "") else "table")
        if tag == "td" and self._open and self._open[-1] == "stack":
            self.cells += 1
            if not attributes.get("data-label"):
                self.unlabelled.append(self.cells)

    def handle_endtag(self, tag):
        if tag == "table" and self._open:
            self._open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _english_only_phrases() -> list[str]:
    """English entries that differ from their Indonesian ones, cut at their fields. Names of
    statuses and the like are left out: their English names are the API values, which the
    pages show on purpose."""
    phrases = []
    for key, entry in i18n.EN.items():
        if key.startswith(("status.", "verdict.", "kind.", "purpose.", "routed.")):
            continue
        for form in forms(entry):
            if form in forms(i18n.ID[key]):
                continue
            phrases += [part.strip() for part in re.split(r"\{[a-z_]+\}", form)]
    return sorted({p for p in phrases if len(p) >= 12})


def test_every_page_is_labelled_for_phones_runs_no_script_and_speaks_indonesian(ops, directory):
    complaint = submit(
        directory,
        "WDL-L1",
        reporter={"name": "Sutrisno", "phone": "081234560101"},
        location={"address": "Jl. Raya", "lat": -8.2, "lon": 111.1},
        attachments=[{"url": "https://example.org/foto.jpg", "content_type": "image/jpeg"}],
    )
    whatsapp = next(d.id for d in complaint.deliveries if d.kind == "whatsapp_group")
    with directory.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id == whatsapp).values(status="needs_review"))
        db.commit()
    english = _english_only_phrases()
    for path in (
        "/ops/",
        "/ops/deliveries",
        "/ops/deliveries?kind=whatsapp_group",
        "/ops/opds",
        "/ops/checks",
        "/ops/sandbox",
        "/ops/complaints/WDL-L1",
        "/ops/complaints/WDL-NOPE",
        "/ops/login?next=/ops/",
    ):
        html = ops.get(path).text
        page = _Page()
        page.feed(html)
        assert page.unlabelled == [], path
        assert page.styled == [] and page.scripts == 0, path
        text = " ".join(" ".join(page.text).split())
        assert [phrase for phrase in english if phrase in text] == [], path
