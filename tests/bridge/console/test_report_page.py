"""The console's weekly report page and its CSV, on the reports' sample week (2026-W10, see
tests/bridge/reports/conftest.py for what each complaint is for)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from markupsafe import escape
from sqlalchemy import event, update

from bridge.console import i18n
from bridge.console import report as report_page
from bridge.console.report import COLUMNS, CSV_COLUMNS, TREND_WEEKS, reason_text, safe_cell
from bridge.db import engine_of, new_session
from bridge.models import Complaint, Opd
from bridge.operators import create_operator
from bridge.reports import Reason, build_weekly_report
from bridge.worktime import current_iso_week
from tests.bridge.console.test_console import PASSWORD, login, table
from tests.bridge.reports.conftest import NOW, WEEK, load_sample

URL = "/ops/reports/weekly"
#: The report's ranking of the sample week (tests/bridge/reports/test_api.py).
RANKING = ["dishub", "bpbd", "dinkes", "dpu", "kominfo", "pimpinan", "dlh"]


def _signed_in(app):
    load_sample(app)
    with app.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
    client = app.test_client()
    assert login(client, "siti", PASSWORD).status_code == 302
    return client


@pytest.fixture
def page(app):
    """A client logged in to the console of an app holding the sample week."""
    return _signed_in(app)


def offices(html: str) -> list[str]:
    return re.findall(r'<tr id="office-([a-z]+)"', html)


def cells(html: str, slug: str) -> dict[str, str]:
    """The report table's cells of one office by ``data-col``, as text."""
    rows = table(html, "report")
    index = offices(html).index(slug) + 1
    columns = re.findall(r'data-col="([a-z_]+)" data-label', html.split('id="report"')[1])
    named = columns[: len(rows[index]) - 1]
    return dict(zip(named, rows[index][1:], strict=True))


def test_the_page_shows_the_weeks_figures_chart_and_trends(page):
    response = page.get(URL, query_string={"week": "2026-W10"})
    assert response.status_code == 200
    html = response.text
    assert "<h1>Laporan mingguan 2026-W10</h1>" in html
    assert "Senin 2 Mar 2026 sampai Minggu 8 Mar 2026" in html
    # The report's ranking: offices needing attention first.
    assert offices(html) == RANKING
    assert "1. Dinas Perhubungan" in html and "4. Dinas PU" in html
    dpu = cells(html, "dpu")
    # received, answered, median (0.5 working days), cepat, sedang, lambat, open past SLA,
    # each with its change from 2026-W09.
    assert dpu["received"] == "3 ±0"
    assert dpu["answered"] == "1 -2"
    assert dpu["median"] == "0,5 hari +0,4"
    assert (dpu["cepat"], dpu["sedang"], dpu["lambat"]) == ("1 +1", "2 +2", "1 +1")
    assert dpu["open_past_sla"] == "1 +1"
    # Reasons in the office's heading cell, as the report words them.
    row = html.split('id="office-dpu"')[1].split("</tr>")[0]
    assert "1 aduan terbuka melewati SLA" in row
    assert "1 aduan selesai lambat (lebih dari 6 hari kerja)" in row
    # Coverage: dpu has all four (X never checked); dishub's WhatsApp group is unusable.
    assert re.findall(r'data-kind="(\w+)" data-coverage="(\w+)"', row) == [
        ("whatsapp_group", "usable"),
        ("facebook_page", "usable"),
        ("instagram", "usable"),
        ("x", "unchecked"),
    ]
    dishub = html.split('id="office-dishub"')[1].split("</tr>")[0]
    assert 'data-kind="whatsapp_group" data-coverage="unusable"' in dishub
    assert 'data-kind="x" data-coverage="absent"' in dishub
    # The totals.
    assert re.search(r'id="total-received">10<', html)
    assert re.search(r'id="total-attention">4<', html)
    # The chart, inline and fluid: one bar row per office, no script anywhere.
    chart = html.split('<div class="chart" id="chart">')[1].split("</svg>")[0]
    assert chart.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox=')
    assert chart.count("Dinas") >= 5 and "<script" not in html and " style=" not in html
    # A 12-week trend line per office, ending with the report's week.
    assert html.count('class="spark"') == len(RANKING)
    assert f"2026-W{10 - TREND_WEEKS + 1:02d}" not in html  # 2026-W-1 is not a week
    assert "2025-W52: " in html and "2026-W10: 0,5 hari" in html
    # Aggregates only: no complaint's title, text or id on the page.
    assert "Aduan C1" not in html and "Isi aduan" not in html and "C10" not in html


