"""The operator console at /ops/, against PostgreSQL (and one smoke run on SQLite)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from markupsafe import escape
from sqlalchemy import delete, event, select, update

from bridge import create_app, outbox
from bridge.complaints import Actor, ingest
from bridge.console import i18n, queries
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import Complaint, Delivery, Operator, SandboxMessage, StatusChange, utcnow
from bridge.operators import create_operator
from bridge.reports.grades import Grade, grade
from bridge.settings import Settings
from bridge.worktime import WIB, WorkingCalendar
from tests.support import use_directory

PASSWORD = "kopi-tubruk-pacitan"
NONE = i18n.MISSING
PAGES = (
    "/ops/",
    "/ops/deliveries",
    "/ops/opds",
    "/ops/checks",
    "/ops/sandbox",
    "/ops/complaints/WDL-1",
)


# --- helpers ------------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password, **extra):
    token = csrf_of(client.get("/ops/login").get_data(as_text=True))
    form = {"csrf_token": token, "username": username, "password": password, **extra}
    return client.post("/ops/login", data=form)


def page_token(client, path="/ops/") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def submit(app, wadule_id, category="jalan", **fields) -> Complaint:
    """Ingest a complaint through the domain code (``jalan`` routes to dpupr)."""
    data = {
        "wadule_id": wadule_id,
        "title": "Jalan berlubang",
        "body": "Jalan rusak di Desa Arjosari.",
        "category": category,
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    } | fields
    with app.app_context(), new_session() as db:
        complaint, created = ingest(db, data, Actor("wadule", "test"))
        assert created
        return complaint


def whatsapp_of(complaint: Complaint) -> int:
    return next(d.id for d in complaint.deliveries if d.kind == "whatsapp_group")


def set_delivery(app, delivery_id, **values) -> None:
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
        db.commit()


def load(app, model, id_):
    with app.app_context(), new_session() as db:
        return db.get(model, id_)


class _Tables(HTMLParser):
    """Cell texts of each ``<table id=...>``, row by row (thead, tbody and tfoot alike)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif self._cell is not None:
            self._cell.append(" ")  # <br>, <span>: words on either side stay apart

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables[table_id]


def card(html: str, card_id: str) -> str:
    return re.search(rf'id="{card_id}">([^<]*)<', html).group(1)


# --- login, logout, CSRF ------------------------------------------------------------------


def test_every_page_needs_a_login(client, operator):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/ops/login?next=")
    for action in ("/ops/deliveries/1/retry", "/ops/deliveries/retry", "/ops/checks/run"):
        response = client.post(action, data={})
        assert response.status_code == 302 and response.location.startswith("/ops/login")
    assert client.post("/ops/logout").location.startswith("/ops/login")


def test_login_goes_back_to_the_page_asked_for_and_logout_ends_the_session(client, operator):
    asked = client.get("/ops/sandbox").location
    form_page = client.get(asked).get_data(as_text=True)
    assert 'value="/ops/sandbox"' in form_page
    response = client.post(
        "/ops/login",
        data={
            "csrf_token": csrf_of(form_page),
            "username": "siti",
            "password": PASSWORD,
            "next": "/ops/sandbox",
        },
    )
    assert (response.status_code, response.location) == (302, "/ops/sandbox")
    dashboard = client.get("/ops/")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert "siti" in html and "Keluar" in html
    assert dashboard.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]

    response = client.post("/ops/logout", data={"csrf_token": csrf_of(html)})
    assert (response.status_code, response.location) == (302, "/ops/login")
    assert client.get("/ops/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ops/", "/api/v1/x"])
def test_login_never_redirects_outside_the_console(client, operator, target):
    response = login(client, "siti", PASSWORD, next=target)
    assert (response.status_code, response.location) == (302, "/ops/")


