"""The weekly report of a known week (tests/bridge/reports/conftest.py): exact figures, ranking,
week over week, coverage."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.db import new_session
from bridge.migrate import upgrade
from bridge.reports import (
    ChannelCoverage,
    Figures,
    Grades,
    Median,
    WeekNotStarted,
    build_weekly_report,
)
from bridge.settings import Settings
from bridge.worktime import IsoWeek, Sla
from tests.bridge.reports.conftest import NOW, WEEK, load_sample, wib


def report_of(app, week=WEEK, now=NOW):
    with app.app_context(), new_session() as db:
        return build_weekly_report(db, app.config["BRIDGE_SETTINGS"], week, now=now)


def test_each_office_figures_known_answer(sample):
    report = report_of(sample)
    assert report.week == WEEK and report.complete
    assert report.starts_at == wib(2, 0) and report.ends_at == wib(9, 0)
    assert report.as_of == report.ends_at
    figures = {line.opd_slug: line.figures for line in report.offices}
    assert figures == {
        "dpu": Figures(
            received=3,  # C1, C5, C6 (C2-C4 arrived in W09)
            answered=1,  # C1 after 4 working hours
            median_first_answer=Median(14400.0, 0.5, 1),
            grades=Grades(cepat=1, sedang=2, lambat=1),  # C1 3 days; C2 4, C4 6; C3 7
            open_past_sla=1,  # C5; C6 is due only on Monday
            awaiting_answer=2,
            awaiting_past_sla=1,
        ),
        "dinkes": Figures(
            received=2,
            answered=2,  # C7 after 2.5 days; C8 rejected after 2 hours (an answer)
            median_first_answer=Median((72000 + 7200) / 2, (2.5 + 0.25) / 2, 2),
            grades=Grades(),  # C8 was rejected; C9 reopened, so not resolved at the end
            open_past_sla=1,  # C9, reopened, past its resolve SLA
            awaiting_answer=0,
            awaiting_past_sla=0,
        ),
        "bpbd": Figures(
            received=2,  # C10, and C11 from its re-route on Tuesday
            answered=1,
            median_first_answer=Median(21600.0, 0.75, 1),
            grades=Grades(cepat=1),
            open_past_sla=1,  # C11: its 4h SLA ran out on Tuesday 13:00
            awaiting_answer=1,
            awaiting_past_sla=1,
        ),
        # C12 was re-routed to bpbd after the week: it counts where it was, here.
        "kominfo": Figures(received=1, awaiting_answer=1),
        "dishub": Figures(received=2, open_past_sla=1, awaiting_answer=2, awaiting_past_sla=1),
        "dlh": Figures(),
        "pimpinan": Figures(),
    }


def test_previous_week_and_change(sample):
    report = report_of(sample)
    dpu = report.office("dpu")
    assert dpu.previous == Figures(
        received=3,
        answered=3,  # C2 2 h, C3 1 h, C4 30 min
        median_first_answer=Median(3600.0, 0.125, 3),
        grades=Grades(),
    )
    assert dpu.change.received == 0
    assert dpu.change.answered == -2
    assert dpu.change.median_first_answer_seconds == 10800.0
    assert dpu.change.median_first_answer_days == 0.375
    assert dpu.change.grades == Grades(cepat=1, sedang=2, lambat=1)
    assert (dpu.change.open_past_sla, dpu.change.awaiting_answer) == (1, 2)
    # C9 was resolved in W09 and only reopened after it: cepat there.
    assert report.office("dinkes").previous.grades == Grades(cepat=1)
    # No answer in W09: no change of the median.
    assert report.office("bpbd").change.median_first_answer_days is None
    assert report.totals.figures == Figures(
        received=10,
        answered=4,
        median_first_answer=Median(18000.0, 0.625, 4),  # over every answer, not the offices'
        grades=Grades(cepat=2, sedang=2, lambat=1),
        open_past_sla=4,
        awaiting_answer=6,
        awaiting_past_sla=3,
    )
    assert report.totals.previous == Figures(
        received=4,
        answered=4,
        median_first_answer=Median(5400.0, 0.1875, 4),
        grades=Grades(cepat=1),
    )
    assert report.totals.change.received == 6
    assert report.totals.change.median_first_answer_days == 0.4375
    assert (report.totals.offices, report.totals.needing_attention) == (7, 4)


def test_ranking_and_reasons(sample):
    report = report_of(sample)
    assert [(line.rank, line.opd_slug, line.attention) for line in report.offices] == [
        (1, "dishub", True),  # answered nothing while a complaint waits past its SLA
        (2, "bpbd", True),  # median 1.5 x its own 4h SLA
        (3, "dinkes", True),  # median 1.375 x its SLA
        (4, "dpu", True),  # within its answer SLA, but a lambat resolution
        (5, "kominfo", False),  # one received
        (6, "pimpinan", False),  # then directory order
        (7, "dlh", False),
    ]
    reasons = {line.opd_slug: [(r.code, r.text) for r in line.reasons] for line in report.offices}
    assert reasons["dishub"] == [
        ("open_past_sla", "1 aduan terbuka melewati SLA"),
        ("no_answer", "tidak menjawab satu pun aduan (1 menunggu jawaban melewati SLA)"),
        ("channel_unusable", "saluran tidak dapat dipakai: grup WhatsApp"),
    ]
    assert reasons["bpbd"] == [
        ("open_past_sla", "1 aduan terbuka melewati SLA"),
        ("slow_answer", "median jawaban pertama 6,0 jam kerja (SLA 4 jam kerja)"),
    ]
    assert reasons["dinkes"] == [
        ("open_past_sla", "1 aduan terbuka melewati SLA"),
        ("slow_answer", "median jawaban pertama 1,4 hari kerja (SLA 1 hari kerja)"),
        ("channel_unusable", "saluran tidak dapat dipakai: X"),
    ]
    assert reasons["dpu"] == [
        ("open_past_sla", "1 aduan terbuka melewati SLA"),
        ("slow_resolution", "1 aduan selesai lambat (lebih dari 6 hari kerja)"),
    ]
    assert reasons["kominfo"] == reasons["dlh"] == reasons["pimpinan"] == []
    assert report.office("bpbd").sla == Sla.from_json({"answer": "4h", "resolve": "3d"})
    assert report.office("bpbd").own_sla and not report.office("dpu").own_sla
    assert report.office("bpbd").answer_ratio == 1.5


def test_coverage_per_last_check(sample):
    report = report_of(sample)
    dpu = report.office("dpu").coverage
    assert (dpu.whatsapp_group.present, dpu.whatsapp_group.usable) == (True, True)
    assert dpu.instagram.usable is True  # a warning is still usable
    assert dpu.instagram.reason == "the token expires in 5 days"
    assert dpu.x == ChannelCoverage(present=True)  # never checked: unknown
    dinkes = report.office("dinkes").coverage
    assert (dinkes.x.present, dinkes.x.usable) == (True, False)
    assert dinkes.x.reason == "X refused the credentials"
    assert dinkes.facebook_page == ChannelCoverage(present=False)
    assert dinkes.missing == ["facebook_page", "instagram"] and dinkes.unusable == ["x"]
    assert report.office("dishub").coverage.unusable == ["whatsapp_group"]


def test_the_week_so_far(sample):
    # Wednesday 4 March 12:00 WIB: only what happened by then counts.
    now = wib(4, 12)
    report = report_of(sample, now=now)
    assert not report.complete and report.as_of == now
    dpu = report.office("dpu")
    # C1 answered, not yet resolved; C3, C4 resolved on Tuesday, C2 at 09:00; C5, C6 not here.
    assert (dpu.received, dpu.answered, dpu.grades) == (1, 1, Grades(sedang=2, lambat=1))
    # C7 is acknowledged at 12:00, which is not before now: only C8's answer counts so far.
    assert report.office("dinkes").answered == 1
    # dishub's C13 has been waiting since Monday 10:00: past its SLA at Tuesday 10:00.
    assert report.office("dishub").open_past_sla == 1


def test_the_current_week_by_default_and_no_future_week(sample):
    now = wib(5, 9)
    with sample.app_context(), new_session() as db:
        settings = sample.config["BRIDGE_SETTINGS"]
        assert build_weekly_report(db, settings, now=now).week == WEEK
        with pytest.raises(WeekNotStarted, match="2026-W11 has not begun yet"):
            build_weekly_report(db, settings, IsoWeek(2026, 11), now=now)


def test_inactive_offices_are_left_out(sample):
    from tests.bridge.reports.conftest import DIRECTORY
    from tests.support import use_directory

    use_directory(
        sample, {**DIRECTORY, "opds": [o for o in DIRECTORY["opds"] if o["slug"] != "dpu"]}
    )
    report = report_of(sample)
    assert "dpu" not in [line.opd_slug for line in report.offices]
    assert report.totals.figures.received == 7


def test_the_same_report_on_sqlite(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    upgrade(url)
    app = make_app(BRIDGE_DATABASE_URL=url)
    load_sample(app)
    on_sqlite = report_of(app)
    assert [line.opd_slug for line in on_sqlite.offices][:4] == ["dishub", "bpbd", "dinkes", "dpu"]
    assert on_sqlite.totals.figures.median_first_answer == Median(18000.0, 0.625, 4)
    assert on_sqlite.office("dpu").grades == Grades(cepat=1, sedang=2, lambat=1)
    assert on_sqlite.office("kominfo").received == 1


def test_working_hours_change_the_figures(sample, env):
    # Saturday mornings at work: C6 (Friday 15:00, seven eighths into the day) is due seven
    # eighths into Saturday's window, 11:30, inside the week.
    hours = "Mon-Fri 08:00-16:00,Sat 08:00-12:00"
    settings = Settings.from_env({**env, "BRIDGE_WORKING_HOURS": hours})
    with sample.app_context(), new_session() as db:
        report = build_weekly_report(db, settings, WEEK, now=NOW)
    dpu = report.office("dpu")
    assert (dpu.open_past_sla, dpu.awaiting_past_sla) == (2, 2)
    assert report.typical_day_seconds == (5 * 8 + 4) * 3600 / 6


def test_no_complaints_at_all(app):
    from tests.bridge.reports.conftest import DIRECTORY
    from tests.support import use_directory

    use_directory(app, DIRECTORY)
    report = report_of(app)
    assert report.totals.figures == Figures()
    assert report.totals.change.median_first_answer_days is None
    assert not report.needing_attention
    assert [line.opd_slug for line in report.offices] == [
        "kominfo", "pimpinan", "dpu", "dinkes", "bpbd", "dishub", "dlh"
    ]  # fmt: skip
    assert report.generated_at == NOW and report.ends_at - report.starts_at == dt.timedelta(7)
