"""A small directory and a known week: 2026-W10 (Monday 2 to Sunday 8 March 2026, WIB), with
2026-W09 before it. Working hours are the default Mon-Fri 08:00-16:00; neither week holds an
Indonesian public holiday (17 February and 19 March are the nearest).

What each complaint is for (times WIB; the expected figures are in test_weekly.py):

dpu (default SLA 1d/6d), all four covered channels:
  C1  received Mon 2 Mar 08:00, acknowledged 12:00, resolved Wed 4 Mar 16:00: 3.0 days, cepat
  C2  received Fri 27 Feb 08:00, acknowledged 10:00, resolved Wed 4 Mar 09:00: 3.125 -> 4, sedang
  C3  received Mon 23 Feb 08:00, acknowledged 09:00, resolved Tue 3 Mar 16:00: 7.0, lambat
  C4  received Tue 24 Feb 08:00, acknowledged 08:30, resolved Tue 3 Mar 16:00: 6.0, sedang
  C5  received Thu 5 Mar 08:00, never answered: past its answer SLA (Thu 16:00)
  C6  received Fri 6 Mar 15:00, never answered: due Mon 9 Mar 15:00, after the week
dinkes (default SLA), WhatsApp and X (X unusable):
  C7  received Mon 2 Mar 08:00, acknowledged Wed 4 Mar 12:00 (2.5 days), in progress Thu
  C8  received Tue 3 Mar 08:00, rejected 10:00 (an answer; not graded)
  C9  received Wed 25 Feb 08:00, resolved 14:00 (W09: cepat), reopened Tue 3 Mar 09:00: open
      past its resolve SLA (Wed 4 Mar 16:00)
bpbd (own SLA 4h/3d), WhatsApp and Telegram:
  C10 received Mon 2 Mar 08:00, acknowledged 14:00 (6 h: over 4h), resolved Wed 4 Mar 15:00
  C11 received by kominfo Mon 2 Mar 09:00, re-routed to bpbd Tue 3 Mar 09:00, never answered
kominfo (triage):
  C12 received Fri 6 Mar 10:00, re-routed to bpbd Tue 10 Mar 09:00 (after the week): counts
      for kominfo in W10
dishub, WhatsApp only (unusable):
  C13 received Mon 2 Mar 10:00, never answered
  C14 received Sun 8 Mar 10:00 (not a working day), never answered
dlh: no complaints. pimpinan (leadership): WhatsApp group and Telegram, no complaints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest
from sqlalchemy import select

from bridge.db import new_session
from bridge.events import REROUTED
from bridge.models import Channel, ChannelCheck, Complaint, Event, Opd, StatusChange
from bridge.worktime import WIB, IsoWeek
from tests.support import use_directory

WEEK = IsoWeek(2026, 10)
#: When the report is made: Tuesday after the week, 10:00 WIB.
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=WIB).astimezone(dt.UTC)

DIRECTORY = {
    "triage": "kominfo",
    "leadership": "pimpinan",
    "opds": [
        {
            "slug": "kominfo",
            "name": "Dinas Kominfo",
            "channels": [{"kind": "whatsapp_group", "target": "120363000000000900@g.us"}],
        },
        {
            "slug": "pimpinan",
            "name": "Pimpinan Daerah",
            "channels": [
                {"kind": "whatsapp_group", "target": "120363000000000999@g.us"},
                {"kind": "telegram", "target": "-1001000000000999"},
            ],
        },
        {
            "slug": "dpu",
            "name": "Dinas PU",
            "channels": [
                {"kind": "whatsapp_group", "target": "120363000000000901@g.us"},
                {"kind": "facebook_page", "target": "100000000000901", "token_env": "FB_DPU"},
                {"kind": "instagram", "target": "17841400000000901", "token_env": "IG_DPU"},
                {
                    "kind": "x",
                    "target": "dpu_pacitan",
                    "token_env": "X_TOKEN_DPU",
                    "secret_env": "X_SECRET_DPU",
                },
            ],
        },
        {
            "slug": "dinkes",
            "name": "Dinas Kesehatan",
            "channels": [
                {"kind": "whatsapp_group", "target": "120363000000000902@g.us"},
                {
                    "kind": "x",
                    "target": "dinkes_pacitan",
                    "token_env": "X_TOKEN_DINKES",
                    "secret_env": "X_SECRET_DINKES",
                },
            ],
        },
        {
            "slug": "bpbd",
            "name": "BPBD",
            "sla": {"answer": "4h", "resolve": "3d"},
            "channels": [
                {"kind": "whatsapp_group", "target": "120363000000000903@g.us"},
                {"kind": "telegram", "target": "-1001000000000903"},
            ],
        },
        {
            "slug": "dishub",
            "name": "Dinas Perhubungan",
            "channels": [{"kind": "whatsapp_group", "target": "120363000000000904@g.us"}],
        },
        {
            "slug": "dlh",
            "name": "Dinas Lingkungan Hidup",
            "channels": [{"kind": "whatsapp_group", "target": "120363000000000905@g.us"}],
        },
    ],
}


def wib(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(dt.UTC)


def feb(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return wib(day, hour, minute, month=2)


#: wadule id -> (office now, [(status, at) or ("reroute", at, from, to)]).
COMPLAINTS = {
    "C1": ("dpu", [("received", wib(2, 8)), ("acknowledged", wib(2, 12)),
                   ("resolved", wib(4, 16))]),
    "C2": ("dpu", [("received", feb(27, 8)), ("acknowledged", feb(27, 10)),
                   ("resolved", wib(4, 9))]),
    "C3": ("dpu", [("received", feb(23, 8)), ("acknowledged", feb(23, 9)),
                   ("resolved", wib(3, 16))]),
    "C4": ("dpu", [("received", feb(24, 8)), ("acknowledged", feb(24, 8, 30)),
                   ("resolved", wib(3, 16))]),
    "C5": ("dpu", [("received", wib(5, 8)), ("forwarded", wib(5, 8, 1))]),
    "C6": ("dpu", [("received", wib(6, 15)), ("forwarded", wib(6, 15, 1))]),
    "C7": ("dinkes", [("received", wib(2, 8)), ("acknowledged", wib(4, 12)),
                      ("in_progress", wib(5, 9))]),
    "C8": ("dinkes", [("received", wib(3, 8)), ("rejected", wib(3, 10))]),
    "C9": ("dinkes", [("received", feb(25, 8)), ("resolved", feb(25, 14)),
                      ("reopened", wib(3, 9))]),
    "C10": ("bpbd", [("received", wib(2, 8)), ("acknowledged", wib(2, 14)),
                     ("resolved", wib(4, 15))]),
    "C11": ("bpbd", [("received", wib(2, 9)), ("reroute", wib(3, 9), "kominfo", "bpbd")]),
    "C12": ("bpbd", [("received", wib(6, 10)), ("reroute", wib(10, 9), "kominfo", "bpbd")]),
    "C13": ("dishub", [("received", wib(2, 10)), ("forwarded", wib(2, 10, 1))]),
    "C14": ("dishub", [("received", wib(8, 10))]),
}  # fmt: skip

#: (office, kind) -> (verdict, reason) of the last channel check; others never checked.
CHECKS = {
    ("kominfo", "whatsapp_group"): ("ok", "session 'default' is WORKING"),
    ("dpu", "whatsapp_group"): ("ok", "session 'default' is WORKING"),
    ("dpu", "facebook_page"): ("ok", "the token can publish"),
    ("dpu", "instagram"): ("warning", "the token expires in 5 days"),
    ("dinkes", "whatsapp_group"): ("ok", "session 'default' is WORKING"),
    ("dinkes", "x"): ("unusable", "X refused the credentials"),
    ("bpbd", "whatsapp_group"): ("ok", "session 'default' is WORKING"),
    ("dishub", "whatsapp_group"): ("unusable", "the session's number is not in the group"),
    ("dlh", "whatsapp_group"): ("ok", "session 'default' is WORKING"),
}


def load_sample(app) -> None:
    """The directory, complaints, histories, re-route events and channel checks above."""
    use_directory(app, DIRECTORY)
    seq = itertools.count(1)
    with app.app_context(), new_session() as db:
        opds = {opd.slug: opd for opd in db.scalars(select(Opd))}
        for wadule_id, (office, steps) in COMPLAINTS.items():
            first = steps[0][1]
            last_status = "received" if steps[-1][0] == "reroute" else steps[-1][0]
            complaint = Complaint(
                wadule_id=wadule_id,
                content_hash=hashlib.sha256(wadule_id.encode()).hexdigest(),
                opd_id=opds[office].id,
                routed_by="category",
                status=last_status,
                round=1 + sum(1 for step in steps if step[0] == "reroute"),
                title=f"Aduan {wadule_id}",
                body="Isi aduan.",
                created_at=first,
                updated_at=steps[-1][1],
            )
            db.add(complaint)
            db.flush()
            for step in steps:
                status, at = step[0], step[1]
                if status == "reroute":
                    _, _, from_slug, to_slug = step
                    db.add(
                        Event(
                            seq=next(seq),
                            complaint_id=complaint.id,
                            type=REROUTED,
                            data={"wadule_id": wadule_id, "from_opd": from_slug, "to_opd": to_slug},
                            occurred_at=at,
                            push_status="skipped",
                            next_push_at=at,
                        )
                    )
                    status = "received"
                db.add(
                    StatusChange(
                        complaint_id=complaint.id,
                        status=status,
                        actor_kind="test",
                        actor_name="test",
                        at=at,
                    )
                )
        channels = db.execute(select(Channel, Opd.slug).join(Opd)).all()
        for channel, slug in channels:
            verdict = CHECKS.get((slug, channel.kind))
            if verdict is not None:
                db.add(
                    ChannelCheck(
                        channel_id=channel.id,
                        verdict=verdict[0],
                        reason=verdict[1],
                        details={},
                        checked_at=NOW - dt.timedelta(hours=4),
                    )
                )
        db.commit()


@pytest.fixture
def sample(app):
    """The app with the sample week loaded."""
    load_sample(app)
    return app
