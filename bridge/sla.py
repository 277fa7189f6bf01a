"""The working-time SLA ladder: reminders and escalations (contract sections 6 and 10).

Each complaint has two clocks, measured in working time (:mod:`bridge.worktime`) against its
office's ``sla`` (``Opd.sla``; defaults 1d answer, 6d resolve):

- **answer** starts when the current office received the complaint (the latest ``received``
  history entry: ingest, or a re-route, which restarts it) and stops at the first answer
  (``acknowledged`` or later, :data:`~bridge.statuses.ANSWERED_STATUSES`).
- **resolve** starts at the same moment and stops at ``resolved``/``rejected``. A reopen starts
  it again from the reopen (the answer clock stays stopped: the office answered already), so a
  complaint reopened long after receipt climbs a fresh ladder instead of firing the old one.

Each clock climbs a ladder of three steps, at 1, 2 and 3 times its SLA after its start
(:meth:`~bridge.worktime.WorkingCalendar.deadline_multiple`):

1. a reminder (``complaint.sla_reminder``) in the office's own groups;
2. an escalation (``complaint.escalated``) to the triage OPD's groups;
3. an escalation to the leadership OPD's groups. The leadership is optional in the directory:
   without one the step is still taken and recorded as an event, with ``to: []`` (Wadule
   learns that three times the SLA passed; nobody in the bridge's groups was told).

A step is taken only in working hours: one that falls due at 16:00 on a Friday goes out at the
next working start (Monday 08:00, or later around holidays); its event's ``due_at`` is the real
deadline. A step whose clock stopped before it went out is dropped. Steps that fell due while
the ladder did not run (beat down) are all taken at its next working minute, none skipped.

"Groups" are the private channels people read: :data:`NOTICE_KINDS` (WhatsApp groups and
Telegram). Webhook receivers are machines that expect complaints, and public channels never
carry the bridge's notices. An office with no such channel is not in the event's ``to``.

State lives in the database, so a restart neither skips nor repeats a step:

- ``complaints.next_sla_at``: when the ladder should look at the complaint next. Ingest, a
  re-route and a reopen set it to the clock's start; each look sets it to the moment the next
  step may go out (its deadline, moved to working hours), or None when no clock runs. A clock
  that stops needs no hook: the look at its next step finds it stopped and moves on. The
  every-minute query reads only due rows, through a partial index.
- ``sla_steps``: one row per step taken, unique on (complaint, clock, stage, clock start); a
  clock that starts again has a new start, hence a fresh ladder.

Due complaints are locked for the look (``FOR UPDATE SKIP LOCKED``), so two runs at once take
different complaints; the unique row catches anything else. The step rows, their outbox rows
(notices with their text written now: :data:`~bridge.statuses.DeliveryPurpose.REMINDER` and
``ESCALATION``), the events and the next look commit together. A notice carries the
complaint's round, so a re-route or reopen cancels those not yet sent; a reply to one with the
word (``terima ...``) counts like a reply to the complaint's own message (bridge.commands).

Settings and SLAs are read at each look: a changed ``BRIDGE_WORKING_HOURS`` or ``sla`` applies
from the next look of each complaint (already planned looks keep their time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, load_only, selectinload

from bridge import channels, events, messages, queue
from bridge.models import Channel, Complaint, Delivery, Opd, SlaStep, StatusChange
from bridge.statuses import (
    ANSWERED_STATUSES,
    CLOSED_STATUSES,
    ComplaintStatus,
    DeliveryPurpose,
    DeliveryStatus,
)
from bridge.worktime import Duration, HistoryEntry, Sla, WorkingCalendar, clock_start

log = logging.getLogger(__name__)

ANSWER = "answer"
RESOLVE = "resolve"
#: 1: a reminder to the office; 2: an escalation to triage; 3: to the leadership.
STAGES = (1, 2, 3)
#: The private kinds people read in a group, where the bridge's notices go. (The registry
#: has no such fact yet; a test checks these are registered private kinds.)
NOTICE_KINDS = ("whatsapp_group", "telegram")
#: Complaints looked at per transaction, and how long one run may go on (beat runs it every
#: minute; a backlog is worked off over several runs).
BATCH = 200
BUDGET_SECONDS = 45.0

#: The history entries that start or stop a clock.
_CLOCK_STATUSES = sorted({ComplaintStatus.RECEIVED, ComplaintStatus.REOPENED, *ANSWERED_STATUSES})


@dataclasses.dataclass(frozen=True)
class Clock:
    """A running clock: ``answer`` or ``resolve``, and when it started."""

    name: str
    start: dt.datetime
    #: Started by a reopen (the message says "since reopened", not "since received").
    reopened: bool = False


@dataclasses.dataclass(frozen=True)
class Step:
    """A step of a complaint's ladder that is due: ``stage`` of ``clock``, deadline ``due_at``."""

    clock: Clock
    stage: int
    due_at: dt.datetime


