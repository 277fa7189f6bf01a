"""Complaint and delivery statuses, with the allowed transitions written down in one place."""

from __future__ import annotations

import enum


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    FORWARDED = "forwarded"
    DELIVERY_FAILED = "delivery_failed"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    REOPENED = "reopened"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    RETRYING = "retrying"
    DEAD = "dead"
    NEEDS_REVIEW = "needs_review"


class DeliveryPurpose(enum.StrEnum):
    """Why an outbox row exists."""

    #: The complaint to its OPD's channels, once per channel and round.
    FORWARD = "forward"
    #: A complaint Wadule reopened, with Wadule's note.
    REOPEN = "reopen"
    #: A complaint re-routed to this office (``bukan``, ``alihkan``, assign), with the note.
    REROUTE = "reroute"
    #: The bridge answering a group command (its text rendered already).
    REPLY = "reply"
    #: An office's SLA ran out: a reminder in its own group (bridge.sla, stage 1).
    REMINDER = "reminder"
    #: Twice or three times an SLA: to the triage and the leadership groups (bridge.sla).
    ESCALATION = "escalation"
    #: The weekly report to a leadership channel: its text, and its chart as an attachment.
    REPORT = "report"

    @property
    def carries_complaint(self) -> bool:
        """Whether the row sends the complaint itself (forward, reopen, re-route): those are
        the complaint's deliveries, rendered at send time, and Wadule hears their outcomes.
        The others are the bridge's own notices in a group, their text written when they were
        queued (:data:`NOTICES`)."""
        return self in CARRYING_COMPLAINT


#: Purposes whose rows send the complaint itself.
CARRYING_COMPLAINT = frozenset(
    {DeliveryPurpose.FORWARD, DeliveryPurpose.REOPEN, DeliveryPurpose.REROUTE}
)
#: The bridge's own messages in a group: text written when queued, never on a public channel,
#: not part of a complaint's deliveries.
NOTICES = frozenset(set(DeliveryPurpose) - CARRYING_COMPLAINT)


class PushStatus(enum.StrEnum):
    """Where an event stands on its way to Wadule's callback URL."""

    PENDING = "pending"
    DELIVERED = "delivered"
    #: The retry schedule ran out; the event stays readable through ``GET /events``.
    FAILED = "failed"
    #: No callback URL was configured when it happened: Wadule polls.
    SKIPPED = "skipped"


class Lane(enum.StrEnum):
    """Private deliveries never wait behind public ones: each lane has its own queue and pool.
    Which kinds travel in which lane is the channel registry's to say
    (:func:`bridge.channels.lane_of`)."""

    PRIVATE = "private"
    PUBLIC = "public"


class RoutedBy(enum.StrEnum):
    OPD = "opd"
    CATEGORY = "category"
    TRIAGE = "triage"


class Role(enum.StrEnum):
    WADULE = "wadule"
    OPD = "opd"
    OPERATOR = "operator"


C = ComplaintStatus
_OPEN_AFTER_RECEIPT = (C.ACKNOWLEDGED, C.IN_PROGRESS, C.RESOLVED, C.REJECTED)

#: Forward-only progress; ``reopened`` only from a closed complaint. A re-route (``bukan`` or
#: assign) is not a status transition: it resets the complaint to ``received`` under a new OPD.
COMPLAINT_TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    C.RECEIVED: frozenset({C.FORWARDED, C.DELIVERY_FAILED, *_OPEN_AFTER_RECEIPT}),
    C.FORWARDED: frozenset(_OPEN_AFTER_RECEIPT),
    C.DELIVERY_FAILED: frozenset({C.FORWARDED, *_OPEN_AFTER_RECEIPT}),
    C.ACKNOWLEDGED: frozenset({C.IN_PROGRESS, C.RESOLVED, C.REJECTED}),
    C.IN_PROGRESS: frozenset({C.RESOLVED, C.REJECTED}),
    C.RESOLVED: frozenset({C.REOPENED}),
    C.REJECTED: frozenset({C.REOPENED}),
    C.REOPENED: frozenset({C.FORWARDED, C.DELIVERY_FAILED, *_OPEN_AFTER_RECEIPT}),
}

CLOSED_STATUSES = frozenset({C.RESOLVED, C.REJECTED})
#: Statuses that show an OPD has answered (contract section 10: "first answer: ``terima`` or
#: later"). A status may skip forward, so any of them counts as the first answer.
ANSWERED_STATUSES = frozenset({C.ACKNOWLEDGED, C.IN_PROGRESS, C.RESOLVED, C.REJECTED})


def can_transition(current: ComplaintStatus, new: ComplaintStatus) -> bool:
    """Whether a complaint in ``current`` may move to ``new``."""
    return new in COMPLAINT_TRANSITIONS[ComplaintStatus(current)]


D = DeliveryStatus
#: Rows a worker may claim (the outbox's due work).
CLAIMABLE = frozenset({D.PENDING, D.RETRYING})
#: Rows that a person may send again through ``redeliver``.
REDELIVERABLE = frozenset({D.DEAD, D.NEEDS_REVIEW})
#: The provider accepted the message.
ACCEPTED = frozenset({D.SENT, D.DELIVERED, D.READ})
