"""Describing an exception for a log without its message.

A database driver's message can hold a statement's values ("Failing row contains (...)"), and
those can be a reporter's name, phone or e-mail; a provider's can hold a URL with a token in it.
Logs get the exception's type chain and where it happened, never what it says.
"""

from __future__ import annotations

import traceback


def chain(error: BaseException) -> str:
    """``Outer <- Cause <- ...``: the types of an exception and what caused it, no messages."""
    names = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return " <- ".join(names)


def describe(error: BaseException) -> str:
    """The type chain and the traceback's frames (file, line, function, source line)."""
    frames = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    return f"{chain(error)}\n{frames}" if frames else chain(error)