@pytest.fixture(autouse=True)
def _empty_trend_cache():
    """Each test's database is new: figures another test's week left behind must not count."""
    report_page._cache.clear()
    yield
    report_page._cache.clear()


def _statements(app, client, path, query) -> list[str]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path, query_string=query).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements


def _figure_queries(statements):
    return [s for s in statements if "FROM status_history" in s and "GROUP BY" in s]


def test_the_trend_is_one_batch_of_queries_and_settled_weeks_are_kept(page, app):
    first = _statements(app, page, URL, {"week": "2026-W10"})
    # The operator's session, the report (offices, channels, checks, re-routes, figures)
    # and the trend (offices, re-routes, figures): a fixed number, not per office or week.
    assert len(first) <= 16, first
    assert len(_figure_queries(first)) == 2  # the report's two weeks, the trend's twelve
    # Weeks long over do not change: the second time the trend's figures come from memory.
    again = _statements(app, page, URL, {"week": "2026-W10"})
    assert len(_figure_queries(again)) == 1 and len(again) < len(first)
    assert (
        page.get(URL, query_string={"week": "2026-W10"}).text
        == page.get(URL, query_string={"week": "2026-W10"}).text
    )
    # The week in progress is not settled: computed every time.
    current = {"week": str(current_iso_week())}
    _statements(app, page, URL, current)
    assert len(_figure_queries(_statements(app, page, URL, current))) == 2


def test_the_default_week_is_the_last_complete_one(page):
    html = page.get(URL).text
    last = current_iso_week().previous()
    assert f"<h1>Laporan mingguan {last}</h1>" in html
    assert f'value="{last}"' in html  # the week selector holds it
    # No next link past the current week.
    assert 'id="next-week"' in html
    current = page.get(URL, query_string={"week": str(current_iso_week())}).text
    assert 'id="next-week"' not in current and 'id="partial"' in current


def test_week_selector_and_previous_next_links(page):
    html = page.get(URL, query_string={"week": "2026-w10"}).text
    assert '<form class="filter" id="week-form" method="get" action="/ops/reports/weekly">' in html
    assert '<input type="week" name="week" value="2026-W10"' in html
    assert 'id="previous-week" href="/ops/reports/weekly?week=2026-W09"' in html
    assert 'id="next-week" href="/ops/reports/weekly?week=2026-W11"' in html
    # Across a year's end, and keeping the order chosen.
    html = page.get(URL, query_string={"week": "2026-W01", "sort": "received"}).text
    assert 'href="/ops/reports/weekly?week=2025-W52&amp;sort=received&amp;dir=desc"' in html


@pytest.mark.parametrize(
    ("week", "says"),
    [
        ("2026-10", 'Minggu "2026-10" tidak valid'),
        ("W10", 'Minggu "W10" tidak valid'),
        ("2025-W53", 'Minggu "2025-W53" tidak valid'),
        ("2026-W00", 'Minggu "2026-W00" tidak valid'),
        ("<script>", 'Minggu "<script>" tidak valid'),
        ("2099-W01", "Minggu 2099-W01 belum dimulai."),
    ],
)
def test_a_bad_or_future_week_is_a_400_page_that_says_why(page, week, says):
    response = page.get(URL, query_string={"week": week})
    assert response.status_code == 400
    html = response.text
    assert 'id="problem"' in html and str(escape(says)) in html
    assert 'id="week-form"' in html  # the selector, to fix it
    assert "<svg" not in html and "<script>" not in html
    for suffix in (".csv", ".svg"):
        other = page.get(URL + suffix, query_string={"week": week})
        assert other.status_code == 400 and str(escape(says)) in other.text


