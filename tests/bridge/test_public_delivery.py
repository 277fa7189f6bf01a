"""Public channels through the delivery engine, in-process, against fake Graph and X APIs.

The bridge's own app serves the Instagram cards on a real port (``BRIDGE_PUBLIC_URL``), so the
fake Graph API fetches the JPEG over HTTP exactly as Meta would.
"""

from __future__ import annotations

import itertools
import re
import threading
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.serving import make_server

from bridge import outbox
from bridge.auth import create_api_key
from bridge.channels.x import weighted_length
from bridge.db import new_session
from bridge.models import Delivery, SandboxMessage
from tests.bridge.test_delivery import attempt, complaint_of, make_due, row
from tests.bridge.test_redaction import FIRST, LAST, emails, niks, phones
from tests.fakes.graph import FB_TOKEN, IG_TOKEN, FakeGraph
from tests.fakes.server import Response, free_port
from tests.fakes.waha import FakeWaha
from tests.fakes.x_api import X_CONSUMER_KEY, X_CONSUMER_SECRET, X_SECRET, X_TOKEN, FakeX
from tests.support import auth, use_directory

GROUP = "120363000000000101@g.us"
PAGE = "100000000000101"
IG_USER = "17841400000000101"
X_HANDLE = "dpupr_pacitan"
OFFICE = "Dinas Pekerjaan Umum dan Penataan Ruang"
DIRECTORY = {
    "triage": "dpupr",
    "opds": [
        {
            "slug": "dpupr",
            "name": OFFICE,
            "categories": ["jalan"],
            "channels": [
                {"kind": "whatsapp_group", "target": GROUP},
                {"kind": "facebook_page", "target": PAGE, "token_env": "FB_TOKEN_DPUPR"},
                {"kind": "instagram", "target": IG_USER, "token_env": "IG_TOKEN_DPUPR"},
                {
                    "kind": "x",
                    "target": X_HANDLE,
                    "auth": "oauth1",
                    "token_env": "X_TOKEN_DPUPR",
                    "secret_env": "X_SECRET_DPUPR",
                },
            ],
        }
    ],
}
KINDS = ("whatsapp_group", "facebook_page", "instagram", "x")
_ids = itertools.count(1)


@pytest.fixture
def fakes():
    with FakeWaha() as waha, FakeGraph(processing_polls=0) as graph, FakeX() as x_api:
        yield types.SimpleNamespace(waha=waha, graph=graph, x_api=x_api)


@pytest.fixture
def bridge(make_app, fakes):
    """Build an app that calls the fakes (sandbox off) and serves its card route on a port."""
    waha, graph, x_api = fakes.waha, fakes.graph, fakes.x_api
    servers = []

    def build(**overrides):
        port = free_port()
        env = {
            **waha.bridge_settings(),
            "BRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "BRIDGE_GRAPH_URL": graph.url,
            "BRIDGE_X_API_URL": x_api.url,
            "BRIDGE_X_CONSUMER_KEY": X_CONSUMER_KEY,
            "BRIDGE_X_CONSUMER_SECRET": X_CONSUMER_SECRET,
            "BRIDGE_RATE_LIMITS": (
                "whatsapp_group=100/1,facebook_page=100/1,instagram=100/1,x=100/1"
            ),
            "BRIDGE_DELIVERY_RETRY_SCHEDULE": "10,20",
            "BRIDGE_HTTP_TIMEOUT": "1",
            # Channel tokens are plain environment variables named by token_env.
            "FB_TOKEN_DPUPR": FB_TOKEN,
            "IG_TOKEN_DPUPR": IG_TOKEN,
            "X_TOKEN_DPUPR": X_TOKEN,
            "X_SECRET_DPUPR": X_SECRET,
        }
        app = make_app(**(env | overrides))
        use_directory(app, DIRECTORY)
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return app

    yield build
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def shared_app(bridge):
    """One app for every example of a Hypothesis test (examples share the test's fixtures)."""
    return bridge()


