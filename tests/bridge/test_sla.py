"""The SLA ladder (contract section 10): reminders and escalations in working time, each once.

Times are fixed: complaints are filed and changed under a clock the test sets (ingest and
workflow read it), and the ladder runs at instants the test names. The weeks used are in
November 2026, when Indonesia has no public holiday, with default hours (Mon-Fri 08:00-16:00).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from bridge import callbacks, channels, outbox, sla
from bridge.auth import create_api_key
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import Complaint, Delivery, Event, SandboxMessage, SlaStep
from bridge.settings import Settings, parse_working_hours
from bridge.worktime import WIB, Duration, WorkingCalendar
from tests.bridge.groups import DPUPR as GROUP_DPUPR
from tests.bridge.groups import make_bridge
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.support import auth, use_directory

URL = "/api/v1/complaints"
LINK = "https://wadul.pacitankab.go.id/aduan/"

TRIAGE_WA = "120363000000000100@g.us"
TRIAGE_TG = "-1001000000000100"
LEAD_WA = "120363000000000199@g.us"
DPUPR_WA = "120363000000000101@g.us"
DPUPR_TG = "-1001000000000101"
DINKES_WA = "120363000000000102@g.us"

DPUPR_NAME = "Dinas Pekerjaan Umum dan Penataan Ruang"
TRIAGE_NAME = "Dinas Komunikasi dan Informatika"

DIRECTORY = {
    "triage": "diskominfo",
    "leadership": "pimpinan",
    "opds": [
        {
            "slug": "diskominfo",
            "name": TRIAGE_NAME,
            "categories": ["informasi"],
            "channels": [
                {"kind": "whatsapp_group", "target": TRIAGE_WA},
                {"kind": "telegram", "target": TRIAGE_TG},
            ],
        },
        {
            "slug": "pimpinan",
            "name": "Pimpinan Daerah",
            "categories": [],
            "channels": [{"kind": "whatsapp_group", "target": LEAD_WA}],
        },
        {
            "slug": "dpupr",
            "name": DPUPR_NAME,
            "categories": ["jalan"],
            # Telegram listed first: notices still go in the registry's order.
            "channels": [
                {"kind": "telegram", "target": DPUPR_TG},
                {"kind": "whatsapp_group", "target": DPUPR_WA},
                {"kind": "webhook", "target": "https://example.org/hook", "secret_env": "HOOK"},
                {"kind": "facebook_page", "target": "100000000000101", "token_env": "FB"},
            ],
        },
        {
            "slug": "dinkes",
            "name": "Dinas Kesehatan",
            "categories": ["kesehatan"],
            "sla": {"answer": "4h", "resolve": "2d"},
            "channels": [{"kind": "whatsapp_group", "target": DINKES_WA}],
        },
    ],
}


def wib(month, day, hour=0, minute=0, year=2026) -> dt.datetime:
    """A wall-clock time in Pacitan, as the UTC instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=WIB).astimezone(dt.UTC)


def iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Clock:
    """What ingest and status changes take as "now"."""

    def __init__(self):
        self.now = wib(11, 2, 10)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fixed = Clock()
    monkeypatch.setattr("bridge.complaints.utcnow", fixed)
    monkeypatch.setattr("bridge.workflow.utcnow", fixed)
    return fixed


@pytest.fixture
def bridge(make_app):
    return prepared(make_app())


def prepared(app, directory=DIRECTORY):
    """``app`` with the directory imported and a key per role in ``app.keys``."""
    use_directory(app, directory)
    with app.app_context(), new_session() as db:
        app.keys = {
            "wadule": create_api_key(db, name="wadule", role="wadule", opd_slug=None),
            "operator": create_api_key(db, name="ops", role="operator", opd_slug=None),
            "dpupr": create_api_key(db, name="dpupr", role="opd", opd_slug="dpupr"),
        }
    return app


