"""A small line of an office's weekly median first answer, as inline SVG for a table cell.

Presentation attributes only (the console's CSP allows no style attribute and no script);
points coloured by the weekly report chart's bands (:data:`bridge.reports.chart.BAND_COLOURS`),
the office's answer SLA as a dashed line, a gap where a week had no answer.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from bridge.reports.chart import BAND_COLOURS, MUTED, NO_DATA, SLA_DEFAULT, TRACK
from bridge.reports.grades import Grade

WIDTH = 100
HEIGHT = 36
PAD = 4

#: One point: (week label, working days or None, band or None, the value in words).
Point = tuple[str, float | None, Grade | None, str]


def sparkline(points: list[Point], sla_days: float, title: str) -> Markup:
    """The SVG of ``points`` (oldest first) against an SLA of ``sla_days`` working days."""
    top = max([sla_days * 1.5] + [value for _w, value, _b, _t in points if value is not None])
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def x(index: int) -> float:
        return PAD + index * step

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * min(value, top) / top

    words = "; ".join(f"{week}: {text}" for week, _v, _b, text in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{WIDTH}"'
        f' height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f" aria-label={quoteattr(f'{title}. {words}')}>",
        f"<title>{escape(title)}&#10;{escape(words)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="{TRACK}" rx="3"/>',
        f'<line x1="{PAD}" y1="{_n(y(sla_days))}" x2="{WIDTH - PAD}" y2="{_n(y(sla_days))}"'
        f' stroke="{SLA_DEFAULT}" stroke-width="1" stroke-dasharray="3 2"/>',
    ]
    # Consecutive weeks with an answer are joined; a week without one breaks the line.
    run: list[str] = []
    for index, (_week, value, _band, _text) in enumerate([*points, ("", None, None, "")]):
        if value is not None:
            run.append(f"{_n(x(index))},{_n(y(value))}")
            continue
        if len(run) > 1:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{MUTED}"'
                ' stroke-width="1.5"/>'
            )
        run = []
    for index, (_week, value, grade, _text) in enumerate(points):
        last = index == len(points) - 1
        if value is None:
            parts.append(
                f'<circle cx="{_n(x(index))}" cy="{HEIGHT - PAD}" r="1.5" fill="{NO_DATA}"/>'
            )
            continue
        colour = BAND_COLOURS[grade] if grade is not None else NO_DATA
        parts.append(
            f'<circle cx="{_n(x(index))}" cy="{_n(y(value))}" r="{3.5 if last else 2.2}"'
            f' fill="{colour}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it is escaped above)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
