"""What private channels receive: the full complaint, rendered in Indonesian for a phone screen.

:func:`private_text` is the message for WhatsApp groups and Telegram (WhatsApp's ``*bold*``
markup; the Telegram adapter turns it into entities). :func:`private_payload` is the JSON body
for webhooks. Both follow the contract: the ``wadule_id`` verbatim, the Wadule link, the reporter's
name and contact only when the complaint is not anonymous, and the reply help as the last lines.

Lengths are counted in UTF-16 code units (Telegram's unit), never fewer than the characters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from bridge import templating
from bridge.templating import Wording

#: WIB is UTC+7 all year (Indonesia keeps no daylight saving), so no tz database is needed.
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
ELLIPSIS = "…"
MAPS_URL = "https://www.google.com/maps/search/?api=1&query={lat},{lon}"


def complaint_link(settings, wadule_id: str) -> str:
    """The complaint's public page on Wadule."""
    return settings.wadule_complaint_url.format(wadule_id=wadule_id)


def reopen_header(note: str | None, *, wording: Wording | None = None) -> str:
    """The lines above a reopened complaint: it came back, and Wadule's reason."""
    wording = wording or templating.current()
    return wording.render("private/reopen_header.txt", note=_clean(note)) + "\n\n"


def reroute_header(
    from_office_name: str, note: str | None, *, wording: Wording | None = None
) -> str:
    """The lines above a re-routed complaint: which office passed it on, and its note."""
    wording = wording or templating.current()
    return (
        wording.render(
            "private/reroute_header.txt", from_office=_clean(from_office_name), note=_clean(note)
        )
        + "\n\n"
    )


#: What the worked example of the reply help asks for (an ordinary "in progress" answer).
EXAMPLE_NOTE = "Tim survei ke lokasi Senin"


def reply_help(wadule_id: str, *, wording: Wording | None = None) -> str:
    """The last lines of every private message: how to answer from the group.

    The command, a worked example with this complaint's own id (so it can be copied), and
    that a reply to the message with just the word works too.
    """
    wording = wording or templating.current()
    return wording.render("private/reply_help.txt", wadule_id=wadule_id, example_note=EXAMPLE_NOTE)


def text_length(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2), as Telegram measures it."""
    return len(text.encode("utf-16-le")) // 2


def private_text(
    complaint, *, opd_name: str, link: str, limit: int, wording: Wording | None = None
) -> str:
    """The full complaint for a private channel, at most ``limit`` long (see :func:`text_length`).

    When it does not fit, only the body is shortened, at a word boundary, ending in "…"; the
    header, the link and the reply help always stay. If even an empty body does not fit, the
    attachment links go next, then everything but the header, title, link and reply help.
    The wording comes from the templates (:mod:`bridge.templating`); the fitting is done here,
    on what they render.
    """
    parts = _Parts.of(complaint, opd_name=opd_name, link=link, wording=wording)
    for layout in (parts.full, parts.without_attachment_links):
        fitted = _fit(parts.body, layout, limit)
        if fitted is not None:
            return fitted
    text = _fit(parts.title, parts.minimal, limit) or parts.minimal("")
    if text_length(text) > limit:
        raise ValueError(f"limit {limit} is too small for even the header, link and reply help")
    return text


def _fit(text: str, layout, limit: int) -> str | None:
    """``layout(piece)`` for the longest word-trimmed ``piece`` of ``text`` that keeps the
    whole within ``limit`` (a piece may be just "…"), or None when not even that fits. The
    room is measured on the whole result, so a template that decorates the piece still fits."""
    room = limit - text_length(layout(""))
    while True:
        if text_length(text) <= room:
            piece = text
        elif room >= text_length(ELLIPSIS):
            piece = trim_words(text, room)
        else:
            return None
        result = layout(piece)
        overflow = text_length(result) - limit
        if overflow <= 0:
            return result
        room -= overflow


def private_payload(complaint, *, opd_slug: str, opd_name: str, link: str) -> dict[str, Any]:
    """The webhook body: every field of the complaint, the reporter only when not anonymous."""
    payload: dict[str, Any] = {
        "type": "complaint.forwarded",
        "wadule_id": complaint.wadule_id,
        "title": complaint.title,
        "body": complaint.body,
        "category": complaint.category,
        "location": dict(complaint.location) if complaint.location else None,
    }
    if not complaint.anonymous:
        payload["reporter"] = dict(complaint.reporter) if complaint.reporter else None
    payload.update(
        {
            "anonymous": bool(complaint.anonymous),
            "confidential": bool(complaint.confidential),
            "attachments": [dict(a) for a in (complaint.attachments or [])],
            "submitted_at": iso_utc(complaint.submitted_at),
            "opd": {"slug": opd_slug, "name": opd_name},
            "link": link,
        }
    )
    return payload


def trim_words(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` units at a word boundary, ending in "…".

    Only whole words stay, so no word and no link is ever cut. If the first word alone is too
    long, the result is just "…".
    """
    if text_length(text) <= room:
        return text
    budget = room - text_length(ELLIPSIS)
    kept = ""
    for match in re.finditer(r"\S+", text):
        candidate = text[: match.end()]
        if text_length(candidate) > budget:
            break
        kept = candidate
    # A dangling comma or full stop before the ellipsis reads badly; whole words stay whole.
    return re.sub(r"[\s,;:.!?]+$", "", kept) + ELLIPSIS


