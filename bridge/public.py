"""What public channels receive: a redacted summary, its text per channel, and the Instagram card.

A public message holds the complaint's title, a redacted excerpt of its body, category, district,
the office (OPD) that handles it and the Wadule link, in Indonesian. It never holds the
reporter's name, phone or e-mail, nor the street address; every piece taken from the complaint
goes through :mod:`bridge.redaction`. A ``confidential`` complaint has no public form at all:
:func:`public_summary` refuses it with a :class:`PermanentError`.

The Instagram card is a JPEG rendered from the same summary and served at a stable URL,
``{BRIDGE_PUBLIC_URL}/public/cards/<wadule_id>.jpg`` (Meta fetches it when the media container is
created). The route renders from the database on each request; it answers 404 for an unknown or
confidential complaint, and for one that has no Instagram delivery, so the card of a complaint
never meant for Instagram cannot be fetched by guessing ids.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge.channels.base import PermanentError
from bridge.messages import ELLIPSIS, complaint_link, text_length
from bridge.models import Complaint, Delivery
from bridge.redaction import redact_complaint_text

log = logging.getLogger(__name__)

bp = Blueprint("public", __name__)

CARD_PATH = "/public/cards/{wadule_id}.jpg"
CARD_SIZE = (1080, 1350)  # Instagram's 4:5 portrait, the largest a feed shows
CARD_QUALITY = 88
#: Where DejaVu lives (Debian/Ubuntu ``fonts-dejavu-core``, Fedora, local installs); without
#: it the card falls back to Pillow's built-in scalable font.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)

Measure = Callable[[str], int]


@dataclasses.dataclass(frozen=True)
class PublicSummary:
    """The public, redacted facts of one complaint. Nothing here may identify the reporter."""

    wadule_id: str
    title: str
    #: The whole redacted body, whitespace collapsed; channels trim it to their limit.
    excerpt: str
    category: str | None
    district: str | None
    opd_slug: str
    opd_name: str
    link: str
    reopened: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def public_summary(
    complaint, *, opd_slug: str, opd_name: str, link: str, reopened: bool = False
) -> PublicSummary:
    """The redacted summary of ``complaint``; a confidential one raises :class:`PermanentError`.

    The reporter's name, phone and e-mail are redacted from every field taken from the
    complaint, anonymous or not: the public never learns who complained.
    """
    if complaint.confidential:
        raise PermanentError("confidential complaint: no public channel may carry it")
    reporter = complaint.reporter if isinstance(complaint.reporter, Mapping) else None

    def clean(value: Any) -> str:
        return _one_line(redact_complaint_text(_one_line(value), reporter))

    location = complaint.location if isinstance(complaint.location, Mapping) else {}
    return PublicSummary(
        wadule_id=complaint.wadule_id,
        title=clean(complaint.title) or "(tanpa judul)",
        excerpt=clean(complaint.body),
        category=clean(complaint.category) or None,
        district=clean(location.get("district")) or None,
        opd_slug=opd_slug,
        opd_name=_one_line(opd_name),
        link=link,
        reopened=reopened,
    )


def public_text(summary: PublicSummary, *, limit: int, measure: Measure = text_length) -> str:
    """The post for a public channel, at most ``limit`` as ``measure`` counts.

    Only whole words are dropped, so no word and no link is cut: first the excerpt is shortened
    (ending in "…") or left out, then the title, then the category line, then the office name.
    The header with the ``wadule_id`` and the Wadule link always stay.
    """
    header = (
        f"🔁 Aduan dibuka kembali #{summary.wadule_id}"
        if summary.reopened
        else f"📢 Aduan warga #{summary.wadule_id}"
    )
    details = " · ".join(
        part
        for part in (
            f"Kategori: {summary.category}" if summary.category else "",
            _district_label(summary.district),
        )
        if part
    )
    link_line = f"Selengkapnya: {summary.link}"

    def layout(title: str, excerpt: str, details: str, office: str) -> str:
        blocks = [f"{header}\n{title}" if title else header]
        if excerpt:
            blocks.append(excerpt)
        tail = [line for line in (details, f"Ditangani: {office}" if office else "") if line]
        tail.append(link_line)
        blocks.append("\n".join(tail))
        return "\n\n".join(blocks)

    title, office = summary.title, summary.opd_name
    full = layout(title, summary.excerpt, details, office)
    if measure(full) <= limit:
        return full
    # 1. A shorter excerpt, as long as some of it fits.
    fitted = _fit(summary.excerpt, lambda e: layout(title, e, details, office), limit, measure)
    if fitted:
        return fitted
    # 2. No excerpt; the title, the category line, then the office name give way in turn.
    for kept_details, kept_office in ((details, office), ("", office), ("", "")):
        bare = layout("", "", kept_details, kept_office)
        if measure(bare) > limit:
            continue
        fitted = _fit(
            title, lambda t, d=kept_details, o=kept_office: layout(t, "", d, o), limit, measure
        )
        return fitted or bare
    raise ValueError(f"limit {limit} is too small for the header and the Wadule link")


def _fit(text: str, build: Callable[[str], str], limit: int, measure: Measure) -> str | None:
    """``build(piece)`` for the longest word-trimmed ``piece`` of ``text`` within ``limit``;
    None when not even one word fits. The room left is measured on the whole result, since
    joining a piece also adds its separators."""
    whole = build(text)
    if measure(whole) <= limit:
        return whole
    room = limit - measure(build(""))
    while room > 0:
        piece = fit_words(text, room, measure)
        if not piece or piece == ELLIPSIS:
            return None
        result = build(piece)
        overflow = measure(result) - limit
        if overflow <= 0:
            return result
        room -= overflow
    return None


def public_payload(
    summary: PublicSummary, *, text: str, image_url: str | None = None
) -> dict[str, Any]:
    """The structured copy of a public message (sandbox inbox, operators): no reporter data."""
    payload: dict[str, Any] = {
        "type": "complaint.reopened_public" if summary.reopened else "complaint.public",
        "wadule_id": summary.wadule_id,
        "title": summary.title,
        "excerpt": summary.excerpt,
        "category": summary.category,
        "district": summary.district,
        "opd": {"slug": summary.opd_slug, "name": summary.opd_name},
        "link": summary.link,
        "text": text,
    }
    if image_url:
        payload["image_url"] = image_url
    return payload


def fit_words(text: str, room: int, measure: Measure = text_length) -> str:
    """``text`` shortened to whole words ending in "…" so that ``measure`` gives at most
    ``room``; "" when not even "…" fits. Links are words, so they are never cut."""
    if room <= 0:
        return ""
    if measure(text) <= room:
        return text
    if measure(ELLIPSIS) > room:
        return ""
    kept = ""
    for match in re.finditer(r"\S+", text):
        candidate = re.sub(r"[\s,;:.!?]+$", "", text[: match.end()]) + ELLIPSIS
        if measure(candidate) > room:
            break
        kept = candidate
    return kept or ELLIPSIS


def card_url(settings, wadule_id: str) -> str:
    """The stable public URL of a complaint's Instagram card."""
    return settings.public_url.rstrip("/") + CARD_PATH.format(wadule_id=wadule_id)


