"""The OpenAPI document: valid OpenAPI 3.1, true to what the API answers, portable patterns."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from bridge.api.openapi import ERRORS
from bridge.statuses import ComplaintStatus, DeliveryStatus, RoutedBy
from schemas.complaints import (
    COMPLAINT_STATUSES,
    DELIVERY_STATUSES,
    ROUTED_BY,
    SLUG,
    WADULE_ID,
)
from schemas.events import EVENT_TYPES
from tests.support import auth

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def validator(spec, ref: str) -> OAS31Validator:
    """A validator for one component of the document, resolving its references in it."""
    return OAS31Validator({"$ref": ref, "components": spec["components"]})


def assert_valid(spec, ref: str, instance) -> None:
    errors = sorted(validator(spec, ref).iter_errors(instance), key=str)
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate_spec(spec)  # openapi-spec-validator; raises on the first problem


def test_every_endpoint_is_documented(spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    # Other endpoints may join (each must then document its errors and examples, below).
    assert documented >= {
        ("/api/v1/complaints", "get"),
        ("/api/v1/complaints", "post"),
        ("/api/v1/complaints/{wadule_id}", "get"),
        ("/api/v1/complaints/{wadule_id}/redeliver", "post"),
        ("/api/v1/complaints/{wadule_id}/status", "post"),
        ("/api/v1/complaints/{wadule_id}/assign", "post"),
        ("/api/v1/events", "get"),
        ("/api/v1/opds", "get"),
        ("/api/v1/sandbox/messages", "get"),
    }
    for path, method, operation in operations(spec):
        assert operation.get("summary"), (path, method)


def test_every_error_response_has_the_error_body(spec):
    responses = spec["components"]["responses"]
    for path, method, operation in operations(spec):
        codes = set(operation["responses"])
        assert {"401", "503"} <= codes, (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= codes, (path, method)
        if "{wadule_id}" in path:
            assert "404" in codes, (path, method)
        for code, response in operation["responses"].items():
            if int(code) < 400:
                continue
            ref = response["$ref"].rsplit("/", 1)[1]
            media = responses[ref]["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}
            assert_valid(spec, "#/components/schemas/Error", media["example"])
    assert set(ERRORS) == {400, 401, 403, 404, 409, 413, 415, 422, 503}
    assert "Retry-After" in responses["SERVICE_UNAVAILABLE"]["headers"]
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message"]


# Each documented error, provoked for real: the code the API answers is one it documents, and
# the body is the documented Error.
PROVOKED = [
    ("post", "/api/v1/complaints", {"data": b"{nope", "content_type": "application/json"}, 400),
    ("post", "/api/v1/complaints", {"json": {}, "key": None}, 401),
    ("post", "/api/v1/complaints", {"json": {}, "key": "dpupr"}, 403),
    ("get", "/api/v1/complaints/WDL-NONE", {}, 404),
    ("get", "/api/v1/complaints/WDL-OK", {"key": "dinkes"}, 403),
    (
        "post",
        "/api/v1/complaints",
        {"json": {"wadule_id": "WDL-OK", "title": "x", "body": "y"}},
        409,
    ),
    (
        "post",
        "/api/v1/complaints",
        {"data": b"x" * (1024 * 1024 + 1), "content_type": "application/json"},
        413,
    ),
    ("post", "/api/v1/complaints", {"data": b"a=b", "content_type": "text/plain"}, 415),
    ("post", "/api/v1/complaints", {"json": {"wadule_id": "a\n"}}, 422),
    ("get", "/api/v1/events?after=-1", {}, 422),
    (
        "post",
        "/api/v1/complaints/WDL-OK/status",
        {"json": {"status": "reopened"}, "key": "operator"},
        403,
    ),
    (
        "post",
        "/api/v1/complaints/WDL-OK/assign",
        {"json": {"opd": "dpupr"}, "key": "operator"},
        409,
    ),
]


def _documented_path(spec, path: str) -> str:
    bare = path.split("?")[0]
    for documented in spec["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", documented), bare):
            return documented
    raise AssertionError(f"{bare} is not in the document")


@pytest.mark.parametrize(("method", "path", "request_", "code"), PROVOKED)
def test_provoked_errors_are_documented(client, keys, spec, method, path, request_, code):
    first = {"wadule_id": "WDL-OK", "title": "Jalan rusak", "body": "Berlubang.", "opd": "dpupr"}
    assert (
        client.post("/api/v1/complaints", json=first, headers=auth(keys["wadule"])).status_code
        == 202
    )
    key = request_.get("key", "wadule")
    kwargs = {k: v for k, v in request_.items() if k != "key"}
    response = getattr(client, method)(path, headers=auth(keys[key]) if key else {}, **kwargs)
    assert response.status_code == code, response.get_data(as_text=True)
    operation = spec["paths"][_documented_path(spec, path)][method]
    assert str(code) in operation["responses"]
    assert_valid(spec, "#/components/schemas/Error", response.get_json())


def test_location_reporter_and_actor_are_typed_objects(spec):
    schemas = spec["components"]["schemas"]
    complaint = schemas["Complaint"]["properties"]
    assert complaint["location"]["anyOf"][0] == {"$ref": "#/components/schemas/Location"}
    assert complaint["reporter"]["anyOf"][0] == {"$ref": "#/components/schemas/Reporter"}
    assert set(schemas["Location"]["properties"]) == {
        "address",
        "village",
        "district",
        "lat",
        "lon",
    }
    assert set(schemas["Reporter"]["properties"]) == {"name", "phone", "email"}
    history = schemas["StatusChange"]["properties"]
    assert history["actor"] == {"$ref": "#/components/schemas/Actor"}
    assert schemas["Actor"]["required"] == ["kind", "name"]
    # Requests refuse unknown fields; responses leave room for fields added later.
    assert schemas["ComplaintCreate"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["Complaint"]


def test_request_and_response_examples_match_their_schemas(spec):
    checked = 0
    for path, method, operation in operations(spec):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            assert "example" in body, (path, method)
            assert_valid(spec, body["schema"]["$ref"], body["example"])
            checked += 1
        for code, response in operation["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media:
                assert "example" in media, (path, method, code)
                assert_valid(spec, media["schema"]["$ref"], media["example"])
                checked += 1
    assert checked >= 14  # 4 request bodies, 10 success responses, at least


def test_signed_events_are_webhooks_with_standard_webhooks_headers(spec):
    webhooks = spec["webhooks"]
    assert tuple(webhooks) == EVENT_TYPES
    for event_type, item in webhooks.items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        media = operation["requestBody"]["content"]["application/json"]
        assert media["example"]["type"] == event_type
        assert_valid(spec, media["schema"]["$ref"], media["example"])
        assert {"2XX", "410"} <= set(operation["responses"])
    intro = spec["info"]["description"]
    assert "webhook-signature" in intro and "standardwebhooks" in intro


def _make_events(client, keys, directory) -> None:
    """A status change, a re-route and delivery outcomes, through the API and the outbox."""
    from sqlalchemy import select

    from bridge import outbox
    from bridge.db import new_session
    from bridge.models import Delivery

    body = {"wadule_id": "WDL-EV", "title": "Jalan rusak", "body": "Berlubang.", "opd": "dpupr"}
    assert (
        client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
        == 202
    )
    with directory.app_context(), new_session() as db:
        ids = db.scalars(select(Delivery.id).where(Delivery.kind == "whatsapp_group")).all()
    with directory.app_context():
        for delivery_id in ids:
            outbox.deliver(delivery_id)
    status = {"status": "in_progress", "note": "Survei Senin"}
    url = "/api/v1/complaints/WDL-EV"
    assert client.post(url + "/status", json=status, headers=auth(keys["dpupr"])).status_code == 200
    assign = {"opd": "dinkes", "note": "Bukan jalan"}
    assert (
        client.post(url + "/assign", json=assign, headers=auth(keys["operator"])).status_code == 200
    )


def test_real_answers_match_the_document(client, keys, directory, spec):
    _make_events(client, keys, directory)
    schemas = "#/components/schemas/"
    for key in ("wadule", "dinkes"):  # with and without the reporter
        complaint = client.get("/api/v1/complaints/WDL-EV", headers=auth(keys[key])).get_json()
        assert_valid(spec, schemas + "Complaint", complaint)
    listed = client.get("/api/v1/complaints", headers=auth(keys["operator"])).get_json()
    assert_valid(spec, schemas + "ComplaintList", listed)
    assert_valid(
        spec,
        schemas + "OpdList",
        client.get("/api/v1/opds", headers=auth(keys["wadule"])).get_json(),
    )
    sandbox = client.get("/api/v1/sandbox/messages", headers=auth(keys["operator"])).get_json()
    assert_valid(spec, schemas + "SandboxList", sandbox)
    feed = client.get("/api/v1/events", headers=auth(keys["wadule"])).get_json()
    types = {event["type"] for event in feed["events"]}
    assert {"complaint.status_changed", "complaint.rerouted", "complaint.delivery_updated"} <= types
    assert_valid(spec, schemas + "EventList", feed)
    by_type = {
        "complaint.status_changed": "StatusChangedEvent",
        "complaint.rerouted": "ReroutedEvent",
        "complaint.delivery_updated": "DeliveryUpdatedEvent",
    }
    for event in feed["events"]:
        assert_valid(spec, schemas + by_type[event["type"]], event)


def test_events_past_the_head_return_the_head(client, keys, directory):
    headers = auth(keys["wadule"])
    assert client.get("/api/v1/events?after=7", headers=headers).get_json() == {
        "events": [],
        "last_seq": 0,
    }
    _make_events(client, keys, directory)
    feed = client.get("/api/v1/events", headers=headers).get_json()
    head = feed["last_seq"]
    assert head == feed["events"][-1]["data"]["seq"] > 0
    for after in (head, head + 1, head + 1000, 2**62):
        page = client.get(f"/api/v1/events?after={after}", headers=headers).get_json()
        assert page == {"events": [], "last_seq": head}
    page = client.get(f"/api/v1/events?after={head - 1}&limit=1", headers=headers).get_json()
    assert [e["data"]["seq"] for e in page["events"]] == [head] and page["last_seq"] == head


def test_enums_agree_with_the_code():
    assert tuple(ComplaintStatus) == COMPLAINT_STATUSES
    assert tuple(DeliveryStatus) == DELIVERY_STATUSES
    assert tuple(RoutedBy) == ROUTED_BY
    from bridge import events

    assert {events.STATUS_CHANGED, events.REROUTED, events.DELIVERY_UPDATED} <= set(EVENT_TYPES)


# --- patterns: the same answer in ECMA-262 (what `pattern` means) and in Python ---------------

IDS = [
    "WDL-2026-000123",
    "a",
    "A.b_c-9",
    "x" * 64,
    "x" * 65,
    "",
    "WDL 1",
    "WDL-1\n",
    "WDL-1\r",
    "WDL-1\r\n",
    "\nWDL-1",
    "WDL-1\u2028",
    "WDL-1Z",
    "wdl/1",
    "wdl#1",
    "dpupr",
    "-dpupr",
    "dinas_kesehatan-2",
    "DPUPR",
    "é",
    "WDL-\uff11",  # a full-width digit
    "evt_41",
    "evt_",
    "1795834798",
    "1795834798\n",
]


def _patterns(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found.add(value)
            else:
                _patterns(value, found)
    elif isinstance(node, list):
        for value in node:
            _patterns(value, found)
    return found


def _javascript_answers(patterns: list[str], texts: list[str]) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is needed to check patterns as ECMA-262 reads them (apt-get install nodejs)"
        )
    script = (
        "const {patterns, texts} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = {};"
        "for (const p of patterns) {"
        "  const plain = new RegExp(p), unicode = new RegExp(p, 'u');"
        "  out[p] = texts.map(t => [plain.test(t), unicode.test(t)]);"
        "}"
        "process.stdout.write(JSON.stringify(out));"
    )
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps({"patterns": patterns, "texts": texts}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def test_patterns_mean_the_same_in_javascript_and_python(spec):
    patterns = sorted(_patterns(spec, set()))
    assert WADULE_ID.regex.pattern in patterns and SLUG.regex.pattern in patterns
    answers = _javascript_answers(patterns, IDS)
    for pattern in patterns:
        python = re.compile(pattern)
        for text, (plain, unicode) in zip(IDS, answers[pattern], strict=True):
            expected = python.search(text) is not None
            assert plain == unicode == expected, (pattern, text, plain, unicode, expected)


def test_the_documented_wadule_id_pattern_is_the_one_validated():
    answers = _javascript_answers([WADULE_ID.regex.pattern], IDS)[WADULE_ID.regex.pattern]
    accepted = [text for text, (plain, _) in zip(IDS, answers, strict=True) if plain]
    assert accepted == [
        "WDL-2026-000123",
        "a",
        "A.b_c-9",
        "x" * 64,
        "WDL-1Z",
        "dpupr",
        "-dpupr",
        "dinas_kesehatan-2",
        "DPUPR",
        "evt_41",
        "evt_",
        "1795834798",
    ]
    for text in IDS:
        try:
            WADULE_ID(text)
            valid = True
        except Exception:
            valid = False
        assert valid == (text in accepted), text