def submit(app, wadule_id=None, **fields) -> dict[str, int]:
    """Ingest a complaint; return its delivery ids by channel kind."""
    from bridge.complaints import Actor, ingest

    data = {
        "wadule_id": wadule_id or f"WDL-P{next(_ids)}",
        "title": "Jalan berlubang",
        "body": "Jalan rusak sepanjang 200 meter, perbaikan ditaksir Rp 500.000 per meter.",
        "category": "jalan",
        "location": {"district": "Arjosari", "address": "Jl. Melati 5"},
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    } | fields
    with app.app_context(), new_session() as db:
        complaint, _ = ingest(db, data, Actor("wadule", "test"))
        return {d.kind: d.id for d in complaint.deliveries}


def deliver_all(app, ids: dict[str, int]) -> dict[str, str]:
    return {kind: attempt(app, delivery_id).outcome for kind, delivery_id in ids.items()}


def test_every_public_channel_gets_the_redacted_summary(bridge, fakes):
    graph, x_api = fakes.graph, fakes.x_api
    app = bridge()
    ids = submit(
        app,
        "WDL-2026-000101",
        title="Jalan depan rumah Budi Santoso berlubang",
        body="Saya Budi Santoso (HP 0812-3456-7890, budi@gmail.com, NIK 3501 0123 4567 0001)."
        " Jalan rusak 200 meter sejak 2024, biaya Rp 500.000 per meter. " * 3,
        reporter={"name": "Budi Santoso", "phone": "081234567890", "email": "budi@gmail.com"},
    )
    assert deliver_all(app, ids) == dict.fromkeys(KINDS, "sent")

    (post,) = graph.page_posts(PAGE)
    (container,) = graph.containers_of(IG_USER)
    (media,) = graph.published(IG_USER)
    (tweet,) = x_api.tweets
    link = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
    assert post.link == link
    for text in (post.message, container.caption, tweet.text):
        assert "#WDL-2026-000101" in text and link in text
        assert OFFICE in text or text is tweet.text
        for secret in ("Budi", "Santoso", "0812", "budi@", "3501", "Melati"):
            assert secret not in text
    assert weighted_length(tweet.text) <= 280
    assert len(container.caption) <= 2200
    # Meta fetched the card from the bridge's stable URL.
    card = f"{app.config['BRIDGE_SETTINGS'].public_url}/public/cards/WDL-2026-000101.jpg"
    assert container.image_url == card
    assert graph.fetches == [(card, 200, "image/jpeg")]
    assert container.image[:3] == b"\xff\xd8\xff"
    assert row(app, ids["facebook_page"]).external_id == post.id
    assert row(app, ids["instagram"]).external_id == media.id
    assert row(app, ids["x"]).external_id == tweet.id
    assert complaint_of(app, "WDL-2026-000101").status == "forwarded"


def test_confidential_complaints_make_no_public_request(bridge, fakes):
    graph, x_api = fakes.graph, fakes.x_api
    app = bridge()
    ids = submit(app, confidential=True)
    assert list(ids) == ["whatsapp_group"]
    assert deliver_all(app, ids) == {"whatsapp_group": "sent"}
    assert graph.requests == [] and x_api.requests == []


def test_a_public_row_for_a_confidential_complaint_is_refused_defensively(bridge, fakes):
    graph, x_api = fakes.graph, fakes.x_api
    app = bridge()
    ids = submit(app, "WDL-SECRET")
    with app.app_context(), new_session() as db:
        complaint = complaint_of(app, "WDL-SECRET")
        db.get(type(complaint), complaint.id).confidential = True  # e.g. flagged after ingest
        db.commit()
    outcomes = deliver_all(app, ids)
    assert outcomes == {
        "whatsapp_group": "sent",
        "facebook_page": "dead",
        "instagram": "dead",
        "x": "dead",
    }
    assert "confidential" in row(app, ids["x"]).last_error
    assert graph.requests == [] and x_api.requests == []
    assert app.test_client().get("/public/cards/WDL-SECRET.jpg").status_code == 404