@dataclasses.dataclass
class Look:
    """One complaint looked at: its steps due now, and when to look at it next (None: no
    clock runs)."""

    complaint: Complaint
    #: The complaint's office, with its channels (held here: the session keeps it only weakly).
    office: Opd
    steps: list[Step]
    next_at: dt.datetime | None


@dataclasses.dataclass
class LadderResult:
    looked: int = 0
    steps: int = 0
    notices: int = 0


# -- the clocks and the ladder (no database) ------------------------------------------------------


def running_clocks(history: Sequence[HistoryEntry], status: str) -> list[Clock]:
    """The clocks that run for a complaint with this ``history`` (in order) and ``status``."""
    start = clock_start(history)
    if start is None:
        return []
    last_received = max(
        i for i, entry in enumerate(history) if entry.status == ComplaintStatus.RECEIVED
    )
    since = history[last_received + 1 :]
    clocks = []
    if not any(entry.status in ANSWERED_STATUSES for entry in since):
        clocks.append(Clock(ANSWER, start))
    if status not in CLOSED_STATUSES:
        reopens = [entry.at for entry in since if entry.status == ComplaintStatus.REOPENED]
        clocks.append(Clock(RESOLVE, reopens[-1], True) if reopens else Clock(RESOLVE, start))
    return clocks


def plan(
    clocks: Sequence[Clock],
    sla: Sla,
    calendar: WorkingCalendar,
    now: dt.datetime,
    taken: set[tuple[str, int, dt.datetime]],
) -> tuple[list[Step], dt.datetime | None]:
    """The steps due at ``now`` that are not ``taken`` yet (``(clock, stage, start)``), and
    when the next one may go out: its deadline, or the next working start after it."""
    due, later = [], []
    for clock in clocks:
        duration = getattr(sla, clock.name)
        for stage in STAGES:
            if (clock.name, stage, clock.start) in taken:
                continue
            deadline = calendar.deadline_multiple(clock.start, duration, stage)
            if deadline > now:
                later.append(calendar.next_working_start(deadline))
                break
            due.append(Step(clock, stage, deadline))
    return due, min(later, default=None)


# -- the database ---------------------------------------------------------------------------------


def due_steps(
    db: Session, now: dt.datetime, calendar: WorkingCalendar, *, limit: int = BATCH
) -> list[Look]:
    """Up to ``limit`` complaints whose ladder is due for a look, locked for this transaction
    (another run skips them), each with its steps due now. Nothing outside working hours."""
    if not calendar.is_working(now):
        return []
    complaints = db.scalars(
        select(Complaint)
        .where(Complaint.next_sla_at <= now)
        .order_by(Complaint.next_sla_at, Complaint.id)
        .limit(limit)
        .options(
            load_only(
                Complaint.wadule_id,
                Complaint.title,
                Complaint.status,
                Complaint.opd_id,
                Complaint.round,
                Complaint.next_sla_at,
            )
        )
        .with_for_update(skip_locked=True, of=Complaint)
        .execution_options(populate_existing=True)
    ).all()
    if not complaints:
        return []
    ids = [c.id for c in complaints]
    # Every OPD, so that complaint.opd comes from the session without a query each.
    opds = {opd.id: opd for opd in db.scalars(select(Opd).options(selectinload(Opd.channels)))}
    history: dict[int, list] = {}
    for row in db.execute(
        select(StatusChange.complaint_id, StatusChange.status, StatusChange.at)
        .where(StatusChange.complaint_id.in_(ids), StatusChange.status.in_(_CLOCK_STATUSES))
        .order_by(StatusChange.id)
    ):
        history.setdefault(row.complaint_id, []).append(row)
    taken: dict[int, set] = {}
    for row in db.execute(
        select(SlaStep.complaint_id, SlaStep.clock, SlaStep.stage, SlaStep.clock_start).where(
            SlaStep.complaint_id.in_(ids)
        )
    ):
        taken.setdefault(row.complaint_id, set()).add((row.clock, row.stage, row.clock_start))
    looks = []
    for complaint in complaints:
        clocks = running_clocks(history.get(complaint.id, []), complaint.status)
        office = opds[complaint.opd_id]
        complaint.known_opd_slug = office.slug
        sla = Sla.from_json(office.sla)
        steps, next_at = plan(clocks, sla, calendar, now, taken.get(complaint.id, set()))
        looks.append(Look(complaint, office, steps, next_at))
    return looks


