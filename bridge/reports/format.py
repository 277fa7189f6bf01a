"""How the report writes numbers, spans and dates for Indonesian readers (text, chart, reasons).

Decimal comma, one decimal for days (``0,6 hari kerja``), signed changes (``+3``, ``-2``, ``±0``),
Indonesian month abbreviations.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from bridge.worktime import WIB, Duration, IsoWeek

if TYPE_CHECKING:
    from bridge.reports.weekly import Median

MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

#: The channels the report covers (contract section 10), in the order it shows them.
KIND_LABELS = {
    "whatsapp_group": "grup WhatsApp",
    "facebook_page": "Facebook",
    "instagram": "Instagram",
    "x": "X",
}

_UNITS = {"s": "detik", "m": "menit", "h": "jam", "d": "hari"}
#: An en dash, for ranges of dates and for "no figure".
DASH = "\u2013"


def number(value: float, places: int = 1) -> str:
    """``0.75`` -> ``"0,8"`` (halves round up, as people do); ``"2,0"`` keeps its decimal."""
    quantum = Decimal(1).scaleb(-places)
    text = str(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))
    return text.replace(".", ",")


def signed(delta: float | None, places: int = 0) -> str:
    """A change: ``+3``, ``-2``, ``±0`` (``+0,2`` with ``places``); a dash when unknown."""
    if delta is None:
        return DASH
    if round(delta, places) == 0:
        return "±0"
    return ("+" if delta > 0 else "-") + number(abs(delta), places)


def days(value: float) -> str:
    """Working days for people: ``0,4 hari kerja``."""
    return f"{number(value)} hari kerja"


def span(median: Median, unit_of: Duration) -> str:
    """A measured time in the unit of an SLA: working days for ``Nd``, else working hours."""
    if unit_of.unit == "d":
        return days(median.working_days)
    return f"{number(median.working_seconds / 3600)} jam kerja"


def duration(value: Duration) -> str:
    """An SLA span: ``1 hari kerja``, ``4 jam kerja``."""
    return f"{value.amount} {_UNITS[value.unit]} kerja"


def date_range(week: IsoWeek) -> str:
    """``30 Nov`` dash ``6 Des 2026`` (Monday to Sunday)."""
    first = week.monday
    last = first + dt.timedelta(days=6)
    if first.year != last.year:
        return f"{first.day} {MONTHS[first.month - 1]} {first.year}{DASH}{_day(last)}"
    if first.month != last.month:
        return f"{first.day} {MONTHS[first.month - 1]}{DASH}{_day(last)}"
    return f"{first.day}{DASH}{_day(last)}"


def moment(value: dt.datetime) -> str:
    """``Rabu 3 Des 14.05 WIB``."""
    local = value.astimezone(WIB)
    return f"{DAYS[local.weekday()]} {_day(local.date())} {local:%H.%M} WIB"


def _day(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