def test_throttling_waits_and_leaves_other_channels_alone(bridge, fakes):
    graph, x_api = fakes.graph, fakes.x_api
    app = bridge()
    ids = submit(app, "WDL-THR")
    graph.throttle_next(32, regain_minutes=30)
    x_api.limit = 0
    graph.fill_quota(IG_USER)
    results = {kind: attempt(app, delivery_id) for kind, delivery_id in ids.items()}
    assert results["whatsapp_group"].outcome == "sent"
    # Each waits as long as its provider says, and none spends an attempt on it.
    assert results["facebook_page"].outcome == "throttled"
    assert results["facebook_page"].retry_in >= 3600  # usage 100 %: at least an hour
    assert results["instagram"].outcome == "throttled"
    assert results["instagram"].retry_in == 3600  # the daily quota
    assert results["x"].outcome == "throttled"
    assert 880 <= results["x"].retry_in <= 900  # x-rate-limit-reset
    for kind in ("facebook_page", "instagram", "x"):
        assert (row(app, ids[kind]).status, row(app, ids[kind]).attempts) == ("pending", 0)
    assert "rate limited: #32" in row(app, ids["facebook_page"]).last_error
    assert "quota used up" in row(app, ids["instagram"]).last_error
    assert row(app, ids["x"]).last_error == "x: too many requests"
    assert complaint_of(app, "WDL-THR").status == "forwarded"
    assert graph.containers_of(IG_USER) == [] and x_api.tweets == []


def test_token_errors_are_dead_with_a_clear_reason(bridge, fakes):
    app = bridge(FB_TOKEN_DPUPR="expired-fb", IG_TOKEN_DPUPR="expired-ig", X_TOKEN_DPUPR="bad-x")
    ids = submit(app, "WDL-TOKENS")
    assert deliver_all(app, ids) == {
        "whatsapp_group": "sent",
        "facebook_page": "dead",
        "instagram": "dead",
        "x": "dead",
    }
    assert row(app, ids["facebook_page"]).last_error.startswith(
        "facebook_page: access token invalid or expired: #190"
    )
    assert row(app, ids["instagram"]).last_error.startswith(
        "instagram: access token invalid or expired: #190"
    )
    assert row(app, ids["x"]).last_error.startswith(
        "x: X refused the OAuth 1.0a credentials (401); check X_TOKEN_DPUPR"
    )
    for dead in (row(app, ids[k]) for k in ("facebook_page", "instagram", "x")):
        assert "expired-" not in dead.last_error and "bad-x" not in dead.last_error
    # Public failures never mark the complaint as failed: its WhatsApp group has it.
    assert complaint_of(app, "WDL-TOKENS").status == "forwarded"


def test_unset_token_variable_fails_without_a_call(bridge, fakes):
    x_api = fakes.x_api
    app = bridge(X_TOKEN_DPUPR="")
    ids = submit(app)
    assert attempt(app, ids["x"]).outcome == "dead"
    assert row(app, ids["x"]).last_error == "token not configured (X_TOKEN_DPUPR)"
    assert x_api.requests == []


def test_instagram_crash_between_steps_does_not_create_a_second_container(bridge, fakes):
    graph = fakes.graph
    app = bridge()
    ids = submit(app)
    original = graph.handle
    failed = []

    def fail_first_status_poll(request):
        if request.method == "GET" and re.fullmatch(r"/v[\d.]+/\d+", request.path) and not failed:
            failed.append(request)
            return Response(
                500, {"error": {"message": "An unexpected error has occurred.", "code": 2}}
            )
        return original(request)

    graph.handle = fail_first_status_poll
    assert attempt(app, ids["instagram"]).outcome == "retrying"
    saved = row(app, ids["instagram"]).progress
    assert saved["container_id"] and saved["publish_requested"] is False
    make_due(app, ids["instagram"])
    assert attempt(app, ids["instagram"]).outcome == "sent"
    assert len(graph.containers_of(IG_USER)) == 1
    assert len(graph.published(IG_USER)) == 1


