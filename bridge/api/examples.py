"""Request and response examples for the OpenAPI document (made-up people and numbers).

A test checks each example against the schema it illustrates, so they stay true.
"""

from __future__ import annotations

COMPLAINT_CREATE = {
    "wadule_id": "WDL-2026-000123",
    "title": "Jalan berlubang di Desa Arjosari",
    "body": "Jalan dari pasar Arjosari ke arah Tegalombo berlubang sepanjang 200 meter.",
    "category": "jalan",
    "opd": "dpupr",
    "location": {
        "address": "Jl. Raya Arjosari",
        "village": "Arjosari",
        "district": "Arjosari",
        "lat": -8.1203,
        "lon": 111.1795,
    },
    "reporter": {"name": "Sutrisno", "phone": "081234560101", "email": "sutrisno@example.com"},
    "anonymous": False,
    "confidential": False,
    "attachments": [
        {"url": "https://wadul.pacitankab.go.id/lampiran/123-1.jpg", "content_type": "image/jpeg"}
    ],
    "submitted_at": "2026-11-27T08:15:00+07:00",
}

_DELIVERIES = [
    {
        "channel": "whatsapp_group",
        "target": "120363000000000101@g.us",
        "status": "sent",
        "attempts": 1,
        "last_error": None,
        "external_id": "true_120363000000000101@g.us_3EB0C767D26A8A5B1A2F",
        "sent_at": "2026-11-27T01:15:03+00:00",
    },
    {
        "channel": "facebook_page",
        "target": "100000000000101",
        "status": "pending",
        "attempts": 0,
        "last_error": None,
        "external_id": None,
        "sent_at": None,
    },
]

COMPLAINT = {
    "wadule_id": "WDL-2026-000123",
    "status": "forwarded",
    "opd": "dpupr",
    "routed_by": "opd",
    "route_note": None,
    "title": COMPLAINT_CREATE["title"],
    "body": COMPLAINT_CREATE["body"],
    "category": "jalan",
    "location": COMPLAINT_CREATE["location"],
    "reporter": COMPLAINT_CREATE["reporter"],
    "anonymous": False,
    "confidential": False,
    "attachments": COMPLAINT_CREATE["attachments"],
    "submitted_at": "2026-11-27T01:15:00+00:00",
    "created_at": "2026-11-27T01:15:02+00:00",
    "updated_at": "2026-11-27T01:15:03+00:00",
    "deliveries": _DELIVERIES,
    "history": [
        {
            "status": "received",
            "note": None,
            "actor": {"kind": "wadule", "name": "wadule"},
            "at": "2026-11-27T01:15:02+00:00",
        },
        {
            "status": "forwarded",
            "note": None,
            "actor": {"kind": "system", "name": "bridge"},
            "at": "2026-11-27T01:15:03+00:00",
        },
    ],
}

COMPLAINT_LIST = {"items": [COMPLAINT], "next_cursor": "YzQy"}

STATUS_UPDATE = {"status": "in_progress", "note": "Survei Senin"}
ASSIGN = {"opd": "dinkes", "note": "Soal puskesmas, bukan jalan"}
REDELIVER = {"channel": "whatsapp_group"}
REDELIVER_RESULT = {"requeued": 1, "complaint": COMPLAINT}

STATUS_CHANGED_EVENT = {
    "type": "complaint.status_changed",
    "timestamp": "2026-11-28T02:59:58Z",
    "data": {
        "seq": 41,
        "wadule_id": "WDL-2026-000123",
        "status": "in_progress",
        "previous_status": "acknowledged",
        "opd": "dpupr",
        "note": "Survei Senin",
        "actor": {"kind": "opd", "name": "dpupr"},
        "occurred_at": "2026-11-28T02:59:58Z",
    },
}
REROUTED_EVENT = {
    "type": "complaint.rerouted",
    "timestamp": "2026-11-28T03:10:00Z",
    "data": {
        "seq": 42,
        "wadule_id": "WDL-2026-000124",
        "status": "received",
        "previous_status": "forwarded",
        "from_opd": "dpupr",
        "to_opd": "diskominfo",
        "opd": "diskominfo",
        "note": "Bukan jalan kabupaten",
        "actor": {"kind": "opd", "name": "dpupr"},
        "occurred_at": "2026-11-28T03:10:00Z",
    },
}
DELIVERY_UPDATED_EVENT = {
    "type": "complaint.delivery_updated",
    "timestamp": "2026-11-28T03:10:04Z",
    "data": {
        "seq": 43,
        "wadule_id": "WDL-2026-000124",
        "opd": "diskominfo",
        "channel": "whatsapp_group",
        "target": "120363000000000100@g.us",
        "status": "delivered",
        "external_id": "true_120363000000000100@g.us_3EB0A1B2C3D4E5F6A7B8",
        "error": None,
        "occurred_at": "2026-11-28T03:10:04Z",
    },
}
SLA_REMINDER_EVENT = {
    "type": "complaint.sla_reminder",
    "timestamp": "2026-11-28T08:00:00Z",
    "data": {
        "seq": 44,
        "wadule_id": "WDL-2026-000125",
        "opd": "dinkes",
        "stage": "answer",
        "due_at": "2026-11-28T08:00:00Z",
        "to": "dinkes",
        "occurred_at": "2026-11-28T08:00:00Z",
    },
}
ESCALATED_EVENT = {
    "type": "complaint.escalated",
    "timestamp": "2026-12-01T08:00:00Z",
    "data": {
        "seq": 45,
        "wadule_id": "WDL-2026-000125",
        "opd": "dinkes",
        "stage": "answer",
        "due_at": "2026-11-28T08:00:00Z",
        "to": "diskominfo",
        "occurred_at": "2026-12-01T08:00:00Z",
    },
}
EVENT_EXAMPLES = {
    "complaint.status_changed": STATUS_CHANGED_EVENT,
    "complaint.rerouted": REROUTED_EVENT,
    "complaint.delivery_updated": DELIVERY_UPDATED_EVENT,
    "complaint.sla_reminder": SLA_REMINDER_EVENT,
    "complaint.escalated": ESCALATED_EVENT,
}
EVENT_LIST = {
    "events": [STATUS_CHANGED_EVENT, REROUTED_EVENT, DELIVERY_UPDATED_EVENT],
    "last_seq": 43,
}

