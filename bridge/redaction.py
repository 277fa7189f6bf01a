"""Redaction of personal data in text that goes to public channels.

One module for every public channel (Facebook, Instagram caption and card, X), so they all hide
the same things: Indonesian phone numbers in their common spellings (``0812-3456-7890``,
``+62 812 3456 7890``, ``(0812) 34567890``, ``62.812.3456.7890``, landlines such as
``(0357) 881234``), e-mail addresses, 16-digit NIK numbers (also grouped with spaces, dots or
dashes), and the reporter's name and each word of it of three letters or more. Each becomes
``[disamarkan]``.

Other numbers stay: amounts (``Rp 500.000``), distances, years, dates, ``RT 02``. Detectors mark
spans of the original text and the spans are replaced together, so a placeholder is never
matched again by a later detector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PLACEHOLDER = "[disamarkan]"

#: National numbers (trunk ``0`` included) are 9 to 13 digits: ``0357 881234`` to
#: ``0812 3456 78901``.
PHONE_DIGITS = range(9, 14)
NIK_DIGITS = 16

_SPACE = "[ \u00a0]"
# One separator between digit groups: a space, or a dot/dash with optional spaces around it.
_SEP = rf"(?:{_SPACE}?[.\-]{_SPACE}?|{_SPACE})"

_EMAIL = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
    r"[ \u00a0]?@[ \u00a0]?"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![\w])"
)

# A NIK: province code (two digits, never starting with 0) then 14 more digits, with at most
# one separator between any two digits. Amounts like "1.000.000" never have 16 digits.
_NIK = re.compile(rf"(?<!\w)(?<![0-9][.,])[1-9][0-9](?:{_SEP}?[0-9]){{14}}(?![0-9]|[.,\-][0-9])")

# A phone number's start: the country code (+62, (+62), 62) or the trunk 0, then the first
# group of the area code or mobile prefix (at least two more digits, so a date like
# "08-12-2024" never starts one). Further groups follow; the digit count is checked after.
_PHONE = re.compile(
    # Not inside a word or an amount ("Rp 1.062.500.000" holds no phone).
    r"(?<![\w+])(?<![0-9][.,])"
    r"(?:"
    rf"(?:\+{_SPACE}?62|\(\+?62\)|62)(?:{_SEP})?(?:\(0\)(?:{_SEP})?)?\(?"
    r"|\(?0"
    r")"
    r"[1-9][0-9]{1,3}\)?"
    rf"(?:(?:{_SEP}|\)?{_SPACE}?)[0-9]{{1,8}})*"
)
_DIGIT_GROUP = re.compile(r"[0-9]+")

#: Apostrophes inside a name ("Ma'ruf"), typed plain or typographic (U+2019).
_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[^\W\d_]+(?:[{_APOSTROPHES}][^\W\d_]+)*")


def redact(text: str | None, *, name: str | None = None, extra: Iterable[str] = ()) -> str:
    """``text`` with phones, e-mails, NIKs and the reporter's ``name`` replaced by
    ``[disamarkan]``. ``extra`` holds more literal values to hide (the reporter's own phone
    and e-mail as given), matched case-insensitively with any separators between digits."""
    if not text:
        return ""
    spans: list[tuple[int, int]] = []
    spans += [m.span() for m in _EMAIL.finditer(text)]
    spans += [m.span() for m in _NIK.finditer(text)]
    spans += list(_phone_spans(text))
    spans += list(_name_spans(text, name))
    for value in extra:
        spans += list(_literal_spans(text, value))
    return _replace(text, spans)


def redact_complaint_text(text: str | None, reporter: Mapping[str, Any] | None) -> str:
    """:func:`redact` with the complaint's reporter (name, phone and e-mail) as known values.

    Used whether or not the complaint is anonymous: public text never names the reporter.
    """
    reporter = reporter or {}
    name = reporter.get("name") if isinstance(reporter.get("name"), str) else None
    extra = [str(reporter[key]) for key in ("phone", "email") if isinstance(reporter.get(key), str)]
    return redact(text, name=name, extra=extra)


def name_parts(name: str | None) -> list[str]:
    """The words of a name that are redacted on their own: three letters or more, longest first.

    ``"Ma'ruf Amin"`` gives ``["Ma'ruf", "Amin", "ruf"]``: the word with its apostrophe, and its
    letter runs, so "Ma'ruf" and a text that spells it "Maruf" are both caught.
    """
    if not name:
        return []
    parts: set[str] = set()
    for word in _WORD.findall(name):
        if _letters(word) >= 3:
            parts.add(word)
        for piece in re.findall(r"[^\W\d_]+", word):
            if len(piece) >= 3:
                parts.add(piece)
        joined = re.sub(f"[{_APOSTROPHES}]", "", word)
        if len(joined) >= 3:
            parts.add(joined)
    return sorted(parts, key=lambda p: (-len(p), p.lower()))


def _letters(word: str) -> int:
    return sum(1 for c in word if c.isalpha())


def _phone_spans(text: str) -> Iterable[tuple[int, int]]:
    position = 0
    while True:
        match = _PHONE.search(text, position)
        if match is None:
            return
        span = _longest_valid_phone(text, match.start(), match.end())
        if span is None:
            # Not a phone from here; look again one character on (a phone may start inside).
            position = match.start() + 1
            continue
        yield span
        position = span[1]


def _longest_valid_phone(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The longest run of whole digit groups from ``start`` that is a plausible phone number.

    A candidate may swallow a following number ("0812-3456-7890 2024"): groups are dropped
    from the end until the digits count like a phone.
    """
    candidate = text[start:end]
    groups = list(_DIGIT_GROUP.finditer(candidate))
    for last in range(len(groups), 0, -1):
        digits = "".join(g.group() for g in groups[:last])
        if _plausible_phone(digits, candidate):
            stop = start + groups[last - 1].end()
            if text[start] == "(" and ")" not in text[start:stop]:
                start += 1  # an opening parenthesis of the sentence, not of the number
            return (start, stop)
    return None