def run_ladder(
    db: Session,
    now: dt.datetime,
    *,
    calendar: WorkingCalendar | None = None,
    limit: int = BATCH,
    budget: float = BUDGET_SECONDS,
) -> LadderResult:
    """Take every step due at ``now``, each exactly once: step row, notices in the outbox
    (rung after commit) and event, committed per batch of ``limit`` complaints."""
    settings = current_app.config["BRIDGE_SETTINGS"]
    calendar = calendar or WorkingCalendar.from_settings(settings)
    result = LadderResult()
    give_up = time.monotonic() + budget
    while True:
        looks = due_steps(db, now, calendar, limit=limit)
        if not looks:
            break
        notices = _take(db, looks, now, calendar, settings)
        db.commit()
        result.looked += len(looks)
        result.steps += sum(len(look.steps) for look in looks)
        result.notices += notices
        if len(looks) < limit or time.monotonic() >= give_up:
            break
    if result.steps:
        log.info("sla ladder: %d steps, %d notices", result.steps, result.notices)
    return result


def _take(db: Session, looks: list[Look], now, calendar, settings) -> int:
    """Record the looks' steps (rows, notices, events) and their next looks; returns the
    number of notices queued."""
    triage = leadership = None
    for opd in db.scalars(
        select(Opd).where(Opd.active.is_(True), or_(Opd.is_triage, Opd.is_leadership))
    ):
        triage = opd if opd.is_triage else triage
        leadership = opd if opd.is_leadership else leadership
    # (complaint, office, step, the OPD told or None, its notice channels)
    taken = []
    for look in looks:
        for step in look.steps:
            opd = {1: look.office, 2: triage, 3: leadership}[step.stage]
            groups = notice_channels(opd) if opd is not None else []
            if step.stage == 3 and leadership is None:
                log.warning("sla: %s is 3x its %s SLA; no leadership OPD to tell",
                            look.complaint.wadule_id, step.clock.name)  # fmt: skip
            taken.append((look.complaint, look.office, step, opd if groups else None, groups))
    rows, new_events = [], []
    if taken:
        table = SlaStep.__table__
        step_ids = db.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [
                {
                    "complaint_id": complaint.id,
                    "clock": step.clock.name,
                    "stage": step.stage,
                    "clock_start": step.clock.start,
                    "due_at": step.due_at,
                    "sent_at": now,
                    "recipients": [told.slug] if told else [],
                }
                for complaint, _office, step, told, _groups in taken
            ],
        ).scalars()
        for step_id, (complaint, office, step, told, groups) in zip(step_ids, taken, strict=True):
            text = notice_text(complaint, office, step, now, calendar, settings, triage=triage)
            rows += [_notice_row(step_id, complaint, step, group, text, now) for group in groups]
            shape = events.sla_reminder if step.stage == 1 else events.escalated
            new_events.append(
                shape(
                    complaint,
                    sla=step.clock.name,
                    stage=step.stage,
                    due_at=step.due_at,
                    to=[told.slug] if told else [],
                )
            )
    if rows:
        table = Delivery.__table__
        ids = db.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        queue.ring(db, [(row_id, row["lane"]) for row_id, row in zip(ids, rows, strict=True)])
    table = Complaint.__table__
    db.execute(
        update(table)
        .where(table.c.id == bindparam("look_id"))
        # A look is not a change of the complaint: its updated_at stays.
        .values(next_sla_at=bindparam("look_next"), updated_at=table.c.updated_at),
        [{"look_id": look.complaint.id, "look_next": look.next_at} for look in looks],
    )
    # Last: the event counter stays locked until the commit, and every change waits for it.
    events.record(db, new_events, at=now)
    return len(rows)


def notice_channels(opd: Opd) -> list[Channel]:
    """The OPD's active channels that take the bridge's notices, in the registry's order."""
    chosen = [ch for ch in opd.channels if ch.active and ch.kind in NOTICE_KINDS]
    return sorted(chosen, key=lambda ch: (channels.order_of(ch.kind), ch.position))


def _notice_row(step_id: int, complaint: Complaint, step: Step, channel: Channel, text, now):
    return {
        # One row per step and channel, whatever happens to the step's other rows.
        "dedupe_key": f"sla:{step_id}:{channel.id}",
        "purpose": DeliveryPurpose.REMINDER if step.stage == 1 else DeliveryPurpose.ESCALATION,
        "complaint_id": complaint.id,
        "channel_id": channel.id,
        # The complaint's round: a re-route or reopen cancels the notices not yet sent.
        "round": complaint.round,
        "text": text,
        "kind": channel.kind,
        "lane": channels.lane_of(channel.kind),
        "target": channel.target,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "published_at": now,
        "created_at": now,
        "updated_at": now,
    }


# -- the messages (Indonesian, read on a phone) ---------------------------------------------------

