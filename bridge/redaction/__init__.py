"""Redaction of personal data in text that goes to public channels.

One package for every public channel (Facebook, Instagram caption and card, X), so they all
hide the same things, however they are written (contract section 5): Indonesian phone numbers
and 16-digit NIKs (:mod:`.numbers`), e-mail addresses (:mod:`.emails`) and the reporter's name
(:mod:`.names`). Each becomes ``[disamarkan]``.

The text is first folded (:mod:`.folding`): full-width, other-script and look-alike characters
made plain, invisible ones dropped, with a map back to the original, so that detectors match
the folded text and exactly the original span is replaced. Detectors only mark spans; the
spans are replaced together at the end, so a placeholder is never matched again.

A safety net follows the rules: any other run of nine digits or more goes, but for what in it
is clearly not personal (dates, times, years; Rp amounts, ``RT 02``, Wadule ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.redaction.emails import email_spans
from bridge.redaction.folding import Folded, fold
from bridge.redaction.names import NAME_PART_INSIDE_WORDS, NAME_PART_MIN, name_parts, name_spans
from bridge.redaction.numbers import SAFETY_NET_DIGITS, known_phone_spans, number_spans

PLACEHOLDER = "[disamarkan]"


def redact(text: str | None, *, name: str | None = None, extra: Iterable[str] = ()) -> str:
    """``text`` with phones, e-mails, NIKs, long digit runs and the reporter's ``name``
    replaced by ``[disamarkan]``, however they are written. ``extra`` holds more values to
    hide (the reporter's own phone and e-mail as given)."""
    if not text:
        return ""
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    spans += email_spans(folded.text)
    spans += number_spans(folded)
    spans += name_spans(folded, name)
    for value in extra:
        spans += _known_spans(folded, value)
    return _replace(text, [folded.original(s, e) for s, e in spans if e > s])


def redact_complaint_text(text: str | None, reporter: Mapping[str, Any] | None) -> str:
    """:func:`redact` with the complaint's reporter (name, phone and e-mail) as known values.

    Used whether or not the complaint is anonymous: public text never names the reporter.
    """
    reporter = reporter or {}
    name = reporter.get("name") if isinstance(reporter.get("name"), str) else None
    extra = [str(reporter[key]) for key in ("phone", "email") if isinstance(reporter.get(key), str)]
    return redact(text, name=name, extra=extra)


def _known_spans(folded: Folded, value: str) -> Iterable[tuple[int, int]]:
    """Where a known value (a phone number, an address, any other word) stands in the text."""
    value_folded = fold(value.strip())
    literal = value_folded.text
    digits = re.sub(r"[^0-9]", "", value_folded.digits)
    if "@" not in literal and len(digits) >= 6:
        yield from known_phone_spans(folded, digits)
        return
    if len(literal) >= NAME_PART_MIN:
        yield from _word_spans(folded.text, literal)
    if "@" in literal:
        # The address's own name, alone, is often the same handle elsewhere.
        local = literal.split("@", 1)[0]
        if len(re.sub(r"[^a-z0-9]", "", local)) >= 5:
            yield from _word_spans(folded.text, local)


def _word_spans(text: str, literal: str) -> Iterable[tuple[int, int]]:
    for match in re.finditer(rf"(?<![a-z0-9]){re.escape(literal)}(?![a-z0-9])", text):
        yield match.span()


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or text[merged[-1][1] : start].isspace()):
            # Overlapping, touching, or only blanks between: one placeholder for the lot,
            # so "Budi Santoso" is one "[disamarkan]", not two.
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces = []
    position = 0
    for start, end in merged:
        pieces.append(text[position:start])
        pieces.append(PLACEHOLDER)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


__all__ = [
    "NAME_PART_INSIDE_WORDS",
    "PLACEHOLDER",
    "SAFETY_NET_DIGITS",
    "Folded",
    "fold",
    "name_parts",
    "redact",
    "redact_complaint_text",
]
