"""Redaction of personal data in text that goes to public channels.

One module for every public channel (Facebook, Instagram caption and card, X), so they all hide
the same things, however they are written: Indonesian phone numbers (prefix ``0``, ``62``,
``+62`` or ``0062``; any short run of punctuation or blanks between digit groups), e-mail
addresses (also ``andi [at] gmail [dot] com`` and the like), 16-digit NIK numbers, and the
reporter's name. Each becomes ``[disamarkan]``.

The text is first *folded* (:func:`fold`): NFKC per character, invisible characters dropped,
digits of any script made ASCII, look-alike letters (Cyrillic ``\u0456``, Greek ``\u03bf``,
small capitals) made Latin, diacritics and case removed. Every folded character remembers the span
of the original it came from, so detectors match on the folded text and exactly the original
span is replaced.

Name parts of four letters or more are found inside words too (``BudiSantoso``,
``@budisantoso``, ``Budi123``): the whole word goes. A three-letter part goes only on its own.
Over-redaction is the safe side: a reporter named Budi also hides "budidaya".

A safety net follows the rules: any remaining run of nine or more digits is hidden, unless the
whole run is clearly not personal (dates, times, years). Amounts (``Rp 500.000``,
``1.000.000 rupiah``), ``RT 02``/``RW 05``/``No. 15`` and Wadule ids (``WDL-2026-000123``) are
set aside before the numbers are read.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

PLACEHOLDER = "[disamarkan]"

#: National numbers (trunk ``0`` included) are 9 to 13 digits: ``0357 881234`` to
#: ``0812 3456 78901``.
PHONE_DIGITS = range(9, 14)
NIK_DIGITS = 16
#: A run of this many digits or more is hidden unless it is clearly not personal.
SAFETY_NET_DIGITS = 9
#: Name parts at least this long are also found inside words; shorter ones only on their own.
NAME_PART_INSIDE_WORDS = 4
#: Shorter name parts are not redacted alone (they still go as part of the whole name).
NAME_PART_MIN = 3

# Folding

# Letters that look Latin but are not, and Latin letters that NFKD leaves alone. Capitals are
# listed only where they look unlike their small letter (Greek Eta "H", eta "n").
_LOOKALIKE_NAMES = {
    "a": ["CYRILLIC SMALL LETTER A", "GREEK SMALL LETTER ALPHA", "LATIN SMALL LETTER ALPHA"],
    "b": ["CYRILLIC SMALL LETTER VE", "CYRILLIC SMALL LETTER SOFT SIGN", "GREEK SMALL LETTER BETA"],
    "c": ["CYRILLIC SMALL LETTER ES", "GREEK LUNATE SIGMA SYMBOL"],
    "d": ["CYRILLIC SMALL LETTER KOMI DE", "LATIN SMALL LETTER D WITH STROKE"],
    "e": ["CYRILLIC SMALL LETTER IE", "GREEK SMALL LETTER EPSILON"],
    "g": ["LATIN SMALL LETTER SCRIPT G"],
    "h": [
        "CYRILLIC SMALL LETTER SHHA",
        "CYRILLIC SMALL LETTER EN",
        "CYRILLIC CAPITAL LETTER EN",
        "GREEK CAPITAL LETTER ETA",
        "LATIN SMALL LETTER H WITH STROKE",
    ],
    "i": [
        "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
        "GREEK SMALL LETTER IOTA",
        "LATIN SMALL LETTER DOTLESS I",
        "LATIN SMALL LETTER IOTA",
    ],
    "j": ["CYRILLIC SMALL LETTER JE", "GREEK LETTER YOT", "LATIN SMALL LETTER DOTLESS J"],
    "k": ["CYRILLIC SMALL LETTER KA", "GREEK SMALL LETTER KAPPA"],
    "l": [
        "CYRILLIC SMALL LETTER PALOCHKA",
        "LATIN SMALL LETTER L WITH STROKE",
        "LATIN SMALL LETTER L WITH BAR",
    ],
    "m": ["CYRILLIC SMALL LETTER EM", "GREEK CAPITAL LETTER MU"],
    "n": ["CYRILLIC SMALL LETTER PE", "GREEK SMALL LETTER ETA", "GREEK CAPITAL LETTER NU"],
    "o": [
        "CYRILLIC SMALL LETTER O",
        "GREEK SMALL LETTER OMICRON",
        "LATIN SMALL LETTER O WITH STROKE",
    ],
    "p": ["CYRILLIC SMALL LETTER ER", "GREEK SMALL LETTER RHO"],
    "q": ["CYRILLIC SMALL LETTER QA"],
    "r": ["CYRILLIC SMALL LETTER GHE"],
    "s": ["CYRILLIC SMALL LETTER DZE"],
    "t": ["CYRILLIC SMALL LETTER TE", "GREEK SMALL LETTER TAU", "LATIN SMALL LETTER T WITH STROKE"],
    "u": ["GREEK SMALL LETTER UPSILON"],
    "v": ["GREEK SMALL LETTER NU"],
    "w": ["CYRILLIC SMALL LETTER WE", "GREEK SMALL LETTER OMEGA"],
    "x": ["CYRILLIC SMALL LETTER HA", "GREEK SMALL LETTER CHI"],
    "y": ["CYRILLIC SMALL LETTER U", "GREEK SMALL LETTER GAMMA", "GREEK CAPITAL LETTER UPSILON"],
    "z": ["GREEK SMALL LETTER ZETA"],
}
_LOOKALIKES = {
    unicodedata.lookup(name): latin for latin, names in _LOOKALIKE_NAMES.items() for name in names
}
# Small capitals (\u1d00 "LATIN LETTER SMALL CAPITAL A" and the rest) read as their letter.
_LOOKALIKES |= {
    unicodedata.lookup(f"LATIN LETTER SMALL CAPITAL {c.upper()}"): c
    for c in "abcdefghijklmnopqrstuvwyz"
}
# Blank-looking letters and symbols used as invisible padding.
_INVISIBLE = frozenset("\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cn", "Cs"})
_KEPT_CONTROLS = frozenset("\t\n\r\f\v")


@dataclasses.dataclass(frozen=True)
class Folded:
    """A text folded for matching, with the original span of every folded character."""

    #: Lower case, ASCII digits, Latin look-alikes, no diacritics, no invisible characters.
    text: str
    #: ``text`` where ``o``/``l``/``i`` inside numbers read as digits (``O812`` is ``0812``).
    digits: str
    starts: list[int]
    ends: list[int]

    @functools.cached_property
    def runs(self) -> list[tuple[int, int]]:
        """Spans of ``digits`` where digit groups follow one another with short separators."""
        return [m.span() for m in _RUN.finditer(self.digits)]

    @functools.cached_property
    def digits_only(self) -> str:
        """Every digit of ``digits``, in order, and nothing else."""
        return re.sub(r"[^0-9]+", "", self.digits)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded into ``text[start:end]``."""
        return self.starts[start], self.ends[end - 1]


