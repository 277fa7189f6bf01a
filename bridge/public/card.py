"""The Instagram card: a 1080x1350 JPEG drawn from the redacted public summary.

Every string on it comes from :class:`~bridge.public.summary.PublicSummary`, which holds nothing
that identifies the reporter.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bridge.messages import ELLIPSIS
from bridge.public.summary import PublicSummary, district_label

CARD_SIZE = (1080, 1350)  # Instagram's 4:5 portrait, the largest a feed shows
CARD_QUALITY = 88
#: Where DejaVu lives (Debian/Ubuntu ``fonts-dejavu-core``, Fedora, local installs); without
#: it the card falls back to Pillow's built-in scalable font.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)


@dataclasses.dataclass(frozen=True)
class CardText:
    """Every string drawn on the card, before line wrapping (wrapping only adds "…")."""

    brand: str
    office: str
    wadule_id: str
    title: str
    details: str
    excerpt: str
    footer: str

    def strings(self) -> list[str]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]


def card_text(summary: PublicSummary) -> CardText:
    """The card's strings: all from the redacted summary, none from the reporter."""
    details = " · ".join(
        part for part in (summary.category, district_label(summary.district)) if part
    )
    link = re.sub(r"^https?://", "", summary.link)
    return CardText(
        brand="ADUAN WARGA · WADULE PACITAN",
        office=summary.opd_name,
        wadule_id=f"#{summary.wadule_id}",
        title=summary.title,
        details=details,
        excerpt=summary.excerpt,
        footer=link,
    )


def render_card(summary: PublicSummary) -> bytes:
    """The Instagram card as JPEG bytes: 1080x1350, large type, readable on a phone."""
    text = card_text(summary)
    width, height = CARD_SIZE
    margin = 72
    inner = width - 2 * margin
    image = Image.new("RGB", CARD_SIZE, "#F4F6FA")
    draw = ImageDraw.Draw(image)

    # Header band: brand, office, and the id, which is always shown whole (it is what people
    # quote to Wadule): a smaller size, then a second line, for long ids.
    brand_font, office_font = _font(30, bold=True), _font(44, bold=True)
    office_lines = _wrap(text.office, office_font, inner, 2)
    id_font, id_lines = (
        _font(30, bold=True),
        _split_long(text.wadule_id, _font(30, bold=True), inner),
    )
    for size in (52, 44, 36):
        if _font(size, bold=True).getlength(text.wadule_id) <= inner:
            id_font, id_lines = _font(size, bold=True), [text.wadule_id]
            break
    band = (
        56
        + _line_height(brand_font)
        + 22
        + len(office_lines) * (_line_height(office_font) + 8)
        + 18
        + len(id_lines) * (_line_height(id_font) + 6)
        + 48
    )
    draw.rectangle((0, 0, width, band), fill="#0B3D6B")
    y = _draw_lines(draw, [text.brand], margin, 56, brand_font, "#9CC3E6", 8) + 14
    y = _draw_lines(draw, office_lines, margin, y, office_font, "#FFFFFF", 8) + 18
    _draw_lines(draw, id_lines, margin, y, id_font, "#FFD166", 6)

    # Body: title, category and district, excerpt.
    y = band + 56
    title_font = _font(60, bold=True)
    y = _draw_lines(
        draw, _wrap(text.title, title_font, inner, 4), margin, y, title_font, "#102A43", 12
    )
    if text.details:
        y += 18
        details_font = _font(36)
        y = _draw_lines(
            draw, _wrap(text.details, details_font, inner, 2), margin, y, details_font, "#486581", 8
        )
    footer_top = height - 190
    if text.excerpt:
        y += 36
        body_font = _font(40)
        line_height = _line_height(body_font) + 12
        room = max(0, (footer_top - 30 - y) // line_height)
        if room:
            lines = _wrap(text.excerpt, body_font, inner, room)
            _draw_lines(draw, lines, margin, y, body_font, "#243B53", 12)

    # Footer: the link and the privacy note.
    draw.rectangle((0, footer_top, width, height), fill="#E1E8F0")
    footer_font = _font(32, bold=True)
    fy = footer_top + 28
    fy = _draw_lines(
        draw, _wrap(text.footer, footer_font, inner, 2), margin, fy, footer_font, "#0B3D6B", 8
    )
    _draw_lines(draw, ["Data pribadi pelapor disamarkan."], margin, fy + 6, _font(28), "#486581", 0)

    out = io.BytesIO()
    image.save(out, "JPEG", quality=CARD_QUALITY, optimize=True)
    return out.getvalue()


@functools.lru_cache(maxsize=32)
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        path = folder / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    # Pillow >= 10.1 ships a scalable default font; plainer, but still large and legible.
    return ImageFont.load_default(size=size)


def _line_height(font) -> int:
    _left, top, _right, bottom = font.getbbox("ÁgjyQ")
    return int(bottom - min(top, 0))


def _wrap(text: str, font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last kept line ends in "…" when text is left."""
    if max_lines <= 0 or not text:
        return []
    pieces = [piece for word in text.split() for piece in _split_long(word, font, width)]
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        lines.append(current)
        current = piece
        if len(lines) == max_lines:
            return _ellipsize(lines, font, width)
    if current:
        lines.append(current)
    return lines


def _split_long(word: str, font, width: int) -> list[str]:
    # A word wider than the card (a long link) is broken by characters, only for drawing.
    if font.getlength(word) <= width:
        return [word]
    pieces, current = [], ""
    for char in word:
        if current and font.getlength(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def _ellipsize(lines: list[str], font, width: int) -> list[str]:
    last = lines[-1]
    while last and font.getlength(last + ELLIPSIS) > width:
        last = last[:-1]
    lines[-1] = re.sub(r"[\s,;:.!?]+$", "", last) + ELLIPSIS
    return lines


def _draw_lines(draw, lines: list[str], x: int, y: int, font, fill: str, spacing: int) -> int:
    height = _line_height(font)
    for line in lines:
        draw.text((x, y), line, font=font, fill=fill)
        y += height + spacing
    return y
