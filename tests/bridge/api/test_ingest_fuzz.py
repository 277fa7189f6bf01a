"""Property tests: whatever reaches POST /complaints, never a 5xx; a refusal writes nothing."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bridge.db import new_session
from bridge.models import Complaint, Delivery, StatusChange
from tests.support import auth

URL = "/api/v1/complaints"
FIELDS = [
    "wadule_id",
    "title",
    "body",
    "category",
    "opd",
    "location",
    "reporter",
    "anonymous",
    "confidential",
    "attachments",
    "submitted_at",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
unicode_heavy = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=300
)
ids = st.from_regex(r"\A[A-Za-z0-9._-]{1,64}\Z") | st.text(max_size=70)


@st.composite
def complaint_like(draw):
    body = {
        "wadule_id": draw(ids),
        "title": draw(unicode_heavy | json_values),
        "body": draw(unicode_heavy | json_values),
    }
    for name in draw(st.lists(st.sampled_from(FIELDS[3:]), unique=True, max_size=5)):
        body[name] = draw(
            json_values
            | st.fixed_dictionaries(
                {},
                optional={
                    "lat": json_values,
                    "lon": json_values,
                    "name": unicode_heavy,
                    "phone": json_values,
                    "address": unicode_heavy,
                },
            )
            | st.lists(st.fixed_dictionaries({"url": st.text(max_size=30)}), max_size=7)
            | st.datetimes().map(lambda d: d.isoformat())
            | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
        )
    if draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    for name in draw(st.lists(st.sampled_from(FIELDS[:3]), unique=True, max_size=1)):
        body.pop(name, None)
    return body


def _raw(draw_body) -> bytes:
    return json.dumps(draw_body, ensure_ascii=False).encode("utf-8")


bodies = (
    complaint_like().map(_raw)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
    | complaint_like().map(lambda b: _raw(b).replace(b'"title": "', b'"title": "\\ud800', 1))
    | complaint_like().map(lambda b: _raw(b)[: len(_raw(b)) // 2])
    | st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n)
    | st.just(b'{"wadule_id": "x", "title": "t", "body": "b", "location": {"lat": NaN}}')
    | st.just(b'{"wadule_id": "x", "title": "t", "body": "b", "location": {"lat": 1e999}}')
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
    ]
)


def rows(app) -> tuple[int, int, int]:
    with app.app_context(), new_session() as db:
        return tuple(
            db.scalar(select(func.count()).select_from(model))
            for model in (Complaint, Delivery, StatusChange)
        )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=bodies, content_type=content_types)
def test_never_a_5xx_and_refusals_write_nothing(client, keys, directory, raw, content_type):
    before = rows(directory)
    headers = auth(keys["wadule"])
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    payload = response.get_json()
    if response.status_code not in (200, 202):
        assert payload["code"] == response.status_code
        assert isinstance(payload["message"], str)
        assert rows(directory) == before
    if response.status_code == 422:
        assert payload["errors"]
    if response.status_code == 202:
        assert rows(directory)[0] == before[0] + 1