def file(app, clock, wadule_id, at, *, category="jalan", title="Jalan berlubang di Arjosari"):
    clock.now = at
    body = {"wadule_id": wadule_id, "title": title, "body": "Berlubang.", "category": category}
    response = app.test_client().post(URL, json=body, headers=auth(app.keys["wadule"]))
    assert response.status_code == 202, response.get_json()


def set_status(app, clock, wadule_id, status, at, key="dpupr", note=None):
    clock.now = at
    response = app.test_client().post(
        f"{URL}/{wadule_id}/status",
        json={"status": status, "note": note},
        headers=auth(app.keys[key]),
    )
    assert response.status_code == 200, response.get_json()


def run(app, now, **options) -> sla.LadderResult:
    with app.app_context(), new_session() as db:
        return sla.run_ladder(db, now, **options)


def steps(app) -> list[tuple]:
    with app.app_context(), new_session() as db:
        return [
            (wadule_id, step.clock, step.stage, step.due_at, step.recipients)
            for step, wadule_id in db.execute(
                select(SlaStep, Complaint.wadule_id)
                .join(Complaint, Complaint.id == SlaStep.complaint_id)
                .order_by(SlaStep.id)
            )
        ]


def notices(app, *, after: int = 0) -> list[tuple]:
    with app.app_context(), new_session() as db:
        return [
            tuple(row)
            for row in db.execute(
                select(Delivery.purpose, Delivery.kind, Delivery.target, Delivery.text)
                .where(Delivery.purpose.in_(["reminder", "escalation"]), Delivery.id > after)
                .order_by(Delivery.id)
            )
        ]


def sla_events(app) -> list[tuple[str, dict]]:
    with app.app_context(), new_session() as db:
        return [
            (type_, data)
            for type_, data in db.execute(
                select(Event.type, Event.data)
                .where(Event.type.in_(["complaint.sla_reminder", "complaint.escalated"]))
                .order_by(Event.seq)
            )
        ]


def next_look(app, wadule_id) -> dt.datetime | None:
    with app.app_context(), new_session() as db:
        return db.scalar(select(Complaint.next_sla_at).where(Complaint.wadule_id == wadule_id))


def reminder(wadule_id, *, waited, what="belum dijawab", limit="batas jawaban 1 hari kerja"):
    return (
        f"⏰ *Pengingat: aduan #{wadule_id} {what}*\n"
        "*Judul:* Jalan berlubang di Arjosari\n"
        f"*OPD:* {DPUPR_NAME}\n"
        "*Tahap:* 1 dari 3 (pengingat)\n"
        f"Sudah {waited} sejak diterima; {limit}.\n"
        "\n"
        f"🔗 {LINK}{wadule_id}\n"
        "\n"
        f"Balas: #{wadule_id} terima|proses|selesai|tolak|bukan [catatan]\n"
        f"Contoh: #{wadule_id} proses Tim survei ke lokasi Senin\n"
        "Atau balas pesan ini dengan katanya saja, mis.: selesai Sudah ditambal"
    )


# -- the whole ladder, known answers ------------------------------------------------------------


