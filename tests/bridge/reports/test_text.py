"""The phone text of the known week, exactly."""

from __future__ import annotations

from bridge.db import new_session
from bridge.reports import build_weekly_report, weekly_text
from bridge.reports.text import MAX_ATTENTION
from tests.bridge.reports.conftest import NOW, WEEK, wib

EXPECTED = """\
*Laporan Mingguan Aduan Wadule*
Minggu 2026-W10 (2\u20138 Mar 2026)

Diterima: 10 (+6)
Dijawab: 4 (±0)
Median jawaban pertama: 0,6 hari kerja (+0,4)
Selesai: 2 cepat (+1), 2 sedang (+2), 1 lambat (+1)
Terbuka melewati SLA: 4 (+4)
(dalam kurung: selisih dari minggu lalu)

*Perlu perhatian: 4 dari 7 OPD*
1. Dinas Perhubungan: 1 aduan terbuka melewati SLA; tidak menjawab satu pun aduan (1 menunggu \
jawaban melewati SLA); saluran tidak dapat dipakai: grup WhatsApp
2. BPBD: 1 aduan terbuka melewati SLA; median jawaban pertama 6,0 jam kerja (SLA 4 jam kerja)
3. Dinas Kesehatan: 1 aduan terbuka melewati SLA; median jawaban pertama 1,4 hari kerja (SLA 1 \
hari kerja); saluran tidak dapat dipakai: X
4. Dinas PU: 1 aduan terbuka melewati SLA; 1 aduan selesai lambat (lebih dari 6 hari kerja)

*Saluran*
Tidak dapat dipakai: Dinas Perhubungan (grup WhatsApp); Dinas Kesehatan (X)
Belum punya: Facebook 6 OPD, Instagram 6 OPD, X 5 OPD

Rincian: https://bridge.example/ops/reports/weekly?week=2026-W10"""


def report_of(app, now=NOW):
    with app.app_context(), new_session() as db:
        return build_weekly_report(db, app.config["BRIDGE_SETTINGS"], WEEK, now=now)


def test_the_known_weeks_text(sample):
    text = weekly_text(report_of(sample), public_url="https://bridge.example/")
    assert text == EXPECTED
    # Short enough to be the chart's caption on WhatsApp and Telegram.
    assert len(text) <= 1024


def test_the_week_so_far_says_so(sample):
    text = weekly_text(report_of(sample, now=wib(4, 12, 5)), public_url="http://x")
    assert text.splitlines()[2] == "Sementara, sampai Rabu 4 Mar 2026 12.05 WIB"


def test_a_quiet_week(app):
    from tests.bridge.reports.conftest import DIRECTORY
    from tests.support import use_directory

    use_directory(app, DIRECTORY)
    lines = weekly_text(report_of(app), public_url="http://x").splitlines()
    assert "Median jawaban pertama: \u2013 (belum ada jawaban)" in lines
    assert "*Semua OPD dalam batas SLA.*" in lines
    assert "Semua grup WhatsApp dan saluran yang dicek dapat dipakai." in lines


def test_many_offices_needing_attention_are_counted_not_listed(sample):
    import dataclasses

    from bridge.reports import Reason

    report = report_of(sample)
    worried = tuple(
        dataclasses.replace(line, reasons=(Reason("x", "alasan"),)) for line in report.offices
    )
    many = dataclasses.replace(report, offices=worried * 2)
    lines = weekly_text(many, public_url="http://x").splitlines()
    listed = [line for line in lines if line[:1].isdigit() and ". " in line]
    assert len(listed) == MAX_ATTENTION
    assert "... dan 6 OPD lain (lihat rincian)" in lines
