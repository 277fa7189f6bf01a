"""Operator accounts for the console (passwords hashed with Werkzeug's scrypt).

Disabling an account or resetting its password bumps its ``session_version``: every console
session issued before ends at once (:mod:`bridge.console.security` checks it on each request).
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bridge.console import throttle
from bridge.models import Operator, utcnow

MIN_PASSWORD = 12
#: Longer passwords are refused unhashed (scrypt over megabytes would tie up a worker).
MAX_PASSWORD = 1024


class OperatorError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


def create_operator(db: Session, username: str, password: str) -> Operator:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username):
        raise OperatorError("usernames are 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
    _check_password(password)
    if db.scalar(select(Operator).where(Operator.username == username)) is not None:
        raise OperatorError(f"operator {username!r} exists already")
    operator = Operator(username=username, password_hash=generate_password_hash(password))
    db.add(operator)
    db.commit()
    return operator


def list_operators(db: Session) -> list[Operator]:
    """Every account, by username."""
    return list(db.scalars(select(Operator).order_by(Operator.username)))


def set_active(db: Session, username: str, active: bool) -> Operator:
    """Enable or disable an account; disabling ends its sessions."""
    operator = _get(db, username)
    values: dict = {"active": active}
    if not active:
        values["session_version"] = Operator.session_version + 1
    db.execute(update(Operator).where(Operator.id == operator.id).values(**values))
    db.commit()
    db.refresh(operator)
    return operator


def reset_password(db: Session, username: str, password: str) -> Operator:
    """Set a new password, end the account's sessions and lift a log-in lock."""
    _check_password(password)
    operator = _get(db, username)
    db.execute(
        update(Operator)
        .where(Operator.id == operator.id)
        .values(
            password_hash=generate_password_hash(password),
            session_version=Operator.session_version + 1,
        )
    )
    db.commit()
    throttle.clear_account(db, username)
    db.refresh(operator)
    return operator


def end_sessions(db: Session, operator_id: int) -> None:
    """Invalidate every session cookie of an account (logging out does this)."""
    db.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(session_version=Operator.session_version + 1)
    )
    db.commit()


def record_login(db: Session, operator: Operator) -> None:
    """Note when the account last logged in (``operator list`` shows it)."""
    db.execute(update(Operator).where(Operator.id == operator.id).values(last_login_at=utcnow()))
    db.commit()


def check_login(db: Session, username: str, password: str) -> Operator | None:
    """The active operator with these credentials, or None."""
    operator = db.scalar(select(Operator).where(Operator.username == username))
    if operator is None or not operator.active:
        # Same work either way, so timing does not tell which usernames exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return operator if check_password_hash(operator.password_hash, password) else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise OperatorError(f"the password must have at most {MAX_PASSWORD} characters")


def _get(db: Session, username: str) -> Operator:
    operator = db.scalar(select(Operator).where(Operator.username == username))
    if operator is None:
        raise OperatorError(f"no operator {username!r}")
    return operator


_DUMMY_HASH = generate_password_hash("not-a-real-password")
