"""POST/GET /api/v1/complaints against PostgreSQL and Redis."""

from __future__ import annotations

import copy
import threading

import pytest
from sqlalchemy import func, select

from bridge.db import new_session
from bridge.models import Complaint, Delivery, StatusChange
from tests.support import auth, sample_complaints

URL = "/api/v1/complaints"


def complaint(**changes):
    body = {
        "wadule_id": "WDL-2026-900001",
        "title": "Jalan berlubang di Desa Arjosari",
        "body": "Jalan kabupaten berlubang besar sepanjang 200 meter.",
        "category": "jalan",
        "reporter": {"name": "Sutrisno", "phone": "081234560101", "email": "s@example.com"},
    }
    body.update(changes)
    return body


def count(app, model) -> int:
    with app.app_context(), new_session() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_first_receipt_is_202_and_readable(client, keys):
    response = client.post(URL, json=complaint(), headers=auth(keys["wadule"]))
    assert response.status_code == 202
    data = response.get_json()
    assert data["wadule_id"] == "WDL-2026-900001"
    assert data["status"] == "received"
    assert data["opd"] == "dpupr"
    assert data["routed_by"] == "category"
    assert [d["channel"] for d in data["deliveries"]] == [
        "whatsapp_group",
        "facebook_page",
        "instagram",
        "x",
    ]
    assert all(d["status"] == "pending" and d["attempts"] == 0 for d in data["deliveries"])
    assert data["history"][0]["status"] == "received"
    assert data["history"][0]["actor"] == {"kind": "wadule", "name": "wadule"}

    fetched = client.get(f"{URL}/WDL-2026-900001", headers=auth(keys["wadule"]))
    assert fetched.status_code == 200
    assert fetched.get_json()["reporter"]["phone"] == "081234560101"
    assert fetched.get_json()["deliveries"][0]["target"] == "120363000000000101@g.us"


@pytest.mark.parametrize(
    ("changes", "opd", "routed_by", "note"),
    [
        ({"opd": "satpolpp", "category": "jalan"}, "satpolpp", "opd", None),
        ({"category": "kesehatan"}, "dinkes", "category", None),
        ({"category": "KESEHATAN"}, "dinkes", "category", None),
        ({"category": "tidak-ada"}, "diskominfo", "triage", "no OPD handles category"),
        ({"category": None}, "diskominfo", "triage", None),
        ({"opd": "dkp", "category": "air"}, "pdam", "category", "unknown opd 'dkp'"),
        ({"opd": "dkp", "category": None}, "diskominfo", "triage", "unknown opd 'dkp'"),
    ],
)
def test_routing(client, keys, changes, opd, routed_by, note):
    response = client.post(URL, json=complaint(**changes), headers=auth(keys["wadule"]))
    assert response.status_code == 202
    data = response.get_json()
    assert (data["opd"], data["routed_by"]) == (opd, routed_by)
    if note:
        assert note in data["route_note"]
        assert note in data["history"][0]["note"]
    else:
        assert data["route_note"] is None


def test_identical_replay_is_200_and_creates_nothing(client, keys, directory):
    first = client.post(URL, json=complaint(), headers=auth(keys["wadule"]))
    assert first.status_code == 202
    # Null and missing optional fields are the same content.
    again = client.post(URL, json=complaint(opd=None, location=None), headers=auth(keys["wadule"]))
    assert again.status_code == 200
    assert again.get_json()["wadule_id"] == "WDL-2026-900001"
    assert count(directory, Complaint) == 1
    assert count(directory, Delivery) == 4
    assert count(directory, StatusChange) == 1


def test_same_id_other_content_is_409(client, keys, directory):
    assert client.post(URL, json=complaint(), headers=auth(keys["wadule"])).status_code == 202
    response = client.post(URL, json=complaint(title="Lain"), headers=auth(keys["wadule"]))
    assert response.status_code == 409
    assert response.get_json()["code"] == 409
    assert "different content" in response.get_json()["message"]
    assert count(directory, Complaint) == 1