def fold(text: str) -> Folded:
    """``text`` folded for matching (see the module docstring), with its map back."""
    if text.isascii() and not _ASCII_CONTROLS.search(text):
        letters = text.lower()
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
    else:
        chars: list[str] = []
        starts, ends = [], []
        for index, char in enumerate(text):
            folded = _fold_char(char)
            if not folded:
                if ends:
                    # A dropped character goes with the one before it, so an accent or a
                    # zero-width space right after a hidden word goes too.
                    ends[-1] = index + 1
                continue
            chars.append(folded)
            starts.extend([index] * len(folded))
            ends.extend([index + 1] * len(folded))
        letters = "".join(chars)
    digits = (
        _NUMBER_LIKE.sub(_as_digits, letters) if _DIGIT_NEXT_TO_OIL.search(letters) else letters
    )
    return Folded(letters, digits, starts, ends)


_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in _DROPPED_CATEGORIES or char in _INVISIBLE:
        return ""
    if category == "Cc" and char not in _KEPT_CONTROLS:
        return ""
    return "".join(_fold_one(piece) for piece in unicodedata.normalize("NFKC", char))


def _fold_one(char: str) -> str:
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    digit = unicodedata.digit(char, None)
    if digit is None and unicodedata.category(char) in ("Nl", "No"):
        value = unicodedata.numeric(char, None)
        digit = int(value) if value is not None and value in range(10) else None
    if digit is not None:
        return str(digit)
    out = []
    for piece in unicodedata.normalize("NFKD", char.casefold()):
        if unicodedata.category(piece) in _DROPPED_CATEGORIES:
            continue
        out.append(_LOOKALIKES.get(piece, piece))
    return "".join(out)


