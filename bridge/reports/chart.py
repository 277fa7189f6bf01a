"""The weekly report's chart: each office's median time to the first answer, in working days.

One horizontal bar per office, in the report's ranking (needing attention first), coloured by
band against the office's own answer SLA, with the SLA marked on every bar:

- green (the ``cepat`` colour): at most the SLA;
- amber (``sedang``): over the SLA, up to twice it (when escalation to triage begins);
- red (``lambat``): more than twice the SLA.

The default SLA (``1d``) is a dashed mark; an office with its own SLA has its mark in blue and
an asterisk by its name (an SLA in hours is placed at hours / the typical working day).

The chart is laid out once (:func:`chart_layout`: rectangles, lines and texts in pixels) and
drawn by two renderers of the same layout: :func:`render_png` (Pillow, fonts as the Instagram
card finds them: DejaVu) for the leadership channels, and :func:`render_svg` (an inline
``<svg>`` with presentation attributes only: no script, no style element or attribute, no
external reference) for the console, whose CSP forbids inline styles.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

from bridge.public.card import FONT_DIRS
from bridge.reports import format as fmt
from bridge.reports.grades import Grade
from bridge.reports.weekly import OfficeLine, WeeklyReport
from bridge.worktime import Duration

WIDTH = 1080
MARGIN = 48
ROW_HEIGHT = 68
BAR_HEIGHT = 22
BACKGROUND = "#FFFFFF"
INK = "#102A43"
MUTED = "#627D98"
TRACK = "#EEF2F6"
GRID = "#FFFFFF"
SLA_DEFAULT = "#243B53"
SLA_OWN = "#1E40AF"
NO_DATA = "#9FB3C8"
#: The grade palette; bars take the colour of their band.
BAND_COLOURS = {Grade.CEPAT: "#2E7D32", Grade.SEDANG: "#F9A825", Grade.LAMBAT: "#C62828"}
BAND_LABELS = {
    Grade.CEPAT: "dalam SLA",
    Grade.SEDANG: "hingga 2\u00d7 SLA",
    Grade.LAMBAT: "lebih dari 2\u00d7 SLA",
}
FONT = "DejaVu Sans, Verdana, sans-serif"


@dataclasses.dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float
    fill: str


@dataclasses.dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    stroke: str
    width: int = 2
    dashed: bool = False


@dataclasses.dataclass(frozen=True)
class Text:
    """A line of text placed by its baseline; ``anchor`` is ``start``, ``middle`` or ``end``."""

    x: float
    y: float
    text: str
    size: int
    fill: str = INK
    bold: bool = False
    anchor: str = "start"


@dataclasses.dataclass(frozen=True)
class BarRow:
    """Where an office's bar went (tests and the console read the geometry)."""

    opd_slug: str
    top: float
    bar: Rect | None
    band: Grade | None
    sla_x: float


@dataclasses.dataclass(frozen=True)
class Layout:
    width: int
    height: int
    title: str
    shapes: tuple[Rect | Line | Text, ...]
    rows: tuple[BarRow, ...]
    #: x of 0 and of the scale's end, and the days the scale spans.
    x0: float
    x1: float
    scale_days: float

    def x_of(self, days: float) -> float:
        return self.x0 + (self.x1 - self.x0) * days / self.scale_days


def band(ratio: float | None) -> Grade | None:
    """The band of a median first answer that is ``ratio`` times the office's answer SLA."""
    if ratio is None:
        return None
    if ratio <= 1:
        return Grade.CEPAT
    if ratio <= 2:
        return Grade.SEDANG
    return Grade.LAMBAT


def sla_days(sla: Duration, day_seconds: float) -> float:
    """An SLA span in working days (hours and minutes over a typical working day)."""
    return float(sla.amount) if sla.unit == "d" else sla.seconds / day_seconds


