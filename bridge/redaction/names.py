"""The reporter's name and its parts, however written: any case, accents, look-alike letters,
digits for letters, a separator between letters, joined to other words or inside handles.

A part of four letters or more is also found inside a word, and the whole word goes
(``BudiSantoso``, ``@budisantoso``, ``Budi123``); a three-letter part goes only on its own.
Over-redaction is the safe side: a reporter named Budi also hides "budidaya".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from bridge.redaction.folding import Folded, fold

#: Name parts at least this long are also found inside words; shorter ones only on their own.
NAME_PART_INSIDE_WORDS = 4
#: Shorter name parts are not redacted alone (they still go as part of the whole name).
NAME_PART_MIN = 3

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
    # Parts of the folded name, so that accents or invisible characters in the name as given
    # ("Bu\u0301di", "Bu\u200bdi") do not cut it into pieces.
    for part in {_plain(p) for p in name_parts(fold(name).text)}:
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


def name_spans(folded: Folded, name: str | None) -> Iterable[tuple[int, int]]:
    """Spans of ``folded`` that hold the name or one of its parts, widened to whole words."""
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