# A word of digits and o/l/i only, with a digit in it ("O812", "789O", "OOO1").
_NUMBER_LIKE = re.compile(r"(?<![^\W_])(?=[oil]*[0-9])[0-9oil]*[oil][0-9oil]*(?![^\W_])")
_DIGIT_NEXT_TO_OIL = re.compile(r"[0-9][oil]|[oil][0-9]")
_AS_DIGITS = str.maketrans("oil", "011")


def _as_digits(match: re.Match[str]) -> str:
    return match.group().translate(_AS_DIGITS)


# Numbers

# Between digit groups: a short run of anything but letters and digits ("-", " / ", ") (",
# "_", "\u2013", "...").
_SEP = r"[\W_]{1,5}"
_RUN = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_DASHES = "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"

# Set aside before numbers are read: amounts with their currency, Wadule ids, and the short
# numbers of an address (RT/RW, house or kilometre numbers).
_AMOUNT = r"(?:[1-9][0-9]{0,2}(?:[.,][0-9]{3})+|[1-9][0-9]*|0)(?:[.,][0-9]{1,2})?"
_AMOUNT_END = rf"(?![0-9]|[.,{_DASHES}/][0-9])"
_NOT_PERSONAL = re.compile(
    "|".join(
        [
            rf"(?<![a-z])(?:rp|idr)\.?\s{{0,2}}{_AMOUNT}"
            rf"(?:\s{{0,2}}(?:[{_DASHES}/~,]|s/d)\s{{0,2}}(?:rp\.?\s{{0,2}})?{_AMOUNT})*{_AMOUNT_END}",
            rf"(?<![0-9])(?<![0-9][.,]){_AMOUNT}\s{{0,2}}"
            r"(?:rupiah|juta|jt|ribu|rb|miliar|milyar|triliun)(?![a-z])",
            r"(?<![a-z0-9])wdl-(?:19|20)[0-9]{2}-[0-9]{1,8}(?![0-9])",
            r"(?<![a-z])(?:rt|rw)\.?\s{0,2}(?:/\s{0,2}rw\.?\s{0,2})?[0-9]{1,3}"
            r"(?:\s{0,2}/\s{0,2}[0-9]{1,3})?(?![0-9])",
            r"(?<![a-z])(?:no|nomor|km|gg|gang|blok)\.?\s{0,2}[1-9][0-9]{0,2}(?![0-9])",
        ]
    )
)

# Digits spelled as words ("nol delapan satu dua ..."), mixed with digit groups or not.
_DIGIT_WORDS = (
    "nol|kosong|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan"
    "|zero|one|two|three|four|five|six|seven|eight|nine"
)
_DIGIT_TOKEN = rf"(?:{_DIGIT_WORDS}|[0-9]+(?![0-9]))"
_SPELLED = re.compile(
    rf"(?<![a-z]){_DIGIT_TOKEN}(?:[\W_]{{0,5}}{_DIGIT_TOKEN})+"
    r"(?![a-z])"
)
_SPELLED_WORD = re.compile(_DIGIT_WORDS)