# The card


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
        part for part in (summary.category, _district_label(summary.district)) if part
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


# The card route


@bp.get("/public/cards/<wadule_id>.jpg")
def card(wadule_id: str):
    """Serve a complaint's card to Meta's fetcher (no auth: the image is public by design)."""
    db = database.session()
    complaint = db.scalar(
        select(Complaint)
        .where(Complaint.wadule_id == wadule_id)
        .options(selectinload(Complaint.opd))
    )
    if complaint is None or complaint.confidential:
        abort(404)
    for_instagram = db.scalar(
        select(Delivery.id)
        .where(Delivery.complaint_id == complaint.id, Delivery.kind == "instagram")
        .limit(1)
    )
    if for_instagram is None:
        abort(404)
    settings = current_app.config["BRIDGE_SETTINGS"]
    summary = public_summary(
        complaint,
        opd_slug=complaint.opd.slug,
        opd_name=complaint.opd.name,
        link=complaint_link(settings, complaint.wadule_id),
    )
    response = Response(render_card(summary), mimetype="image/jpeg")
    # Short: a re-route changes the office on the card.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _district_label(district: str | None) -> str:
    if not district:
        return ""
    return district if re.match(r"(?i)(kec\.?|kecamatan)\b", district) else f"Kec. {district}"


def _one_line(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


__all__ = [
    "CARD_PATH",
    "CardText",
    "PublicSummary",
    "bp",
    "card_text",
    "card_url",
    "fit_words",
    "public_payload",
    "public_summary",
    "public_text",
    "render_card",
]