def test_instagram_timeout_on_publish_needs_review_and_redelivery_posts_nothing_twice(
    bridge, fakes
):
    graph = fakes.graph
    app = bridge()
    ids = submit(app, "WDL-IGT")
    graph.lose_publish_answer()
    assert attempt(app, ids["instagram"]).outcome == "needs_review"
    review = row(app, ids["instagram"])
    assert review.status == "needs_review" and "no answer within 1s" in review.last_error
    assert review.progress["publish_requested"] is True
    make_due(app, ids["instagram"])
    assert attempt(app, ids["instagram"]).outcome == "skipped"
    with app.app_context():
        outbox.sweep()
    assert len(graph.published(IG_USER)) == 1

    with app.app_context(), new_session() as db:
        key = create_api_key(db, name="ops", role="operator", opd_slug=None)
    response = app.test_client().post(
        "/api/v1/complaints/WDL-IGT/redeliver", json={"channel": "instagram"}, headers=auth(key)
    )
    assert response.status_code == 202
    assert attempt(app, ids["instagram"]).outcome == "sent"
    assert len(graph.published(IG_USER)) == 1
    assert len(graph.containers_of(IG_USER)) == 1
    assert row(app, ids["instagram"]).status == "sent"


def test_sandbox_renders_public_messages_into_the_inbox(make_app):
    app = make_app(BRIDGE_PUBLIC_URL="https://bridge.example.id")
    use_directory(app, DIRECTORY)
    ids = submit(app, "WDL-SBX", reporter={"name": "Sutrisno", "phone": "081234567890"})
    assert deliver_all(app, ids) == dict.fromkeys(KINDS, "sent")
    with app.app_context(), new_session() as db:
        inbox = {m.kind: m for m in db.scalars(select(SandboxMessage)).all()}
    assert set(inbox) == set(KINDS)
    assert inbox["instagram"].payload["image_url"] == (
        "https://bridge.example.id/public/cards/WDL-SBX.jpg"
    )
    assert weighted_length(inbox["x"].text) <= 280
    for kind in ("facebook_page", "instagram", "x"):
        assert "Sutrisno" not in inbox[kind].text and "reporter" not in inbox[kind].payload
        assert inbox[kind].payload["wadule_id"] == "WDL-SBX"
    assert "Sutrisno" in inbox["whatsapp_group"].text  # the private message still names them


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.sampled_from(FIRST),
    last=st.sampled_from(LAST),
    phone=phones(),
    nik=niks(),
    email=emails(),
    anonymous=st.booleans(),
)
def test_no_planted_personal_data_reaches_any_public_fake(
    shared_app, fakes, first, last, phone, nik, email, anonymous
):
    graph, x_api = fakes.graph, fakes.x_api
    app = shared_app
    spelled, national = phone
    name = f"{first} {last}"
    ids = submit(
        app,
        title=f"{name} lapor {spelled}",
        body=f"Saya {name} NIK {nik} HP {spelled} surel {email}. Jalan rusak. {last.upper()}",
        reporter={"name": name, "phone": national, "email": email},
        anonymous=anonymous,
    )
    before = {k: len(f.requests) for k, f in (("graph", graph), ("x", x_api))}
    outcomes = deliver_all(app, {k: v for k, v in ids.items() if k != "whatsapp_group"})
    assert outcomes == {"facebook_page": "sent", "instagram": "sent", "x": "sent"}
    sent = graph.requests[before["graph"] :] + x_api.requests[before["x"] :]
    assert sent
    for request in sent:
        body = request.text + " " + request.path + " " + repr(dict(request.query))
        for secret in (first, last, spelled, nik, email):
            assert secret.lower() not in body.lower()


def test_retry_of_a_public_row_keeps_its_own_state(bridge, fakes):
    x_api = fakes.x_api
    app = bridge()
    ids = submit(app)
    x_api.fail_next(1, status=503, body={"title": "Service Unavailable"})
    assert attempt(app, ids["x"]).outcome == "retrying"
    make_due(app, ids["x"])
    assert attempt(app, ids["x"]).outcome == "sent"
    assert len(x_api.tweets) == 1
    with app.app_context(), new_session() as db:
        statuses = dict(db.execute(select(Delivery.kind, Delivery.status)).all())
    assert statuses["x"] == "sent"
