"""What the OpenAPI document holds beyond the views: its introduction, the error responses,
the signed events as OpenAPI 3.1 ``webhooks``, and the ``wadule_id`` path parameter.

The views document themselves (flask-smorest, from the marshmallow schemas that validate);
this module adds what no view knows. ``tests/bridge/api/test_openapi.py`` validates the result.
"""

from __future__ import annotations

import http
from copy import deepcopy

from flask_smorest.utils import prepare_response
from werkzeug.routing import BaseConverter

from bridge.api import examples
from schemas.complaints import END, WADULE_ID
from schemas.errors import ErrorSchema
from schemas.events import EVENT_SCHEMAS

INTRODUCTION = """\
Wadule Bridge takes each complaint Wadule mirrors to it, forwards it to the responsible regional
office (OPD) — its WhatsApp group first, then its Telegram, webhooks and public accounts — and
brings every status change back to Wadule as a signed event.

**Authentication.** Every call takes `Authorization: Bearer <api key>`. Keys have a role:
`wadule` (ingest, read all, events), `opd` (read and change the status of its own OPD's
complaints), `operator` (everything, including redeliver and assign). A missing or unknown key
gets `401`; a known key with the wrong role or OPD gets `403`. Press **Authorize** to try calls
from this page.

**Errors** are JSON: `{"code": 422, "message": "...", "errors": {"title": ["..."]}}`. Malformed
JSON `400`, not JSON `415`, a body over 1 MiB `413`, invalid or unknown fields `422` (each named in
`errors`). No input ever yields a `5xx`; a refused request writes nothing. When the database is
unavailable every endpoint answers `503` with `Retry-After`.

**Sending a complaint** is idempotent on `wadule_id`: the first receipt answers `202` once the
complaint is durably stored; the same content again answers `200` with the current state;
different content under the same id answers `409`. Retry freely on timeouts and `503`.

**Status back to Wadule.** Every status change, re-route and delivery outcome is one event with
a global, strictly increasing `seq`. Either poll `GET /api/v1/events?after=<last seq>` and ask
again with the `last_seq` you got, or have the bridge push each event to your callback URL (see
*Webhooks* below). Pushed events stay readable through the feed.

**Verifying a pushed event** ([Standard Webhooks](https://www.standardwebhooks.com/)): the
signed content is `<webhook-id>.<webhook-timestamp>.<raw body>`; its HMAC-SHA256 under the
base64-decoded part of your `whsec_...` secret, base64-encoded, must equal one of the
space-separated `v1,<signature>` entries of `webhook-signature`. Refuse timestamps more than five
minutes away from your clock, and treat a `webhook-id` you have processed before as done
(answer 2xx). The `standardwebhooks` libraries do all of it:

```python
from standardwebhooks.webhooks import Webhook
event = Webhook(secret).verify(raw_body, request_headers)   # raises on a bad signature
```

```php
$wh = new \\StandardWebhooks\\Webhook($secret);
$event = $wh->verify($rawBody, $headers);   // header names in lower case; throws on a bad signature
```

Answer `2xx` once the event is stored. For one complaint, event N+1 is pushed only after event N
got a `2xx`; anything else is retried with backoff, honouring `Retry-After`. `410 Gone` stops all
pushing until an operator resumes it.
"""

#: Each error the API answers: what it means, and an example body.
ERRORS: dict[int, tuple[str, dict]] = {
    400: ("Malformed JSON body.", {"code": 400, "message": "malformed JSON body"}),
    401: (
        "No API key, or one the bridge does not know (or revoked).",
        {"code": 401, "message": "missing or unknown API key"},
    ),
    403: (
        "A known key whose role or OPD may not do this.",
        {"code": 403, "message": "this complaint belongs to another OPD"},
    ),
    404: ("No such complaint.", {"code": 404, "message": "no such complaint"}),
    409: (
        "Conflicts with what the bridge holds: a `wadule_id` received earlier with different"
        " content, a status change not allowed from the current status, an assign to the OPD"
        " the complaint is with, or a change that lost a race with another one.",
        {
            "code": 409,
            "message": "this wadule_id was received earlier with different content",
        },
    ),
    413: (
        "The body is larger than 1 MiB.",
        {"code": 413, "message": "request body larger than 1 MiB"},
    ),
    415: (
        "The body is not JSON (send `Content-Type: application/json`).",
        {"code": 415, "message": "the body must be JSON (Content-Type: application/json)"},
    ),
    422: (
        "Invalid or unknown fields, each named in `errors`.",
        {
            "code": 422,
            "message": "invalid fields: title, wadule_id",
            "errors": {
                "title": ["Missing data for required field."],
                "wadule_id": ["1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'."],
            },
        },
    ),
    503: (
        "The database is unavailable (retry after `Retry-After` seconds), or, for ingest, the"
        " OPD directory is not imported yet. Nothing was written.",
        {"code": 503, "message": "the database is unavailable; retry shortly"},
    ),
}