def test_sort_links_change_the_order(page):
    html = page.get(URL, query_string={"week": "2026-W10"}).text
    # Each sortable heading is a link; the ranking is the current order.
    for key in COLUMNS:
        assert f'data-sort="{key}"' in html
    assert 'href="/ops/reports/weekly?week=2026-W10&amp;sort=received&amp;dir=desc"' in html
    assert 'href="/ops/reports/weekly?week=2026-W10&amp;sort=rank&amp;dir=desc"' in html

    def order(**query):
        response = page.get(URL, query_string={"week": "2026-W10", **query})
        assert response.status_code == 200
        return offices(response.text)

    # By name: BPBD, Dinas Kesehatan, Dinas Kominfo, Dinas Lingkungan Hidup, ...
    assert order(sort="opd", dir="asc") == [
        "bpbd", "dinkes", "kominfo", "dlh", "dishub", "dpu", "pimpinan"
    ]  # fmt: skip
    assert order(sort="rank", dir="desc") == RANKING[::-1]
    # Most received first; ties keep the ranking.
    received = order(sort="received")
    assert received[0] == "dpu" and received[-2:] == ["pimpinan", "dlh"]
    # Medians: the slowest first; offices without an answer last in both directions.
    slowest = order(sort="median", dir="desc")
    fastest = order(sort="median", dir="asc")
    # dinkes 2.5 working days, bpbd 0.75 (6 hours), dpu 0.5.
    assert slowest[:3] == ["dinkes", "bpbd", "dpu"] and fastest[:3] == ["dpu", "bpbd", "dinkes"]
    assert set(slowest[3:]) == set(fastest[3:]) == {"dishub", "kominfo", "pimpinan", "dlh"}
    assert order(sort="lambat")[0] == "dpu"
    # The heading of the sorted column says so and links to the other direction.
    html = page.get(URL, query_string={"week": "2026-W10", "sort": "received"}).text
    assert 'aria-sort="descending"' in html
    assert 'href="/ops/reports/weekly?week=2026-W10&amp;sort=received&amp;dir=asc"' in html


@pytest.mark.parametrize("query", [{"sort": "password"}, {"sort": "received", "dir": "up"}])
def test_an_unknown_sort_is_400_not_500(page, query):
    response = page.get(URL, query_string={"week": "2026-W10", **query})
    assert response.status_code == 400
    assert "urutan tidak dikenal" in response.text and "open_past_sla" in response.text


def test_csv_has_one_row_per_office_with_stable_english_columns(page):
    response = page.get(f"{URL}.csv", query_string={"week": "2026-W10"})
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="wadule-weekly-2026-W10.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [row["opd"] for row in rows] == RANKING
    dpu = rows[RANKING.index("dpu")]
    assert {key: dpu[key] for key in CSV_COLUMNS} == {
        "week": "2026-W10",
        "rank": "4",
        "opd": "dpu",
        "opd_name": "Dinas PU",
        "needs_attention": "yes",
        "received": "3",
        "received_change": "0",
        "answered": "1",
        "answered_change": "-2",
        "median_first_answer_working_days": "0.5000",
        "median_first_answer_working_days_change": "0.3750",
        "median_first_answer_working_seconds": "14400",
        "resolved_cepat": "1",
        "resolved_sedang": "2",
        "resolved_lambat": "1",
        "resolved_lambat_change": "1",
        "open_past_sla": "1",
        "open_past_sla_change": "1",
        "awaiting_answer": "2",
        "awaiting_past_sla": "1",
        "sla_answer": "1d",
        "sla_resolve": "6d",
        "channel_whatsapp_group": "usable",
        "channel_facebook_page": "usable",
        "channel_instagram": "usable",
        "channel_x": "unchecked",
        "reasons": "open_past_sla;slow_resolution",
        "complete": "yes",
    }
    assert rows[RANKING.index("dlh")]["median_first_answer_working_days"] == ""
    assert rows[RANKING.index("dishub")]["channel_x"] == "absent"
    # The page links to it.
    html = page.get(URL, query_string={"week": "2026-W10"}).text
    assert 'id="csv" href="/ops/reports/weekly.csv?week=2026-W10"' in html