def test_an_unanswered_complaint_climbs_both_ladders_once(bridge, clock):
    file(bridge, clock, "WDL-S1", wib(11, 2, 10))  # Monday 10:00
    # The first look plans the first step: 1d later, Tuesday 10:00.
    assert run(bridge, wib(11, 2, 10, 1)).looked == 1
    assert next_look(bridge, "WDL-S1") == wib(11, 3, 10)
    assert run(bridge, wib(11, 3, 9, 59)).looked == 0  # not due: not even looked at
    assert steps(bridge) == []

    # Beat was down for two hours: the reminder goes out late, its due_at is the deadline.
    result = run(bridge, wib(11, 3, 12))
    assert (result.looked, result.steps, result.notices) == (1, 1, 2)
    assert steps(bridge) == [("WDL-S1", "answer", 1, wib(11, 3, 10), ["dpupr"])]
    text = reminder("WDL-S1", waited="1 hari kerja 2 jam")
    # The groups people read (WhatsApp first), not the webhook, never a public channel.
    assert notices(bridge) == [
        ("reminder", "whatsapp_group", DPUPR_WA, text),
        ("reminder", "telegram", DPUPR_TG, text),
    ]
    [(type_, data)] = sla_events(bridge)
    assert type_ == "complaint.sla_reminder"
    assert {k: v for k, v in data.items() if k != "seq"} == {
        "wadule_id": "WDL-S1",
        "status": "received",
        "opd": "dpupr",
        "sla": "answer",
        "stage": 1,
        "due_at": "2026-11-03T03:00:00Z",
        "to": ["dpupr"],
        "occurred_at": "2026-11-03T05:00:00Z",
    }
    assert run(bridge, wib(11, 3, 12)).steps == 0  # never twice
    assert next_look(bridge, "WDL-S1") == wib(11, 4, 10)

    # Twice the SLA: triage's groups.
    seen = len(notices(bridge))
    assert run(bridge, wib(11, 4, 10)).steps == 1
    escalation = (
        "⚠️ *Eskalasi: aduan #WDL-S1 belum dijawab*\n"
        "*Judul:* Jalan berlubang di Arjosari\n"
        f"*OPD:* {DPUPR_NAME}\n"
        "*Tahap:* 2 dari 3 (eskalasi ke triase)\n"
        "Sudah 2 hari kerja sejak diterima; batas jawaban 1 hari kerja.\n"
        "\n"
        f"🔗 {LINK}WDL-S1\n"
        "\n"
        "Bila salah alamat, alihkan: #WDL-S1 alihkan <opd>\n"
        "\n"
        "Balas: #WDL-S1 terima|proses|selesai|tolak|bukan [catatan]\n"
        "Contoh: #WDL-S1 proses Tim survei ke lokasi Senin\n"
        "Atau balas pesan ini dengan katanya saja, mis.: selesai Sudah ditambal"
    )
    assert notices(bridge)[seen:] == [
        ("escalation", "whatsapp_group", TRIAGE_WA, escalation),
        ("escalation", "telegram", TRIAGE_TG, escalation),
    ]

    # Three times: the leadership's group, where commands do not count.
    seen = len(notices(bridge))
    assert run(bridge, wib(11, 5, 10)).steps == 1
    assert notices(bridge)[seen:] == [
        (
            "escalation",
            "whatsapp_group",
            LEAD_WA,
            "🚨 *Eskalasi: aduan #WDL-S1 belum dijawab*\n"
            "*Judul:* Jalan berlubang di Arjosari\n"
            f"*OPD:* {DPUPR_NAME}\n"
            "*Tahap:* 3 dari 3 (eskalasi ke pimpinan)\n"
            "Sudah 3 hari kerja sejak diterima; batas jawaban 1 hari kerja.\n"
            "\n"
            f"🔗 {LINK}WDL-S1\n"
            "\n"
            f"Jawaban dicatat dari grup {DPUPR_NAME} atau grup {TRIAGE_NAME}.",
        )
    ]

    # The resolve ladder: 6, 12 and 18 working days.
    assert next_look(bridge, "WDL-S1") == wib(11, 10, 10)
    assert run(bridge, wib(11, 9, 15)).looked == 0
    for when in (wib(11, 10, 10), wib(11, 18, 10), wib(11, 26, 10)):
        assert run(bridge, when).steps == 1
        assert run(bridge, when + dt.timedelta(minutes=1)).steps == 0
    assert next_look(bridge, "WDL-S1") is None  # the ladders are done
    assert steps(bridge) == [
        ("WDL-S1", "answer", 1, wib(11, 3, 10), ["dpupr"]),
        ("WDL-S1", "answer", 2, wib(11, 4, 10), ["diskominfo"]),
        ("WDL-S1", "answer", 3, wib(11, 5, 10), ["pimpinan"]),
        ("WDL-S1", "resolve", 1, wib(11, 10, 10), ["dpupr"]),
        ("WDL-S1", "resolve", 2, wib(11, 18, 10), ["diskominfo"]),
        ("WDL-S1", "resolve", 3, wib(11, 26, 10), ["pimpinan"]),
    ]
    assert [(t, d["sla"], d["stage"], d["due_at"], d["to"]) for t, d in sla_events(bridge)] == [
        ("complaint.sla_reminder", "answer", 1, "2026-11-03T03:00:00Z", ["dpupr"]),
        ("complaint.escalated", "answer", 2, "2026-11-04T03:00:00Z", ["diskominfo"]),
        ("complaint.escalated", "answer", 3, "2026-11-05T03:00:00Z", ["pimpinan"]),
        ("complaint.sla_reminder", "resolve", 1, "2026-11-10T03:00:00Z", ["dpupr"]),
        ("complaint.escalated", "resolve", 2, "2026-11-18T03:00:00Z", ["diskominfo"]),
        ("complaint.escalated", "resolve", 3, "2026-11-26T03:00:00Z", ["pimpinan"]),
    ]
    resolve_reminder = notices(bridge)[5][3]
    assert resolve_reminder == reminder(
        "WDL-S1",
        waited="6 hari kerja",
        what="belum selesai",
        limit="batas penyelesaian 6 hari kerja",
    )


