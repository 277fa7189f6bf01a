"""Opaque cursors for newest-first lists: the last row's id, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

from flask_smorest import abort


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"c{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor stands for; a 422 naming ``cursor`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("c"):
            raise ValueError
        value = int(raw[1:])
        if value < 0 or value > 2**62:
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        abort(422, message="invalid cursor", errors={"cursor": ["Not a cursor from this API."]})
