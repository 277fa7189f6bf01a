"""Numbers that are personal: phones, NIKs, and any other long run of digits.

A *run* is digit groups joined by short separators (1 to 5 characters that are not Latin
letters or digits). Amounts with their currency, Wadule ids and the short numbers of an
address are masked first. A run of fewer than nine digits, or only of dates, times and years,
is kept. In any other, a phone (prefix ``0``, ``62``, ``+62``, ``0062``; 9 to 13 national
digits) or a NIK (16 digits from a province code) may start at any group, and the rest of the
run goes too (the safety net), but for the dates, times and years in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from bridge.redaction.folding import Folded

#: National numbers (trunk ``0`` included) are 9 to 13 digits: ``0357 881234`` to
#: ``0812 3456 78901``.
PHONE_DIGITS = range(9, 14)
NIK_DIGITS = 16
#: A run of this many digits or more is hidden unless it is clearly not personal.
SAFETY_NET_DIGITS = 9

# Between digit groups: a short run of anything but Latin letters and digits ("-", " / ",
# ") (", "_", "\u2013", "..."; also letters of other scripts that look like a dash, such as
# the katakana "\u30fc" or the Arabic tatweel).
_SEP = r"[^a-z0-9]{1,5}"
_RUN = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_DASHES = "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"

# Set aside before numbers are read: amounts with their currency, Wadule ids, and the short
# numbers of an address (RT/RW, kilometre, alley or block; not "No.", which so often comes
# before a phone number).
_AMOUNT = r"(?:[1-9][0-9]{0,2}(?:[.,][0-9]{3})+|[1-9][0-9]*|0)(?:[.,][0-9]{1,2})?"
# An RT or RW number: 1 to 49, with leading zeros ("RT 002"); "RT 081 2345 6789" is a phone.
_NEIGHBOURHOOD = r"(?:0{0,2}[1-9]|0?[1-4][0-9])(?![0-9])"
_AMOUNT_END = rf"(?![0-9]|[.,{_DASHES}/][0-9])"
_NOT_PERSONAL = re.compile(
    "|".join(
        [
            rf"(?<![a-z])(?:rp|idr)\.?\s{{0,2}}{_AMOUNT}"
            rf"(?:\s{{0,2}}(?:[{_DASHES}/~,]|s/d)\s{{0,2}}(?:rp\.?\s{{0,2}})?{_AMOUNT})*{_AMOUNT_END}",
            rf"(?<![0-9])(?<![0-9][.,]){_AMOUNT}\s{{0,2}}"
            r"(?:rupiah|juta|jt|ribu|rb|miliar|milyar|triliun)(?![a-z])",
            r"(?<![a-z0-9])wdl-(?:19|20)[0-9]{2}-[0-9]{1,8}(?![0-9])",
            rf"(?<![a-z])(?:rt|rw)\.?\s{{0,2}}(?:/\s{{0,2}}rw\.?\s{{0,2}})?{_NEIGHBOURHOOD}"
            rf"(?:\s{{0,2}}/\s{{0,2}}{_NEIGHBOURHOOD})?(?![0-9])",
            r"(?<![a-z])(?:km|gg|gang|blok)\.?\s{0,2}[1-9][0-9]{0,2}(?![0-9])",
        ]
    )
)

# Every pattern above holds one of these: a cheap test before the long one.
_LABEL_HINT = re.compile(r"r[ptw]|rupiah|idr|wdl|km|gg|gang|blok|jt|juta|ribu|rb|mil|tril")

# Digits spelled as words ("nol delapan satu dua ..."), mixed with digit groups or not.
_DIGIT_WORDS = (
    "nol|kosong|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan"
    "|zero|one|two|three|four|five|six|seven|eight|nine"
)
_DIGIT_TOKEN = rf"(?:{_DIGIT_WORDS}|[0-9]+(?![0-9]))"
_SPELLED = re.compile(
    rf"(?<![a-z]){_DIGIT_TOKEN}(?:[^a-z0-9]{{0,5}}{_DIGIT_TOKEN})+"
    r"(?![a-z])"
)
_SPELLED_WORD = re.compile(_DIGIT_WORDS)


def number_spans(folded: Folded) -> Iterable[tuple[int, int]]:
    """Spans of ``folded`` that hold personal numbers."""
    text = folded.digits
    long_runs = [(a, b) for a, b in _runs(text) if b - a >= SAFETY_NET_DIGITS]
    for run_start, run_end in long_runs:
        # Amounts, ids and address numbers are masked, and what they leave of the run is read.
        # Their labels stand right before the run ("Rp. ", "RT/RW ") or after it
        # (" triliun"), so a window of 12 characters around it is enough; the patterns' own
        # look-behinds still see the text before the window.
        low, high = max(0, run_start - 12), min(len(text), run_end + 12)
        masked = text[low:high]
        if _LABEL_HINT.search(masked):
            window = list(masked)
            for match in _NOT_PERSONAL.finditer(text, low, high):
                window[match.start() - low : match.end() - low] = "x" * len(match.group())
            masked = "".join(window)
        for part in _RUN.finditer(masked, run_start - low, run_end - low):
            offset = low + part.start()
            groups = [(offset + m.start(), offset + m.end()) for m in _GROUP.finditer(part.group())]
            for start, end in _personal_groups(text, groups):
                yield _with_brackets(text, groups[start][0], groups[end - 1][1])
    if _SPELLED_WORD.search(folded.text):
        for match in _SPELLED.finditer(folded.text):
            words = len(_SPELLED_WORD.findall(match.group()))
            count = words + sum(len(g) for g in _GROUP.findall(match.group()))
            if words and count >= SAFETY_NET_DIGITS:
                yield match.span()


def _personal_groups(text: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges ``[i, j)`` of the digit groups of one run that are personal: phones and NIKs
    wherever one can start, and whatever else the run holds but dates, times and years. A
    run of fewer than nine digits, or only of dates, times and years, is kept."""
    values = [text[s:e] for s, e in groups]
    count = len(values)
    if sum(map(len, values)) < SAFETY_NET_DIGITS:
        return []
    seps = [text[groups[k][1] : groups[k + 1][0]] for k in range(count - 1)]
    if _benign(values, seps, 0, count):
        return []
    taken: list[tuple[int, int]] = []
    covered = [False] * count
    for i in range(count):
        plus = "+" in text[max(0, groups[i][0] - 3) : groups[i][0]]
        if values[i][0] in "06" and (end := _phone_end(values, i, plus)):
            taken.append((i, end))
            covered[i:end] = [True] * (end - i)
    whole = (0, count)  # known not to be benign
    i = 0
    while i < count:
        # (A NIK may start inside a phone: "6208 0000 0000 0000" reads as +62 808… too.)
        end = None if values[i][0] == "0" else _nik_end(values, i)
        if end is None:
            i += 1
            continue
        # "12-11-2026, 0812-3456" counts 16 digits, but it is a date and the start of a phone:
        # a NIK that shares groups with a phone and adds only dates and years is not one.
        rest = _gaps(covered, i, end)
        shared = rest != [(i, end)]
        if shared and (i, end) != whole and all(_benign(values, seps, *r) for r in rest):
            i += 1
            continue
        taken.append((i, end))
        covered[i:end] = [True] * (end - i)
        i = end
    # The safety net: the run holds nine digits or more, so whatever is left of it goes too,
    # unless it is dates, times or years ("0812-3456-7890 2024"). A short rest is no safer
    # than a long one: it is most likely a piece of a number read the wrong way.
    for start, end in _gaps(covered, 0, count):
        if (start, end) == whole or not _benign(values, seps, start, end):
            taken.append((start, end))
    return taken