OPD_LIST = {
    "items": [
        {
            "slug": "dpupr",
            "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "categories": ["jalan", "jembatan", "drainase", "irigasi"],
            "active": True,
            "is_triage": False,
            "is_leadership": False,
            "channels": [
                {"kind": "whatsapp_group", "target": "120363000000000101@g.us", "active": True},
                {"kind": "facebook_page", "target": "100000000000101", "active": True},
            ],
        }
    ]
}

SANDBOX_LIST = {
    "items": [
        {
            "id": 7,
            "wadule_id": "WDL-2026-000123",
            "channel": "whatsapp_group",
            "target": "120363000000000101@g.us",
            "text": "📢 *Aduan baru #WDL-2026-000123* ...",
            "payload": None,
            "created_at": "2026-11-27T01:15:03+00:00",
        }
    ],
    "next_cursor": None,
}

_FIGURES = {
    "received": 12,
    "answered": 9,
    "median_first_answer": {"working_seconds": 14400.0, "working_days": 0.5, "answers": 9},
    "grades": {"cepat": 5, "sedang": 2, "lambat": 1},
    "open_past_sla": 1,
    "awaiting_answer": 2,
    "awaiting_past_sla": 1,
}
_PREVIOUS = {
    "received": 10,
    "answered": 10,
    "median_first_answer": {"working_seconds": 10800.0, "working_days": 0.375, "answers": 10},
    "grades": {"cepat": 6, "sedang": 1, "lambat": 0},
    "open_past_sla": 0,
    "awaiting_answer": 0,
    "awaiting_past_sla": 0,
}
_CHANGE = {
    "received": 2,
    "answered": -1,
    "median_first_answer_seconds": 3600.0,
    "median_first_answer_days": 0.125,
    "grades": {"cepat": -1, "sedang": 1, "lambat": 1},
    "open_past_sla": 1,
    "awaiting_answer": 2,
    "awaiting_past_sla": 1,
}
_CHANNEL = {"present": True, "usable": True, "reason": None, "checked_at": "2026-11-30T23:30:05Z"}
WEEKLY_REPORT = {
    "week": "2026-W48",
    "previous_week": "2026-W47",
    "starts_at": "2026-11-22T17:00:00Z",
    "ends_at": "2026-11-29T17:00:00Z",
    "as_of": "2026-11-29T17:00:00Z",
    "complete": True,
    "generated_at": "2026-11-30T00:00:02Z",
    "default_sla": {"answer": "1d", "resolve": "6d"},
    "totals": {
        "offices": 1,
        "needing_attention": 1,
        "figures": _FIGURES,
        "previous": _PREVIOUS,
        "change": _CHANGE,
    },
    "offices": [
        {
            "rank": 1,
            "opd": "dpupr",
            "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "attention": True,
            "reasons": [
                {"code": "open_past_sla", "text": "1 aduan terbuka melewati SLA"},
                {
                    "code": "slow_resolution",
                    "text": "1 aduan selesai lambat (lebih dari 6 hari kerja)",
                },
            ],
            "sla": {"answer": "1d", "resolve": "6d"},
            "own_sla": False,
            "coverage": {
                "whatsapp_group": _CHANNEL,
                "facebook_page": _CHANNEL,
                "instagram": {"present": False, "usable": None, "reason": None, "checked_at": None},
                "x": _CHANNEL,
            },
            **_FIGURES,
            "previous": _PREVIOUS,
            "change": _CHANGE,
        }
    ],
}
