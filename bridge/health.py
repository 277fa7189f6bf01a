"""``/healthz``, ``/readyz`` and ``/metrics``.

``/metrics`` shows two kinds of numbers: gauges read from the database at scrape time (the
outbox, complaints, callbacks, the last channel checks), the same whichever process answers;
and the counters and histograms of :mod:`bridge.metrics`, counted by the API's and the workers'
processes and gathered from their shared folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterable

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bridge import callbacks, checks, metrics
from bridge import db as database
from bridge.auth import hash_key
from bridge.channels import adapter_class
from bridge.channels.base import Verdict
from bridge.models import ApiKey, BridgeState, Channel, Complaint, Delivery, Opd, utcnow
from bridge.statuses import CLAIMABLE, ComplaintStatus, DeliveryStatus, Role

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
UNREACHABLE = "database unreachable"


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready (200) while this process can take complaints: the database answers and holds a
    directory. A broker that is down, a provider not configured or stopped callbacks are
    warnings: ingest still works. Never raises: every check reports its own failure.

    Without an operator key the answer is the verdict only; the checks name channel targets
    and variable names, which are nobody else's business.
    """
    settings = current_app.config["BRIDGE_SETTINGS"]
    database_check = _guarded(_check_database)
    ready = database_check["ok"]
    status = "ready" if ready else "not ready"
    code = 200 if ready else 503
    reachable = not database_check.get("error", "").startswith(UNREACHABLE)
    # An unreachable database cannot check a key either (and would make the probe wait twice).
    if not (reachable and _operator_asks()):
        return jsonify(status=status), code
    checks = {"database": database_check, "broker": _guarded(check_broker)}
    if ready:
        checks["providers"] = _guarded(_check_providers, settings)
        checks["callbacks"] = _guarded(_check_callbacks, settings)
        checks["channels"] = _guarded(_check_channels)
    checks["sandbox"] = {"ok": True, "enabled": settings.sandbox}
    warnings = sorted(
        name for name, check in checks.items() if name != "database" and not check["ok"]
    )
    return jsonify(status=status, warnings=warnings, checks=checks), code


def _guarded(check, *args) -> dict:
    try:
        return check(*args)
    except Exception as exc:
        # Type only: a driver's message may carry data.
        log.warning("readiness check %s failed: %s", check.__name__, type(exc).__name__)
        return {"ok": False, "error": f"{check.__name__.strip('_')} failed ({type(exc).__name__})"}


