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

#: WIB is UTC+7 all year (Indonesia keeps no daylight saving), so no tz database is needed.
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
ELLIPSIS = "…"
MAPS_URL = "https://www.google.com/maps/search/?api=1&query={lat},{lon}"


def complaint_link(settings, wadule_id: str) -> str:
    """The complaint's public page on Wadule."""
    return settings.wadule_complaint_url.format(wadule_id=wadule_id)


def reopen_header(note: str | None) -> str:
    """The lines above a reopened complaint: it came back, and Wadule's reason."""
    lines = ["🔁 *Aduan dibuka kembali oleh Wadule*"]
    if note and note.strip():
        lines.append(f"*Alasan:* {_clean(note)}")
    return "\n".join(lines) + "\n\n"


def reroute_header(from_office_name: str, note: str | None) -> str:
    """The lines above a re-routed complaint: which office passed it on, and its note."""
    lines = [f"↪️ *Aduan dialihkan dari {_clean(from_office_name)}*"]
    if note and note.strip():
        lines.append(f"*Catatan:* {_clean(note)}")
    return "\n".join(lines) + "\n\n"


#: What the worked example of the reply help asks for (an ordinary "in progress" answer).
EXAMPLE_NOTE = "Tim survei ke lokasi Senin"


def reply_help(wadule_id: str) -> str:
    """The last lines of every private message: how to answer from the group.

    The command, a worked example with this complaint's own id (so it can be copied), and
    that a reply to the message with just the word works too.
    """
    return (
        f"Balas: #{wadule_id} terima|proses|selesai|tolak|bukan [catatan]\n"
        f"Contoh: #{wadule_id} proses {EXAMPLE_NOTE}\n"
        "Atau balas pesan ini dengan katanya saja, mis.: selesai Sudah ditambal"
    )


def text_length(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2), as Telegram measures it."""
    return len(text.encode("utf-16-le")) // 2


def private_text(complaint, *, opd_name: str, link: str, limit: int) -> str:
    """The full complaint for a private channel, at most ``limit`` long (see :func:`text_length`).

    When it does not fit, only the body is shortened, at a word boundary, ending in "…"; the
    header, the link and the reply help always stay. If even an empty body does not fit, the
    attachment links go next, then everything but the header, title, link and reply help.
    """
    parts = _Parts.of(complaint, opd_name=opd_name, link=link)
    for layout in (parts.full, parts.without_attachment_links):
        without_body = layout("")
        room = limit - text_length(without_body)
        if text_length(parts.body) <= room:
            return layout(parts.body)
        if room >= text_length(ELLIPSIS):
            return layout(trim_words(parts.body, room))
    text = parts.minimal(limit)
    if text_length(text) > limit:
        raise ValueError(f"limit {limit} is too small for even the header, link and reply help")
    return text


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
    """The message's pieces, assembled by the layouts below around a (possibly trimmed) body."""

    header: str
    details: tuple[str, ...]
    body: str
    reporter: tuple[str, ...]
    attachments: tuple[str, ...]
    attachment_count: int
    link: str
    help: str
    title: str

    @classmethod
    def of(cls, complaint, *, opd_name: str, link: str) -> _Parts:
        wadule_id = complaint.wadule_id
        title = _clean(complaint.title) or "(tanpa judul)"
        details = [f"*Judul:* {title}", f"*Untuk:* {_clean(opd_name)}"]
        if _clean(complaint.category):
            details.append(f"*Kategori:* {_clean(complaint.category)}")
        location_text = place(complaint.location)
        if location_text:
            details.append(f"*Lokasi:* {location_text}")
        maps = maps_link(complaint.location)
        if maps:
            details.append(f"🗺️ {maps}")
        if complaint.submitted_at is not None:
            details.append(f"*Masuk:* {format_wib(complaint.submitted_at)}")
        if complaint.confidential:
            details.append("🔒 *Rahasia:* jangan disebarluaskan")
        attachments = [
            str(a.get("url")).strip()
            for a in (complaint.attachments or [])
            if isinstance(a, Mapping) and a.get("url")
        ]
        return cls(
            header=f"📣 *Aduan baru #{wadule_id}*",
            details=tuple(details),
            body=(complaint.body or "").strip(),
            reporter=tuple(_reporter_lines(complaint)),
            attachments=tuple(f"📎 {url}" for url in attachments),
            attachment_count=len(attachments),
            link=f"🔗 {link}",
            help=reply_help(wadule_id),
            title=title,
        )

    def full(self, body: str) -> str:
        return self._assemble(body, self.attachments)

    def without_attachment_links(self, body: str) -> str:
        note = (
            (f"📎 {self.attachment_count} lampiran (lihat tautan)",)
            if self.attachment_count
            else ()
        )
        return self._assemble(body, note)

    def _assemble(self, body: str, attachments: tuple[str, ...]) -> str:
        blocks = [
            self.header,
            "\n".join(self.details),
            f"*Isi aduan:*\n{body}",
            "\n".join(self.reporter),
        ]
        if attachments:
            blocks.append("\n".join(attachments))
        blocks.append(f"{self.link}\n\n{self.help}")
        return "\n\n".join(blocks)

    def minimal(self, limit: int) -> str:
        note = "Isi lengkap di tautan."

        def layout(title: str) -> str:
            return f"{self.header}\n\n*Judul:* {title}\n{note}\n\n{self.link}\n\n{self.help}"

        room = limit - text_length(layout(""))
        return layout(trim_words(self.title, room) if room >= 1 else "")


def _reporter_lines(complaint) -> list[str]:
    if complaint.anonymous:
        return ["*Pelapor:* anonim"]
    reporter = complaint.reporter or {}
    name = _clean(reporter.get("name"))
    lines = [f"*Pelapor:* {name or 'tidak dicantumkan'}"]
    phone = _clean(reporter.get("phone"))
    if phone:
        lines.append(f"*Telepon:* {phone}")
    email = _clean(reporter.get("email"))
    if email:
        lines.append(f"*Email:* {email}")
    return lines


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