def _number_spans(folded: Folded) -> Iterable[tuple[int, int]]:
    text = folded.digits
    long_runs = [(a, b) for a, b in folded.runs if b - a >= SAFETY_NET_DIGITS]
    if long_runs:  # most texts have none: a run needs nine characters to hold nine digits
        # Amounts, ids and address numbers are masked; what they leave of a run is read.
        masked = _NOT_PERSONAL.sub(lambda m: "x" * len(m.group()), text)
        for run_start, run_end in long_runs:
            for part in _RUN.finditer(masked, run_start, run_end):
                groups = [
                    (part.start() + m.start(), part.start() + m.end())
                    for m in _GROUP.finditer(part.group())
                ]
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
    wherever one can start, and what is left of nine digits or more. A run that is only dates,
    times and years is kept."""
    values = [text[s:e] for s, e in groups]
    count = len(values)
    if sum(map(len, values)) < SAFETY_NET_DIGITS:
        return []
    seps = [text[groups[k][1] : groups[k + 1][0]] for k in range(count - 1)]
    if _benign(values, seps, 0, count):
        return []
    phones, niks = [], []
    for i in range(count):
        plus = "+" in text[max(0, groups[i][0] - 3) : groups[i][0]]
        if end := _phone_end(values, i, plus):
            phones.append((i, end))
        if end := _nik_end(values, i):
            niks.append((i, end))
    taken = list(phones)
    covered = [False] * count
    for start, end in phones:
        covered[start:end] = [True] * (end - start)
    whole = (0, count)  # known not to be benign
    for start, end in niks:
        # "12-11-2026, 0812-3456" counts 16 digits, but it is a date and the start of a phone:
        # a NIK that shares groups with a phone and adds only dates and years is not one.
        rest = _gaps(covered, start, end)
        shared = rest != [(start, end)]
        if shared and (start, end) != whole and all(_benign(values, seps, *r) for r in rest):
            continue
        taken.append((start, end))
        covered[start:end] = [True] * (end - start)
    # The safety net: whatever is left of nine digits or more.
    for start, end in _gaps(covered, 0, count):
        if sum(map(len, values[start:end])) < SAFETY_NET_DIGITS:
            continue
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
    if any(len(v) > 4 for v in values[start:end]):
        return False
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


# E-mail addresses, also spelled out: "andi [at] gmail [dot] com", "andi(at)gmail(dot)com",
# "andi at gmail dot com", "andi_at_gmail_dot_com".
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT = (
    rf"(?:\s{{0,2}}@\s{{0,2}}|\s{{0,2}}{_OPEN}\s{{0,2}}(?:at|@)\s{{0,2}}{_CLOSE}\s{{0,2}}"
    r"|[\s_\-]{1,2}at[\s_\-]{1,2})"
)
# A dot as written, or spelled out ("[dot]", " dot ", " . "). After a spelled-out dot the
# last label must be a known top-level domain, or "budi@gmail.com . Jalan" would lose "Jalan".
_PLAIN_DOT = "[.\u3002]"
_SPELLED_DOT = (
    rf"(?:\s[.\u3002]\s|\s{{0,2}}{_OPEN}\s{{0,2}}(?:dot|titik|\.)\s{{0,2}}{_CLOSE}\s{{0,2}}"
    r"|[\s_]{1,2}(?:dot|titik)[\s_]{1,2})"
)
_DOT = f"(?:{_PLAIN_DOT}|{_SPELLED_DOT})"
_TLDS = "[a-z]{2}|com|net|org|info|biz|edu|gov|web|xyz|online|site|app|dev|tech|store|email"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_PROVIDERS = "gmail|googlemail|yahoo|ymail|hotmail|outlook|live|icloud|protonmail|proton"
# Every address holds "@" or the word "at": the search runs only around them.
_AT_HINT = re.compile(r"@|at(?<![a-z]at)(?![a-z])")
_ADDRESS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL = re.compile(
    rf"[a-z0-9][a-z0-9._%+\-]{{0,63}}{_AT}"
    rf"(?:(?:{_LABEL}{_DOT})*{_LABEL}(?:{_PLAIN_DOT}[a-z]{{2,}}|{_SPELLED_DOT}(?:{_TLDS}))"
    rf"|(?:{_PROVIDERS}))(?![a-z0-9])"
)


def _email_spans(text: str) -> Iterable[tuple[int, int]]:
    # An address reaches at most 80 characters before its "@" and 300 after it.
    windows: list[list[int]] = []
    for hint in _AT_HINT.finditer(text):
        low, high = max(0, hint.start() - 80), min(len(text), hint.end() + 300)
        if windows and low <= windows[-1][1]:
            windows[-1][1] = high
        else:
            windows.append([low, high])
    for low, high in windows:
        for match in _EMAIL.finditer(text, low, high):
            # Widened to the whole address, should it run past its window.
            start, end = match.span()
            while start > 0 and text[start - 1] in _ADDRESS_CHARS:
                start -= 1
            while end < len(text) and text[end].isalnum():
                end += 1
            yield start, end


# Names

#: Apostrophes inside a name ("Ma'ruf"), typed plain or typographic.
_APOSTROPHES = "'\u2019\u02bc`\u00b4"
_WORD = re.compile(rf"[^\W\d_]+(?:[{_APOSTROPHES}][^\W\d_]+)*")
# Digits and signs typed for a letter ("Bud1", "S4ntoso", "$iti").
_LEET = {"a": "4@", "b": "8", "e": "3", "g": "9", "i": "1!|", "l": "1|", "o": "0", "s": "5$"}
_LEET |= {"t": "7+", "z": "2"}


def name_parts(name: str | None) -> list[str]:
    """The words of a name that are redacted on their own: three letters or more, longest first.

    ``"Ma'ruf Amin"`` gives ``["Ma'ruf", "Maruf", "Amin", "ruf"]``: the word with its
    apostrophe, and its letter runs, so "Ma'ruf" and a text that spells it "Maruf" are both
    caught. Parts of :data:`NAME_PART_INSIDE_WORDS` letters or more are also found inside
    words and handles; shorter ones only as a word of their own.
    """
    if not name:
        return []
    parts: set[str] = set()
    for word in _WORD.findall(name):
        if _letters(word) >= NAME_PART_MIN:
            parts.add(word)
        for piece in re.findall(r"[^\W\d_]+", word):
            if len(piece) >= NAME_PART_MIN:
                parts.add(piece)
        joined = re.sub(f"[{_APOSTROPHES}]", "", word)
        if len(joined) >= NAME_PART_MIN:
            parts.add(joined)
    return sorted(parts, key=lambda p: (-len(p), p.lower()))


def _letters(word: str) -> int:
    return sum(1 for c in word if c.isalpha())


@functools.lru_cache(maxsize=256)
def _name_patterns(name: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    words = [_plain(w) for w in _WORD.findall(fold(name).text)]
    if len(words) > 1:
        # The whole name, spaced or joined any way, goes as one piece ("Al Ma'ruf").
        whole = r"[\W_]{0,3}".join(_spelling(w, spaced=False) for w in words)
        patterns.append(re.compile(rf"(?<![a-z]){whole}(?![a-z])"))
    for part in {_plain(fold(p).text) for p in name_parts(name)}:
        pattern = _spelling(part, spaced=True)
        if len(part) < NAME_PART_INSIDE_WORDS:
            pattern = rf"(?<![a-z]){pattern}(?![a-z])"
        patterns.append(re.compile(pattern))
    return tuple(patterns)


def _plain(word: str) -> str:
    return re.sub(f"[{_APOSTROPHES}]", "", word)


def _spelling(word: str, *, spaced: bool) -> str:
    """A pattern for ``word`` with look-alike digits and signs, an apostrophe anywhere, and,
    when ``spaced``, the same separator between every letter ("B.u.d.i", "s i t i")."""
    classes = [f"[{re.escape(c + _LEET[c])}]" if c in _LEET else re.escape(c) for c in word]
    between = f"[{_APOSTROPHES}]?"
    if not spaced or len(classes) < 2:
        return between.join(classes)
    first, second, *rest = classes
    spaced_rest = "".join(rf"(?P=sep){between}{c}" for c in rest)
    return rf"{first}(?P<sep>[\W_]?){between}{second}{spaced_rest}"


def _name_spans(folded: Folded, name: str | None) -> Iterable[tuple[int, int]]:
    if not name or not name.strip():
        return
    text = folded.text
    for pattern in _name_patterns(name):
        reach = -1
        for match in pattern.finditer(text):
            if match.start() < reach:
                continue  # already inside a word taken whole
            span = _whole_word(text, *match.span())
            reach = span[1]
            yield span


def _whole_word(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to the whole word or handle around it ("budi" in "@budisantoso88",
    "budi.santoso"): letters, digits and ``_``, and ``.``, ``-`` or an apostrophe between them."""
    joiners = ".-" + _APOSTROPHES

    def inside(i: int) -> bool:
        if not 0 <= i < len(text):
            return False
        c = text[i]
        if c.isalnum() or c == "_":
            return True
        return c in joiners and inside_word(i - 1) and inside_word(i + 1)

    def inside_word(i: int) -> bool:
        return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")

    while inside(start - 1):
        start -= 1
    while inside(end):
        end += 1
    return start, end


