"""deploy/: the Prometheus alert rules and the Grafana dashboard ask for what /metrics shows.

The static checks always run: the files parse, the alerts the operators need are there, and
every metric and label they name is on a scraped test app's /metrics. promtool (Debian package
``prometheus``, or ``BRIDGE_TEST_PROMTOOL``) checks the rules and runs their unit tests
(deploy/prometheus/alerts.test.yml) when it is installed; that test is skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from sqlalchemy import select

from bridge import metrics
from bridge.channels.base import Verdict
from bridge.checks import CheckResult, store
from bridge.db import new_session
from bridge.models import Channel, Opd
from tests.bridge.obs import families
from tests.support import ROOT, auth

DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "wadule-bridge.json"
DURATION = re.compile(r"\d+[smhd]")


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_targets() -> list[dict]:
    return [t for p in dashboard()["panels"] if p["type"] != "row" for t in p["targets"]]


@pytest.fixture
def exposed(directory, keys) -> dict[str, set[str]]:
    """Metric name -> its label names, from /metrics of an app with one of everything."""
    body = {"wadule_id": "WDL-D1", "title": "t", "body": "b", "category": "jalan"}
    client = directory.test_client()
    assert client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
    metrics.http_request("/healthz", "GET", 200, 0.01)
    metrics.provider_call("telegram", "sent", 0.4)
    metrics.delivery_finished("telegram", "sent")
    metrics.callback_pushed("delivered")

    class Handled:
        status, changed = "handled", True

    metrics.command_handled("telegram", Handled())
    with directory.app_context(), new_session() as db:
        channel = db.execute(select(Channel.id, Channel.kind, Channel.target).join(Opd)).first()
        checked = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
        result = CheckResult(
            channel.id, "dpupr", channel.kind, channel.target, Verdict.OK, "ok", {}, checked
        )
        store(db, [result])
        db.commit()
    return families(client.get("/metrics").get_data(as_text=True))


def test_the_alerts_operators_need_are_there():
    by_name = {rule["alert"]: rule for rule in rules()}
    for rule in by_name.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert "for" not in rule or DURATION.fullmatch(rule["for"])
    review = by_name["BridgeDeliveriesNeedReview"]
    assert review["expr"] == "max(bridge_deliveries_needs_review) > 0" and review["for"] == "10m"
    assert by_name["BridgeOldestDueDeliveryLate"]["expr"].endswith(
        "max(bridge_delivery_oldest_due_seconds) > 300"
    )
    assert by_name["BridgeCallbacksStopped"]["expr"] == "max(bridge_callbacks_stopped) > 0"
    unusable = by_name["BridgeChannelUnusable"]["expr"]
    assert 'bridge_channels_by_verdict{verdict="unusable"}' in unusable


def expressions() -> list[tuple[str, str, list[str]]]:
    """(where, PromQL, the labels its text uses) of every rule and dashboard query."""
    found = []
    for rule in rules():
        used = re.findall(r"\$labels\.(\w+)", json.dumps(rule["annotations"]))
        found.append((rule["alert"], rule["expr"], used))
    for target in dashboard_targets():
        used = re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", ""))
        found.append((target["expr"], target["expr"], used))
    return found


def test_every_metric_and_label_they_use_is_on_metrics(exposed):
    for where, expr, used in expressions():
        names = set(re.findall(r"\b(bridge_[a-z0-9_]+)\b", expr))
        assert names, f"{where}: names no bridge metric"
        for name in names:
            assert name in exposed, f"{where}: {name} is not on /metrics"
        available = set().union(*(exposed[name] for name in names)) | {"le"}
        for name, inside in re.findall(r"(bridge_[a-z0-9_]+)\{([^}]*)\}", expr):
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", inside):
                assert label in exposed[name], f"{where}: {name} has no label {label}"
        grouped = {
            label.strip()
            for clause in re.findall(r"\bby\s*\(([^)]*)\)", expr)
            for label in clause.split(",")
        }
        assert grouped <= available, f"{where}: groups by {grouped - available}"
        for label in used:
            assert label in (grouped or available), f"{where}: shows {label}, which it drops"


def test_the_dashboard_is_a_grafana_dashboard():
    board = dashboard()
    assert board["uid"] == "wadule-bridge" and board["title"] == "Wadule Bridge"
    (variable,) = board["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] == "row":
            continue
        titles.add(panel["title"])
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
    exprs = " ".join(t["expr"] for t in dashboard_targets())
    # What the issue asks the dashboard to show.
    for metric in (
        "bridge_delivery_queue_depth",
        "bridge_delivery_oldest_due_seconds",
        "bridge_deliveries_needs_review",
        "bridge_deliveries_finished_total",
        "bridge_provider_call_duration_seconds_bucket",
        "bridge_http_requests_total",
        "bridge_http_request_duration_seconds_bucket",
        "bridge_callback_backlog",
        "bridge_channels_by_verdict",
    ):
        assert metric in exprs, metric
    assert "histogram_quantile(0.95, sum by (le, kind)" in exprs


def promtool() -> str | None:
    return os.environ.get("BRIDGE_TEST_PROMTOOL") or shutil.which("promtool")


def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    tool = promtool()
    if tool is None:
        pytest.fail(
            "promtool is not installed: .ci/run extracts it from Debian's prometheus package,"
            " or set BRIDGE_TEST_PROMTOOL to its path"
        )
    for args in (
        ["check", "rules", str(RULES)],
        ["check", "config", str(CONFIG)],
        ["test", "rules", str(RULE_TESTS)],
    ):
        done = subprocess.run(
            [tool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