def test_an_office_s_own_sla_sets_the_steps(bridge, clock):
    # dinkes answers within 4h: reminders at 4h, 8h (one working day), 12h.
    file(bridge, clock, "WDL-K1", wib(11, 2, 9), category="kesehatan")
    for when in (wib(11, 2, 13), wib(11, 3, 9), wib(11, 3, 13)):
        assert run(bridge, when - dt.timedelta(minutes=1)).steps == 0
        assert run(bridge, when).steps == 1
    assert [(s[1], s[2], s[3]) for s in steps(bridge)] == [
        ("answer", 1, wib(11, 2, 13)),
        ("answer", 2, wib(11, 3, 9)),
        ("answer", 3, wib(11, 3, 13)),
    ]
    assert "Sudah 4 jam sejak diterima; batas jawaban 4 jam kerja." in notices(bridge)[0][3]
    assert notices(bridge)[0][2] == DINKES_WA


# -- working hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holidays", "first_out"),
    [("", wib(11, 9, 8)), ("2026-11-09", wib(11, 10, 8))],
    ids=["weekend", "weekend-and-a-holiday"],
)
def test_a_step_due_on_friday_evening_waits_for_the_next_working_morning(
    make_app, clock, holidays, first_out
):
    app = prepared(make_app(BRIDGE_HOLIDAYS=holidays))
    # Received Thursday 16:00, as the offices close: one working day is all of Friday.
    file(app, clock, "WDL-F1", wib(11, 5, 16))
    due = wib(11, 6, 16)
    night = [wib(11, 5, 16), wib(11, 5, 23), wib(11, 6, 12), wib(11, 6, 16), wib(11, 6, 20)]
    night += [wib(11, 7, 10)]
    night += [wib(11, 8, 12), wib(11, 9, 7, 59), first_out - dt.timedelta(minutes=1)]
    looked = 0
    for when in night:
        result = run(app, when)
        assert result.steps == 0, when
        looked += result.looked
    assert looked == 1  # Friday's first working minute planned the step; nothing else looked
    assert next_look(app, "WDL-F1") == first_out
    assert run(app, first_out).steps == 1
    assert steps(app) == [("WDL-F1", "answer", 1, due, ["dpupr"])]
    [(_type, data)] = sla_events(app)
    assert data["due_at"] == iso(due) == "2026-11-06T09:00:00Z"
    assert data["occurred_at"] == iso(first_out)
    # The clock stood still over the weekend (and the holiday): one working day, no more.
    assert "Sudah 1 hari kerja sejak diterima;" in notices(app)[0][3]


