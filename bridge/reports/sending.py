"""Sending the weekly report to the leadership channels, with the guarantees of any message.

The leadership OPD (the directory's ``leadership``) gets one outbox row per active WhatsApp
group and Telegram channel (purpose ``report``: the text in ``Delivery.text``, the chart PNG as
an :mod:`attachment <bridge.attachments>` every attempt sends again). The delivery engine then
sends them like every row: claimed once, retried on its schedule, ``needs_review`` when the
outcome is unknown. Each row's ``dedupe_key`` is ``report:<week>:<channel id>``, so a week goes
to a channel once, whether ``report weekly --send`` and beat both fire, or either twice.

Only a week that is over can be sent: a partial week would take the week's key and keep its
real report from ever going out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from bridge import attachments, queue
from bridge.channels import lane_of
from bridge.models import Delivery, Opd, utcnow
from bridge.reports.chart import render_png
from bridge.reports.text import weekly_text
from bridge.reports.weekly import WeeklyReport, build_weekly_report
from bridge.statuses import DeliveryPurpose, DeliveryStatus
from bridge.worktime import IsoWeek, current_iso_week

log = logging.getLogger(__name__)

#: The leadership's channels the report goes to: private messaging ones.
REPORT_KINDS = ("whatsapp_group", "telegram")


class NoLeadership(LookupError):
    """There is no leadership OPD to send to, or it has no WhatsApp group or Telegram channel."""


class WeekNotOver(ValueError):
    """The week has not ended yet, so its report cannot be sent."""


@dataclasses.dataclass(frozen=True)
class RenderedReport:
    """A week's report with its phone text and chart."""

    report: WeeklyReport
    text: str
    png: bytes


@dataclasses.dataclass(frozen=True)
class Queued:
    """What :func:`queue_weekly` did: rows made now, and rows of earlier runs (with status)."""

    week: IsoWeek
    created: tuple[tuple[str, str], ...]
    existing: tuple[tuple[str, str, str], ...]
    delivery_ids: tuple[int, ...] = ()


def last_complete_week(now: dt.datetime | None = None) -> IsoWeek:
    """The week that ended last (WIB): what beat sends on its Monday morning run."""
    return current_iso_week(now or utcnow()).previous()


def report_for(
    db: Session, settings, week: IsoWeek | None = None, *, now: dt.datetime | None = None
) -> RenderedReport:
    """Build ``week``'s report (default: the week so far) with its text and PNG chart."""
    report = build_weekly_report(db, settings, week, now=now)
    return RenderedReport(
        report, weekly_text(report, public_url=settings.public_url), render_png(report)
    )


def dedupe_key(week: IsoWeek, channel_id: int) -> str:
    return f"report:{week}:{channel_id}"


def queue_weekly(
    db: Session,
    settings,
    week: IsoWeek,
    *,
    now: dt.datetime | None = None,
    rendered: RenderedReport | None = None,
) -> Queued:
    """Queue ``week``'s report to each leadership WhatsApp group and Telegram channel that has
    not had it yet, and commit; the rows are rung for after the commit. ``rendered`` is the
    week's report when the caller has it already.

    Raises :class:`WeekNotOver` for a week not yet ended and :class:`NoLeadership` when there is
    nowhere to send it. Rows queued before are reported, never made again.
    """
    now = now or utcnow()
    if week.bounds()[1] > now:
        raise WeekNotOver(
            f"{week} has not ended yet; only a complete week's report is sent"
            f" (the last complete week is {last_complete_week(now)})"
        )
    leadership = db.scalar(
        select(Opd)
        .where(Opd.is_leadership.is_(True), Opd.active.is_(True))
        .options(selectinload(Opd.channels))
    )
    if leadership is None:
        raise NoLeadership(
            "the directory names no leadership OPD (set `leadership:` in the directory file),"
            " so the weekly report has nowhere to go"
        )
    channels = [c for c in leadership.channels if c.active and c.kind in REPORT_KINDS]
    if not channels:
        raise NoLeadership(
            f"the leadership OPD {leadership.slug!r} has no active WhatsApp group or Telegram"
            " channel for the weekly report"
        )
    keys = {channel.id: dedupe_key(week, channel.id) for channel in channels}
    earlier = {
        row.dedupe_key: row
        for row in db.execute(
            select(Delivery.dedupe_key, Delivery.kind, Delivery.target, Delivery.status).where(
                Delivery.dedupe_key.in_(list(keys.values()))
            )
        )
    }
    todo = [channel for channel in channels if keys[channel.id] not in earlier]
    existing = tuple((row.kind, row.target, str(row.status)) for row in earlier.values())
    if not todo:
        db.rollback()
        return Queued(week, (), existing)
    if rendered is None or rendered.report.week != week:
        rendered = report_for(db, settings, week, now=now)
    image = attachments.store(
        db, rendered.png, filename=f"laporan-mingguan-{week}.png", content_type="image/png"
    )
    rows = [
        {
            "dedupe_key": keys[channel.id],
            "purpose": DeliveryPurpose.REPORT,
            "complaint_id": None,
            "channel_id": channel.id,
            "round": 1,
            "text": rendered.text,
            "attachment_id": image.id,
            "kind": channel.kind,
            "lane": lane_of(channel.kind),
            "target": channel.target,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "retry_base": 0,
            "next_attempt_at": now,
            "published_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for channel in todo
    ]
    dialect = db.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Delivery)
    # A run racing this one (beat and the CLI at once) may have made some rows meanwhile.
    made = db.execute(
        statement.values(rows)
        .on_conflict_do_nothing(index_elements=[Delivery.dedupe_key])
        .returning(Delivery.id, Delivery.lane, Delivery.kind, Delivery.target)
    ).all()
    if not made:
        db.rollback()
        return Queued(week, (), existing)
    queue.ring(db, [(row.id, row.lane) for row in made])
    db.commit()
    log.info("weekly report %s queued to %d leadership channels", week, len(made))
    return Queued(
        week,
        tuple((row.kind, row.target) for row in made),
        existing,
        tuple(row.id for row in made),
    )


def send_last_week(db: Session, settings, *, now: dt.datetime | None = None) -> dict:
    """Beat's weekly run: queue the report of the week that just ended. Without a leadership
    channel there is nothing to do: a warning, not a failure (contract section 3)."""
    week = last_complete_week(now)
    try:
        queued = queue_weekly(db, settings, week, now=now)
    except NoLeadership as exc:
        log.warning("weekly report %s not sent: %s", week, exc)
        return {"week": str(week), "queued": 0, "earlier": 0}
    return {"week": str(week), "queued": len(queued.created), "earlier": len(queued.existing)}


__all__ = [
    "REPORT_KINDS",
    "NoLeadership",
    "Queued",
    "RenderedReport",
    "WeekNotOver",
    "dedupe_key",
    "last_complete_week",
    "queue_weekly",
    "report_for",
    "send_last_week",
]
