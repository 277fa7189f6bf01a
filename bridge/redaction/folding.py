"""Text folded for matching, with a map back to the original.

Every character is folded on its own: NFKC (full-width and mathematical letters and digits,
ligatures), format and invisible characters and combining marks dropped, digits of any script
made ASCII, look-alike letters (Cyrillic, Greek, small capitals) made Latin, case and
diacritics removed. A character may fold into several or into none; each folded character
keeps the span of the original it came from, and a dropped one goes with the character before
it. Detectors match on the folded text and replace exactly the original span.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata

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

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded into ``text[start:end]``."""
        return self.starts[start], self.ends[end - 1]


def fold(text: str) -> Folded:
    """``text`` folded for matching (see the module docstring), with its map back."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    # Printable ASCII only needs lower case, a stretch at a time; the rest, a character at a
    # time.
    for piece in _PLAIN_OR_NOT.finditer(text):
        index = piece.start()
        if piece.lastgroup == "plain":
            chars.append(piece.group().lower())
            starts.extend(range(index, piece.end()))
            ends.extend(range(index + 1, piece.end() + 1))
            continue
        folded = _fold_char(piece.group())
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


_PLAIN_OR_NOT = re.compile(r"(?P<plain>[\t-\r -~]+)|(?P<other>.)", re.DOTALL)


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