# Known values


def _literal_spans(folded: Folded, value: str) -> Iterable[tuple[int, int]]:
    value = value.strip()
    if not value:
        return
    value_folded = fold(value)
    digits = re.sub(r"[^0-9]", "", value_folded.digits)
    if "@" not in value and len(digits) >= 6:
        # The reporter's own number in any spelling: separators between any digits, and the
        # 0/62/0062 prefixes exchanged.
        national = "0" + digits[2:].removeprefix("0") if digits.startswith("62") else digits
        body = national.removeprefix("0")
        if body not in folded.digits_only:
            return  # its digits are nowhere in a row, so no spelling of it is either
        sep = f"(?:{_SEP})?"
        prefix = rf"(?:(?:\+\s{{0,2}})?(?:\(\s?)?(?:00)?62\)?{sep}(?:\(0\){sep})?|0{sep})?"
        core = sep.join(body)
        pattern = re.compile(rf"(?<![0-9]){prefix}{core}(?![0-9])")
        for run_start, run_end in folded.runs:
            if run_end - run_start >= len(body):
                # A match is inside one run, its "+62 (" prefix at most a few characters before.
                for match in pattern.finditer(folded.digits, max(0, run_start - 8), run_end):
                    yield _with_brackets(folded.digits, *match.span())
        return
    literal = value_folded.text
    if len(literal) >= NAME_PART_MIN:
        yield from _find_word(folded.text, literal)
    if "@" in literal:
        # The address's own name, alone, is often the same handle elsewhere.
        local = literal.split("@", 1)[0]
        if len(re.sub(r"[^a-z0-9]", "", local)) >= 5:
            yield from _find_word(folded.text, local)


