"""``GET /api/v1/reports/weekly``: roles, the week argument, the JSON shape."""

from __future__ import annotations

import pytest

from bridge.auth import create_api_key
from bridge.db import new_session
from bridge.worktime import ISO_WEEK_ERROR, current_iso_week
from schemas.reports import ISO_WEEK_MESSAGE
from tests.support import auth

URL = "/api/v1/reports/weekly"


@pytest.fixture
def api(sample):
    keys = {}
    with sample.app_context(), new_session() as db:
        keys["wadule"] = create_api_key(db, name="wadule", role="wadule", opd_slug=None)
        keys["operator"] = create_api_key(db, name="ops", role="operator", opd_slug=None)
        keys["opd"] = create_api_key(db, name="dpu", role="opd", opd_slug="dpu")
    return sample.test_client(), keys


def test_roles(api):
    client, keys = api
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=auth("wdl_nope")).status_code == 401
    refused = client.get(URL, headers=auth(keys["opd"]))
    assert refused.status_code == 403
    assert refused.json == {"code": 403, "message": "this needs a key with role wadule or operator"}
    for role in ("wadule", "operator"):
        assert client.get(f"{URL}?week=2026-W10", headers=auth(keys[role])).status_code == 200


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-10", ISO_WEEK_MESSAGE),
        ("W10", ISO_WEEK_MESSAGE),
        ("2026-W1", ISO_WEEK_MESSAGE),
        ("2025-W53", f"2025 has no week 53: {ISO_WEEK_MESSAGE}"),
        ("2026-W00", f"2026 has no week 00: {ISO_WEEK_MESSAGE}"),
        ("2099-W01", "2099-W01 has not begun yet: ask for this week or an earlier one"),
    ],
)
def test_a_bad_week_is_422_naming_the_format(api, week, message):
    client, keys = api
    response = client.get(URL, query_string={"week": week}, headers=auth(keys["wadule"]))
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert "week" in response.json["errors"]
    assert message in response.json["message"] or response.json["errors"]["week"] == [message]


def test_the_schema_says_what_worktime_says():
    assert ISO_WEEK_MESSAGE == ISO_WEEK_ERROR


def test_json_shape_and_known_figures(api):
    client, keys = api
    response = client.get(f"{URL}?week=2026-w10", headers=auth(keys["wadule"]))
    assert response.status_code == 200
    body = response.json
    assert set(body) == {
        "week", "previous_week", "starts_at", "ends_at", "as_of", "complete", "generated_at",
        "default_sla", "totals", "offices",
    }  # fmt: skip
    assert (body["week"], body["previous_week"], body["complete"]) == ("2026-W10", "2026-W09", True)
    assert body["starts_at"] == "2026-03-01T17:00:00+00:00"
    assert body["ends_at"] == body["as_of"] == "2026-03-08T17:00:00+00:00"
    assert body["default_sla"] == {"answer": "1d", "resolve": "6d"}
    assert [o["opd"] for o in body["offices"]] == [
        "dishub", "bpbd", "dinkes", "dpu", "kominfo", "pimpinan", "dlh"
    ]  # fmt: skip
    dpu = body["offices"][3]
    assert dpu == {
        "rank": 4,
        "opd": "dpu",
        "name": "Dinas PU",
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
        "received": 3,
        "answered": 1,
        "median_first_answer": {"working_seconds": 14400.0, "working_days": 0.5, "answers": 1},
        "grades": {"cepat": 1, "sedang": 2, "lambat": 1},
        "open_past_sla": 1,
        "awaiting_answer": 2,
        "awaiting_past_sla": 1,
        "coverage": {
            "whatsapp_group": {
                "present": True,
                "usable": True,
                "reason": "session 'default' is WORKING",
                "checked_at": "2026-03-09T23:00:00+00:00",
            },
            "facebook_page": {
                "present": True,
                "usable": True,
                "reason": "the token can publish",
                "checked_at": "2026-03-09T23:00:00+00:00",
            },
            "instagram": {
                "present": True,
                "usable": True,
                "reason": "the token expires in 5 days",
                "checked_at": "2026-03-09T23:00:00+00:00",
            },
            "x": {"present": True, "usable": None, "reason": None, "checked_at": None},
        },
        "previous": {
            "received": 3,
            "answered": 3,
            "median_first_answer": {
                "working_seconds": 3600.0,
                "working_days": 0.125,
                "answers": 3,
            },
            "grades": {"cepat": 0, "sedang": 0, "lambat": 0},
            "open_past_sla": 0,
            "awaiting_answer": 0,
            "awaiting_past_sla": 0,
        },
        "change": {
            "received": 0,
            "answered": -2,
            "median_first_answer_seconds": 10800.0,
            "median_first_answer_days": 0.375,
            "grades": {"cepat": 1, "sedang": 2, "lambat": 1},
            "open_past_sla": 1,
            "awaiting_answer": 2,
            "awaiting_past_sla": 1,
        },
    }
    assert body["offices"][1]["sla"] == {"answer": "4h", "resolve": "3d"}
    assert body["offices"][-1]["median_first_answer"] is None
    assert body["offices"][-1]["change"]["median_first_answer_days"] is None
    assert body["totals"]["offices"] == 7 and body["totals"]["needing_attention"] == 4
    assert body["totals"]["figures"]["received"] == 10
    assert body["totals"]["change"]["received"] == 6


def test_the_current_week_so_far_without_a_week(api):
    client, keys = api
    body = client.get(URL, headers=auth(keys["operator"])).json
    assert body["week"] == str(current_iso_week())
    assert body["complete"] is False
    assert body["totals"]["figures"]["received"] == 0


def test_documented_in_openapi(api):
    client, _ = api
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"][URL]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["week"]
    assert operation["parameters"][0]["schema"]["pattern"] == r"^\d{4}-[Ww]\d{2}$"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/WeeklyReport"}
    office = document["components"]["schemas"]["Office"]["properties"]
    assert {"grades", "coverage", "reasons", "change", "previous", "median_first_answer"} <= set(
        office
    )
    assert "422" in operation["responses"]
