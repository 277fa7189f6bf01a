"""Channel checks (contract section 9): ask each channel's live provider, with the channel's own
credentials, whether the channel can be used, and keep each channel's last verdict.

- :func:`run_checks` checks every active channel (or one OPD's) in parallel and stores the
  results: ``wadule-bridge channels check`` and the daily beat task call it.
- :func:`last_results` and :func:`unusable_channels` read the stored verdicts: the console,
  ``/readyz`` (unusable channels as warnings) and the weekly report ("usable per the last
  channel check").

Each adapter's ``check`` knows its provider (:mod:`bridge.channels`); this module resolves the
channel's secrets as sending does, refuses early what sending would refuse, and makes sure no
secret reaches a reason or the stored details.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge import db as database
from bridge.channels import adapter_class
from bridge.channels.base import CheckContext, Finding, Verdict
from bridge.errors import describe
from bridge.models import Channel, ChannelCheck, Opd, utcnow

log = logging.getLogger(__name__)

#: Channels checked at once; each check makes a few provider calls with a short timeout.
MAX_PARALLEL = 8
MAX_REASON = 1000
SANDBOX_REASON = "sandbox mode: messages go to the sandbox inbox, so the provider was not asked"


class UnknownOpd(ValueError):
    """``--opd`` names no active OPD."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One channel's check: which channel, the verdict and its reason, and when."""

    channel_id: int
    opd_slug: str
    kind: str
    target: str
    verdict: Verdict
    reason: str
    details: Mapping[str, Any]
    checked_at: dt.datetime

    @property
    def usable(self) -> bool:
        """Deliveries can go out (``ok`` or ``warning``)."""
        return self.verdict is not Verdict.UNUSABLE

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "opd": self.opd_slug,
            "kind": self.kind,
            "target": self.target,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "details": dict(self.details),
            "checked_at": iso(self.checked_at),
        }


def run_checks(app, opd: str | None = None, *, parallel: int = MAX_PARALLEL) -> list[CheckResult]:
    """Check every active channel of the active OPDs (or of ``opd`` only), store each result
    as the channel's last check, and return them in directory order.

    Raises :class:`UnknownOpd` when ``opd`` names no active OPD. Needs no app context.
    """
    settings = app.config["BRIDGE_SETTINGS"]
    with database.new_session(app) as db:
        contexts = channel_contexts(db, settings, opd)
    if not contexts:
        return []
    workers = max(1, min(parallel, len(contexts)))
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="check") as pool:
        findings = list(pool.map(lambda context: check_channel(settings, context), contexts))
    checked_at = utcnow()
    results = [
        CheckResult(
            channel_id=context.channel_id,
            opd_slug=context.opd_slug,
            kind=context.kind,
            target=context.target,
            verdict=finding.verdict,
            reason=finding.reason,
            details=finding.details,
            checked_at=checked_at,
        )
        for context, finding in zip(contexts, findings, strict=True)
    ]
    with database.new_session(app) as db:
        store(db, results)
        db.commit()
    counts = summary(results)
    log.info(
        "channel check: %d ok, %d warning, %d unusable",
        counts["ok"],
        counts["warning"],
        counts["unusable"],
    )
    return results


def channel_contexts(db: Session, settings, opd: str | None = None) -> list[CheckContext]:
    """What each active channel's check needs, with secrets resolved as for sending."""
    query = (
        select(Channel, Opd.slug)
        .join(Opd, Channel.opd_id == Opd.id)
        .where(Channel.active.is_(True), Opd.active.is_(True))
        .order_by(Opd.position, Opd.id, Channel.position, Channel.id)
    )
    if opd is not None:
        known = db.scalar(select(Opd.id).where(Opd.slug == opd, Opd.active.is_(True)))
        if known is None:
            raise UnknownOpd(f"no active OPD with slug {opd!r}")
        query = query.where(Opd.slug == opd)
    secrets = settings.channel_secrets
    return [
        CheckContext(
            kind=channel.kind,
            target=channel.target,
            token=secrets.get(channel.token_env) if channel.token_env else None,
            secret=secrets.get(channel.secret_env) if channel.secret_env else None,
            # The directory's ``auth`` (X) where the model has it.
            auth=getattr(channel, "auth", None),
            token_env=channel.token_env,
            secret_env=channel.secret_env,
            opd_slug=slug,
            channel_id=channel.id,
        )
        for channel, slug in db.execute(query)
    ]


def check_channel(settings, context: CheckContext) -> Finding:
    """One channel's verdict. Never raises: a failing check is a warning that says so."""
    if settings.sandbox:
        return Finding(Verdict.WARNING, SANDBOX_REASON)
    cls = adapter_class(context.kind)
    if cls is None:
        return Finding(Verdict.UNUSABLE, f"no adapter for channel kind {context.kind!r}")
    for name, value, what in (
        (context.token_env, context.token, "token"),
        (context.secret_env, context.secret, "secret"),
    ):
        if name and not value:
            return Finding(Verdict.UNUSABLE, f"{what} not configured: {name} is not set")
    session = requests.Session()
    try:
        finding = cls(settings, http=session).check(context)
    except Exception as exc:
        log.error(
            "channel check of channel %s (%s) failed: %s",
            context.channel_id,
            context.kind,
            describe(exc),
        )
        finding = Finding(
            Verdict.WARNING, f"the check itself failed ({type(exc).__name__}); see the logs"
        )
    finally:
        session.close()
    return _scrubbed(finding, _secrets_of(settings, context))


