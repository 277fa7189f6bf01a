"""Complaint shapes: the ingest body, the representation, the list query."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.fields import Number, StrictBoolean, Text, UTCDateTime

WADULE_ID = validate.Regexp(
    r"^[A-Za-z0-9._-]{1,64}\Z", error="1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'."
)
SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}\Z", error="Not a valid OPD slug.")

COMPLAINT_STATUSES = (
    "received",
    "forwarded",
    "delivery_failed",
    "acknowledged",
    "in_progress",
    "resolved",
    "rejected",
    "reopened",
)
CHANNEL_KINDS = ("whatsapp_group", "telegram", "webhook", "facebook_page", "instagram", "x")


class LocationSchema(Schema):
    address = Text(validate=validate.Length(max=300))
    village = Text(validate=validate.Length(max=100))
    district = Text(validate=validate.Length(max=100))
    lat = Number(validate=validate.Range(min=-90, max=90))
    lon = Number(validate=validate.Range(min=-180, max=180))


class ReporterSchema(Schema):
    name = Text(validate=validate.Length(max=200))
    phone = Text(validate=validate.Length(max=40))
    email = Text(validate=validate.Length(max=254))


class AttachmentSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    content_type = Text(validate=validate.Length(max=100))


class ComplaintCreateSchema(Schema):
    """The body of ``POST /complaints``. Unknown fields are refused (marshmallow's default)."""

    wadule_id = Text(required=True, validate=WADULE_ID)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    body = Text(required=True, validate=validate.Length(min=1, max=5000))
    category = Text(validate=validate.Length(max=100), allow_none=True)
    opd = Text(validate=validate.Length(max=100), allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    anonymous = StrictBoolean(load_default=False)
    confidential = StrictBoolean(load_default=False)
    attachments = fields.List(
        fields.Nested(AttachmentSchema), validate=validate.Length(max=5), load_default=list
    )
    submitted_at = UTCDateTime(allow_none=True)


class DeliverySchema(Schema):
    channel = fields.String(attribute="kind", metadata={"description": "the channel kind"})
    target = fields.String()
    status = fields.String()
    attempts = fields.Integer(metadata={"description": "provider calls made"})
    last_error = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)


class StatusChangeSchema(Schema):
    status = fields.String()
    note = fields.String(allow_none=True)
    actor = fields.Function(
        lambda obj: {"kind": obj.actor_kind, "name": obj.actor_name},
        metadata={"description": '{"kind", "name"}, e.g. {"kind": "opd", "name": "dpupr"}'},
    )
    at = fields.DateTime()


def _reporter(obj):
    # Shown only where the view marked the object for a role that may see contact details.
    from marshmallow import missing

    return obj.reporter if getattr(obj, "show_reporter", False) else missing


class ComplaintSchema(Schema):
    """A complaint as the API returns it."""

    wadule_id = fields.String()
    status = fields.String()
    opd = fields.String(attribute="opd_slug")
    routed_by = fields.String()
    route_note = fields.String(allow_none=True)
    title = fields.String()
    body = fields.String()
    category = fields.String(allow_none=True)
    location = fields.Dict(allow_none=True)
    reporter = fields.Function(
        _reporter, metadata={"description": "only for wadule and operator keys"}
    )
    anonymous = fields.Boolean()
    confidential = fields.Boolean()
    attachments = fields.List(fields.Dict())
    submitted_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    deliveries = fields.List(fields.Nested(DeliverySchema), attribute="forwarding")
    history = fields.List(fields.Nested(StatusChangeSchema))


class ComplaintListSchema(Schema):
    items = fields.List(fields.Nested(ComplaintSchema))
    next_cursor = fields.String(allow_none=True)


class ComplaintQueryArgsSchema(Schema):
    opd = fields.String(validate=SLUG)
    status = fields.String(validate=validate.OneOf(COMPLAINT_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=100))


class StatusUpdateSchema(Schema):
    """The body of ``POST /complaints/<wadule_id>/status``."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(
            ("acknowledged", "in_progress", "resolved", "rejected", "reopened")
        ),
    )
    note = Text(validate=validate.Length(max=1000), allow_none=True)


class AssignSchema(Schema):
    """The body of ``POST /complaints/<wadule_id>/assign``."""

    opd = fields.String(required=True, validate=SLUG)
    note = Text(validate=validate.Length(max=1000), allow_none=True)