def test_nothing_is_looked_at_outside_working_hours(bridge, clock):
    file(bridge, clock, "WDL-N1", wib(11, 2, 10))
    # Beat did not run in working hours; the first step is overdue by the evening, and waits.
    for when in (wib(11, 2, 16), wib(11, 2, 22), wib(11, 3, 20), wib(11, 4, 7, 59)):
        assert run(bridge, when).looked == 0
    assert run(bridge, wib(11, 4, 8)).steps == 1
    assert [s[1:4] for s in steps(bridge)] == [("answer", 1, wib(11, 3, 10))]
    with bridge.app_context(), new_session() as db:
        calendar = WorkingCalendar(parse_working_hours(None))
        assert sla.due_steps(db, wib(11, 2, 22), calendar) == []


# -- once, whatever happens -----------------------------------------------------------------------


def test_concurrent_runs_take_each_step_once(bridge, clock):
    for number in range(30):
        file(bridge, clock, f"WDL-C{number}", wib(11, 2, 10))
    now = wib(11, 3, 10)
    start = threading.Barrier(3)
    results, errors = [], []

    def ladder():
        try:
            start.wait()
            results.append(run(bridge, now, limit=4))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ladder) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.steps for r in results) == 30
    assert sum(r.looked for r in results) == 30
    assert run(bridge, now).steps == 0
    made = steps(bridge)
    assert len(made) == len({s[0] for s in made}) == 30
    assert len(notices(bridge)) == 60
    assert len(sla_events(bridge)) == 30
    with bridge.app_context(), new_session() as db:
        keys = db.scalars(select(Delivery.dedupe_key).where(Delivery.purpose == "reminder"))
        assert len(set(keys)) == 60


def test_an_answer_stops_the_answer_ladder_and_closing_stops_both(bridge, clock):
    file(bridge, clock, "WDL-A1", wib(11, 2, 10))
    run(bridge, wib(11, 2, 10, 1))
    set_status(bridge, clock, "WDL-A1", "acknowledged", wib(11, 3, 9))
    for when in (wib(11, 3, 10), wib(11, 4, 10), wib(11, 5, 10)):
        assert run(bridge, when).steps == 0
    assert next_look(bridge, "WDL-A1") == wib(11, 10, 10)  # the resolve ladder runs on
    assert run(bridge, wib(11, 10, 10)).steps == 1
    assert steps(bridge) == [("WDL-A1", "resolve", 1, wib(11, 10, 10), ["dpupr"])]
    set_status(bridge, clock, "WDL-A1", "resolved", wib(11, 11, 9))
    assert run(bridge, wib(11, 18, 10)).looked == 1
    assert run(bridge, wib(11, 26, 10)).looked == 0
    assert next_look(bridge, "WDL-A1") is None
    assert len(steps(bridge)) == 1


def test_an_answer_given_after_the_deadline_but_before_the_step_went_out(bridge, clock):
    # Due Friday 16:00, to go out on Monday; answered on Saturday: nothing goes out.
    file(bridge, clock, "WDL-A2", wib(11, 5, 16))
    run(bridge, wib(11, 6, 8))
    set_status(bridge, clock, "WDL-A2", "acknowledged", wib(11, 7, 10))
    assert run(bridge, wib(11, 9, 8)).steps == 0
    assert steps(bridge) == []


def test_a_reroute_restarts_the_ladder_for_the_new_office(bridge, clock):
    file(bridge, clock, "WDL-R1", wib(11, 2, 10))
    run(bridge, wib(11, 2, 10, 1))
    assert run(bridge, wib(11, 3, 10)).steps == 1
    clock.now = wib(11, 3, 11)
    response = bridge.test_client().post(
        f"{URL}/WDL-R1/assign", json={"opd": "dinkes"}, headers=auth(bridge.keys["operator"])
    )
    assert response.status_code == 200, response.get_json()
    # The reminder to the old office had not gone out: it never will.
    with bridge.app_context(), new_session() as db:
        old = db.scalars(select(Delivery).where(Delivery.purpose == "reminder")).all()
        assert {(d.status, d.last_error) for d in old} == {
            ("dead", "cancelled: re-routed to dinkes")
        }
    # dpupr's ladder is over (no escalation on Wednesday 10:00); dinkes's 4h clock starts.
    assert next_look(bridge, "WDL-R1") == wib(11, 3, 11)
    assert run(bridge, wib(11, 3, 15)).steps == 1
    assert run(bridge, wib(11, 4, 10)).steps == 0
    assert steps(bridge) == [
        ("WDL-R1", "answer", 1, wib(11, 3, 10), ["dpupr"]),
        ("WDL-R1", "answer", 1, wib(11, 3, 15), ["dinkes"]),
    ]
    assert sla_events(bridge)[-1][1]["opd"] == "dinkes"
    assert notices(bridge)[-1][:3] == ("reminder", "whatsapp_group", DINKES_WA)


