"""Complaint shapes: the ingest body, the representation, the list query."""

from __future__ import annotations

from marshmallow import Schema, fields, missing, validate

from schemas.fields import Number, OutputSchema, StrictBoolean, Text, UTCDateTime

#: The end of the text, written so that it means the same in ECMA-262 (JSON Schema's regex
#: dialect, what an OpenAPI `pattern` is), Python and PCRE: `$` also matches before a final
#: newline in Python and PCRE, and `\Z` is a literal Z in JavaScript.
END = r"(?![\s\S])"
WADULE_ID = validate.Regexp(
    r"^[A-Za-z0-9._-]{1,64}" + END, error="1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'."
)
SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}" + END, error="Not a valid OPD slug.")

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
#: The same as ``bridge.statuses.DeliveryStatus`` and ``RoutedBy`` (a test checks they agree).
DELIVERY_STATUSES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "read",
    "retrying",
    "dead",
    "needs_review",
)
ROUTED_BY = ("opd", "category", "triage")


class LocationSchema(Schema):
    """Where the complaint is about; every field optional."""

    address = Text(validate=validate.Length(max=300))
    village = Text(validate=validate.Length(max=100))
    district = Text(validate=validate.Length(max=100))
    lat = Number(validate=validate.Range(min=-90, max=90))
    lon = Number(validate=validate.Range(min=-180, max=180))


class ReporterSchema(Schema):
    """Who sent the complaint. Personal data: shown only to ``wadule`` and ``operator`` keys,
    never on public channels, and left out of group messages when ``anonymous``."""

    name = Text(validate=validate.Length(max=200))
    phone = Text(validate=validate.Length(max=40))
    email = Text(validate=validate.Length(max=254))


class AttachmentSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    content_type = Text(validate=validate.Length(max=100))


class ComplaintCreateSchema(Schema):
    """The body of ``POST /complaints``. Unknown fields are refused (marshmallow's default)."""

    wadule_id = Text(
        required=True,
        validate=WADULE_ID,
        metadata={"description": "Wadule's id of the complaint; the key for replays."},
    )
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    body = Text(required=True, validate=validate.Length(min=1, max=5000))
    category = Text(
        validate=validate.Length(max=100),
        allow_none=True,
        metadata={"description": "Routes the complaint when `opd` does not name an OPD."},
    )
    opd = Text(
        validate=validate.Length(max=100),
        allow_none=True,
        metadata={
            "description": "Slug of the responsible OPD. An unknown slug is no error: the"
            " complaint routes by category, then to triage, and `route_note` says why."
        },
    )
    location = fields.Nested(LocationSchema, allow_none=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    anonymous = StrictBoolean(
        load_default=False,
        metadata={"description": "No channel message names or contacts the reporter."},
    )
    confidential = StrictBoolean(
        load_default=False, metadata={"description": "Nothing goes to public channels."}
    )
    attachments = fields.List(
        fields.Nested(AttachmentSchema), validate=validate.Length(max=5), load_default=list
    )
    submitted_at = UTCDateTime(
        allow_none=True, metadata={"description": "ISO 8601 with an offset."}
    )


class DeliverySchema(OutputSchema):
    """One channel's delivery of the complaint."""

    channel = fields.String(
        attribute="kind",
        required=True,
        validate=validate.OneOf(CHANNEL_KINDS),
        metadata={"description": "The channel kind."},
    )
    target = fields.String(
        required=True, metadata={"description": "The group, chat, page, account or URL."}
    )
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer(required=True, metadata={"description": "Provider calls made."})
    last_error = fields.String(allow_none=True)
    external_id = fields.String(
        allow_none=True, metadata={"description": "The provider's id of the message or post."}
    )
    sent_at = fields.DateTime(allow_none=True)


class ActorSchema(OutputSchema):
    """Who made a change."""

    kind = fields.String(
        required=True,
        metadata={
            "description": "`wadule`, `opd` (a command in a group or an OPD key), `operator`"
            " or `system` (the bridge itself, e.g. forwarding)."
        },
    )
    name = fields.String(
        required=True,
        metadata={"description": "The OPD slug, key name, operator or `bridge`."},
    )


class _ActorField(fields.Nested):
    """A history row's ``actor_kind``/``actor_name`` columns as one ``{"kind", "name"}``."""

    def get_value(self, obj, attr, accessor=None, default=missing):
        return {"kind": obj.actor_kind, "name": obj.actor_name}


class StatusChangeSchema(OutputSchema):
    """One entry of a complaint's history."""

    status = fields.String(required=True, validate=validate.OneOf(COMPLAINT_STATUSES))
    note = fields.String(allow_none=True)
    actor = _ActorField(ActorSchema, required=True)
    at = fields.DateTime(required=True)


class _ReporterField(fields.Nested):
    """The reporter, left out entirely unless the view marked the complaint for a role that
    may see contact details (``show_reporter``)."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        if not getattr(obj, "show_reporter", False):
            return missing
        return super().serialize(attr, obj, accessor, **kwargs)


class ComplaintSchema(OutputSchema):
    """A complaint as the API returns it."""

    wadule_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(COMPLAINT_STATUSES))
    opd = fields.String(
        attribute="opd_slug",
        required=True,
        metadata={"description": "Slug of the OPD the complaint is with."},
    )
    routed_by = fields.String(
        required=True,
        validate=validate.OneOf(ROUTED_BY),
        metadata={
            "description": "Why that OPD: the complaint's `opd`, its `category`, or neither"
            " matched (`triage`)."
        },
    )
    route_note = fields.String(
        allow_none=True, metadata={"description": "Why routing did not use `opd`, if so."}
    )
    title = fields.String(required=True)
    body = fields.String(required=True)
    category = fields.String(allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    reporter = _ReporterField(
        ReporterSchema,
        allow_none=True,
        metadata={"description": "Present only for `wadule` and `operator` keys."},
    )
    anonymous = fields.Boolean(required=True)
    confidential = fields.Boolean(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    submitted_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    deliveries = fields.List(
        fields.Nested(DeliverySchema),
        attribute="forwarding",
        required=True,
        metadata={"description": "Where the complaint was forwarded, one entry per channel."},
    )
    history = fields.List(
        fields.Nested(StatusChangeSchema),
        required=True,
        metadata={"description": "Every status the complaint went through, oldest first."},
    )


class ComplaintListSchema(OutputSchema):
    items = fields.List(fields.Nested(ComplaintSchema), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last."},
    )


class ComplaintQueryArgsSchema(Schema):
    opd = fields.String(validate=SLUG, metadata={"description": "Only this OPD's complaints."})
    status = fields.String(validate=validate.OneOf(COMPLAINT_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "`next_cursor` of the previous page."},
    )


class StatusUpdateSchema(Schema):
    """The body of ``POST /complaints/<wadule_id>/status``."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(
            ("acknowledged", "in_progress", "resolved", "rejected", "reopened")
        ),
    )
    note = Text(
        validate=validate.Length(max=1000),
        allow_none=True,
        metadata={"description": "Shown in the history and sent to Wadule with the event."},
    )


class AssignSchema(Schema):
    """The body of ``POST /complaints/<wadule_id>/assign``."""

    opd = fields.String(required=True, validate=SLUG)
    note = Text(validate=validate.Length(max=1000), allow_none=True)