def test_confidential_makes_no_public_deliveries(client, keys):
    response = client.post(URL, json=complaint(confidential=True), headers=auth(keys["wadule"]))
    assert [d["channel"] for d in response.get_json()["deliveries"]] == ["whatsapp_group"]


def test_sample_complaints_all_accepted(client, keys):
    for body in sample_complaints():
        response = client.post(URL, json=body, headers=auth(keys["wadule"]))
        assert response.status_code == 202, (body["wadule_id"], response.get_json())
    unknown = client.get(f"{URL}/WDL-2026-000119", headers=auth(keys["wadule"])).get_json()
    assert unknown["opd"] == "diskominfo"
    assert unknown["routed_by"] == "triage"
    assert "unknown opd 'dkp'" in unknown["route_note"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wdl_nope"}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer"}, 401),
    ],
)
def test_missing_or_unknown_key_is_401(client, keys, directory, headers, status):
    response = client.post(URL, json=complaint(), headers=headers)
    assert response.status_code == status
    assert response.get_json()["code"] == status
    assert count(directory, Complaint) == 0


def test_wrong_role_is_403_and_writes_nothing(client, keys, directory):
    for role in ("operator", "dpupr"):
        response = client.post(URL, json=complaint(), headers=auth(keys[role]))
        assert response.status_code == 403
    assert count(directory, Complaint) == 0


def test_revoked_key_stops_at_once(client, keys, directory):
    from bridge.auth import revoke_api_key

    # Used first, so that a process that had seen the key must still refuse it next time.
    assert client.post(URL, json=complaint(), headers=auth(keys["wadule"])).status_code == 202
    with directory.app_context(), new_session() as db:
        revoke_api_key(db, "wadule")
    again = client.post(URL, json=complaint(wadule_id="WDL-2"), headers=auth(keys["wadule"]))
    assert again.status_code == 401
    assert count(directory, Complaint) == 1


def test_opd_key_sees_only_its_own_without_reporter(client, keys):
    client.post(URL, json=complaint(), headers=auth(keys["wadule"]))
    client.post(
        URL, json=complaint(wadule_id="WDL-2", category="kesehatan"), headers=auth(keys["wadule"])
    )
    own = client.get(f"{URL}/WDL-2026-900001", headers=auth(keys["dpupr"]))
    assert own.status_code == 200
    assert "reporter" not in own.get_json()
    assert client.get(f"{URL}/WDL-2", headers=auth(keys["dpupr"])).status_code == 403
    listed = client.get(URL, headers=auth(keys["dpupr"])).get_json()
    assert [c["wadule_id"] for c in listed["items"]] == ["WDL-2026-900001"]
    assert "reporter" not in listed["items"][0]
    other = client.get(f"{URL}?opd=dinkes", headers=auth(keys["dpupr"])).get_json()
    assert other["items"] == []
    operator = client.get(f"{URL}/WDL-2", headers=auth(keys["operator"])).get_json()
    assert operator["reporter"]["name"] == "Sutrisno"


def test_unknown_complaint_is_404(client, keys):
    response = client.get(f"{URL}/WDL-none", headers=auth(keys["wadule"]))
    assert response.status_code == 404
    assert client.get(f"{URL}/bad%20id!", headers=auth(keys["wadule"])).status_code == 404