def test_a_reopened_complaint_climbs_a_fresh_resolve_ladder(bridge, clock):
    file(bridge, clock, "WDL-O1", wib(11, 2, 10))
    run(bridge, wib(11, 2, 10, 1))
    set_status(bridge, clock, "WDL-O1", "resolved", wib(11, 3, 9), note="Sudah ditambal")
    run(bridge, wib(11, 3, 10))
    assert next_look(bridge, "WDL-O1") is None
    # Reopened four weeks later: the old clock (from 2 November) would be 3x over already.
    set_status(bridge, clock, "WDL-O1", "reopened", wib(11, 30, 10), key="wadule")
    assert run(bridge, wib(11, 30, 10, 1)) == sla.LadderResult(looked=1, steps=0, notices=0)
    assert next_look(bridge, "WDL-O1") == wib(12, 8, 10)  # 6d from Monday 30 November
    assert run(bridge, wib(12, 8, 10)).steps == 1
    assert steps(bridge) == [("WDL-O1", "resolve", 1, wib(12, 8, 10), ["dpupr"])]
    [(_purpose, _kind, _target, text), *_] = notices(bridge)
    assert "*Pengingat: aduan #WDL-O1 belum selesai*" in text
    assert "Sudah 6 hari kerja sejak dibuka kembali; batas penyelesaian 6 hari kerja." in text


def test_without_a_leadership_the_third_step_is_an_event_to_nobody(make_app, clock):
    directory = {k: v for k, v in DIRECTORY.items() if k != "leadership"}
    app = prepared(make_app(), directory)
    file(app, clock, "WDL-L1", wib(11, 2, 10))
    for when in (wib(11, 2, 11), wib(11, 3, 10), wib(11, 4, 10), wib(11, 5, 10)):
        run(app, when)
    assert steps(app)[-1] == ("WDL-L1", "answer", 3, wib(11, 5, 10), [])
    assert sla_events(app)[-1][0] == "complaint.escalated"
    assert sla_events(app)[-1][1]["to"] == []
    assert [target for _p, _k, target, _t in notices(app)] == [
        DPUPR_WA,
        DPUPR_TG,
        TRIAGE_WA,
        TRIAGE_TG,
    ]
    assert run(app, wib(11, 5, 11)).steps == 0  # taken once, like any step


# -- the outbox and Wadule ------------------------------------------------------------------------