def _plausible_phone(digits: str, candidate: str) -> bool:
    if candidate.lstrip("(").startswith("0"):
        national = digits
    else:
        # Written with the country code: "+62 812…", "(62) 357…", "62.812…".
        if not digits.startswith("62"):
            return False
        national = "0" + digits[2:].removeprefix("0")
        if len(national) < 2:
            return False
        if candidate[0].isdigit() and national[1] != "8":
            # A bare "62…" is only taken for a mobile number: "62.500.000" is an amount.
            return False
    return len(national) in PHONE_DIGITS and national[1] != "0"


def _name_spans(text: str, name: str | None) -> Iterable[tuple[int, int]]:
    if not name:
        return
    words = _WORD.findall(name)
    if len(words) > 1:
        # The whole name, however it is spaced, goes as one piece.
        whole = r"\s+".join(re.escape(w) for w in words)
        for match in re.finditer(rf"(?<!\w){whole}(?!\w)", text, re.IGNORECASE):
            yield match.span()
    for part in name_parts(name):
        for match in re.finditer(rf"(?<!\w){re.escape(part)}(?!\w)", text, re.IGNORECASE):
            yield match.span()


def _literal_spans(text: str, value: str) -> Iterable[tuple[int, int]]:
    value = value.strip()
    if not value:
        return
    digits = re.sub(r"\D", "", value)
    if "@" not in value and len(digits) >= 6:
        # The reporter's own number in any spelling: separators between any digits, and the
        # 0/62 prefixes exchanged.
        national = "0" + digits[2:] if digits.startswith("62") else digits
        bodies = {national[1:]} if national.startswith("0") else {national}
        for body in bodies:
            between = r"[\s.\-()]*"
            core = between.join(re.escape(d) for d in body)
            pattern = rf"(?<![\w+])(?:\+?62[\s.\-]*|0)?{core}(?!\d)"
            for match in re.finditer(pattern, text):
                yield match.span()
        return
    if len(value) >= 3:
        for match in re.finditer(rf"(?<!\w){re.escape(value)}(?!\w)", text, re.IGNORECASE):
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


__all__ = ["PLACEHOLDER", "name_parts", "redact", "redact_complaint_text"]
