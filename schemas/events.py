"""The events for Wadule (contract section 6): the polled feed and the signed pushes.

``bridge.events`` builds the events as plain dicts; these schemas describe them for the OpenAPI
document (``GET /api/v1/events`` and the ``webhooks`` section). A test validates real events
against them, so the description cannot drift from what is sent.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.complaints import (
    CHANNEL_KINDS,
    COMPLAINT_STATUSES,
    DELIVERY_STATUSES,
    WADULE_ID,
    ActorSchema,
)
from schemas.fields import OutputSchema

STATUS_CHANGED = "complaint.status_changed"
REROUTED = "complaint.rerouted"
DELIVERY_UPDATED = "complaint.delivery_updated"
SLA_REMINDER = "complaint.sla_reminder"
ESCALATED = "complaint.escalated"
#: Every event type, in the contract's order.
EVENT_TYPES = (STATUS_CHANGED, REROUTED, DELIVERY_UPDATED, SLA_REMINDER, ESCALATED)


class EventDataSchema(OutputSchema):
    """What every event's ``data`` holds."""

    seq = fields.Integer(
        required=True,
        metadata={
            "description": "Global, strictly increasing number of the event; poll with"
            " `after=<the last seq you processed>`. Also the `webhook-id` (`evt_<seq>`)."
        },
    )
    wadule_id = fields.String(
        required=True, validate=WADULE_ID, metadata={"description": "The complaint's id."}
    )
    opd = fields.String(
        required=True,
        metadata={"description": "Slug of the OPD the complaint is with after this event."},
    )
    occurred_at = fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When it happened, UTC (`...Z`)."},
    )


class StatusChangedDataSchema(EventDataSchema):
    status = fields.String(required=True, validate=validate.OneOf(COMPLAINT_STATUSES))
    previous_status = fields.String(required=True, validate=validate.OneOf(COMPLAINT_STATUSES))
    note = fields.String(
        required=True, allow_none=True, metadata={"description": "The note given, or null."}
    )
    actor = fields.Nested(ActorSchema, required=True)


class ReroutedDataSchema(StatusChangedDataSchema):
    from_opd = fields.String(required=True, metadata={"description": "Slug of the old OPD."})
    to_opd = fields.String(
        required=True, metadata={"description": "Slug of the new OPD (also in `opd`)."}
    )


class DeliveryUpdatedDataSchema(EventDataSchema):
    channel = fields.String(
        required=True,
        validate=validate.OneOf(CHANNEL_KINDS),
        metadata={"description": "The channel kind."},
    )
    target = fields.String(
        required=True, metadata={"description": "The group, chat, page, account or URL."}
    )
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    external_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The provider's id of the message or post, once known."},
    )
    error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the delivery failed or will be retried, or null."},
    )


class SlaDataSchema(EventDataSchema):
    stage = fields.String(
        required=True,
        metadata={
            "description": "The step of the SLA ladder this event is (contract section 10):"
            " which clock (`answer` or `resolve`) ran out, and how far it has escalated."
        },
    )
    due_at = fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When the clock ran out, UTC."},
    )
    to = fields.String(
        required=True,
        metadata={
            "description": "Slug of the OPD whose channels got the reminder or escalation"
            " (the complaint's OPD, the triage OPD or the leadership)."
        },
    )


def _envelope(name: str, type_: str, data: type[Schema], description: str) -> type[Schema]:
    """An event as pushed and polled: ``{"type", "timestamp", "data"}`` for one type."""
    return type(
        name,
        (OutputSchema,),
        {
            "__doc__": description,
            "type": fields.String(required=True, validate=validate.OneOf((type_,))),
            "timestamp": fields.String(
                required=True,
                metadata={"format": "date-time", "description": "When it happened, UTC."},
            ),
            "data": fields.Nested(data, required=True),
        },
    )


StatusChangedEventSchema = _envelope(
    "StatusChangedEventSchema",
    STATUS_CHANGED,
    StatusChangedDataSchema,
    "A complaint's status changed (an OPD's command, the API, or forwarding).",
)
ReroutedEventSchema = _envelope(
    "ReroutedEventSchema",
    REROUTED,
    ReroutedDataSchema,
    "A complaint went to another OPD (`bukan`, `alihkan` or an operator's assign).",
)
DeliveryUpdatedEventSchema = _envelope(
    "DeliveryUpdatedEventSchema",
    DELIVERY_UPDATED,
    DeliveryUpdatedDataSchema,
    "One channel's delivery of a complaint moved on (sent, delivered, read, retrying, dead...).",
)
SlaReminderEventSchema = _envelope(
    "SlaReminderEventSchema",
    SLA_REMINDER,
    SlaDataSchema,
    "An OPD's SLA clock ran out and its group was reminded.",
)
EscalatedEventSchema = _envelope(
    "EscalatedEventSchema",
    ESCALATED,
    SlaDataSchema,
    "An overdue complaint was escalated to the triage OPD or the leadership.",
)

#: Each event type's envelope schema.
EVENT_SCHEMAS: dict[str, type[Schema]] = {
    STATUS_CHANGED: StatusChangedEventSchema,
    REROUTED: ReroutedEventSchema,
    DELIVERY_UPDATED: DeliveryUpdatedEventSchema,
    SLA_REMINDER: SlaReminderEventSchema,
    ESCALATED: EscalatedEventSchema,
}


def _one_of_events() -> dict:
    return {
        "oneOf": [
            {"$ref": f"#/components/schemas/{schema.__name__.removesuffix('Schema')}"}
            for schema in EVENT_SCHEMAS.values()
        ]
    }


class EventListSchema(OutputSchema):
    events = fields.List(
        fields.Dict(metadata=_one_of_events()),
        required=True,
        metadata={"description": "Events with `seq` above `after`, oldest first."},
    )
    last_seq = fields.Integer(
        required=True,
        metadata={
            "description": "The seq to poll from next: the last event's seq, or, when there"
            " is none, the newest event's seq (never above it; 0 before the first event)."
        },
    )


class EventQueryArgsSchema(Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "Return events with a larger `seq`; 0 for the first."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=500),
        metadata={"description": "At most this many events."},
    )