_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": 'Always `Bearer realm="wadule-bridge"`.',
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before trying again (database unavailable).",
            "schema": {"type": "integer"},
        }
    },
}


def error_response_name(code: int) -> str:
    """The component name of a documented error: flask-smorest's (``UNAUTHORIZED``, ...)."""
    return http.HTTPStatus(code).name


def register_error_responses(spec) -> None:
    """Register (lazily, only what an operation uses) one response per documented error code,
    under flask-smorest's names, so its automatic 422 refers to ours as well."""
    for code, (description, example) in ERRORS.items():
        response = {"description": description, "schema": ErrorSchema, "example": example}
        if code in _HEADERS:
            response["headers"] = deepcopy(_HEADERS[code])
        prepare_response(response, spec, "application/json")
        spec.components.response(error_response_name(code), response, lazy=True)


class WaduleIdConverter(BaseConverter):
    """``<wadule_id:...>`` in a route: only ids that can exist reach the view (else 404)."""

    regex = r"[A-Za-z0-9._-]{1,64}"


def wadule_id_parameter(_converter) -> dict:
    """The path parameter's schema in the document: the pattern ``wadule_id`` is checked with."""
    return {
        "type": "string",
        "pattern": WADULE_ID.regex.pattern,
        "description": "The complaint's `wadule_id`.",
        "examples": ["WDL-2026-000123"],
    }


_WEBHOOK_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "`evt_<seq>`: the same on every retry of one event; deduplicate on it.",
        "schema": {"type": "string", "pattern": "^evt_[0-9]+" + END},
        "example": "evt_41",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when this attempt was signed; refuse it if more than five"
        " minutes from your clock.",
        "schema": {"type": "string", "pattern": "^[0-9]+" + END},
        "example": "1795834798",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>` under"
        " the secret `BRIDGE_WADULE_WEBHOOK_SECRET` (`whsec_` + base64 key).",
        "schema": {"type": "string"},
        "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    },
]

_WEBHOOK_RESPONSES = {
    "2XX": {"description": "Accepted: the complaint's next event may follow."},
    "410": {
        "description": "Gone: the bridge stops pushing every event until an operator runs"
        " `wadule-bridge callbacks resume`; the events stay readable through `GET /events`."
    },
    "default": {
        "description": "Anything else, or no answer: retried on"
        " `BRIDGE_CALLBACK_RETRY_SCHEDULE` with jitter, honouring `Retry-After`."
    },
}


def webhooks() -> dict:
    """The ``webhooks`` section: one ``POST`` to Wadule's callback URL per event type."""
    result = {}
    for event_type, schema in EVENT_SCHEMAS.items():
        name = schema.__name__.removesuffix("Schema")
        result[event_type] = {
            "post": {
                "operationId": "push_" + event_type.replace(".", "_"),
                "summary": (schema.__doc__ or "").strip(),
                "description": "POSTed to `BRIDGE_WADULE_CALLBACK_URL`, signed per Standard"
                " Webhooks (see the introduction for how to verify it). The body is the same"
                " object `GET /api/v1/events` returns for this event.",
                "tags": ["events"],
                "security": [],
                "parameters": deepcopy(_WEBHOOK_HEADERS),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{name}"},
                            "example": examples.EVENT_EXAMPLES[event_type],
                        }
                    },
                },
                "responses": deepcopy(_WEBHOOK_RESPONSES),
            }
        }
    return result


def complete(api) -> None:
    """Add the event schemas and the ``webhooks`` section to ``api``'s document."""
    spec = api.spec
    for schema in EVENT_SCHEMAS.values():
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    spec.options["webhooks"] = webhooks()