def store(db: Session, results: Iterable[CheckResult]) -> None:
    """Make each result its channel's last check (one row per channel, replaced)."""
    rows = [
        {
            "channel_id": r.channel_id,
            "verdict": r.verdict.value,
            "reason": r.reason,
            "details": dict(r.details),
            "checked_at": r.checked_at,
        }
        for r in results
    ]
    if not rows:
        return
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ChannelCheck).values(rows)
    # A CLI run and the daily beat run may overlap: the later write wins, neither fails.
    statement = statement.on_conflict_do_update(
        index_elements=[ChannelCheck.channel_id],
        set_={c: statement.excluded[c] for c in ("verdict", "reason", "details", "checked_at")},
    )
    db.execute(statement)


def last_results(db: Session, opd: str | None = None) -> list[CheckResult]:
    """The last check of each active channel that has been checked, in directory order."""
    query = (
        select(ChannelCheck, Channel, Opd.slug)
        .join(Channel, ChannelCheck.channel_id == Channel.id)
        .join(Opd, Channel.opd_id == Opd.id)
        .where(Channel.active.is_(True), Opd.active.is_(True))
        .order_by(Opd.position, Opd.id, Channel.position, Channel.id)
    )
    if opd is not None:
        query = query.where(Opd.slug == opd)
    return [
        CheckResult(
            channel_id=channel.id,
            opd_slug=slug,
            kind=channel.kind,
            target=channel.target,
            verdict=Verdict(check.verdict),
            reason=check.reason,
            details=check.details or {},
            checked_at=check.checked_at,
        )
        for check, channel, slug in db.execute(query)
    ]


def unusable_channels(db: Session) -> list[dict[str, Any]]:
    """Active channels the last check found unusable: OPD, kind, target, reason, when."""
    return [
        {
            "opd": r.opd_slug,
            "kind": r.kind,
            "target": r.target,
            "reason": r.reason,
            "checked_at": iso(r.checked_at),
        }
        for r in last_results(db)
        if not r.usable
    ]


def last_checked_at(db: Session) -> dt.datetime | None:
    """When the most recent check of any channel ran."""
    value = db.scalar(select(func.max(ChannelCheck.checked_at)))
    if value is not None and value.tzinfo is None:
        # func.max() bypasses the column type on SQLite, which hands back a naive UTC value.
        value = value.replace(tzinfo=dt.UTC)
    return value


def usable_by_channel(db: Session) -> dict[int, bool]:
    """Channel id -> usable per its last check (channels never checked are absent)."""
    return {r.channel_id: r.usable for r in last_results(db)}


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in Verdict}
    for result in results:
        counts[result.verdict.value] += 1
    return counts


def as_json(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The ``--json`` document: when, how many of each verdict, and every channel's result."""
    return {
        "checked_at": iso(max((r.checked_at for r in results), default=None)),
        "summary": summary(results),
        "channels": [r.as_dict() for r in results],
    }


def format_table(results: Sequence[CheckResult]) -> str:
    """A plain-text table for people: OPD, kind, target, verdict, reason."""
    if not results:
        return "no active channels to check"
    header = ("OPD", "KIND", "TARGET", "VERDICT", "REASON")
    rows = [(r.opd_slug, r.kind, r.target, r.verdict.value, r.reason) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])), row[4]]).rstrip()
        for row in [header, *rows]
    ]
    counts = summary(results)
    lines.append("")
    lines.append(
        f"{len(results)} channels: {counts['ok']} ok, {counts['warning']} warning,"
        f" {counts['unusable']} unusable"
    )
    return "\n".join(lines)


def _secrets_of(settings, context: CheckContext) -> list[str]:
    values = (
        context.token,
        context.secret,
        settings.telegram_bot_token,
        settings.waha_api_key,
        settings.fonnte_token,
    )
    # Very short values would blank out ordinary words; real secrets are long.
    return sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)


def _scrubbed(finding: Finding, secrets: Sequence[str]) -> Finding:
    """The finding with any secret masked (a last guard: adapters never put one in)."""
    reason = finding.reason[:MAX_REASON]
    details = json.dumps(dict(finding.details), default=str)
    for secret in secrets:
        reason = reason.replace(secret, "***")
        details = details.replace(json.dumps(secret)[1:-1], "***")
    return Finding(finding.verdict, reason, json.loads(details))


def iso(value: dt.datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a Z, as the API writes times (None stays None)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


__all__ = [
    "MAX_PARALLEL",
    "CheckResult",
    "UnknownOpd",
    "as_json",
    "channel_contexts",
    "check_channel",
    "format_table",
    "iso",
    "last_checked_at",
    "last_results",
    "run_checks",
    "store",
    "summary",
    "unusable_channels",
    "usable_by_channel",
]
