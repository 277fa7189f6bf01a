"""The sandbox inbox: what channels would have received with ``BRIDGE_SANDBOX=1``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.complaints import CHANNEL_KINDS, WADULE_ID
from schemas.fields import OutputSchema


class SandboxMessageSchema(OutputSchema):
    id = fields.Integer()
    wadule_id = fields.String(allow_none=True)
    channel = fields.String(attribute="kind")
    target = fields.String()
    text = fields.String()
    payload = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class SandboxListSchema(OutputSchema):
    items = fields.List(fields.Nested(SandboxMessageSchema))
    next_cursor = fields.String(allow_none=True)


class SandboxQueryArgsSchema(Schema):
    wadule_id = fields.String(validate=WADULE_ID)
    channel = fields.String(validate=validate.OneOf(CHANNEL_KINDS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=100))