def _operator_asks() -> bool:
    """Whether the request carries a valid operator API key (checked only when the DB answers)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return False
    try:
        with database.new_session() as db:
            found = db.scalar(
                select(ApiKey.id).where(
                    ApiKey.key_hash == hash_key(token),
                    ApiKey.revoked_at.is_(None),
                    ApiKey.role == Role.OPERATOR,
                )
            )
    except Exception as exc:
        log.warning("readiness: key not checked (%s)", type(exc).__name__)
        return False
    return found is not None


def _check_database() -> dict:
    try:
        with database.new_session() as db:
            db.execute(text("SELECT 1"))
            opds = db.scalar(select(func.count()).select_from(Opd).where(Opd.active.is_(True)))
    except Exception as exc:
        return {"ok": False, "error": f"{UNREACHABLE} ({type(exc).__name__})"}
    if not opds:
        return {"ok": False, "error": "no OPD directory imported (wadule-bridge directory import)"}
    return {"ok": True, "opds": opds}


def check_broker() -> dict:
    celery_app = current_app.extensions["celery"]
    started = time.monotonic()
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return {"ok": False, "error": f"broker unreachable ({type(exc).__name__})"}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _check_callbacks(settings) -> dict:
    """Whether events reach Wadule: stopped by a 410, or piling up."""
    if not settings.wadule_callback_url:
        return {"ok": True, "note": "no BRIDGE_WADULE_CALLBACK_URL: Wadule polls GET /events"}
    with database.new_session() as db:
        count, age = callbacks.backlog(db)
    stopped = callbacks.stopped_reason()
    check = {"ok": stopped is None, "backlog": count, "oldest_seconds": round(age, 1)}
    if stopped:
        check["error"] = f"pushing stopped: {stopped}; resume with `wadule-bridge callbacks resume`"
    return check


def _check_channels() -> dict:
    """Channels the last channel check found unusable: a warning, never "not ready" (ingest
    still works; contract section 8)."""
    try:
        with database.new_session() as db:
            unusable = checks.unusable_channels(db)
            last = checks.last_checked_at(db)
    except Exception as exc:
        return {"ok": True, "error": f"last channel check unreadable ({type(exc).__name__})"}
    check = {
        "ok": not unusable,
        "last_checked_at": checks.iso(last),
        "unusable": unusable,
    }
    if unusable:
        check["warning"] = (
            f"{len(unusable)} channel(s) unusable per the last channel check"
            " (wadule-bridge channels check)"
        )
    return check


def _check_providers(settings) -> dict:
    """Which channel kinds in use cannot send, and why (sandbox mode sends nowhere)."""
    if settings.sandbox:
        return {"ok": True, "note": "sandbox: no provider is called"}
    with database.new_session() as db:
        channels = db.scalars(
            select(Channel).join(Opd).where(Channel.active.is_(True), Opd.active.is_(True))
        ).all()
    problems: dict[str, str] = {}
    for channel in channels:
        for env_name in (channel.token_env, channel.secret_env):
            if env_name and not settings.channel_secrets.get(env_name):
                problems.setdefault(f"{channel.kind}:{channel.target}", f"{env_name} is not set")
        cls = adapter_class(channel.kind)
        reason = (
            "no adapter for this channel kind"
            if cls is None
            else (cls(settings).missing_configuration())
        )
        if reason:
            problems.setdefault(channel.kind, reason)
    return {"ok": not problems, "problems": problems}


@dataclasses.dataclass
class QueueHealth:
    """The outbox and the complaints in numbers: for /metrics and the console's dashboard."""

    due_now: int
    oldest_due_at: dt.datetime | None
    #: ``{kind: {status: count}}`` over every delivery row.
    deliveries: dict[str, dict[str, int]]
    complaints: dict[str, int]

    @property
    def delivery_statuses(self) -> list[str]:
        """Every delivery status in lifecycle order, then any unknown ones that occur."""
        seen = {status for counts in self.deliveries.values() for status in counts}
        return _in_order(seen, DeliveryStatus)

    @property
    def by_status(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for counts in self.deliveries.values():
            for status, count in counts.items():
                totals[status] = totals.get(status, 0) + count
        return totals

    @property
    def by_kind(self) -> dict[str, int]:
        return {kind: sum(counts.values()) for kind, counts in sorted(self.deliveries.items())}

    @property
    def total_deliveries(self) -> int:
        return sum(self.by_kind.values())

    @property
    def complaint_statuses(self) -> list[str]:
        return _in_order(set(self.complaints), ComplaintStatus)

    def count(self, status: str) -> int:
        """Delivery rows in ``status`` (every channel kind)."""
        return self.by_status.get(status, 0)


def queue_health(db: Session, now: dt.datetime) -> QueueHealth:
    """Due work, delivery counts by kind and status, complaint counts by status."""
    due_count, oldest = db.execute(
        select(func.count(), func.min(Delivery.next_attempt_at)).where(
            Delivery.status.in_([s.value for s in CLAIMABLE]), Delivery.next_attempt_at <= now
        )
    ).one()
    deliveries: dict[str, dict[str, int]] = {}
    for kind, status, count in db.execute(
        select(Delivery.kind, Delivery.status, func.count()).group_by(
            Delivery.kind, Delivery.status
        )
    ):
        deliveries.setdefault(kind, {})[status] = count
    complaints = {
        status: count
        for status, count in db.execute(
            select(Complaint.status, func.count()).group_by(Complaint.status)
        )
    }
    if oldest is not None and oldest.tzinfo is None:
        # func.min() bypasses the column type on SQLite, which hands back a naive UTC value.
        oldest = oldest.replace(tzinfo=dt.UTC)
    return QueueHealth(
        due_now=due_count,
        oldest_due_at=oldest,
        deliveries=deliveries,
        complaints=complaints,
    )


def _in_order(values: Iterable[str], enum_cls) -> list[str]:
    known = [member.value for member in enum_cls]
    return [v for v in known if v in values] + sorted(set(values) - set(known))


class _DatabaseCollector:
    def __init__(self, app):
        self.app = app

    def collect(self):
        now = utcnow()
        with database.new_session(self.app) as db:
            health = queue_health(db, now)
            backlog, backlog_age = callbacks.backlog(db)
            pushing = db.get(BridgeState, callbacks.STATE_KEY)
            last_checks = checks.last_results(db)
            last_checked = checks.last_checked_at(db)
        complaints = GaugeMetricFamily(
            "bridge_complaints", "Complaints by status", labels=["status"]
        )
        for status, count in health.complaints.items():
            complaints.add_metric([status], count)
        deliveries = GaugeMetricFamily(
            "bridge_deliveries",
            "Delivery rows by channel kind and status",
            labels=["channel", "status"],
        )
        for kind, counts in health.deliveries.items():
            for status, count in counts.items():
                deliveries.add_metric([kind, status], count)
        oldest = health.oldest_due_at
        depth, review = health.due_now, health.count(DeliveryStatus.NEEDS_REVIEW)
        yield complaints
        yield deliveries
        yield GaugeMetricFamily(
            "bridge_delivery_queue_depth", "Deliveries due now and not yet taken", value=depth
        )
        yield GaugeMetricFamily(
            "bridge_delivery_oldest_due_seconds",
            "Age of the oldest due delivery",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "bridge_deliveries_needs_review", "Deliveries waiting for a person", value=review
        )
        yield GaugeMetricFamily(
            "bridge_callback_backlog", "Events not yet accepted by Wadule", value=backlog
        )
        yield GaugeMetricFamily(
            "bridge_callback_oldest_seconds",
            "Age of the oldest event not yet accepted",
            value=backlog_age,
        )
        stopped = pushing is not None and bool(pushing.value.get("stopped"))
        yield GaugeMetricFamily(
            "bridge_callbacks_stopped",
            "1 while pushing events to Wadule is stopped (a 410); resume with the CLI",
            value=1 if stopped else 0,
        )
        yield _channel_verdicts(last_checks)
        yield GaugeMetricFamily(
            "bridge_channel_check_timestamp_seconds",
            "When the last channel check ran (Unix time; 0: never)",
            value=last_checked.timestamp() if last_checked else 0.0,
        )


def _channel_verdicts(results) -> GaugeMetricFamily:
    """Active channels by OPD, kind and their last check's verdict; every verdict of each
    (OPD, kind) is there, zeros included, so an alert sees a channel recover. No targets: this
    page needs no key."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for result in results:
        per_verdict = counts.setdefault(
            (result.opd_slug, result.kind), dict.fromkeys((v.value for v in Verdict), 0)
        )
        per_verdict[result.verdict.value] += 1
    family = GaugeMetricFamily(
        "bridge_channels_by_verdict",
        "Active channels by OPD, kind and the verdict of their last channel check",
        labels=["opd", "kind", "verdict"],
    )
    for (opd, kind), per_verdict in sorted(counts.items()):
        for verdict, count in per_verdict.items():
            family.add_metric([opd, kind, verdict], count)
    return family


@bp.get("/metrics", endpoint="metrics")
def metrics_page():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(current_app._get_current_object()))
    for collector in metrics.collectors(current_app.config["BRIDGE_SETTINGS"]):
        registry.register(collector)
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