def _gaps(covered: list[bool], start: int, end: int) -> list[tuple[int, int]]:
    """The ranges within ``start:end`` that are not ``covered``."""
    gaps, position = [], start
    while position < end:
        if covered[position]:
            position += 1
            continue
        stop = position
        while stop < end and not covered[stop]:
            stop += 1
        gaps.append((position, stop))
        position = stop
    return gaps


def _nik_end(values: list[str], start: int) -> int | None:
    digits = ""
    for end in range(start, len(values)):
        digits += values[end]
        if len(digits) >= NIK_DIGITS:
            break
    if len(digits) == NIK_DIGITS and 11 <= int(digits[:2]) <= 94:
        return end + 1
    return None


def _phone_end(values: list[str], start: int, plus: bool) -> int | None:
    """The end of the longest run of whole groups from ``start`` that reads as a phone number.

    A run may go on past the number ("0812-3456-7890 2024"): the longest plausible one wins.
    """
    best = None
    digits = ""
    for end in range(start, len(values)):
        digits += values[end]
        national = _national(digits, plus)
        if national is None or len(national) > PHONE_DIGITS[-1]:
            break
        if len(national) in PHONE_DIGITS and national[1] != "0":
            best = end + 1
    return best


def _national(digits: str, plus: bool) -> str | None:
    """The national number (trunk ``0`` first) that ``digits`` begin to spell: None when they
    spell none, "" while the prefix is still undecided (``62`` and then?)."""
    if digits.startswith("0062"):
        rest = digits[4:]
    elif digits.startswith("62"):
        rest = digits[2:]
        if not plus and rest in ("", "0"):
            return ""
        if not plus and not rest.removeprefix("0").startswith("8"):
            # A bare "62…" is only taken for a mobile number: "62.500.000" is an amount.
            return None
    elif digits.startswith("0"):
        return digits
    elif digits == "6":
        return ""
    else:
        return None
    return "0" + rest.removeprefix("0")


