"""The event feed (contract section 6)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class EventSchema(Schema):
    type = fields.String()
    timestamp = fields.String(metadata={"description": "ISO 8601, UTC"})
    data = fields.Dict(metadata={"description": "seq, wadule_id, status, ... (CONTRACT.md 6)"})


class EventListSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    last_seq = fields.Integer()


class EventQueryArgsSchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