_NOT_YET = {ANSWER: "belum dijawab", RESOLVE: "belum selesai"}
_LIMIT = {ANSWER: "batas jawaban", RESOLVE: "batas penyelesaian"}
_STAGE = {1: "1 dari 3 (pengingat)", 2: "2 dari 3 (eskalasi ke triase)",
          3: "3 dari 3 (eskalasi ke pimpinan)"}  # fmt: skip
_UNITS = {"d": "hari kerja", "h": "jam kerja", "m": "menit kerja", "s": "detik kerja"}


def notice_text(
    complaint: Complaint,
    office: Opd,
    step: Step,
    now: dt.datetime,
    calendar: WorkingCalendar,
    settings,
    *,
    triage: Opd | None,
) -> str:
    """The message of ``step`` as of ``now``: :func:`reminder_text` or :func:`escalation_text`."""
    sla = getattr(Sla.from_json(office.sla), step.clock.name)
    common = {
        "wadule_id": complaint.wadule_id,
        "title": complaint.title,
        "office": office.name,
        "clock": step.clock.name,
        "waited": waited_text(calendar, step.clock.start, now),
        "sla": sla,
        "reopened": step.clock.reopened,
        "link": messages.complaint_link(settings, complaint.wadule_id),
    }
    if step.stage == 1:
        return reminder_text(**common)
    return escalation_text(
        stage=step.stage, triage_name=triage.name if triage else "triase", **common
    )


def reminder_text(
    *,
    wadule_id: str,
    title: str,
    office: str,
    clock: str,
    waited: str,
    sla: Duration,
    reopened: bool,
    link: str,
) -> str:
    """Stage 1, in the office's own groups: what waits, how long, and how to answer."""
    head = f"⏰ *Pengingat: aduan #{wadule_id} {_NOT_YET[clock]}*"
    facts = _facts(1, title, office, clock, waited, sla, reopened)
    return f"{head}\n{facts}\n\n🔗 {link}\n\n{messages.reply_help(wadule_id)}"


def escalation_text(
    *,
    stage: int,
    wadule_id: str,
    title: str,
    office: str,
    clock: str,
    waited: str,
    sla: Duration,
    reopened: bool,
    link: str,
    triage_name: str,
) -> str:
    """Stage 2 (triage's groups, where commands count: the reply help and ``alihkan``) or
    stage 3 (the leadership's, where they do not: it says which groups answer instead)."""
    mark = "⚠️" if stage == 2 else "🚨"
    head = f"{mark} *Eskalasi: aduan #{wadule_id} {_NOT_YET[clock]}*"
    facts = _facts(stage, title, office, clock, waited, sla, reopened)
    if stage == 2:
        help_ = messages.reply_help(wadule_id)
        tail = f"Bila salah alamat, alihkan: #{wadule_id} alihkan <opd>\n\n{help_}"
    else:
        tail = f"Jawaban dicatat dari grup {_line(office)} atau grup {_line(triage_name)}."
    return f"{head}\n{facts}\n\n🔗 {link}\n\n{tail}"


def _facts(stage, title, office, clock, waited, sla, reopened) -> str:
    since = "dibuka kembali" if reopened else "diterima"
    return (
        f"*Judul:* {_line(title) or '(tanpa judul)'}\n"
        f"*OPD:* {_line(office)}\n"
        f"*Tahap:* {_STAGE[stage]}\n"
        f"Sudah {waited} sejak {since}; {_LIMIT[clock]} {duration_text(sla)}."
    )


def duration_text(duration: Duration) -> str:
    """``1 hari kerja``, ``4 jam kerja``: an SLA as the directory gives it, in words."""
    return f"{duration.amount} {_UNITS[duration.unit]}"


def waited_text(calendar: WorkingCalendar, start: dt.datetime, now: dt.datetime) -> str:
    """Working time from ``start`` to ``now`` in words: ``1 hari kerja 2 jam``, ``5 jam``,
    ``45 menit``. Whole working days first (as SLAs count them), then the hours past the
    last whole day."""
    # elapsed_days(t, add(t, Nd)) is N to within 1e-9: a whole day must not read as N-1.
    days = max(0, math.floor(calendar.elapsed_days(start, now) + 1e-6))
    anchor = calendar.add(start, Duration(days, "d")) if days else start
    seconds = max(0.0, calendar.elapsed(anchor, now))
    hours, minutes = int(seconds // 3600), int(seconds % 3600 // 60)
    parts = [f"{days} hari kerja"] if days else []
    if hours:
        parts.append(f"{hours} jam")
    if not parts:
        parts.append(f"{minutes} menit")
    return " ".join(parts)


def _line(value: str | None) -> str:
    """One line of text: whitespace collapsed (a title may hold newlines)."""
    return " ".join(str(value or "").split())