def format_wib(when: dt.datetime) -> str:
    """E.g. ``20 Nov 2026 08.15 WIB`` (Indonesian month names and time separator)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # the database stores UTC
    local = when.astimezone(WIB)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H.%M} WIB"


def iso_utc(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def maps_link(location: Mapping[str, Any] | None) -> str | None:
    """A Google Maps link for the location's coordinates, when both are given."""
    if not location:
        return None
    lat, lon = location.get("lat"), location.get("lon")
    if not _is_number(lat) or not _is_number(lon):
        return None
    return MAPS_URL.format(lat=_coordinate(lat), lon=_coordinate(lon))


def place(location: Mapping[str, Any] | None) -> str | None:
    """``Jl. Raya Arjosari, Desa Arjosari, Kec. Arjosari`` from the location's words."""
    if not location:
        return None
    words = []
    address = _clean(location.get("address"))
    if address:
        words.append(address)
    village = _clean(location.get("village"))
    if village:
        words.append(
            village if re.match(r"(?i)(desa|kel\.?|kelurahan)\b", village) else f"Desa {village}"
        )
    district = _clean(location.get("district"))
    if district:
        words.append(
            district if re.match(r"(?i)(kec\.?|kecamatan)\b", district) else f"Kec. {district}"
        )
    return ", ".join(words) or None


@dataclasses.dataclass(frozen=True)
class _Parts:
    """The message's pieces as the templates render them, put together by the layouts below
    around a (possibly trimmed) body or title."""

    wording: Wording
    values: Mapping[str, Any]
    header: str
    details: str
    body: str
    reporter: str
    attachments: str
    attachments_hidden: str
    link: str
    help: str
    title: str

    @classmethod
    def of(cls, complaint, *, opd_name: str, link: str, wording: Wording | None) -> _Parts:
        wording = wording or templating.current()
        title = _clean(complaint.title) or "(tanpa judul)"
        attachments = [
            str(a.get("url")).strip()
            for a in (complaint.attachments or [])
            if isinstance(a, Mapping) and a.get("url")
        ]
        # An anonymous complaint's reporter is not handed to the templates at all.
        reporter = {} if complaint.anonymous else (complaint.reporter or {})
        values = {
            "wadule_id": complaint.wadule_id,
            "title": title,
            "office": _clean(opd_name),
            "category": _clean(complaint.category) or None,
            "place": place(complaint.location),
            "maps_link": maps_link(complaint.location),
            "submitted_at": (
                format_wib(complaint.submitted_at) if complaint.submitted_at is not None else None
            ),
            "confidential": bool(complaint.confidential),
            "anonymous": bool(complaint.anonymous),
            "reporter_name": _clean(reporter.get("name")) or None,
            "reporter_phone": _clean(reporter.get("phone")) or None,
            "reporter_email": _clean(reporter.get("email")) or None,
            "link": link,
            "attachment_urls": attachments,
            "attachment_count": len(attachments),
            "example_note": EXAMPLE_NOTE,
        }

        def piece(name: str) -> str:
            return wording.render(f"private/{name}.txt", **values)

        return cls(
            wording=wording,
            values=values,
            header=piece("header"),
            details=piece("details"),
            body=(complaint.body or "").strip(),
            reporter=piece("reporter"),
            attachments=piece("attachments") if attachments else "",
            attachments_hidden=piece("attachments_hidden") if attachments else "",
            link=piece("link"),
            help=reply_help(complaint.wadule_id, wording=wording),
            title=title,
        )

    def full(self, body: str) -> str:
        return self._assemble(body, self.attachments)

    def without_attachment_links(self, body: str) -> str:
        return self._assemble(body, self.attachments_hidden)

    def _assemble(self, body: str, attachments: str) -> str:
        body_block = self.wording.render("private/body.txt", **self.values, body=body)
        blocks = (
            self.header,
            self.details,
            body_block,
            self.reporter,
            attachments,
            self.link,
            self.help,
        )
        return "\n\n".join(block for block in blocks if block)

    def minimal(self, title: str) -> str:
        note = self.wording.render("private/minimal.txt", **{**self.values, "title": title})
        return "\n\n".join(b for b in (self.header, note, self.link, self.help) if b)


def _clean(value: Any) -> str:
    """One line of text: a value from the complaint with its whitespace collapsed."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coordinate(value: float) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


__all__ = [
    "complaint_link",
    "format_wib",
    "iso_utc",
    "maps_link",
    "place",
    "private_payload",
    "private_text",
    "reopen_header",
    "reply_help",
    "reroute_header",
    "text_length",
    "trim_words",
]