def test_notices_go_out_as_written_and_stay_out_of_the_complaint(make_app, clock):
    bridge = prepared(make_app(BRIDGE_RATE_LIMITS="whatsapp_group=100/1"))
    file(bridge, clock, "WDL-D1", wib(11, 2, 10))
    run(bridge, wib(11, 2, 11))
    run(bridge, wib(11, 3, 10))
    with bridge.app_context(), new_session() as db:
        forwards = db.scalars(select(Delivery.id).where(Delivery.purpose == "forward")).all()
        reminders = db.scalars(select(Delivery.id).where(Delivery.purpose == "reminder")).all()
    with bridge.app_context():
        # The forward first: a target's rows go out in order.
        for row_id in (*forwards, *reminders):
            outbox.deliver(row_id)
    with bridge.app_context(), new_session() as db:
        sent = db.execute(
            select(SandboxMessage.kind, SandboxMessage.target, SandboxMessage.text).where(
                SandboxMessage.delivery_id.in_(reminders)
            )
        ).all()
        updates = db.scalars(select(Event.data).where(Event.type == "complaint.delivery_updated"))
        updated_rows = {(d["channel"], d["target"]) for d in updates}
    text = reminder("WDL-D1", waited="1 hari kerja")
    assert sorted(sent) == [("telegram", DPUPR_TG, text), ("whatsapp_group", DPUPR_WA, text)]
    # Wadule hears of the complaint's own deliveries only.
    assert ("whatsapp_group", DPUPR_WA) in updated_rows
    assert len(updated_rows) == len(forwards)
    shown = bridge.test_client().get(f"{URL}/WDL-D1", headers=auth(bridge.keys["wadule"]))
    assert [d["channel"] for d in shown.get_json()["deliveries"]] == [
        "whatsapp_group",
        "telegram",
        "webhook",
        "facebook_page",
    ]


def test_the_steps_events_are_pushed_to_wadule(make_app, clock):
    with FakeWebhookReceiver() as receiver:
        app = prepared(
            make_app(
                BRIDGE_WADULE_CALLBACK_URL=receiver.url_for("/wadule/events"),
                BRIDGE_WADULE_WEBHOOK_SECRET=DEFAULT_SECRET,
            )
        )
        file(app, clock, "WDL-P1", wib(11, 2, 10))
        run(app, wib(11, 2, 11))
        run(app, wib(11, 4, 10))  # both steps at once: beat was down on Tuesday
        with app.app_context():
            assert callbacks.push_due().delivered == 2
        pushed = [(d.payload["type"], d.payload["data"]) for d in receiver.verified]
    assert [(t, d["stage"], d["due_at"], d["to"]) for t, d in pushed] == [
        ("complaint.sla_reminder", 1, "2026-11-03T03:00:00Z", ["dpupr"]),
        ("complaint.escalated", 2, "2026-11-04T03:00:00Z", ["diskominfo"]),
    ]
    assert pushed[0][1]["wadule_id"] == "WDL-P1" and pushed[0][1]["opd"] == "dpupr"


def test_a_reply_to_the_reminder_answers_the_complaint(make_app, fake_waha, clock):
    clock.now = wib(11, 2, 10)
    with FakeTelegram() as telegram:
        group = make_bridge(make_app, fake_waha, telegram)
        group.deliver("WDL-I1", "whatsapp_group")
        run(group.app, wib(11, 2, 11))
        run(group.app, wib(11, 3, 10))
        with group.app.app_context(), new_session() as db:
            row = db.scalar(
                select(Delivery.id).where(
                    Delivery.purpose == "reminder", Delivery.target == GROUP_DPUPR
                )
            )
        with group.app.app_context():
            assert outbox.deliver(row).outcome == "sent"
        sent = fake_waha.received(GROUP_DPUPR)[-1]
        assert sent.text.startswith("⏰ *Pengingat: aduan #WDL-I1 belum dijawab*")
        clock.now = wib(11, 3, 11)
        assert group.say(GROUP_DPUPR, "terima Segera dicek", reply_to=sent.id)["status"] == (
            "handled"
        )
    assert group.status("WDL-I1") == "acknowledged"
    run(group.app, wib(11, 4, 10))
    assert [s[1:3] for s in steps(group.app) if s[0] == "WDL-I1"] == [("answer", 1)]


# -- the pieces -----------------------------------------------------------------------------------


def test_waited_time_in_words():
    calendar = WorkingCalendar(parse_working_hours(None))
    start = wib(11, 2, 10)
    assert sla.waited_text(calendar, start, wib(11, 2, 10, 45)) == "45 menit"
    assert sla.waited_text(calendar, start, wib(11, 2, 15, 30)) == "5 jam"
    assert sla.waited_text(calendar, start, wib(11, 3, 10)) == "1 hari kerja"
    assert sla.waited_text(calendar, start, wib(11, 3, 12, 59)) == "1 hari kerja 2 jam"
    assert sla.waited_text(calendar, start, wib(11, 9, 9)) == "4 hari kerja 7 jam"
    assert sla.duration_text(Duration(6, "d")) == "6 hari kerja"
    assert sla.duration_text(Duration(30, "m")) == "30 menit kerja"


