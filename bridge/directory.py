"""The OPD directory: read and validate the YAML file, import it (upsert by slug, deactivate
what is gone) and keep its version, which every process's routing cache follows
(:mod:`bridge.routing`)."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import yaml
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bridge.models import Channel, Counter, Opd
from schemas.directory import DirectorySchema


class DirectoryError(ValueError):
    """The directory file is unreadable or invalid; ``problems`` name each place."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message if not problems else message + "\n  " + "\n  ".join(problems))
        self.problems = list(problems or [])


@dataclasses.dataclass
class ImportResult:
    created: list[str]
    updated: list[str]
    deactivated: list[str]

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated,"
            f" {len(self.deactivated)} deactivated"
        )


def load_directory_file(path: str | Path, settings=None) -> dict:
    """Read and validate a directory YAML file; with ``settings``, its webhook targets too
    (the same guard against server-side request forgery as every send)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DirectoryError(f"{path}: the top level must be a mapping with triage and opds")
    try:
        data = DirectorySchema().load(raw)
    except ValidationError as exc:
        raise DirectoryError(f"{path} is not a valid directory:", places(exc.messages)) from None
    if settings is not None:
        from bridge.channels.webhook import check_webhook_targets

        problems = check_webhook_targets(data, allow_private=settings.allow_private_webhooks)
        if problems:
            raise DirectoryError(f"{path} has unusable webhook targets:", problems)
    return data


def places(messages, where: str = "") -> list[str]:
    """marshmallow's nested error messages as ``opds[3].channels[1].target: message`` lines."""
    if isinstance(messages, dict):
        lines = []
        for key, inner in messages.items():
            if isinstance(key, int):
                here = f"{where}[{key}]"
            elif key == "_schema":
                here = where
            else:
                here = f"{where}.{key}" if where else str(key)
            lines += places(inner, here)
        return lines
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{where or '(top level)'}: {m}" for m in messages]
        return [line for m in messages for line in places(m, where)]
    return [f"{where or '(top level)'}: {messages}"]


def import_directory(db: Session, data: dict) -> ImportResult:
    """Upsert OPDs and their channels by slug; deactivate OPDs and channels no longer listed.

    Channels are matched on (kind, target) so delivery rows that point at them stay valid.
    """
    existing = {
        opd.slug: opd for opd in db.scalars(select(Opd).options(selectinload(Opd.channels))).all()
    }
    result = ImportResult([], [], [])
    listed = set()
    for position, entry in enumerate(data["opds"]):
        slug = entry["slug"]
        listed.add(slug)
        opd = existing.get(slug)
        if opd is None:
            opd = Opd(slug=slug, channels=[])
            db.add(opd)
            result.created.append(slug)
        else:
            result.updated.append(slug)
        opd.name = entry["name"]
        opd.categories = [c.strip().lower() for c in entry["categories"]]
        opd.responders = list(entry["responders"])
        opd.sla = entry.get("sla")
        opd.active = True
        opd.position = position
        opd.is_triage = slug == data["triage"]
        opd.is_leadership = slug == data.get("leadership")
        _sync_channels(opd, entry["channels"])
    _bump_version(db)
    for slug, opd in existing.items():
        if slug not in listed:
            if opd.active:
                result.deactivated.append(slug)
            opd.active = False
            opd.is_triage = False
            opd.is_leadership = False
    db.flush()
    return result


def _sync_channels(opd: Opd, entries: list[dict]) -> None:
    by_key = {(ch.kind, ch.target): ch for ch in opd.channels}
    seen = set()
    for position, entry in enumerate(entries):
        key = (entry["kind"], entry["target"])
        if key in seen:
            raise DirectoryError(f"{opd.slug}: channel {key[0]} {key[1]} is listed twice")
        seen.add(key)
        channel = by_key.get(key)
        if channel is None:
            channel = Channel(kind=key[0], target=key[1])
            opd.channels.append(channel)
        channel.token_env = entry.get("token_env")
        channel.secret_env = entry.get("secret_env")
        channel.auth = entry.get("auth")
        channel.position = position
        channel.active = True
    for key, channel in by_key.items():
        if key not in seen:
            channel.active = False


DIRECTORY_VERSION = "directory"
#: The directory's version as a column: every API request reads it along with its key (see
#: :mod:`bridge.auth`), so that routing a complaint needs no round trip of its own.
VERSION_COLUMN = (
    select(Counter.__table__.c.value)
    .where(Counter.__table__.c.name == DIRECTORY_VERSION)
    .scalar_subquery()
    .label("directory_version")
)
VERSION_QUERY = select(VERSION_COLUMN)


def _bump_version(db: Session) -> None:
    # Every process's routing cache compares this number and reloads when it changed. A random
    # value, not +1, so that a restored or reset database can never match an old cache.
    value = secrets.randbits(62)
    counter = db.get(Counter, DIRECTORY_VERSION)
    if counter is None:
        db.add(Counter(name=DIRECTORY_VERSION, value=value))
    else:
        counter.value = value
