"""The public summary of a complaint and its text for each public channel.

A public message holds the complaint's title, a redacted excerpt of its body, category, district,
the office (OPD) that handles it and the Wadule link, in Indonesian. It never holds the
reporter's name, phone or e-mail, nor the street address; every piece taken from the complaint
goes through :mod:`bridge.redaction`. A ``confidential`` complaint has no public form at all:
:func:`public_summary` refuses it with a :class:`PermanentError`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from bridge import templating
from bridge.channels.base import PermanentError
from bridge.messages import ELLIPSIS, text_length
from bridge.redaction import redact_complaint_text
from bridge.templating import Wording

CARD_PATH = "/public/cards/{wadule_id}.jpg"

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


def public_text(
    summary: PublicSummary,
    *,
    limit: int,
    measure: Measure = text_length,
    wording: Wording | None = None,
) -> str:
    """The post for a public channel, at most ``limit`` as ``measure`` counts.

    Only whole words are dropped, so no word and no link is cut: first the excerpt is shortened
    (ending in "…") or left out, then the title, then the category line, then the office name.
    The header with the ``wadule_id`` and the Wadule link always stay. The lines come from the
    ``public/`` templates (:mod:`bridge.templating`), which see only the redacted summary.
    """
    wording = wording or templating.current()
    values = {
        "wadule_id": summary.wadule_id,
        "reopened": summary.reopened,
        "category": summary.category,
        "district": district_label(summary.district) or None,
        "office": summary.opd_name,
        "link": summary.link,
    }
    header = wording.render("public/header.txt", **values)
    details = wording.render("public/details.txt", **values)
    office_line = wording.render("public/office.txt", **values) if summary.opd_name else ""
    link_line = wording.render("public/link.txt", **values)

    def layout(title: str, excerpt: str, details: str, office: str) -> str:
        blocks = [f"{header}\n{title}" if title else header]
        if excerpt:
            blocks.append(excerpt)
        tail = [line for line in (details, office, link_line) if line]
        blocks.append("\n".join(tail))
        return "\n\n".join(block for block in blocks if block)

    title = summary.title
    full = layout(title, summary.excerpt, details, office_line)
    if measure(full) <= limit:
        return full
    # 1. A shorter excerpt, as long as some of it fits.
    fitted = _fit(summary.excerpt, lambda e: layout(title, e, details, office_line), limit, measure)
    if fitted:
        return fitted
    # 2. No excerpt; the title, the category line, then the office line give way in turn.
    for kept_details, kept_office in ((details, office_line), ("", office_line), ("", "")):
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


def district_label(district: str | None) -> str:
    if not district:
        return ""
    return district if re.match(r"(?i)(kec\.?|kecamatan)\b", district) else f"Kec. {district}"


def _one_line(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())