def test_notice_kinds_are_registered_private_kinds():
    assert set(sla.NOTICE_KINDS) <= set(channels.private_kinds())
    assert "webhook" not in sla.NOTICE_KINDS


def test_the_due_look_up_reads_the_partial_index(bridge):
    engine = engine_of(bridge)
    statement = (
        select(Complaint.id)
        .where(Complaint.next_sla_at <= wib(11, 3, 10))
        .order_by(Complaint.next_sla_at, Complaint.id)
        .limit(200)
    )
    sql = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_complaints_next_sla_at" in plan, plan


def test_the_ladder_on_sqlite(tmp_path, monkeypatch, clock):
    from bridge import create_app

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/bridge.db"
    upgrade(url)
    app = create_app(
        settings=Settings.from_env({"BRIDGE_DATABASE_URL": url, "BRIDGE_SANDBOX": "1"})
    )
    try:
        prepared(app)
        file(app, clock, "WDL-Q1", wib(11, 2, 10))
        assert run(app, wib(11, 2, 11)).looked == 1
        assert next_look(app, "WDL-Q1") == wib(11, 3, 10)
        assert run(app, wib(11, 3, 10)).notices == 2
        assert run(app, wib(11, 3, 10)).steps == 0
        assert steps(app) == [("WDL-Q1", "answer", 1, wib(11, 3, 10), ["dpupr"])]
        assert sla_events(app)[0][1]["due_at"] == "2026-11-03T03:00:00Z"
        with app.app_context(), new_session() as db:
            assert db.scalar(select(func.count()).select_from(SlaStep)) == 1
    finally:
        engine_of(app).dispose()


def test_the_upgrade_starts_the_ladders_of_open_complaints(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0008")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO opds (id, slug, name, categories, responders, active, is_triage,"
                    " is_leadership, position, created_at, updated_at) VALUES (1, 'dpupr', 'D',"
                    " '[]', '[]', 1, 1, 0, 0, '2026-11-02 03:00:00', '2026-11-02 03:00:00')"
                )
            )
            for wadule_id, status in (("WDL-OPEN", "forwarded"), ("WDL-DONE", "resolved")):
                conn.execute(
                    text(
                        "INSERT INTO complaints (wadule_id, content_hash, opd_id, routed_by,"
                        " status, round, title, body, anonymous, confidential, attachments,"
                        " created_at, updated_at) VALUES (:id, 'h', 1, 'opd', :status, 1, 't',"
                        " 'b', 0, 0, '[]', '2026-11-02 03:00:00.000000',"
                        " '2026-11-02 04:00:00.000000')"
                    ),
                    {"id": wadule_id, "status": status},
                )
        upgrade(url)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT wadule_id, next_sla_at FROM complaints")).all())
    finally:
        engine.dispose()
    # Open complaints get their first look at once; closed ones have no clock to run.
    assert rows == {"WDL-OPEN": "2026-11-02 03:00:00.000000", "WDL-DONE": None}


def test_beat_runs_the_ladder_every_minute(bridge):
    from bridge.queue import HOUSEKEEPING_QUEUE, SLA_TASK, celery_config

    entry = celery_config(bridge.config["BRIDGE_SETTINGS"])["beat_schedule"]["sla-ladder"]
    assert (entry["task"], entry["schedule"]) == (SLA_TASK, 60.0)
    assert entry["options"]["queue"] == HOUSEKEEPING_QUEUE
    import workers.tasks  # noqa: F401  (registers the tasks)

    task = bridge.extensions["celery"].tasks[SLA_TASK]
    # Run as a worker would, at the real time: the summary of the run.
    assert set(task.apply().get()) == {"looked", "steps", "notices"}
