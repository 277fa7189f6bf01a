"""The body of every error the API answers (contract section 4)."""

from __future__ import annotations

from marshmallow import fields

from schemas.fields import OutputSchema


class ErrorSchema(OutputSchema):
    """``{"code", "message"}``, plus ``errors`` naming each bad field on a 422."""

    code = fields.Integer(required=True, metadata={"description": "The HTTP status again."})
    message = fields.String(
        required=True,
        metadata={"description": "What went wrong, in words; never personal data."},
    )
    errors = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "422 only: each bad field with its messages. Nested fields nest"
            ' (`{"location": {"lat": [...]}}`), list items by index'
            ' (`{"attachments": {"0": {"url": [...]}}}`).'
        },
    )
