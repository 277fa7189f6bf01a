"""The weekly OPD report as JSON (contract sections 4 and 10): ``GET /reports/weekly``.

Output schemas read the report's attributes; they know nothing of how it is computed. Grades
are ``cepat`` (1-3 working days, rounded up), ``sedang`` (4-6) and ``lambat`` (7 or more);
times to the first answer are in working time (``BRIDGE_WORKING_HOURS``, WIB, minus holidays).
"""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validates

#: The same words as ``bridge.worktime.ISO_WEEK_ERROR`` (a test keeps them equal).
ISO_WEEK_MESSAGE = "Not an ISO week: use YYYY-Www, e.g. 2026-W49."
ISO_WEEK_PATTERN = r"^\d{4}-[Ww]\d{2}$"


class WeeklyReportQueryArgsSchema(Schema):
    week = fields.String(
        load_default=None,
        metadata={
            "description": "The ISO week (Monday to Sunday, WIB), e.g. 2026-W49; absent: the"
            " current week so far.",
            "pattern": ISO_WEEK_PATTERN,
            "example": "2026-W49",
        },
    )

    @validates("week")
    def _iso_week(self, value, **kwargs):
        if value is None:
            return
        if not isinstance(value, str) or not re.fullmatch(ISO_WEEK_PATTERN, value.strip()):
            raise ValidationError(ISO_WEEK_MESSAGE)
        year, week = int(value.strip()[:4]), int(value.strip()[6:])
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValidationError(f"{year} has no week {week:02d}: {ISO_WEEK_MESSAGE}") from None


class MedianSchema(Schema):
    working_seconds = fields.Float(metadata={"description": "working seconds"})
    working_days = fields.Float(
        metadata={"description": "working days (each day: the fraction of its window)"}
    )
    answers = fields.Integer(metadata={"description": "first answers the median is over"})


class GradesSchema(Schema):
    cepat = fields.Integer(metadata={"description": "resolved in 1-3 working days"})
    sedang = fields.Integer(metadata={"description": "resolved in 4-6 working days"})
    lambat = fields.Integer(metadata={"description": "resolved in 7 or more working days"})


class FiguresSchema(Schema):
    received = fields.Integer(metadata={"description": "complaints whose clock started"})
    answered = fields.Integer(metadata={"description": "first answers given in the week"})
    median_first_answer = fields.Nested(MedianSchema, allow_none=True)
    grades = fields.Nested(GradesSchema)
    open_past_sla = fields.Integer(
        metadata={"description": "open at the week's end and past the answer or resolve SLA"}
    )
    awaiting_answer = fields.Integer(
        metadata={"description": "open at the week's end without a first answer"}
    )
    awaiting_past_sla = fields.Integer(metadata={"description": "of those, past the answer SLA"})


class ChangeSchema(Schema):
    """This week minus the previous week."""

    received = fields.Integer()
    answered = fields.Integer()
    median_first_answer_seconds = fields.Float(allow_none=True)
    median_first_answer_days = fields.Float(allow_none=True)
    grades = fields.Nested(GradesSchema)
    open_past_sla = fields.Integer()
    awaiting_answer = fields.Integer()
    awaiting_past_sla = fields.Integer()


class ChannelCoverageSchema(Schema):
    present = fields.Boolean(metadata={"description": "the office has an active channel"})
    usable = fields.Boolean(
        allow_none=True,
        metadata={"description": "per the last channel check; null: absent or never checked"},
    )
    reason = fields.String(allow_none=True, metadata={"description": "the last check's words"})
    checked_at = fields.DateTime(allow_none=True)


class CoverageSchema(Schema):
    whatsapp_group = fields.Nested(ChannelCoverageSchema)
    facebook_page = fields.Nested(ChannelCoverageSchema)
    instagram = fields.Nested(ChannelCoverageSchema)
    x = fields.Nested(ChannelCoverageSchema)


class ReasonSchema(Schema):
    code = fields.String(
        metadata={
            "description": "open_past_sla, no_answer, slow_answer, slow_resolution,"
            " channel_unusable or no_whatsapp_group"
        }
    )
    text = fields.String(metadata={"description": "the reason in Indonesian"})


class SlaSchema(Schema):
    answer = fields.Function(lambda sla: str(sla.answer))
    resolve = fields.Function(lambda sla: str(sla.resolve))


class OfficeSchema(FiguresSchema):
    rank = fields.Integer(metadata={"description": "1: needs attention most"})
    opd = fields.String(attribute="opd_slug")
    name = fields.String(attribute="opd_name")
    attention = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonSchema))
    sla = fields.Nested(SlaSchema)
    own_sla = fields.Boolean(metadata={"description": "the office has its own SLA"})
    coverage = fields.Nested(CoverageSchema)
    previous = fields.Nested(FiguresSchema, metadata={"description": "the previous week"})
    change = fields.Nested(ChangeSchema)


class TotalsSchema(Schema):
    offices = fields.Integer()
    needing_attention = fields.Integer()
    figures = fields.Nested(FiguresSchema)
    previous = fields.Nested(FiguresSchema)
    change = fields.Nested(ChangeSchema)


class WeeklyReportSchema(Schema):
    week = fields.Function(lambda report: str(report.week), metadata={"example": "2026-W49"})
    previous_week = fields.Function(lambda report: str(report.previous_week))
    starts_at = fields.DateTime(metadata={"description": "Monday 00:00 WIB"})
    ends_at = fields.DateTime(metadata={"description": "the next Monday 00:00 WIB"})
    as_of = fields.DateTime(metadata={"description": "the figures hold as of this instant"})
    complete = fields.Boolean(metadata={"description": "false: the week so far"})
    generated_at = fields.DateTime()
    default_sla = fields.Nested(SlaSchema)
    totals = fields.Nested(TotalsSchema)
    offices = fields.List(
        fields.Nested(OfficeSchema), metadata={"description": "ranked: needing attention first"}
    )
