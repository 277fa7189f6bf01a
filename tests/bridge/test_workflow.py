"""Status changes through the API, re-routes, reopen, and the event feed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridge import outbox
from bridge.db import new_session
from bridge.models import Delivery, Event, SandboxMessage
from tests.support import auth

URL = "/api/v1/complaints"


@pytest.fixture
def filed(client, keys):
    body = {
        "wadule_id": "WDL-W1",
        "title": "Jalan rusak",
        "body": "Berlubang.",
        "category": "jalan",
    }
    assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    return "WDL-W1"


def set_status(client, key, status, note=None, wadule_id="WDL-W1"):
    return client.post(
        f"{URL}/{wadule_id}/status", json={"status": status, "note": note}, headers=auth(key)
    )


def events(client, key, after=0, limit=100):
    return client.get(f"/api/v1/events?after={after}&limit={limit}", headers=auth(key)).get_json()


def test_opd_moves_its_complaint_forward_and_wadule_sees_each_change(client, keys, filed):
    response = set_status(client, keys["dpupr"], "acknowledged", "Diterima, dicek besok")
    assert response.status_code == 200
    assert response.get_json()["status"] == "acknowledged"
    assert "reporter" not in response.get_json()
    assert set_status(client, keys["dpupr"], "in_progress", "Survei Senin").status_code == 200
    assert set_status(client, keys["operator"], "resolved").status_code == 200
    history = client.get(f"{URL}/WDL-W1", headers=auth(keys["wadule"])).get_json()["history"]
    assert [h["status"] for h in history] == ["received", "acknowledged", "in_progress", "resolved"]
    assert history[2]["actor"] == {"kind": "opd", "name": "dpupr"}
    assert history[2]["note"] == "Survei Senin"

    feed = events(client, keys["wadule"])
    assert [e["data"]["seq"] for e in feed["events"]] == [1, 2, 3]
    assert feed["last_seq"] == 3
    second = feed["events"][1]
    assert second["type"] == "complaint.status_changed"
    data = second["data"]
    assert {k: data[k] for k in ("wadule_id", "status", "previous_status", "opd", "note")} == {
        "wadule_id": "WDL-W1",
        "status": "in_progress",
        "previous_status": "acknowledged",
        "opd": "dpupr",
        "note": "Survei Senin",
    }
    assert data["actor"] == {"kind": "opd", "name": "dpupr"}
    assert data["occurred_at"].endswith("Z") and second["timestamp"] == data["occurred_at"]
    assert events(client, keys["wadule"], after=3) == {"events": [], "last_seq": 3}
    assert [
        e["data"]["seq"] for e in events(client, keys["operator"], after=1, limit=1)["events"]
    ] == [2]


def test_illegal_transition_is_409_and_changes_nothing(client, keys, filed):
    assert set_status(client, keys["dpupr"], "resolved").status_code == 200
    response = set_status(client, keys["dpupr"], "in_progress")
    assert response.status_code == 409
    assert "resolved" in response.get_json()["message"]
    complaint = client.get(f"{URL}/WDL-W1", headers=auth(keys["wadule"])).get_json()
    assert complaint["status"] == "resolved"
    assert len(complaint["history"]) == 2
    assert len(events(client, keys["wadule"])["events"]) == 1


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("dinkes", "acknowledged", 403),  # another OPD's complaint
        ("wadule", "resolved", 403),  # Wadule only reopens
        ("dpupr", "reopened", 403),  # only Wadule reopens
        ("operator", "reopened", 403),
        ("dpupr", "forwarded", 422),  # not a status anyone sets
        ("dpupr", "nonsense", 422),
    ],
)
def test_who_may_set_what(client, keys, filed, key, status, code):
    assert set_status(client, keys[key], status).status_code == code
    assert events(client, keys["wadule"])["events"] == []


def test_events_need_a_wadule_or_operator_key(client, keys):
    assert client.get("/api/v1/events").status_code == 401
    assert client.get("/api/v1/events", headers=auth(keys["dpupr"])).status_code == 403
    bad = client.get("/api/v1/events?after=-1", headers=auth(keys["wadule"]))
    assert bad.status_code == 422 and "after" in bad.get_json()["errors"]


def test_reopen_notifies_the_opd_again_with_the_note(client, keys, filed, directory):
    assert set_status(client, keys["dpupr"], "resolved").status_code == 200
    response = set_status(client, keys["wadule"], "reopened", "Warga: lubang masih ada")
    assert response.status_code == 200
    assert response.get_json()["status"] == "reopened"
    with directory.app_context(), new_session() as db:
        reopen = db.scalars(select(Delivery).where(Delivery.purpose == "reopen")).all()
    assert [d.kind for d in reopen] == ["whatsapp_group", "facebook_page", "instagram", "x"]
    assert {d.round for d in reopen} == {2}
    with directory.app_context():
        assert outbox.deliver(reopen[0].id).outcome == "sent"
    with directory.app_context(), new_session() as db:
        text = db.scalars(select(SandboxMessage.text)).one()
    assert text.startswith("🔁 *Aduan dibuka kembali oleh Wadule*")
    assert "Warga: lubang masih ada" in text and "#WDL-W1" in text
    complaint = client.get(f"{URL}/WDL-W1", headers=auth(keys["wadule"])).get_json()
    assert complaint["status"] == "forwarded"
    types = [e["data"].get("status") for e in events(client, keys["wadule"])["events"]]
    assert types == ["resolved", "reopened", "sent", "forwarded"]


def test_assign_reroutes_to_received_under_the_new_opd(client, keys, filed, directory):
    url = f"{URL}/WDL-W1/assign"
    assert client.post(url, json={"opd": "dinkes"}, headers=auth(keys["dpupr"])).status_code == 403
    unknown = client.post(url, json={"opd": "dkp"}, headers=auth(keys["operator"]))
    assert unknown.status_code == 422
    same = client.post(url, json={"opd": "dpupr"}, headers=auth(keys["operator"]))
    assert same.status_code == 409
    response = client.post(
        url, json={"opd": "dinkes", "note": "soal puskesmas"}, headers=auth(keys["operator"])
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["opd"], body["status"]) == ("dinkes", "received")
    old = [d for d in body["deliveries"] if d["target"] == "120363000000000101@g.us"]
    assert old[0]["status"] == "dead" and old[0]["last_error"] == "cancelled: re-routed to dinkes"
    new = [d for d in body["deliveries"] if d["status"] == "pending"]
    assert new[0]["target"] == "120363000000000102@g.us"
    assert body["history"][-1]["note"] == "re-routed from dpupr to dinkes: soal puskesmas"
    (event,) = events(client, keys["wadule"])["events"]
    assert event["type"] == "complaint.rerouted"
    assert (event["data"]["from_opd"], event["data"]["to_opd"]) == ("dpupr", "dinkes")
    # Now it is dinkes's to answer, and no longer dpupr's.
    assert set_status(client, keys["dpupr"], "acknowledged").status_code == 403
    assert set_status(client, keys["dinkes"], "acknowledged").status_code == 200


def test_delivery_outcomes_are_events(client, keys, filed, directory):
    with directory.app_context(), new_session() as db:
        ids = db.scalars(select(Delivery.id).order_by(Delivery.id)).all()
    with directory.app_context():
        for delivery_id in ids:
            outbox.deliver(delivery_id)
    feed = events(client, keys["wadule"])["events"]
    updates = [e["data"] for e in feed if e["type"] == "complaint.delivery_updated"]
    assert [(u["channel"], u["status"]) for u in updates] == [
        ("whatsapp_group", "sent"),
        ("facebook_page", "sent"),
        ("instagram", "sent"),
        ("x", "sent"),
    ]
    assert updates[0]["external_id"].startswith("sandbox-")
    assert updates[0]["target"] == "120363000000000101@g.us" and updates[0]["error"] is None
    with directory.app_context(), new_session() as db:
        seqs = db.scalars(select(Event.seq).order_by(Event.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_poller_never_misses_an_event_under_concurrent_changes(client, keys, directory):
    import threading

    ids = [f"WDL-C{i}" for i in range(12)]
    for wadule_id in ids:
        body = {"wadule_id": wadule_id, "title": "t", "body": "b", "category": "jalan"}
        assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    done = threading.Event()
    seen: list[int] = []

    def poll():
        poller = directory.test_client()
        last = 0
        while True:
            finished = done.is_set()
            page = poller.get(
                f"/api/v1/events?after={last}&limit=500", headers=auth(keys["wadule"])
            ).get_json()
            seen.extend(e["data"]["seq"] for e in page["events"])
            last = page["last_seq"]
            if finished and not page["events"]:
                return

    def work(wadule_id):
        own = directory.test_client()
        for status in ("acknowledged", "in_progress", "resolved"):
            assert set_status(own, keys["dpupr"], status, wadule_id=wadule_id).status_code == 200

    poller = threading.Thread(target=poll)
    poller.start()
    workers = [threading.Thread(target=work, args=(w,)) for w in ids]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    poller.join()
    assert seen == list(range(1, 3 * len(ids) + 1))
