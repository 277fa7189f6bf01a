"""API keys and roles: ``Authorization: Bearer <key>``; 401 unknown, 403 wrong role or OPD."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets

from flask import g, request
from flask_smorest import abort
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from bridge import db as database
from bridge import directory, routing
from bridge.models import ApiKey, Opd, utcnow
from bridge.statuses import Role

KEY_PREFIX = "wdl_"


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked; the message says why."""


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name, role and (for ``opd`` keys) its OPD."""

    name: str
    role: Role
    opd_id: int | None = None
    opd_slug: str | None = None

    @property
    def sees_reporter(self) -> bool:
        return self.role in (Role.WADULE, Role.OPERATOR)

    def may_see_opd(self, opd_id: int) -> bool:
        return self.role != Role.OPD or self.opd_id == opd_id


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(db: Session, *, name: str, role: str, opd_slug: str | None) -> str:
    """Store a new key (hashed) and return it; it is shown once and never again."""
    try:
        role = Role(role)
    except ValueError:
        raise ApiKeyError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    opd = None
    if role is Role.OPD:
        if not opd_slug:
            raise ApiKeyError("an opd key needs --opd SLUG")
        opd = db.scalar(select(Opd).where(Opd.slug == opd_slug))
        if opd is None:
            raise ApiKeyError(f"no OPD {opd_slug!r} in the directory")
    elif opd_slug:
        raise ApiKeyError("--opd is only for role opd")
    if not name or len(name) > 100:
        raise ApiKeyError("the name must be 1-100 characters")
    if db.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiKey(name=name, role=role, opd=opd, key_hash=hash_key(key), prefix=key[:10]))
    db.commit()
    return key


def list_api_keys(db: Session) -> list[ApiKey]:
    """Every key, revoked ones included, by name, with its OPD loaded. Keys themselves are not
    stored: only the first characters (``prefix``) that tell them apart."""
    return list(db.scalars(select(ApiKey).options(selectinload(ApiKey.opd)).order_by(ApiKey.name)))


def revoke_api_key(db: Session, name: str) -> None:
    key = db.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise ApiKeyError(f"no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.commit()


_keys, _opds = ApiKey.__table__, Opd.__table__
# This runs on every request: a Core statement built once costs a fraction of an ORM query
# built per call. The directory's version comes along, so routing needs no query of its own.
_PRINCIPAL_OF_KEY = (
    select(
        _keys.c.name,
        _keys.c.role,
        _keys.c.opd_id,
        _keys.c.revoked_at,
        _opds.c.slug,
        directory.VERSION_COLUMN,
    )
    .select_from(_keys.outerjoin(_opds, _keys.c.opd_id == _opds.c.id))
    .where(_keys.c.key_hash == bindparam("key_hash"))
)


def _authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        abort(401, message="missing or malformed Authorization: Bearer <api key>")
    db = database.session()
    row = db.connection().execute(_PRINCIPAL_OF_KEY, {"key_hash": hash_key(token)}).first()
    if row is None or row.revoked_at is not None:
        abort(401, message="unknown or revoked API key")
    routing.note_version(db, row.directory_version)
    return Principal(name=row.name, role=Role(row.role), opd_id=row.opd_id, opd_slug=row.slug)


def current_principal() -> Principal:
    return g.principal


def require(*roles: Role):
    """View decorator: authenticate, then allow only ``roles`` (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = _authenticate()
            if principal.role not in roles:
                abort(403, message=f"this needs a key with role {' or '.join(roles)}")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator
