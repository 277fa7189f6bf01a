"""Read-only queries behind the console pages. Nothing here writes to the database.

Every list is fetched with joins in one or two statements (no per-row lazy loads), and every
statement is plain SQLAlchemy 2 ``select`` that runs on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import statistics
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.checks import CheckResult, last_results
from bridge.models import Channel, Complaint, Delivery, Opd, SandboxMessage, StatusChange
from bridge.reports.grades import Grade
from bridge.reports.grades import grade as grade_of
from bridge.statuses import (
    ANSWERED_STATUSES,
    CARRYING_COMPLAINT,
    CLOSED_STATUSES,
    REDELIVERABLE,
    ComplaintStatus,
)
from bridge.worktime import WorkingCalendar

# --- Deliveries ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DeliveryRow:
    """A delivery with what its table row needs from the complaint and the channel's OPD."""

    delivery: Delivery
    wadule_id: str
    opd_slug: str
    complaint_round: int

    @property
    def superseded(self) -> bool:
        """The complaint was re-routed since: this row belongs to an earlier round."""
        return self.delivery.round != self.complaint_round

    @property
    def notice(self) -> bool:
        """The bridge's own message in a group (an answer to a command): never sent again."""
        return self.delivery.purpose not in CARRYING_COMPLAINT

    @property
    def retryable(self) -> bool:
        """Whether ``redeliver`` would pick this row up."""
        return can_redeliver(self.delivery, self.complaint_round)


def can_redeliver(delivery: Delivery, complaint_round: int) -> bool:
    """Whether a person may send ``delivery`` again: dead or needs-review, of its complaint's
    current round, and carrying the complaint (the bridge's own notices are not resent)."""
    return (
        delivery.round == complaint_round
        and delivery.purpose in CARRYING_COMPLAINT
        and delivery.status in REDELIVERABLE
    )


