"""Strict fields: what JSON and the databases can both hold, refused early with a clear message."""

from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, ValidationError, fields


def _check_text(value: str) -> str:
    # NUL is not storable in PostgreSQL text, and lone surrogates cannot be encoded as UTF-8:
    # both would fail at INSERT time, so they are a validation error here instead.
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode text.") from None
    return value


class Text(fields.String):
    """A string that PostgreSQL and SQLite can both store."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _check_text(super()._deserialize(value, attr, data, **kwargs))


class StrictBoolean(fields.Boolean):
    """Only JSON ``true`` and ``false``; ``"yes"`` or ``1`` are type errors, not truthy."""

    truthy = {True}
    falsy = {False}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Number(fields.Float):
    """A finite JSON number (no NaN, no infinity, no strings)."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 datetime with an offset, normalised to UTC."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError("Out of range.") from None


class OutputSchema(Schema):
    """A shape the API returns. Clients must ignore fields they do not know, so its document
    leaves room for fields added later (no ``additionalProperties: false``, which input shapes
    keep: an unknown field in a request is a 422)."""

    class Meta:
        unknown = EXCLUDE