def _find_word(text: str, literal: str) -> Iterable[tuple[int, int]]:
    for match in re.finditer(rf"(?<![a-z0-9]){re.escape(literal)}(?![a-z0-9])", text):
        yield match.span()


# Putting it together


def redact(text: str | None, *, name: str | None = None, extra: Iterable[str] = ()) -> str:
    """``text`` with phones, e-mails, NIKs, long digit runs and the reporter's ``name``
    replaced by ``[disamarkan]``, however they are written. ``extra`` holds more literal values
    to hide (the reporter's own phone and e-mail as given)."""
    if not text:
        return ""
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    spans += _email_spans(folded.text)
    spans += _number_spans(folded)
    spans += _name_spans(folded, name)
    for value in extra:
        spans += _literal_spans(folded, value)
    return _replace(text, [folded.original(s, e) for s, e in spans if e > s])


def redact_complaint_text(text: str | None, reporter: Mapping[str, Any] | None) -> str:
    """:func:`redact` with the complaint's reporter (name, phone and e-mail) as known values.

    Used whether or not the complaint is anonymous: public text never names the reporter.
    """
    reporter = reporter or {}
    name = reporter.get("name") if isinstance(reporter.get("name"), str) else None
    extra = [str(reporter[key]) for key in ("phone", "email") if isinstance(reporter.get(key), str)]
    return redact(text, name=name, extra=extra)


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