@dataclasses.dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a list shows: statuses, and optionally one channel kind and one OPD."""

    statuses: tuple[str, ...]
    kind: str | None = None
    opd: str | None = None

    def where(self) -> list:
        conditions = [Delivery.status.in_(list(self.statuses))]
        if self.kind:
            conditions.append(Delivery.kind == self.kind)
        if self.opd:
            conditions.append(Opd.slug == self.opd)
        return conditions

    @property
    def redeliverable(self) -> DeliveryFilter:
        """The same filter narrowed to the statuses a person may send again."""
        return dataclasses.replace(
            self, statuses=tuple(s for s in self.statuses if s in REDELIVERABLE)
        )


def _deliveries(columns, wanted: DeliveryFilter):
    return (
        select(*columns)
        .join(Complaint, Delivery.complaint_id == Complaint.id)
        .join(Channel, Delivery.channel_id == Channel.id)
        .join(Opd, Channel.opd_id == Opd.id)
        .where(*wanted.where())
    )


def failing_deliveries(
    db: Session, wanted: DeliveryFilter, *, limit: int, offset: int = 0
) -> list[DeliveryRow]:
    """Deliveries ``wanted`` shows, most recently changed first."""
    rows = db.execute(
        _deliveries([Delivery, Complaint.wadule_id, Opd.slug, Complaint.round], wanted)
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [DeliveryRow(d, wadule_id, slug, round_) for d, wadule_id, slug, round_ in rows]


def _sendable_again(wanted: DeliveryFilter):
    return _deliveries([Delivery.id, Delivery.status], wanted.redeliverable).where(
        Delivery.round == Complaint.round, Delivery.purpose.in_(CARRYING_COMPLAINT)
    )


def redeliverable_counts(db: Session, wanted: DeliveryFilter) -> dict[str, int]:
    """How many rows ``wanted`` holds that a person may send again, by status (dead and
    needs_review, of the current round, carrying the complaint)."""
    counts = {status: 0 for status in wanted.redeliverable.statuses}
    if not counts:
        return counts
    found = _sendable_again(wanted).subquery()
    for status, count in db.execute(select(found.c.status, func.count()).group_by(found.c.status)):
        counts[status] = count
    return counts


def redeliverable_ids(db: Session, wanted: DeliveryFilter) -> list[int]:
    """The ids :func:`redeliverable_counts` counts (every page, not only the first)."""
    if not wanted.redeliverable.statuses:
        return []
    return list(db.scalars(select(_sendable_again(wanted).subquery().c.id)))


def active_opds(db: Session) -> list[tuple[str, str]]:
    """``(slug, name)`` of each active OPD, in directory order."""
    return [
        (slug, name)
        for slug, name in db.execute(
            select(Opd.slug, Opd.name).where(Opd.active.is_(True)).order_by(Opd.position, Opd.id)
        )
    ]


# --- Channel checks -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChannelLine:
    """An active channel and its last check (None: never checked)."""

    opd_slug: str
    opd_name: str
    kind: str
    target: str
    result: CheckResult | None


def channel_checks(db: Session) -> list[ChannelLine]:
    """Every active channel of the active OPDs in directory order, with its last check."""
    results = {result.channel_id: result for result in last_results(db)}
    return [
        ChannelLine(slug, name, channel.kind, channel.target, results.get(channel.id))
        for channel, slug, name in db.execute(
            select(Channel, Opd.slug, Opd.name)
            .join(Opd, Channel.opd_id == Opd.id)
            .where(Channel.active.is_(True), Opd.active.is_(True))
            .order_by(Opd.position, Opd.id, Channel.position, Channel.id)
        )
    ]


# --- Sandbox inbox ------------------------------------------------------------------------


def sandbox_messages(
    db: Session, *, limit: int, offset: int = 0
) -> list[tuple[SandboxMessage, str | None]]:
    """Sandbox messages newest first, each with its complaint's ``wadule_id`` (if any)."""
    rows = db.execute(
        select(SandboxMessage, Complaint.wadule_id)
        .outerjoin(Delivery, SandboxMessage.delivery_id == Delivery.id)
        .outerjoin(Complaint, Delivery.complaint_id == Complaint.id)
        .order_by(SandboxMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(message, wadule_id) for message, wadule_id in rows]


# --- Responsiveness per OPD ---------------------------------------------------------------


@dataclasses.dataclass
class Responsiveness:
    """One OPD's line on the responsiveness page."""

    opd: Opd
    total: int = 0
    open: int = 0
    awaiting_acknowledgement: int = 0
    delivery_failed: int = 0
    ack_hours: list[float] = dataclasses.field(default_factory=list)
    #: Resolutions by :mod:`bridge.reports.grades` (working days), the one definition.
    grades: dict[str, int] = dataclasses.field(
        default_factory=lambda: {grade.value: 0 for grade in Grade}
    )

    @property
    def median_ack_hours(self) -> float | None:
        return statistics.median(self.ack_hours) if self.ack_hours else None

    @property
    def resolved_in_window(self) -> int:
        return sum(self.grades.values())


def first_answer(history: Sequence[StatusChange]) -> tuple[dt.datetime, dt.datetime] | None:
    """(received, first answer) of the complaint's current assignment, or None.

    ``history`` is in time order. A re-route puts the complaint back to ``received`` under its
    new OPD, so each ``received`` restarts the clock and forgets earlier answers.
    """
    received_at = None
    answered = None
    for entry in history:
        if entry.status == ComplaintStatus.RECEIVED:
            received_at, answered = entry.at, None
        elif entry.status in ANSWERED_STATUSES and received_at is not None and answered is None:
            answered = (received_at, entry.at)
    return answered


def resolution(history: Sequence[StatusChange]) -> tuple[dt.datetime, dt.datetime] | None:
    """(received, resolved) for a complaint whose last status change is ``resolved``.

    Measured to the last resolution: a complaint that was reopened was not done the first time.
    """
    if not history or history[-1].status != ComplaintStatus.RESOLVED:
        return None
    received = [e.at for e in history if e.status == ComplaintStatus.RECEIVED]
    if not received:
        return None
    return received[-1], history[-1].at


def responsiveness(
    db: Session, now: dt.datetime, calendar: WorkingCalendar, *, days: int = 30
) -> list[Responsiveness]:
    """Per active OPD, in directory order: current counts, and answer and resolution times.

    Counts are over every complaint now assigned to the OPD. The median time to the first
    answer covers answers given in the last ``days`` days; the grades cover complaints resolved
    in that window, in ``calendar``'s working days (:mod:`bridge.reports.grades`). Both are
    measured from the ``received`` entry of the current assignment.
    """
    since = now - dt.timedelta(days=days)
    opds = db.scalars(select(Opd).where(Opd.active.is_(True)).order_by(Opd.position, Opd.id))
    lines = {opd.id: Responsiveness(opd) for opd in opds}

    for opd_id, status, count in db.execute(
        select(Complaint.opd_id, Complaint.status, func.count()).group_by(
            Complaint.opd_id, Complaint.status
        )
    ):
        line = lines.get(opd_id)
        if line is None:
            continue
        line.total += count
        if status not in CLOSED_STATUSES:
            line.open += count
        if status == ComplaintStatus.FORWARDED:
            line.awaiting_acknowledgement += count
        elif status == ComplaintStatus.DELIVERY_FAILED:
            line.delivery_failed += count

    # Only complaints with an answer in the window can add to either figure.
    recent = (
        select(StatusChange.complaint_id)
        .where(
            StatusChange.at >= since,
            StatusChange.status.in_([s.value for s in ANSWERED_STATUSES]),
        )
        .distinct()
    )
    entries = db.execute(
        select(StatusChange, Complaint.opd_id)
        .join(Complaint, StatusChange.complaint_id == Complaint.id)
        .where(StatusChange.complaint_id.in_(recent), Complaint.opd_id.in_(list(lines)))
        .order_by(StatusChange.complaint_id, StatusChange.at, StatusChange.id)
    ).all()
    for _, group in itertools.groupby(entries, key=lambda row: row[0].complaint_id):
        rows = list(group)
        line = lines[rows[0][1]]
        history = [entry for entry, _ in rows]
        answer = first_answer(history)
        if answer is not None and answer[1] >= since:
            line.ack_hours.append((answer[1] - answer[0]).total_seconds() / 3600)
        done = resolution(history)
        if done is not None and done[1] >= since:
            line.grades[grade_of(calendar, done[0], done[1])] += 1
    return list(lines.values())
