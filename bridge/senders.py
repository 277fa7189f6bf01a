"""Who sent a group message, and whether the OPD lists them as a responder (contract section 7).

WhatsApp names a group member however the WAHA engine and the group do: ``628…@c.us``,
``628…:12@s.whatsapp.net`` (a linked device), or only a LID, ``1398…@lid``. Responders are
listed as phone numbers in any spelling, LIDs, ``tg:<user id>`` or ``tg:admins``; both sides are
brought to one form (:func:`schemas.directory.normalize_responder`) before they are compared.

A LID that is not listed is matched through the phone number WAHA knows for it
(``GET /api/{session}/lids/{lid}``, WAHA >= 2025.5.4). The answer is kept in ``waha_lids``: a
number for a month, "unknown" for ten minutes; when WAHA cannot say, the LID only matches when
it is listed itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import Iterable

import requests
from sqlalchemy.exc import IntegrityError

from bridge.db import new_session
from bridge.models import WahaLid, utcnow
from schemas.directory import TELEGRAM_ADMINS, normalize_responder

log = logging.getLogger(__name__)

#: How long an answer from WAHA's LID API is trusted.
LID_KNOWN_FOR = dt.timedelta(days=30)
LID_UNKNOWN_FOR = dt.timedelta(minutes=10)
#: The LID lookup happens while a group waits for the bridge's answer: keep it short.
LID_TIMEOUT = 3.0

# "628123…", "628123…:12" (a linked device), before "@c.us" / "@s.whatsapp.net" / "@lid".
_WHATSAPP_ID = re.compile(r"^(\d{5,25})(?::\d{1,3})?@(c\.us|s\.whatsapp\.net|lid)\Z")


@dataclasses.dataclass(frozen=True)
class Sender:
    """A message's sender in the responders' form: ``6281…``, ``1398…@lid``, ``tg:…``, or ``""``
    when the provider did not say (such a sender matches no listed responder)."""

    id: str

    @property
    def lid(self) -> str | None:
        return self.id if self.id.endswith("@lid") else None


UNKNOWN = Sender("")
ANONYMOUS_ADMINS = Sender(TELEGRAM_ADMINS)


def whatsapp_sender(raw: str | None) -> Sender:
    """The sender of a WhatsApp group message from however WAHA named them."""
    match = _WHATSAPP_ID.match((raw or "").strip().lower())
    if match is None:
        return UNKNOWN
    digits, server = match.groups()
    return Sender(f"{digits}@lid" if server == "lid" else digits)


def telegram_sender(user_id: int) -> Sender:
    return Sender(f"tg:{user_id}")


def listed(responders: Iterable[str]) -> set[str]:
    """The OPD's responders in normal form; entries imported before they were checked and
    that are not valid are left out (they could never match anyone)."""
    out = set()
    for entry in responders:
        try:
            out.add(normalize_responder(entry))
        except ValueError:
            continue
    return out


class LidResolver:
    """Asks WAHA which phone number stands behind a LID, through the ``waha_lids`` cache."""

    def __init__(self, settings, http: requests.Session | None = None):
        self.settings = settings
        self.http = http or requests

    def phone_of(self, lid: str) -> str | None:
        """The E.164 digits behind ``lid`` (``<digits>@lid``), or None when nobody can say.

        The cache is read and written in a session of its own and committed at once: WAHA's
        answer is true whatever happens to the command that asked.
        """
        now = utcnow()
        with new_session() as db:
            cached = db.get(WahaLid, lid)
            if cached is not None:
                fresh = LID_KNOWN_FOR if cached.phone else LID_UNKNOWN_FOR
                if now - cached.resolved_at < fresh:
                    return cached.phone
            answered, phone = self._ask(lid)
            if not answered:
                return cached.phone if cached is not None else None
            if cached is None:
                db.add(WahaLid(lid=lid, phone=phone, resolved_at=now))
            else:
                cached.phone, cached.resolved_at = phone, now
            try:
                db.commit()
            except IntegrityError:  # another request cached it first: theirs is as good
                db.rollback()
            return phone

    def _ask(self, lid: str) -> tuple[bool, str | None]:
        """(WAHA answered, the phone digits it gave). Not answering is not "unknown"."""
        settings = self.settings
        if settings.whatsapp_provider != "waha" or not settings.waha_url:
            return False, None
        url = (
            f"{settings.waha_url.rstrip('/')}/api/"
            f"{urllib.parse.quote(settings.waha_session, safe='')}/lids/"
            f"{urllib.parse.quote(lid, safe='')}"
        )
        headers = {"Accept": "application/json"}
        if settings.waha_api_key:
            headers["X-Api-Key"] = settings.waha_api_key
        try:
            response = self.http.get(url, headers=headers, timeout=LID_TIMEOUT)
        except requests.RequestException as exc:
            log.warning("waha lid lookup failed (%s)", type(exc).__name__)
            return False, None
        if response.status_code == 404:
            # No such route (WAHA before 2025.5.4) or no such session: ask again later.
            log.warning("waha has no lid lookup (404); update WAHA to 2025.5.4 or later")
            return True, None
        if response.status_code != 200:
            # Session not WORKING (422), a bad key, a server error: nothing learned.
            log.warning("waha lid lookup answered %s", response.status_code)
            return False, None
        try:
            body = response.json()
        except ValueError:
            return False, None
        pn = body.get("pn") if isinstance(body, dict) else None
        phone = whatsapp_sender(pn).id if isinstance(pn, str) else ""
        return True, (phone if phone and not phone.endswith("@lid") else None)


def is_responder(responders: Iterable[str], sender: Sender, resolver: LidResolver | None) -> bool:
    """Whether ``sender`` is one of ``responders`` (the OPD's list, non-empty)."""
    wanted = listed(responders)
    if not sender.id:
        return False
    if sender.id in wanted:
        return True
    phones = {entry for entry in wanted if entry.isdigit()}
    if sender.lid and phones and resolver is not None:
        phone = resolver.phone_of(sender.lid)
        return phone is not None and phone in phones
    return False
