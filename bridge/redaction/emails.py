"""E-mail addresses, as written or spelled out: ``andi [at] gmail [dot] com``,
``andi(at)gmail(dot)com``, ``andi at gmail dot com``, ``andi_at_gmail_dot_com``."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
# The local part is at most 64 characters (RFC 5321, section 4.5.3.1.1).
_EMAIL = re.compile(
    rf"(?<![a-z0-9._%+\-])[a-z0-9][a-z0-9._%+\-]{{0,63}}{_AT}"
    rf"(?:(?:{_LABEL}{_DOT})*{_LABEL}(?:{_PLAIN_DOT}[a-z]{{2,}}|{_SPELLED_DOT}(?:{_TLDS}))"
    rf"|(?:{_PROVIDERS}))(?![a-z0-9])"
)


def email_spans(text: str) -> Iterable[tuple[int, int]]:
    """Spans of the folded ``text`` that hold an e-mail address."""
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
            start, end = match.span()
            while end < len(text) and text[end].isalnum():
                end += 1  # the domain ran past the window
            yield start, end