def test_list_paginates_with_a_cursor(client, keys):
    for i in range(7):
        body = complaint(wadule_id=f"WDL-{i}", category="kesehatan" if i % 2 else "jalan")
        assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(URL + query, headers=auth(keys["operator"])).get_json()
        seen += [c["wadule_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"WDL-{i}" for i in reversed(range(7))]
    dinkes = client.get(f"{URL}?opd=dinkes", headers=auth(keys["wadule"])).get_json()
    assert [c["wadule_id"] for c in dinkes["items"]] == ["WDL-5", "WDL-3", "WDL-1"]
    received = client.get(f"{URL}?status=received&limit=1", headers=auth(keys["wadule"]))
    assert len(received.get_json()["items"]) == 1
    assert received.get_json()["next_cursor"]


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=201", "?limit=x", "?status=nope", "?cursor=%%%", "?cursor=eDk"]
)
def test_bad_list_queries_are_422(client, keys, query):
    response = client.get(URL + query, headers=auth(keys["wadule"]))
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_malformed_json_is_400(client, keys, directory):
    for raw in (b'{"wadule_id": ', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000):
        response = client.post(
            URL, data=raw, content_type="application/json", headers=auth(keys["wadule"])
        )
        assert response.status_code == 400
        assert response.get_json() == {"code": 400, "message": "malformed JSON body"}
    assert count(directory, Complaint) == 0


def test_not_json_is_415(client, keys, directory):
    response = client.post(
        URL,
        data="wadule_id=1",
        content_type="application/x-www-form-urlencoded",
        headers=auth(keys["wadule"]),
    )
    assert response.status_code == 415
    assert response.get_json()["code"] == 415
    assert count(directory, Complaint) == 0


def test_body_over_one_mib_is_413(client, keys, directory):
    body = complaint(body="x" * (1024 * 1024))
    response = client.post(URL, json=body, headers=auth(keys["wadule"]))
    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    assert count(directory, Complaint) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"wadule_id": ""}, "wadule_id"),
        ({"wadule_id": "WDL 1"}, "wadule_id"),
        ({"wadule_id": "x" * 65}, "wadule_id"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"body": "b" * 5001}, "body"),
        ({"body": 12}, "body"),
        ({"anonymous": "yes"}, "anonymous"),
        ({"confidential": 1}, "confidential"),
        ({"location": {"lat": 91}}, "location"),
        ({"location": {"lon": "111"}}, "location"),
        ({"location": {"street": "x"}}, "location"),
        ({"attachments": [{"url": "ftp://x"}]}, "attachments"),
        ({"attachments": [{"url": "https://x.example/a.jpg"}] * 6}, "attachments"),
        ({"submitted_at": "2026-11-20T08:15:00"}, "submitted_at"),
        ({"submitted_at": "yesterday"}, "submitted_at"),
        ({"extra": True}, "extra"),
        ({"title": "a\x00b"}, "title"),
        ({"reporter": {"name": "x", "nik": "1"}}, "reporter"),
    ],
)
def test_invalid_fields_are_422_and_named(client, keys, directory, changes, field):
    response = client.post(URL, json=complaint(**changes), headers=auth(keys["wadule"]))
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == 422
    assert field in payload["errors"]
    assert field in payload["message"]
    assert count(directory, Complaint) == 0


def test_missing_required_fields_are_named(client, keys):
    response = client.post(URL, json={}, headers=auth(keys["wadule"]))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"wadule_id", "title", "body"}


def test_no_directory_is_503_not_500(make_app, keys):
    # Directory deactivated entirely: the triage OPD is gone.
    from bridge.directory import import_directory

    app = make_app()
    with app.app_context(), new_session() as db:
        import_directory(
            db,
            {
                "triage": "x",
                "opds": [
                    {"slug": "x", "name": "X", "categories": [], "responders": [], "channels": []}
                ],
            },
        )
        db.commit()
    with app.app_context(), new_session() as db:
        from bridge.models import Opd

        db.execute(Opd.__table__.update().values(active=False, is_triage=False))
        db.commit()
    response = app.test_client().post(URL, json=complaint(), headers=auth(keys["wadule"]))
    assert response.status_code == 503


def test_twenty_concurrent_posts_make_one_complaint(client, keys, directory):
    body = complaint()
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def post():
        own = directory.test_client()
        barrier.wait()
        response = own.post(URL, json=copy.deepcopy(body), headers=auth(keys["wadule"]))
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 19 + [202]
    assert count(directory, Complaint) == 1
    assert count(directory, Delivery) == 4
    assert count(directory, StatusChange) == 1