def test_csv_guards_against_formula_injection(page, app):
    names = {"dpu": '=HYPERLINK("http://x")', "dinkes": "+1", "bpbd": "-2", "dlh": "@SUM(A1)"}
    with app.app_context(), new_session() as db:
        for slug, name in names.items():
            db.execute(update(Opd).where(Opd.slug == slug).values(name=name))
        db.commit()
    body = page.get(f"{URL}.csv", query_string={"week": "2026-W10"}).data.decode()
    rows = {row["opd"]: row for row in csv.DictReader(io.StringIO(body))}
    for slug, name in names.items():
        assert rows[slug]["opd_name"] == "'" + name
    assert rows["kominfo"]["opd_name"] == "Dinas Kominfo"
    # Numbers stay numbers: a negative change is not a formula.
    assert rows["dpu"]["answered_change"] == "-2"
    assert safe_cell("\tx") == "'\tx" and safe_cell("a=b") == "a=b"


def test_no_reporter_data_on_the_page_or_in_the_csv(page, app):
    with app.app_context(), new_session() as db:
        db.execute(
            update(Complaint).values(
                reporter={
                    "name": "Sutrisno Rahasia",
                    "phone": "081299990000",
                    "email": "sutrisno@example.org",
                }
            )
        )
        db.commit()
    html = page.get(URL, query_string={"week": "2026-W10"}).text
    body = page.get(f"{URL}.csv", query_string={"week": "2026-W10"}).text
    for secret in ("Sutrisno", "081299990000", "sutrisno@example.org"):
        assert secret not in html and secret not in body


def test_the_chart_full_size_for_a_phone_to_zoom(page):
    html = page.get(URL, query_string={"week": "2026-W10"}).text
    assert 'id="chart-full" href="/ops/reports/weekly.svg?week=2026-W10"' in html
    response = page.get(f"{URL}.svg", query_string={"week": "2026-W10"})
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.text.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="1080"')
    assert "Dinas PU" in response.text and "<script" not in response.text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_login_required(app):
    load_sample(app)
    client = app.test_client()
    for path in (URL, f"{URL}.csv?week=2026-W10", f"{URL}.svg?week=2026-W10"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/ops/login" in response.headers["Location"]


def test_the_menu_has_the_report_after_the_opds(page):
    html = page.get("/ops/").text
    menu = re.findall(r'<a href="(/ops/[a-z/]*)"', html.split("<nav")[1].split("</nav>")[0])
    assert menu.index("/ops/reports/weekly") == menu.index("/ops/opds") + 1
    assert ">Laporan mingguan</a>" in html


def test_english_setting_shows_english_labels(make_app):
    client = _signed_in(make_app(BRIDGE_CONSOLE_LANGUAGE="en"))
    html = client.get(URL, query_string={"week": "2026-W10"}).text
    assert "<h1>Weekly report 2026-W10</h1>" in html
    assert "Monday 2 Mar 2026 to Sunday 8 Mar 2026" in html
    assert ">Weekly report</a>" in html and "Download CSV" in html
    assert "open past SLA" in html and "median first answer" in html
    dpu = html.split('id="office-dpu"')[1].split("</tr>")[0]
    assert "1 open complaint past its SLA" in dpu
    assert "1 complaint resolved slowly (more than 6 working days)" in dpu
    assert "0.5 d +0.4" in " ".join(dpu.split()) or "0.5 d" in dpu
    bad = client.get(URL, query_string={"week": "nope"})
    assert bad.status_code == 400 and str(escape('Week "nope" is not valid')) in bad.text


def test_reasons_in_indonesian_are_the_reports_own_words(app):
    """The catalogue repeats the report's Indonesian reasons: they must agree."""
    load_sample(app)
    with app.app_context(), new_session() as db:
        report = build_weekly_report(db, app.config["BRIDGE_SETTINGS"], WEEK, now=NOW)
    t = i18n.Words("id")
    seen = set()
    for line in report.offices:
        for reason in line.reasons:
            assert reason_text(t, line, reason) == reason.text
            seen.add(reason.code)
    assert seen == {"open_past_sla", "no_answer", "slow_answer", "slow_resolution",
                    "channel_unusable"}  # fmt: skip
    line = report.office("dlh")
    missing = Reason("no_whatsapp_group", "tidak punya grup WhatsApp")
    assert reason_text(t, line, missing) == missing.text
    assert reason_text(t, line, Reason("new_code", "alasan baru")) == "alasan baru"