def chart_layout(report: WeeklyReport) -> Layout:
    """Lay the chart out: every shape in pixels, in drawing order."""
    day_seconds = report.typical_day_seconds
    shapes: list[Rect | Line | Text] = []
    title = "Median waktu jawaban pertama per OPD"
    subtitle = f"Minggu {report.week} ({fmt.date_range(report.week)}), dalam hari kerja"
    if not report.complete:
        subtitle += f"; sementara, sampai {fmt.moment(report.as_of)}"
    y = MARGIN + 34
    shapes.append(Text(MARGIN, y, title, 34, bold=True))
    y += 40
    for line in _wrap_words(subtitle, 22, WIDTH - 2 * MARGIN):
        shapes.append(Text(MARGIN, y, line, 22, fill=MUTED))
        y += 30
    y += 6
    y = _legend(shapes, y, report)

    default_days = sla_days(report.default_sla.answer, day_seconds)
    peak = max(
        [default_days]
        + [
            line.median_first_answer.working_days
            for line in report.offices
            if line.median_first_answer
        ]
        + [sla_days(line.sla.answer, day_seconds) for line in report.offices]
    )
    scale_days = _nice_ceiling(peak * 1.08)
    x0, x1 = MARGIN, WIDTH - MARGIN

    def layout_x(days: float) -> float:
        return x0 + (x1 - x0) * days / scale_days

    rows = []
    top = y + 12
    ticks = _ticks(scale_days)
    for line in report.offices:
        rows.append(_row(shapes, line, top, layout_x, ticks, day_seconds))
        top += ROW_HEIGHT
    # The axis: tick labels under the last row.
    axis_y = top + 8
    for tick in ticks:
        shapes.append(
            Text(
                layout_x(tick),
                axis_y + 22,
                fmt.number(tick, 1 if tick % 1 else 0),
                20,
                MUTED,
                anchor="middle",
            )
        )
    shapes.append(Text(x1, axis_y + 52, "hari kerja", 20, MUTED, anchor="end"))
    height = int(axis_y + 52 + MARGIN)
    shapes.insert(0, Rect(0, 0, WIDTH, height, BACKGROUND))
    return Layout(
        WIDTH,
        height,
        f"{title}, minggu {report.week}",
        tuple(shapes),
        tuple(rows),
        x0,
        x1,
        scale_days,
    )


def _legend(shapes: list, y: float, report: WeeklyReport) -> float:
    x = MARGIN
    for grade in Grade:
        label = BAND_LABELS[grade]
        shapes.append(Rect(x, y - 18, x + 22, y + 4, BAND_COLOURS[grade]))
        shapes.append(Text(x + 30, y, label, 20, MUTED))
        x += 30 + _font(20).getlength(label) + 28
    y += 34
    default = f"SLA standar ({fmt.duration(report.default_sla.answer)})"
    shapes.append(Line(MARGIN + 11, y - 20, MARGIN + 11, y + 6, SLA_DEFAULT, 3, dashed=True))
    shapes.append(Text(MARGIN + 30, y, default, 20, MUTED))
    if any(line.own_sla for line in report.offices):
        x = MARGIN + 30 + _font(20).getlength(default) + 28
        shapes.append(Line(x + 11, y - 20, x + 11, y + 6, SLA_OWN, 4))
        shapes.append(Text(x + 30, y, "* SLA OPD sendiri", 20, MUTED))
    return y + 16


def _row(shapes: list, line: OfficeLine, top: float, x_of, ticks, day_seconds: float) -> BarRow:
    median = line.median_first_answer
    if median is not None:
        value = fmt.days(median.working_days)
    elif line.awaiting_answer:
        value = f"belum menjawab ({line.awaiting_answer} menunggu)"
    else:
        value = "tidak ada jawaban" if line.received else "tidak ada aduan"
    value_font = _font(20, bold=median is not None)
    name_room = WIDTH - 2 * MARGIN - value_font.getlength(value) - 24
    name = f"{line.rank}. {line.opd_name}" + (" *" if line.own_sla else "")
    baseline = top + 26
    shapes.append(Text(MARGIN, baseline, _fit(name, 22, name_room), 22, INK))
    shapes.append(
        Text(
            WIDTH - MARGIN, baseline, value, 20, INK if median else MUTED, median is not None, "end"
        )
    )
    bar_top, bar_bottom = top + 36, top + 36 + BAR_HEIGHT
    shapes.append(Rect(x_of(0), bar_top, x_of(ticks[-1]), bar_bottom, TRACK))
    for tick in ticks[1:-1]:
        shapes.append(Line(x_of(tick), bar_top, x_of(tick), bar_bottom, GRID, 2))
    bar = None
    grade = band(line.answer_ratio)
    if median is not None:
        # A very short answer still shows as a sliver.
        bar = Rect(
            x_of(0),
            bar_top,
            max(x_of(median.working_days), x_of(0) + 3),
            bar_bottom,
            BAND_COLOURS[grade],
        )
        shapes.append(bar)
    sla_x = x_of(sla_days(line.sla.answer, day_seconds))
    shapes.append(
        Line(
            sla_x,
            bar_top - 5,
            sla_x,
            bar_bottom + 5,
            SLA_OWN if line.own_sla else SLA_DEFAULT,
            4 if line.own_sla else 3,
            dashed=not line.own_sla,
        )
    )
    return BarRow(line.opd_slug, top, bar, grade if median is not None else None, sla_x)