def _benign(values: list[str], seps: list[str], start: int, end: int) -> bool:
    """Whether groups ``start:end`` are all dates (with or without a time), times and years."""
    if any(len(v) > 4 for v in values[start:end]) or not any(_items(values, seps, start, end)):
        return False  # (most runs fail at once: "0812" is no date, time or year)
    # fits[i]: groups i:end can be read as such items, one after the other. Items are not
    # joined by a bare "." or ":", or "08.00.00.00…" would read as times.
    fits = [False] * (end - start) + [True]
    for i in range(end - 1, start - 1, -1):
        k = i - start
        fits[k] = any(
            fits[k + size] and (i + size == end or seps[i + size - 1] not in (".", ":"))
            for size in _items(values, seps, i, end)
        )
        if not any(fits[k : k + _LONGEST_ITEM]):
            return False  # no item reaches past this gap
    return fits[0]


_LONGEST_ITEM = 5  # groups: a date and a time


def _items(values: list[str], seps: list[str], i: int, end: int) -> Iterable[int]:
    """The sizes (in groups) of the non-personal items that can start at group ``i``."""
    left = end - i
    if left >= 3 and _is_date(values[i : i + 3], seps[i : i + 2]):
        if left >= 5 and _is_time(values[i + 3 : i + 5], seps[i + 3 : i + 4], any_minute=True):
            yield 5
        yield 3
    if left >= 2 and _is_time(values[i : i + 2], seps[i : i + 1]):
        yield 2
    if len(values[i]) == 4 and 1900 <= int(values[i]) <= 2099:
        yield 1


@functools.lru_cache(maxsize=1024)
def _core(sep: str) -> str:
    return re.sub(rf"\s+|[{_DASHES}]", lambda m: "-" if m.group().strip() else "", sep)


def _is_date(values: list[str], seps: list[str]) -> bool:
    cores = {_core(s) for s in seps}
    if len(cores) != 1 or cores.pop() not in ("-", "/", "."):
        return False
    if len(values[0]) == 4:
        values = values[::-1]  # year first: 2026-11-12
    day, month, year = values
    if len(day) > 2 or len(month) > 2 or len(year) not in (2, 4):
        return False
    if len(year) == 4 and not 1900 <= int(year) <= 2099:
        return False
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _is_time(values: list[str], seps: list[str], *, any_minute: bool = False) -> bool:
    """``08.30`` or ``14:05``. Without a date before it, only on a multiple of five minutes:
    a list of times is the one long benign run a phone number could hide in
    ("08.12-14.56-18.20")."""
    hour, minute = values
    if _core(seps[0]) not in (".", ":") or len(hour) > 2 or len(minute) != 2:
        return False
    return int(hour) <= 24 and int(minute) <= 59 and (any_minute or int(minute) % 5 == 0)


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to the ``+`` and parentheses written around the number."""
    lead = re.search(r"(?:\(\s?)?(?:\+\s?)?(?:\(\s?)?$", text[max(0, start - 5) : start])
    if lead:
        start -= len(lead.group())
    opened = text.count("(", start, end) - text.count(")", start, end)
    if opened > 0 and text.startswith(")", end):
        end += 1
    elif opened > 0:
        start = text.index("(", start) + 1  # a parenthesis of the sentence, not of the number
        start += len(text[start:end]) - len(text[start:end].lstrip())
    return start, end


def known_phone_spans(folded: Folded, digits: str) -> Iterable[tuple[int, int]]:
    """Spans of ``folded`` that spell the phone number with these ``digits`` (the reporter's
    own): any separators between its digits, and its 0/62/0062 prefix exchanged for another.
    """
    national = "0" + digits[2:].removeprefix("0") if digits.startswith("62") else digits
    body = national.removeprefix("0")
    if body not in _digits_only(folded.digits):
        return  # its digits are nowhere in a row, so no spelling of it is either
    sep = f"(?:{_SEP})?"
    prefix = rf"(?:(?:\+\s{{0,2}})?(?:\(\s?)?(?:00)?62\)?{sep}(?:\(0\){sep})?|0{sep})?"
    pattern = re.compile(rf"(?<![0-9]){prefix}{sep.join(body)}(?![0-9])")
    for run_start, run_end in _runs(folded.digits):
        if run_end - run_start >= len(body):
            # A match is inside one run, its "+62 (" prefix at most a few characters before.
            for match in pattern.finditer(folded.digits, max(0, run_start - 8), run_end):
                yield _with_brackets(folded.digits, *match.span())


@functools.lru_cache(maxsize=4)
def _runs(digits: str) -> list[tuple[int, int]]:
    return [m.span() for m in _RUN.finditer(digits)]


@functools.lru_cache(maxsize=4)
def _digits_only(digits: str) -> str:
    return re.sub(r"[^0-9]+", "", digits)
