"""/metrics: the counters and histograms operators alert on, and the gauges read at scrape time.

Counters live for the whole test process, so each test compares before and after.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select

from bridge import callbacks, metrics, outbox
from bridge.channels.base import Verdict
from bridge.checks import CheckResult, store
from bridge.db import new_session
from bridge.models import Channel, Delivery, Opd
from tests.bridge.obs import parse, scrape, total, value
from tests.fakes.waha import FakeWaha
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.support import ROOT, auth, use_directory

URL = "/api/v1/complaints"
GROUP = "120363000000000001@g.us"
DIRECTORY = {
    "triage": "diskominfo",
    "opds": [
        {
            "slug": "diskominfo",
            "name": "Dinas Komunikasi dan Informatika",
            "categories": ["jalan"],
            "channels": [{"kind": "whatsapp_group", "target": GROUP}],
        }
    ],
}
HTTP = "bridge_http_requests_total"
DURATION = "bridge_http_request_duration_seconds_count"


def complaint(wadule_id: str) -> dict:
    return {"wadule_id": wadule_id, "title": "Jalan rusak", "body": "Lubang.", "category": "jalan"}


def test_http_requests_are_counted_by_url_rule_method_and_status(client, keys):
    before = scrape(client)
    assert (
        client.post(URL, json=complaint("WDL-M1"), headers=auth(keys["wadule"])).status_code == 202
    )
    assert client.get(f"{URL}/WDL-M1", headers=auth(keys["wadule"])).status_code == 200
    assert client.get(f"{URL}/WDL-NOPE", headers=auth(keys["wadule"])).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.open(URL, method="BREW").status_code == 405
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    rule = "/api/v1/complaints/<wadule_id>"
    assert grew(HTTP, endpoint=URL, method="POST", status="202") == 1
    assert grew(HTTP, endpoint=rule, method="GET", status="200") == 1
    assert grew(HTTP, endpoint=rule, method="GET", status="404") == 1
    # A path or method no rule matches is one label value, whatever it was.
    assert grew(HTTP, endpoint="unmatched", method="GET", status="404") == 1
    assert grew(HTTP, endpoint="unmatched", method="other", status="405") == 1
    assert grew(DURATION, endpoint=rule) == 2
    assert not any("WDL-M1" in str(labels) for _name, labels in after)
    # The scrape before this one was counted too, under its rule.
    assert value(after, HTTP, endpoint="/metrics", method="GET", status="200") >= 1


def test_provider_calls_and_finished_deliveries_are_counted_by_kind_and_outcome(make_app):
    with FakeWaha() as waha:
        app = make_app(
            **waha.bridge_settings(),
            BRIDGE_RATE_LIMITS="whatsapp_group=100/1",
            BRIDGE_DELIVERY_RETRY_SCHEDULE="10",
            BRIDGE_HTTP_TIMEOUT="1",
        )
        use_directory(app, DIRECTORY)
        client = app.test_client()
        before = scrape(client)
        wadule = {"Authorization": f"Bearer {wadule_key(app)}"}
        for n in range(3):
            assert client.post(URL, json=complaint(f"WDL-P{n}"), headers=wadule).status_code == 202
        ids = delivery_ids(app)
        waha.fail_next(1, status=500, body={"statusCode": 500, "message": "boom"})
        waha.fail_next(1, status=400, body={"statusCode": 400, "message": "bad chat"})
        with app.app_context():
            outcomes = [outbox.deliver(i).outcome for i in ids]
        assert outcomes == ["retrying", "dead", "sent"]
        after = scrape(client)

    def grew(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    calls = "bridge_provider_calls_total"
    assert grew(calls, kind="whatsapp_group", outcome="retrying") == 1
    assert grew(calls, kind="whatsapp_group", outcome="dead") == 1
    assert grew(calls, kind="whatsapp_group", outcome="sent") == 1
    assert grew("bridge_provider_call_duration_seconds_count", kind="whatsapp_group") == 3
    finished = "bridge_deliveries_finished_total"
    # Only final outcomes count as finished: the retrying row is not.
    assert grew(finished, kind="whatsapp_group", outcome="sent") == 1
    assert grew(finished, kind="whatsapp_group", outcome="dead") == 1
    assert grew(finished, kind="whatsapp_group", outcome="retrying") == 0


def test_sandbox_sends_are_finished_deliveries_but_no_provider_calls(app):
    use_directory(app, DIRECTORY)
    client = app.test_client()
    before = scrape(client)
    wadule = {"Authorization": f"Bearer {wadule_key(app)}"}
    assert client.post(URL, json=complaint("WDL-S1"), headers=wadule).status_code == 202
    with app.app_context():
        assert outbox.deliver(delivery_ids(app)[0]).outcome == "sent"
    after = scrape(client)
    finished = ("bridge_deliveries_finished_total", {"kind": "whatsapp_group", "outcome": "sent"})
    assert total(after, finished[0], **finished[1]) - total(before, finished[0], **finished[1]) == 1
    calls = "bridge_provider_calls_total"
    assert total(after, calls) == total(before, calls)


def test_callback_pushes_are_counted_by_outcome(make_app, keys):
    from bridge.models import Event

    with FakeWebhookReceiver() as wadule:
        app = make_app(
            BRIDGE_WADULE_CALLBACK_URL=wadule.url_for("/wadule/events"),
            BRIDGE_WADULE_WEBHOOK_SECRET=DEFAULT_SECRET,
        )
        client = app.test_client()
        before = scrape(client)
        for n in range(2):
            body = complaint(f"WDL-C{n}")
            assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
            change = client.post(
                f"{URL}/WDL-C{n}/status",
                json={"status": "acknowledged"},
                headers=auth(keys["operator"]),
            )
            assert change.status_code == 200
        wadule.fail_next(1, status=500)
        with app.app_context():
            result = callbacks.push_due()
        assert (result.delivered, result.retrying) == (1, 1)
        with app.app_context(), new_session() as db:
            for event in db.scalars(select(Event)):
                event.next_push_at = event.occurred_at - dt.timedelta(seconds=1)
            db.commit()
        wadule.fail_next(1, status=410)
        with app.app_context():
            assert callbacks.push_due().stopped
        after = scrape(client)

    def grew(outcome):
        name = "bridge_callbacks_pushed_total"
        return total(after, name, outcome=outcome) - total(before, name, outcome=outcome)

    assert (grew("delivered"), grew("retrying"), grew("stopped")) == (1, 1, 1)
    assert value(after, "bridge_callbacks_stopped") == 1
    assert value(before, "bridge_callbacks_stopped") == 0


def test_commands_are_counted_by_source_and_result(make_app, fake_waha, fake_telegram):
    from tests.bridge.groups import DPUPR, RESPONDER, STRANGER, make_bridge

    bridge = make_bridge(make_app, fake_waha, fake_telegram)
    before = scrape(bridge.client)
    assert bridge.say(DPUPR, "#WDL-I1 terima", RESPONDER)["status"] == "handled"  # applied
    assert bridge.say(DPUPR, "#WDL-I1 terima", RESPONDER)["status"] == "handled"  # refused
    assert bridge.say(DPUPR, "#WDL-I1 selesai", STRANGER)["status"] == "handled"  # answered
    assert bridge.say(DPUPR, "selamat pagi semua", RESPONDER)["status"] == "ignored"
    after = scrape(bridge.client)

    def grew(result):
        name = "bridge_commands_handled_total"
        return total(after, name, source="waha", result=result) - total(
            before, name, source="waha", result=result
        )

    assert (grew("applied"), grew("answered"), grew("ignored")) == (1, 2, 1)


def test_channel_check_verdicts_are_gauges_without_targets(directory):
    with directory.app_context(), new_session() as db:
        channels = db.execute(
            select(Channel.id, Channel.kind, Channel.target, Opd.slug)
            .join(Opd)
            .where(Opd.slug == "dpupr")
            .order_by(Channel.id)
        ).all()
        checked = dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)
        verdicts = [Verdict.UNUSABLE, Verdict.OK, Verdict.WARNING, Verdict.OK]
        store(
            db,
            [
                CheckResult(c.id, c.slug, c.kind, c.target, v, "why", {}, checked)
                for c, v in zip(channels, verdicts, strict=False)
            ],
        )
        db.commit()
    page = directory.test_client().get("/metrics").get_data(as_text=True)
    samples = parse(page)
    first = channels[0]
    name = "bridge_channels_by_verdict"
    assert value(samples, name, opd="dpupr", kind=first.kind, verdict="unusable") == 1
    assert value(samples, name, opd="dpupr", kind=first.kind, verdict="ok") == 0
    assert value(samples, name, opd="dpupr", kind=channels[1].kind, verdict="ok") == 1
    assert value(samples, "bridge_channel_check_timestamp_seconds") == checked.timestamp()
    for channel in channels:
        assert channel.target not in page  # the page needs no key: no targets on it


def test_the_seven_database_gauges_are_still_there(client):
    page = client.get("/metrics").get_data(as_text=True)
    for name in (
        "bridge_complaints",
        "bridge_deliveries",
        "bridge_delivery_queue_depth",
        "bridge_delivery_oldest_due_seconds",
        "bridge_deliveries_needs_review",
        "bridge_callback_backlog",
        "bridge_callback_oldest_seconds",
    ):
        assert f"# TYPE {name} gauge" in page


def test_process_trees_counted_in_files_are_merged_and_labelled(tmp_path):
    """Two process trees (as gunicorn's and Celery's) count in their own folders under one
    base; the collector adds them up per tree and labels each series with its tree."""
    base = tmp_path / "metrics"
    script = textwrap.dedent(
        """
        import sys
        from types import SimpleNamespace
        from bridge import metrics
        metrics.use_folder(SimpleNamespace(metrics_dir=sys.argv[1]), sys.argv[2], empty=True)
        for _ in range(int(sys.argv[3])):
            metrics.delivery_finished("whatsapp_group", "sent")
            metrics.provider_call("whatsapp_group", "sent", 0.3)
        assert metrics.multiprocess()
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(metrics.MULTIPROC_ENV, None)
    runs = [("private@a", 2), ("private@a", 3), ("public@a", 1), ("private@b", 4)]
    for tree, times in runs:
        subprocess.run(
            [sys.executable, "-c", script, str(base), tree, str(times)],
            env=env,
            check=True,
            timeout=60,
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.TreesCollector(base))
    samples = parse(generate_latest(registry).decode())
    finished = "bridge_deliveries_finished_total"
    labels = {"kind": "whatsapp_group", "outcome": "sent"}
    # A tree that starts again empties its folder: private@a counts from its second start.
    assert value(samples, finished, **labels, process="private@a") == 3
    assert value(samples, finished, **labels, process="public@a") == 1
    assert value(samples, finished, **labels, process="private@b") == 4
    count = "bridge_provider_call_duration_seconds_count"
    assert value(samples, count, kind="whatsapp_group", process="private@b") == 4
    bucket = "bridge_provider_call_duration_seconds_bucket"
    assert value(samples, bucket, kind="whatsapp_group", le="0.25", process="private@b") == 0
    assert value(samples, bucket, kind="whatsapp_group", le="0.5", process="private@b") == 4


def test_counting_never_breaks_the_work(monkeypatch):
    def broken():
        raise RuntimeError("no metrics today")

    monkeypatch.setattr(metrics, "_m", broken)
    metrics.http_request("/x", "GET", 200, 0.1)
    metrics.provider_call("telegram", "sent", 0.1)
    metrics.delivery_finished("telegram", "dead")
    metrics.callback_pushed("delivered")


def wadule_key(app) -> str:
    from bridge.auth import create_api_key

    with app.app_context(), new_session() as db:
        return create_api_key(db, name=f"w{os.urandom(3).hex()}", role="wadule", opd_slug=None)


def delivery_ids(app) -> list[int]:
    with app.app_context(), new_session() as db:
        return list(db.scalars(select(Delivery.id).order_by(Delivery.id)))
