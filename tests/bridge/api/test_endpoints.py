"""/opds, /openapi.json, /healthz, /readyz and /metrics (the docs page: test_pages.py)."""

from __future__ import annotations

from tests.support import auth, free_port


def test_opds_lists_the_directory_without_secrets(client, keys):
    response = client.get("/api/v1/opds", headers=auth(keys["dpupr"]))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items[0]["slug"] == "diskominfo" and items[0]["is_triage"] is True
    dpupr = next(o for o in items if o["slug"] == "dpupr")
    assert dpupr["name"] == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert {c["kind"] for c in dpupr["channels"]} == {
        "whatsapp_group",
        "facebook_page",
        "instagram",
        "x",
    }
    text = response.get_data(as_text=True)
    assert "token_env" not in text and "FB_TOKEN" not in text
    assert "responders" not in text and "6281200000101" not in text
    assert client.get("/api/v1/opds").status_code == 401


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/complaints"])
    assert "get" in paths["/api/v1/complaints/{wadule_id}"]
    assert "post" in paths["/api/v1/complaints/{wadule_id}/redeliver"]
    assert "get" in paths["/api/v1/opds"]
    create = spec["components"]["schemas"]["ComplaintCreate"]
    assert set(create["required"]) == {"wadule_id", "title", "body"}
    assert create["properties"]["title"]["maxLength"] == 200
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "202" in paths["/api/v1/complaints"]["post"]["responses"]


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_each_check_to_an_operator_key(client, keys):
    response = client.get("/readyz", headers=auth(keys["operator"]))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["warnings"]) == ("ready", [])
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["database"]["opds"] == 17
    assert checks["broker"]["ok"]
    assert checks["sandbox"] == {"ok": True, "enabled": True}


def test_readyz_shows_only_the_verdict_without_an_operator_key(make_app, keys):
    # Names of channel targets and of secret variables are nobody else's business.
    app = make_app(BRIDGE_SANDBOX="0", BRIDGE_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    for headers in ({}, auth(keys["wadule"]), auth(keys["dpupr"]), auth("wdl_unknown")):
        response = client.get("/readyz", headers=headers)
        assert (response.status_code, response.get_json()) == (200, {"status": "ready"})
        assert "FB_TOKEN" not in response.get_data(as_text=True)
    assert "checks" in client.get("/readyz", headers=auth(keys["operator"])).get_json()


def test_readyz_reports_broker_and_providers_as_warnings(make_app, keys):
    # Contract section 8: ingest still works, so the process is ready; the operator sees why
    # forwarding will not.
    app = make_app(BRIDGE_SANDBOX="0", BRIDGE_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/readyz", headers=auth(keys["operator"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["warnings"] == ["broker", "providers"]
    checks = body["checks"]
    assert checks["broker"]["ok"] is False
    problems = checks["providers"]["problems"]
    assert problems["whatsapp_group"] == "provider not configured"
    assert problems["telegram"] == "provider not configured"
    assert problems["facebook_page:100000000000101"] == "FB_TOKEN_DPUPR is not set"


def test_readyz_without_directory(make_app):
    from bridge.auth import create_api_key
    from bridge.db import new_session

    app = make_app()
    with app.app_context(), new_session() as db:
        key = create_api_key(db, name="ops", role="operator", opd_slug=None)
    client = app.test_client()
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (503, {"status": "not ready"})
    body = client.get("/readyz", headers=auth(key)).get_json()
    assert body["status"] == "not ready"
    assert "directory import" in body["checks"]["database"]["error"]


def test_metrics_count_from_the_database(client, keys):
    body = {"wadule_id": "WDL-M1", "title": "t", "body": "b", "category": "jalan"}
    assert (
        client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
        == 202
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'bridge_complaints{status="received"} 1.0' in text
    assert 'bridge_deliveries{channel="whatsapp_group",status="pending"} 1.0' in text
    assert "bridge_delivery_queue_depth 4.0" in text
    assert "bridge_deliveries_needs_review 0.0" in text
    assert "bridge_delivery_oldest_due_seconds" in text


def test_sandbox_inbox_is_readable_by_operators(client, keys, directory):
    from sqlalchemy import select

    from bridge import outbox
    from bridge.db import new_session
    from bridge.models import Delivery

    body = {
        "wadule_id": "WDL-S1",
        "title": "Lampu mati",
        "body": "Gelap.",
        "category": "pkl",
        "reporter": {"name": "Dewi", "phone": "0812"},
    }
    client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"]))
    with directory.app_context(), new_session() as db:
        delivery_id = db.scalars(select(Delivery.id)).one()
    with directory.app_context():
        assert outbox.deliver(delivery_id).outcome == "sent"
    url = "/api/v1/sandbox/messages"
    assert client.get(url, headers=auth(keys["wadule"])).status_code == 403
    page = client.get(url + "?wadule_id=WDL-S1", headers=auth(keys["operator"])).get_json()
    (message,) = page["items"]
    assert (message["wadule_id"], message["channel"]) == ("WDL-S1", "whatsapp_group")
    assert message["target"] == "120363000000000112@g.us"
    assert "Dewi" in message["text"] and "#WDL-S1" in message["text"]
    assert page["next_cursor"] is None
    empty = client.get(url + "?channel=telegram", headers=auth(keys["operator"])).get_json()
    assert empty["items"] == []
