"""Operator accounts for the console (passwords hashed with Werkzeug's scrypt)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bridge.models import Operator

MIN_PASSWORD = 12


class OperatorError(ValueError):
    """An account cannot be created as asked; the message says why."""


def create_operator(db: Session, username: str, password: str) -> Operator:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username):
        raise OperatorError("usernames are 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password must have at least {MIN_PASSWORD} characters")
    if db.scalar(select(Operator).where(Operator.username == username)) is not None:
        raise OperatorError(f"operator {username!r} exists already")
    operator = Operator(username=username, password_hash=generate_password_hash(password))
    db.add(operator)
    db.commit()
    return operator


def check_login(db: Session, username: str, password: str) -> Operator | None:
    """The active operator with these credentials, or None."""
    operator = db.scalar(select(Operator).where(Operator.username == username))
    if operator is None or not operator.active:
        # Same work either way, so timing does not tell which usernames exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return operator if check_password_hash(operator.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")
