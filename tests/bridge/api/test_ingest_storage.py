"""What ingest stores and answers: one transaction, committed before the doorbell, and a 202
that shows exactly the rows a later read finds."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from bridge import create_app, queue
from bridge.auth import create_api_key
from bridge.complaints import ingest
from bridge.db import engine_of, new_session
from bridge.directory import import_directory, load_directory_file
from bridge.models import Complaint, Delivery, StatusChange
from bridge.routing import route
from bridge.settings import Settings
from bridge.workflow import Actor
from schemas import ComplaintCreateSchema
from tests.support import SAMPLE_DIRECTORY, auth, use_directory

URL = "/api/v1/complaints"

FULL = {
    "wadule_id": "WDL-2026-910001",
    "title": "Jalan berlubang di Desa Arjosari",
    "body": "Jalan kabupaten berlubang besar sepanjang 200 meter.",
    "category": "jalan",
    "location": {"address": "Jl. Raya Arjosari", "district": "Arjosari", "lat": -8.12},
    "reporter": {"name": "Sutrisno", "phone": "081234560101", "email": "s@example.com"},
    "anonymous": True,
    "attachments": [{"url": "https://x.example/a.jpg", "content_type": "image/jpeg"}],
    "submitted_at": "2026-11-20T08:15:00+07:00",
}


def rows_of(app, wadule_id: str) -> tuple[int, int, int]:
    """(complaints, deliveries, history entries) stored for ``wadule_id``, seen from outside."""
    with app.app_context(), new_session() as db:
        complaint_id = db.scalar(select(Complaint.id).where(Complaint.wadule_id == wadule_id))
        if complaint_id is None:
            return 0, 0, 0
        deliveries = db.scalar(select(func.count()).where(Delivery.complaint_id == complaint_id))
        history = db.scalar(select(func.count()).where(StatusChange.complaint_id == complaint_id))
        return 1, deliveries, history


@pytest.mark.parametrize(
    "body",
    [FULL, {"wadule_id": "WDL-2026-910002", "title": "t", "body": "b", "opd": "nope"}],
)
def test_the_receipt_is_what_a_read_returns(client, keys, body):
    created = client.post(URL, json=body, headers=auth(keys["wadule"]))
    assert created.status_code == 202
    read = client.get(f"{URL}/{body['wadule_id']}", headers=auth(keys["wadule"]))
    assert created.get_json() == read.get_json()


def test_rows_are_committed_before_the_broker_is_rung(client, keys, directory, monkeypatch):
    seen = []

    def publish(rows):
        ids = [row_id for row_id, _lane in rows]
        seen.append((ids, rows_of(directory, FULL["wadule_id"])))
        return ids

    monkeypatch.setattr(queue, "publish", publish)
    assert client.post(URL, json=FULL, headers=auth(keys["wadule"])).status_code == 202
    ((ids, stored),) = seen
    assert stored == (1, 4, 1)
    with directory.app_context(), new_session() as db:
        assert ids == list(db.scalars(select(Delivery.id).order_by(Delivery.id)))


def test_rows_the_broker_did_not_take_lose_published_at(client, keys, directory, monkeypatch):
    # Only the first row went out.
    monkeypatch.setattr(queue, "publish", lambda rows: [row_id for row_id, _lane in rows][:1])
    assert client.post(URL, json=FULL, headers=auth(keys["wadule"])).status_code == 202
    with directory.app_context(), new_session() as db:
        rows = db.execute(select(Delivery.kind, Delivery.published_at).order_by(Delivery.id))
        published = {kind: at is not None for kind, at in rows}
    assert published == {
        "whatsapp_group": True,
        "facebook_page": False,
        "instagram": False,
        "x": False,
    }


def test_a_failed_insert_stores_nothing(directory):
    # The history entry is written last; an actor name over its column's 100 characters makes
    # PostgreSQL refuse it after the complaint and its deliveries went in.
    with directory.app_context(), new_session() as db:
        with pytest.raises(DataError):
            ingest(db, ComplaintCreateSchema().load(FULL), Actor("wadule", "w" * 101))
        db.rollback()
    assert rows_of(directory, FULL["wadule_id"]) == (0, 0, 0)


def move_jalan_to_dinkes(app) -> None:
    """Import the sample directory with category ``jalan`` moved from dpupr to dinkes."""
    moved = load_directory_file(SAMPLE_DIRECTORY)
    for opd in moved["opds"]:
        if opd["slug"] == "dpupr":
            opd["categories"].remove("jalan")
        if opd["slug"] == "dinkes":
            opd["categories"].append("jalan")
    with app.app_context(), new_session() as db:
        import_directory(db, moved)
        db.commit()


def test_routing_follows_a_directory_import_in_a_running_app(client, keys, directory):
    # The API reads the directory's version along with the key (bridge.auth).
    first = client.post(URL, json=FULL, headers=auth(keys["wadule"]))
    assert first.get_json()["opd"] == "dpupr"
    move_jalan_to_dinkes(directory)
    again = client.post(
        URL, json=FULL | {"wadule_id": "WDL-2026-910003"}, headers=auth(keys["wadule"])
    )
    assert (again.get_json()["opd"], again.get_json()["routed_by"]) == ("dinkes", "category")
    assert [d["channel"] for d in again.get_json()["deliveries"]] == [
        "whatsapp_group",
        "facebook_page",
        "x",
    ]


def test_routing_without_an_api_key_reads_the_version_itself(directory):
    with directory.app_context(), new_session() as db:
        assert route(db, opd_slug=None, category="jalan").opd.slug == "dpupr"
    move_jalan_to_dinkes(directory)
    with directory.app_context(), new_session() as db:
        assert route(db, opd_slug=None, category="jalan").opd.slug == "dinkes"


def test_a_shared_schema_keeps_nothing_between_requests(client, keys):
    # One schema instance serves every request: errors and defaults must not leak across.
    bad = client.post(
        URL, json=FULL | {"location": {"lat": 91}, "extra": 1}, headers=auth(keys["wadule"])
    )
    assert set(bad.get_json()["errors"]) == {"location", "extra"}
    good = client.post(
        URL,
        json={"wadule_id": "WDL-2026-910004", "title": "t", "body": "b"},
        headers=auth(keys["wadule"]),
    )
    assert good.status_code == 202
    assert good.get_json()["attachments"] == []
    assert good.get_json()["anonymous"] is False
    other = client.post(URL, json={"title": ""}, headers=auth(keys["wadule"]))
    assert set(other.get_json()["errors"]) == {"wadule_id", "title", "body"}


def test_ingest_on_the_embedded_defaults(sqlite_env, tmp_path, monkeypatch):
    # SQLite is the default database: RETURNING and the ordered multi-row insert work there too.
    monkeypatch.chdir(tmp_path)  # without BRIDGE_SECRET_KEY the app keeps one in ./instance
    app = create_app(settings=Settings.from_env(sqlite_env))
    try:
        use_directory(app)
        with app.app_context(), new_session() as db:
            key = create_api_key(db, name="wadule-sqlite", role="wadule", opd_slug=None)
        client = app.test_client()
        created = client.post(URL, json=FULL, headers=auth(key))
        assert created.status_code == 202
        read = client.get(f"{URL}/{FULL['wadule_id']}", headers=auth(key))
        assert created.get_json() == read.get_json()
        assert client.post(URL, json=FULL, headers=auth(key)).status_code == 200
    finally:
        engine_of(app).dispose()
