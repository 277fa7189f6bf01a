"""The weekly OPD report (contract section 10): the figures, the phone text, the chart, and
sending it to the leadership channels.

- :func:`build_weekly_report` -> :class:`WeeklyReport` (:mod:`.weekly`: definitions, ranking);
- :func:`weekly_text` (:mod:`.text`): the short Indonesian text for a phone;
- :func:`render_png`, :func:`render_svg`, :func:`chart_layout` (:mod:`.chart`);
- :func:`grade`, :class:`Grade` (:mod:`.grades`): the one definition of cepat/sedang/lambat;
- :func:`queue_weekly` (:mod:`.sending`): outbox rows to the leadership channels, once a week.
"""

from __future__ import annotations

from bridge.reports.chart import chart_layout, render_png, render_svg
from bridge.reports.grades import GRADE_BOUNDS, Grade, days_taken, grade, grade_of_days
from bridge.reports.sending import (
    NoLeadership,
    Queued,
    RenderedReport,
    WeekNotOver,
    last_complete_week,
    queue_weekly,
    report_for,
    send_last_week,
)
from bridge.reports.text import console_link, weekly_text
from bridge.reports.weekly import (
    Change,
    ChannelCoverage,
    Coverage,
    Figures,
    Grades,
    Median,
    OfficeLine,
    Reason,
    Totals,
    WeeklyReport,
    WeekNotStarted,
    build_weekly_report,
)

__all__ = [
    "GRADE_BOUNDS",
    "Change",
    "ChannelCoverage",
    "Coverage",
    "Figures",
    "Grade",
    "Grades",
    "Median",
    "NoLeadership",
    "OfficeLine",
    "Queued",
    "Reason",
    "RenderedReport",
    "Totals",
    "WeekNotOver",
    "WeekNotStarted",
    "WeeklyReport",
    "build_weekly_report",
    "chart_layout",
    "console_link",
    "days_taken",
    "grade",
    "grade_of_days",
    "last_complete_week",
    "queue_weekly",
    "render_png",
    "render_svg",
    "report_for",
    "send_last_week",
    "weekly_text",
]