def _nice_ceiling(value: float) -> float:
    for step in (1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100):
        if value <= step:
            return float(step)
    return float(math.ceil(value / 50) * 50)


def _ticks(scale: float) -> list[float]:
    step = (
        0.5 if scale <= 2 else 1 if scale <= 6 else 2 if scale <= 12 else 5 if scale <= 30 else 10
    )
    count = round(scale / step)
    return [round(i * step, 2) for i in range(count + 1)]


# -- drawing -----------------------------------------------------------------------------------


def render_png(report: WeeklyReport) -> bytes:
    """The chart as PNG bytes (1080 pixels wide, for a phone)."""
    layout = chart_layout(report)
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        if isinstance(shape, Rect):
            draw.rectangle((shape.x0, shape.y0, shape.x1 - 1, shape.y1 - 1), fill=shape.fill)
        elif isinstance(shape, Line):
            _draw_line(draw, shape)
        else:
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
            draw.text(
                (shape.x, shape.y),
                shape.text,
                font=_font(shape.size, bold=shape.bold),
                fill=shape.fill,
                anchor=anchor,
            )
    out = io.BytesIO()
    # Flat colours compress well at the default level; optimize=True costs 5x the time for 10%.
    image.save(out, "PNG")
    return out.getvalue()


def render_svg(report: WeeklyReport, *, fluid: bool = False) -> str:
    """The same chart as an inline ``<svg>`` element (no XML declaration): presentation
    attributes only, so it needs neither scripts nor styles (the console's CSP).

    ``fluid``: as wide as its container (``width="100%"``, the height following from the
    ``viewBox``) instead of 1080 pixels, for a page that must fit a phone.
    """
    layout = chart_layout(report)
    size = 'width="100%"' if fluid else f'width="{layout.width}" height="{layout.height}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size}'
        f' viewBox="0 0 {layout.width} {layout.height}" role="img"'
        f" aria-label={quoteattr(layout.title)}>",
        f"<title>{escape(layout.title)}</title>",
    ]
    for shape in layout.shapes:
        if isinstance(shape, Rect):
            parts.append(
                f'<rect x="{_n(shape.x0)}" y="{_n(shape.y0)}" width="{_n(shape.x1 - shape.x0)}"'
                f' height="{_n(shape.y1 - shape.y0)}" fill="{shape.fill}"/>'
            )
        elif isinstance(shape, Line):
            dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
            parts.append(
                f'<line x1="{_n(shape.x0)}" y1="{_n(shape.y0)}" x2="{_n(shape.x1)}"'
                f' y2="{_n(shape.y1)}" stroke="{shape.stroke}" stroke-width="{shape.width}"{dash}/>'
            )
        else:
            weight = ' font-weight="bold"' if shape.bold else ""
            parts.append(
                f'<text x="{_n(shape.x)}" y="{_n(shape.y)}" font-family="{FONT}"'
                f' font-size="{shape.size}" fill="{shape.fill}" text-anchor="{shape.anchor}"'
                f"{weight}>{escape(shape.text)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _draw_line(draw: ImageDraw.ImageDraw, line: Line) -> None:
    if not line.dashed:
        draw.line((line.x0, line.y0, line.x1, line.y1), fill=line.stroke, width=line.width)
        return
    # Pillow draws no dashes: 6 on, 4 off, as the SVG's stroke-dasharray.
    length = math.hypot(line.x1 - line.x0, line.y1 - line.y0)
    dx, dy = (line.x1 - line.x0) / length, (line.y1 - line.y0) / length
    position = 0.0
    while position < length:
        end = min(position + 6, length)
        draw.line(
            (
                line.x0 + dx * position,
                line.y0 + dy * position,
                line.x0 + dx * end,
                line.y0 + dy * end,
            ),
            fill=line.stroke,
            width=line.width,
        )
        position += 10


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@functools.lru_cache(maxsize=16)
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        path = folder / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    # Pillow >= 10.1 ships a scalable default font.
    return ImageFont.load_default(size=size)


def _fit(text: str, size: int, room: float) -> str:
    font = _font(size)
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "\u2026") > room:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _wrap_words(text: str, size: int, room: float) -> list[str]:
    font, lines, current = _font(size), [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > room:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines
