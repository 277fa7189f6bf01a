"""The OPD directory: import from YAML (upsert by slug, deactivate what is gone) and routing."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from pathlib import Path

import yaml
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bridge.models import Channel, Counter, Opd
from bridge.statuses import RoutedBy
from schemas.directory import DirectorySchema


class DirectoryError(ValueError):
    """The directory file is unreadable or invalid; the message says where."""


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


def load_directory_file(path: str | Path) -> dict:
    """Read and validate a directory YAML file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DirectoryError(f"{path}: the top level must be a mapping with triage and opds")
    try:
        return DirectorySchema().load(raw)
    except ValidationError as exc:
        raise DirectoryError(f"{path}: {exc.messages}") from None


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
_VERSION_QUERY = select(VERSION_COLUMN)
_NOTED_VERSION = "bridge.directory_version"


def note_version(db: Session, version: int | None) -> None:
    """Hand the next :func:`route` in ``db`` the directory version just read with an API key.

    A version read a few milliseconds earlier in the same request is as good as a fresh one:
    routing then sees the directory as a request arriving that much earlier would.
    """
    db.info[_NOTED_VERSION] = version


def _bump_version(db: Session) -> None:
    # Every process's routing cache compares this number and reloads when it changed. A random
    # value, not +1, so that a restored or reset database can never match an old cache.
    value = secrets.randbits(62)
    counter = db.get(Counter, DIRECTORY_VERSION)
    if counter is None:
        db.add(Counter(name=DIRECTORY_VERSION, value=value))
    else:
        counter.value = value


@dataclasses.dataclass(frozen=True)
class ChannelInfo:
    id: int
    kind: str
    target: str
    position: int
    active: bool = True


@dataclasses.dataclass(frozen=True)
class OpdInfo:
    """What routing and delivery planning need of an OPD, cached per process."""

    id: int
    slug: str
    name: str
    categories: tuple[str, ...]
    is_triage: bool
    channels: tuple[ChannelInfo, ...]


class DirectoryCache:
    """The active directory, reloaded when ``directory import`` bumped its version.

    Ingest routes every complaint: one small version query instead of loading every OPD and
    its channels each time.
    """

    def __init__(self):
        self._version: int | None = None
        self._opds: tuple[OpdInfo, ...] = ()
        self._lock = threading.Lock()

    def opds(self, db: Session) -> tuple[OpdInfo, ...]:
        if _NOTED_VERSION in db.info:
            version = db.info.pop(_NOTED_VERSION) or 0
        else:
            version = db.scalar(_VERSION_QUERY) or 0
        if version != self._version:
            rows = db.scalars(
                select(Opd)
                .where(Opd.active.is_(True))
                .options(selectinload(Opd.channels))
                .order_by(Opd.position, Opd.id)
            ).all()
            opds = tuple(
                OpdInfo(
                    id=o.id,
                    slug=o.slug,
                    name=o.name,
                    categories=tuple(o.categories),
                    is_triage=o.is_triage,
                    channels=tuple(
                        ChannelInfo(c.id, c.kind, c.target, c.position)
                        for c in o.channels
                        if c.active
                    ),
                )
                for o in rows
            )
            with self._lock:
                self._opds, self._version = opds, version
        return self._opds


def _cache() -> DirectoryCache:
    # One per app (so per database), created on first use.
    return current_app.extensions.setdefault("bridge.directory_cache", DirectoryCache())


@dataclasses.dataclass(frozen=True)
class Route:
    opd: OpdInfo
    routed_by: RoutedBy
    note: str | None = None


class NoTriageError(RuntimeError):
    """No active triage OPD: the directory has not been imported."""


def route(db: Session, *, opd_slug: str | None, category: str | None) -> Route:
    """Pick the OPD for a complaint: its ``opd`` slug, else its category, else triage."""
    opds = _cache().opds(db)
    note = None
    if opd_slug:
        for opd in opds:
            if opd.slug == opd_slug:
                return Route(opd, RoutedBy.OPD)
        note = f"unknown opd {opd_slug!r}"
    if category:
        wanted = category.strip().lower()
        for opd in opds:
            if wanted in opd.categories:
                return Route(opd, RoutedBy.CATEGORY, note)
        note = (note + "; " if note else "") + f"no OPD handles category {category!r}"
    for opd in opds:
        if opd.is_triage:
            return Route(opd, RoutedBy.TRIAGE, note)
    raise NoTriageError("no triage OPD: run `wadule-bridge directory import FILE` first")