def test_wrong_password_and_unknown_user_get_the_same_answer(client, operator, caplog):
    wrong = login(client, "siti", "not-the-password")
    unknown = login(client, "budi", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    wrong_html, unknown_html = wrong.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "Nama pengguna tidak dikenal atau kata sandi salah." in wrong_html
    # Apart from the username typed into the form, the two pages are the same.
    assert wrong_html.replace("siti", "?") == unknown_html.replace("budi", "?")
    assert client.get("/ops/").status_code == 302
    assert PASSWORD not in caplog.text and "not-the-password" not in caplog.text


def test_inactive_operators_cannot_log_in_and_lose_their_session(ops, directory):
    assert ops.get("/ops/").status_code == 200
    with directory.app_context(), new_session() as db:
        db.execute(update(Operator).where(Operator.username == "siti").values(active=False))
        db.commit()
    assert ops.get("/ops/").status_code == 302
    response = login(ops, "siti", PASSWORD)
    assert response.status_code == 401
    assert "Nama pengguna tidak dikenal atau kata sandi salah." in response.get_data(as_text=True)


def test_login_without_the_csrf_token_is_refused(client, operator):
    client.get("/ops/login")
    response = client.post("/ops/login", data={"username": "siti", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/ops/").status_code == 302


def test_posts_without_the_right_csrf_token_change_nothing(ops, directory):
    complaint = submit(directory, "WDL-CSRF")
    delivery_id = whatsapp_of(complaint)
    set_delivery(directory, delivery_id, status="dead", last_error="waha: bad api key")
    url = f"/ops/deliveries/{delivery_id}/retry"
    for form in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        response = ops.post(url, data=form)
        assert response.status_code == 400
        assert "Formulir sudah kedaluwarsa" in response.get_data(as_text=True)
    row = load(directory, Delivery, delivery_id)
    assert (row.status, row.last_error) == ("dead", "waha: bad api key")

    assert ops.post("/ops/logout", data={"csrf_token": "forged"}).status_code == 400
    assert ops.get("/ops/").status_code == 200  # still logged in


# --- dashboard ----------------------------------------------------------------------------


def test_dashboard_counts_match_the_data(ops, directory):
    first = submit(directory, "WDL-D1")  # dpupr: whatsapp_group, facebook_page, instagram, x
    second = submit(directory, "WDL-D2")
    submit(directory, "WDL-D3", category="kesehatan")  # dinkes: whatsapp_group, facebook_page, x
    later = utcnow() + dt.timedelta(hours=1)
    by_kind = {d.kind: d.id for d in first.deliveries}
    set_delivery(directory, by_kind["whatsapp_group"], status="dead")
    set_delivery(directory, by_kind["facebook_page"], status="needs_review")
    set_delivery(directory, by_kind["instagram"], status="sent")
    set_delivery(directory, by_kind["x"], status="retrying", next_attempt_at=later)
    set_delivery(directory, whatsapp_of(second), status="sent")
    with directory.app_context(), new_session() as db:
        db.execute(update(Complaint).where(Complaint.id == second.id).values(status="forwarded"))
        db.commit()

    html = ops.get("/ops/").get_data(as_text=True)
    # 11 rows: 4 changed above, 1 sent; the other 6 are pending and due since ingest.
    assert card(html, "due-now") == "6"
    assert card(html, "needs-review") == "1"
    assert card(html, "dead") == "1"
    assert card(html, "broker") == "tersambung"
    assert card(html, "unusable") == "0"
    assert re.fullmatch(r"\d+ (dtk|mnt)", card(html, "oldest-due"))

    rows = table(html, "deliveries")
    header = rows[0]
    counts = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows[1:]}
    assert header == [
        "saluran",
        "menunggu",
        "terkirim",
        "akan dicoba lagi",
        "gagal",
        "perlu diperiksa",
        "jumlah",
    ]
    assert counts["Grup WhatsApp"] == {
        "menunggu": "1",
        "terkirim": "1",
        "akan dicoba lagi": "",
        "gagal": "1",
        "perlu diperiksa": "",
        "jumlah": "3",
    }
    assert counts["X"]["akan dicoba lagi"] == "1" and counts["X"]["menunggu"] == "2"
    assert counts["semua"] == {
        "menunggu": "6",
        "terkirim": "2",
        "akan dicoba lagi": "1",
        "gagal": "1",
        "perlu diperiksa": "1",
        "jumlah": "11",
    }
    assert table(html, "complaints") == [
        ["diterima bridge", "2"],
        ["diteruskan", "1"],
        ["semua", "3"],
    ]
    # The API's values stay at hand for matching: in each status's title attribute.
    assert '<span class="st st-needs_review" title="needs_review"' in html


# --- deliveries and retry -----------------------------------------------------------------


def test_retry_moves_a_dead_delivery_to_retrying(ops, directory):
    complaint = submit(directory, "WDL-R1")
    delivery_id = whatsapp_of(complaint)
    set_delivery(directory, delivery_id, status="dead", attempts=3, last_error="waha: bad api key")

    html = ops.get("/ops/deliveries").get_data(as_text=True)
    (header, row) = table(html, "delivery-table")
    assert header == [
        "aduan",
        "OPD",
        "saluran",
        "tujuan",
        "status",
        "percobaan",
        "galat terakhir",
        "diperbarui",
        "tindakan",
    ]
    assert row[:7] == [
        "WDL-R1",
        "dpupr",
        "Grup WhatsApp",
        "120363000000000101@g.us",
        "gagal",
        "3",
        "waha: bad api key",
    ]
    assert re.fullmatch(r"\d{1,2} \w{3} \d{4} \d\d\.\d\d WIB", row[7]) and row[8] == "Coba lagi"

    response = ops.post(
        f"/ops/deliveries/{delivery_id}/retry",
        data={"csrf_token": csrf_of(html), "next": "/ops/deliveries?status=dead"},
    )
    assert (response.status_code, response.location) == (302, "/ops/deliveries?status=dead")
    retried = load(directory, Delivery, delivery_id)
    assert (retried.status, retried.attempts, retried.retry_base) == ("retrying", 3, 3)
    assert retried.last_error == "redelivery requested by operator:siti"
    assert retried.next_attempt_at <= utcnow()
    page = ops.get(response.location).get_data(as_text=True)
    assert "1 pengiriman Grup WhatsApp untuk WDL-R1 dijadwalkan ulang." in page
    assert "Tidak ada pengiriman di sini." in page  # no dead rows left

    retrying = ops.get("/ops/deliveries?status=retrying").get_data(as_text=True)
    assert table(retrying, "delivery-table")[1][4] == "akan dicoba lagi"
    # A second click (say, from a stale page) finds nothing to do.
    again = ops.post(f"/ops/deliveries/{delivery_id}/retry", data={"csrf_token": csrf_of(html)})
    assert (
        "Tidak ada yang dikirim ulang: pengiriman Grup WhatsApp untuk WDL-R1 sekarang berstatus"
        ' "akan dicoba lagi".' in unescape(ops.get(again.location).text)
    )


def test_a_needs_review_delivery_is_resent_only_once_checked(ops, directory):
    complaint = submit(directory, "WDL-R2")
    delivery_id = whatsapp_of(complaint)
    set_delivery(directory, delivery_id, status="needs_review", attempts=1, last_error="timeout")
    html = ops.get("/ops/complaints/WDL-R2").get_data(as_text=True)
    assert 'name="checked"' in html and "Kirim ulang" in html
    url = f"/ops/deliveries/{delivery_id}/retry"

    refused = ops.post(url, data={"csrf_token": csrf_of(html)})
    assert "yang perlu diperiksa" in ops.get(refused.location).get_data(as_text=True)
    assert load(directory, Delivery, delivery_id).status == "needs_review"

    ops.post(url, data={"csrf_token": csrf_of(html), "checked": "yes"})
    assert load(directory, Delivery, delivery_id).status == "retrying"


def test_list_pages_make_the_same_queries_for_one_row_or_many(ops, directory):
    statements = []
    engine = engine_of(directory)

    def counted(*_args):
        statements.append(1)

    def dead_complaint(wadule_id):
        for row in submit(directory, wadule_id).deliveries:
            set_delivery(directory, row.id, status="dead")

    def statements_per_page():
        counts = []
        for path in (
            "/ops/deliveries",
            "/ops/deliveries?kind=whatsapp_group&opd=dpupr",
            "/ops/opds",
            "/ops/checks",
            "/ops/",
        ):
            statements.clear()
            assert ops.get(path).status_code == 200
            counts.append(len(statements))
        return counts

    event.listen(engine, "before_cursor_execute", counted)
    try:
        dead_complaint("WDL-N1")
        with_one = statements_per_page()
        for i in range(2, 6):
            dead_complaint(f"WDL-N{i}")
        assert statements_per_page() == with_one
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert len(table(ops.get("/ops/deliveries").text, "delivery-table")) == 1 + 5 * 4


def test_deliveries_rejects_an_unknown_status_filter(ops):
    response = ops.get("/ops/deliveries?status=sent")
    assert response.status_code == 400
    assert "status harus salah satu dari: needs_review, dead, retrying." in response.text
    assert ops.get("/ops/deliveries?kind=fax").status_code == 400
    assert ops.get("/ops/deliveries?opd=nope").status_code == 400
    assert ops.get("/ops/deliveries?page=0").status_code == 400


# --- complaint detail ---------------------------------------------------------------------


def test_complaint_page_shows_everything_and_escapes_user_text(ops, directory):
    submit(
        directory,
        "WDL-X1",
        title="<script>alert(1)</script> jalan",
        body='Lubang <b>besar</b> & "dalam"',
        reporter={"name": "<img src=x onerror=alert(1)>", "phone": "081234560101"},
        attachments=[{"url": "javascript:alert(1)", "content_type": "image/jpeg"}],
    )
    response = ops.get("/ops/complaints/WDL-X1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>besar" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; jalan" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
    assert "081234560101" in html  # operators see the reporter's contact details
    assert "dpupr" in html and "kategori" in html
    assert "https://wadul.pacitankab.go.id/aduan/WDL-X1" in html
    assert [row[1] for row in table(html, "delivery-table")[1:]] == [
        "Grup WhatsApp",
        "Halaman Facebook",
        "Instagram",
        "X",
    ]
    assert table(html, "history")[1][1:3] == ["diterima bridge", "wadule: test"]

    missing = ops.get("/ops/complaints/WDL-NOPE")
    assert missing.status_code == 404 and "Tidak ada aduan WDL-NOPE." in missing.text
    assert "404 Tidak ditemukan" in missing.text
    assert ops.get("/ops/complaints?wadule_id=WDL-X1").location == "/ops/complaints/WDL-X1"


# --- sandbox inbox ------------------------------------------------------------------------


def test_sandbox_page_shows_what_a_sandboxed_delivery_sent(ops, directory, make_app):
    complaint = submit(directory, "WDL-S1", reporter={"name": "Sutrisno", "phone": "0812"})
    delivery_id = whatsapp_of(complaint)
    with directory.app_context():
        assert outbox.deliver(delivery_id).outcome == "sent"
    with directory.app_context(), new_session() as db:
        (message,) = db.scalars(select(SandboxMessage)).all()

    html = ops.get("/ops/sandbox").get_data(as_text=True)
    assert "Mode sandbox aktif" in html and 'id="sandbox-off"' not in html
    assert str(escape(message.text)) in html
    assert "Sutrisno" in html and "#WDL-S1" in html
    assert 'href="/ops/complaints/WDL-S1"' in html
    assert "120363000000000101@g.us" in html

    live = make_app(BRIDGE_SANDBOX="0").test_client()
    assert login(live, "siti", PASSWORD).status_code == 302
    off = live.get("/ops/sandbox").get_data(as_text=True)
    assert 'id="sandbox-off"' in off and str(escape(message.text)) in off


# --- responsiveness -----------------------------------------------------------------------


def _history(app, wadule_id, status, entries):
    """Replace a complaint's history with ``entries`` of (status, time) and set its status."""
    with app.app_context(), new_session() as db:
        complaint = db.scalar(select(Complaint).where(Complaint.wadule_id == wadule_id))
        db.execute(delete(StatusChange).where(StatusChange.complaint_id == complaint.id))
        db.add_all(
            StatusChange(
                complaint_id=complaint.id, status=s, actor_kind="opd", actor_name="x", at=at
            )
            for s, at in entries
        )
        complaint.status = status
        db.commit()


def test_responsiveness_computes_medians_and_grades(ops, directory):
    # A fixed now (Friday 27 November 2026, 10:00 WIB): grades count working days
    # (Mon-Fri 08:00-16:00 WIB, no holiday in these weeks), so the days must be known.
    now = wib(27, 10)
    h = dt.timedelta(hours=1)
    cases = {
        # wadule_id: (final status, [(status, at)]) -- all dpupr; answer hours noted.
        "A": ("resolved", [("received", wib(16, 8)), ("acknowledged", wib(16, 10)),
                           ("resolved", wib(18, 16))]),  # 2 h; exactly 3 working days: cepat
        "B": ("resolved", [("received", wib(16, 8)), ("acknowledged", wib(16, 12)),
                           ("resolved", wib(19, 9))]),  # 4 h; 3.125 -> 4 days: sedang
        "C": ("resolved", [("received", wib(9, 8)), ("acknowledged", wib(9, 14)),
                           ("resolved", wib(17, 16))]),  # 6 h; 7 working days: lambat
        "G": ("resolved", [("received", wib(23, 8)), ("in_progress", wib(23, 9)),
                           ("resolved", wib(23, 15))]),  # 1 h (skipped terima); 1 day: cepat
        "E": ("acknowledged", [("received", wib(17, 8)), ("acknowledged", wib(17, 9)),
                               ("received", wib(18, 8)),
                               ("acknowledged", wib(18, 18))]),  # re-routed: 10 h
        "H": ("acknowledged", [("received", wib(24, 8)), ("acknowledged", wib(25, 4))]),  # 20 h
        "I": ("rejected", [("received", wib(16, 8)), ("rejected", wib(17, 14))]),  # 30 h
        "D": ("forwarded", [("received", wib(26, 8)), ("forwarded", wib(26, 9))]),
        # Answered and resolved before the 30-day window: counted, but not in median or grades.
        "F": ("resolved", [("received", wib(1, 8, month=9)), ("acknowledged", wib(2, 8, month=9)),
                           ("resolved", wib(10, 8, month=9))]),
    }  # fmt: skip
    for wadule_id, (status, entries) in cases.items():
        submit(directory, f"WDL-{wadule_id}")
        _history(directory, f"WDL-{wadule_id}", status, entries)
    submit(directory, "WDL-K", category="kesehatan")
    _history(directory, "WDL-K", "delivery_failed", [("received", now - h)])

    calendar = WorkingCalendar.from_settings(directory.config["BRIDGE_SETTINGS"])
    with directory.app_context(), new_session() as db:
        lines = {line.opd.slug: line for line in queries.responsiveness(db, now, calendar, days=30)}
    assert list(lines)[:3] == ["diskominfo", "pimpinan", "dpupr"]

    def figures(line):
        return (line.total, line.open, line.awaiting_acknowledgement, line.delivery_failed,
                line.median_ack_hours, len(line.ack_hours), line.grades)  # fmt: skip

    grades = {"cepat": 2, "sedang": 1, "lambat": 1}
    assert figures(lines["dpupr"]) == (9, 3, 1, 0, 6.0, 7, grades)
    none = dict.fromkeys(grades, 0)
    assert figures(lines["dinkes"]) == (1, 1, 0, 1, None, 0, none)
    assert figures(lines["rsud"]) == (0, 0, 0, 0, None, 0, none)

    # The page shows them with the grades' names and says how they are counted.
    html = ops.get("/ops/opds").get_data(as_text=True)
    rows = table(html, "opds")
    assert rows[0][-3:] == ["cepat", "sedang", "lambat"]
    assert [row[0].split()[0] for row in rows[1:4]] == ["diskominfo", "pimpinan", "dpupr"]
    assert "dihitung dalam hari kerja" in html and "cepat 1\N{EN DASH}3 hari" in html
    dinkes = next(row for row in rows if row[0].startswith("dinkes"))
    assert dinkes[1:] == ["1", "1", "0", "1", NONE, "0", "0", "0", "0"]


def wib(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(dt.UTC)


def test_the_console_grades_as_the_weekly_report_does():
    """One definition (bridge/reports/grades.py): the console keeps no bounds of its own."""
    assert not hasattr(queries, "GRADES") and not hasattr(queries, "grade")
    calendar = WorkingCalendar.from_settings(Settings.from_env({"BRIDGE_SANDBOX": "1"}))
    line = queries.Responsiveness(opd=None)
    assert set(line.grades) == {grade.value for grade in Grade}
    # Friday 16:00 to Monday 08:00 is no working time: a resolution then took 1 day.
    assert grade(calendar, wib(20, 15), wib(23, 8)) == Grade.CEPAT


def test_median_of_an_even_number_of_answers_is_the_mean_of_the_middle_two():
    line = queries.Responsiveness(opd=None, ack_hours=[10.0, 1.0, 4.0, 6.0])
    assert line.median_ack_hours == 5.0


# --- SQLite -------------------------------------------------------------------------------


def test_every_page_renders_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the embedded broker keeps its files under ./instance
    url = f"sqlite:///{tmp_path}/bridge.db"
    upgrade(url)
    app = create_app(
        settings=Settings.from_env(
            {
                "BRIDGE_DATABASE_URL": url,
                "BRIDGE_BROKER_URL": f"sqla+sqlite:///{tmp_path}/broker.db",
                "BRIDGE_SANDBOX": "1",
            }
        )
    )
    app.config["TESTING"] = True
    try:
        use_directory(app)
        with app.app_context(), new_session() as db:
            create_operator(db, "siti", PASSWORD)
        complaint = submit(app, "WDL-L1")
        set_delivery(app, whatsapp_of(complaint), status="dead")
        client = app.test_client()
        assert login(client, "siti", PASSWORD).status_code == 302
        for path in (*PAGES[:5], "/ops/complaints/WDL-L1"):
            assert client.get(path).status_code == 200, path
        html = client.get("/ops/").get_data(as_text=True)
        assert card(html, "dead") == "1" and card(html, "due-now") == "3"
        assert re.fullmatch(r"\d+ (dtk|mnt)", card(html, "oldest-due"))
        # Bulk retry on SQLite too (its UPDATE ... RETURNING and the complaint lock).
        page = client.get("/ops/deliveries?kind=whatsapp_group").text
        assert "Kirim ulang semua 1 di saringan ini" in page
        response = client.post(
            "/ops/deliveries/retry",
            data={"csrf_token": csrf_of(page), "scope": "all", "kind": "whatsapp_group"},
        )
        assert response.status_code == 302
        assert load(app, Delivery, whatsapp_of(complaint)).status == "retrying"
    finally:
        engine_of(app).dispose()
