"""Console log-in throttling, kept in the database so every server process shares it.

Each attempt is counted against the account (the username as typed, known or not, so the
answers never tell which accounts exist) and against the client's address, *before* the
password is checked: requests sent in parallel cannot all slip through before the first
failure is written. A successful log-in clears the account's count and gives the address its
attempt back.

- After :attr:`Policy.free` attempts in a window, each further attempt must wait a back-off
  that doubles (1 s, 2 s, 4 s ... up to :attr:`Policy.max_backoff`).
- After :attr:`Policy.lock_after` attempts in the window the key is locked for
  :attr:`Policy.lock_for`.
- While backing off or locked, an attempt is refused without looking at the password.

An account lock holds from every address: guessing one account's password from many addresses
is exactly what it stops. The price is that anyone can lock a known account for 15 minutes;
``wadule-bridge operator reset-password`` lifts the lock at once.

No request sleeps: a refused attempt is answered at once with ``Retry-After``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.models import LoginThrottle, utcnow

ACCOUNT = "account"
ADDRESS = "address"
#: Compare-and-set rounds before an attempt is refused as too busy (only under heavy racing).
_ROUNDS = 8


@dataclasses.dataclass(frozen=True)
class Policy:
    """Limits for one kind of key."""

    free: int
    lock_after: int
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock_for: dt.timedelta = dt.timedelta(minutes=15)
    max_backoff: dt.timedelta = dt.timedelta(minutes=1)

    def backoff(self, attempts: int) -> dt.timedelta | None:
        """The wait before the attempt after ``attempts`` ones in the window, or None."""
        if attempts < self.free:
            return None
        return min(dt.timedelta(seconds=2 ** (attempts - self.free)), self.max_backoff)


POLICIES = {
    ACCOUNT: Policy(free=3, lock_after=10),
    # One address may be an office behind one NAT: more room before it slows down, and shorter
    # waits (the lock, reached in about three minutes of guessing, is what stops a sprayer).
    ADDRESS: Policy(free=10, lock_after=30, max_backoff=dt.timedelta(seconds=10)),
}


@dataclasses.dataclass(frozen=True)
class Refusal:
    """An attempt refused unchecked: ``locked`` (temporary lock) or a back-off, until ``until``."""

    kind: str
    locked: bool
    until: dt.datetime

    def retry_after(self, now: dt.datetime) -> int:
        """Whole seconds until an attempt may be made (at least 1)."""
        return max(1, math.ceil((self.until - now).total_seconds()))


def account_key(username: str) -> str:
    """The throttle key of a username: case and surrounding spaces do not make a new account."""
    return username.strip().lower()[:200]


def address_key(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address. Behind a reverse proxy on this machine (the peer is loopback) it
    is the last ``X-Forwarded-For`` entry, the one that proxy appended; otherwise the peer."""
    peer = remote_addr or "unknown"
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return peer[:200]


def reserve(db: Session, keys: dict[str, str], now: dt.datetime) -> Refusal | None:
    """Count one attempt for each ``{kind: key}``; a :class:`Refusal` if any is held back.

    Each count is committed at once (it must outlive a request that fails later). A refused
    attempt counts for nothing.
    """
    states = {kind: _load(db, kind, key) for kind, key in keys.items()}
    refusal = _first_refusal(states, now)
    if refusal is not None:
        return refusal
    for kind, key in keys.items():
        for _ in range(_ROUNDS):
            outcome = _count(db, kind, key, states[kind], now)
            if outcome is not _LOST:
                break
            states[kind] = _load(db, kind, key)
            refusal = _refusal(kind, states[kind], now)
            if refusal is not None:
                return refusal
        else:
            return Refusal(kind, locked=False, until=now + dt.timedelta(seconds=1))
    return None


def succeeded(db: Session, keys: dict[str, str], now: dt.datetime) -> None:
    """A log-in worked: clear the account's count, give the address its attempt back."""
    if ACCOUNT in keys:
        clear_account(db, keys[ACCOUNT])
    if ADDRESS in keys:
        for _ in range(_ROUNDS):
            state = _load(db, ADDRESS, keys[ADDRESS])
            if state is None or state.failures == 0:
                return
            attempts = state.failures - 1
            backoff = POLICIES[ADDRESS].backoff(attempts)
            changed = _compare_and_set(
                db,
                ADDRESS,
                keys[ADDRESS],
                state,
                failures=attempts,
                window_start=state.window_start,
                retry_at=state.retry_at if backoff is not None else None,
                locked_until=state.locked_until,
                updated_at=now,
            )
            if changed:
                return


def clear_account(db: Session, username: str) -> None:
    """Forget an account's failed attempts and lift its lock (committed)."""
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.kind == ACCOUNT, LoginThrottle.key == account_key(username)
        )
    )
    db.commit()


def refusal_for(db: Session, keys: dict[str, str], now: dt.datetime) -> Refusal | None:
    """Whether an attempt now would be refused (read only; the login page shows it)."""
    states = {kind: _load(db, kind, key) for kind, key in keys.items()}
    return _first_refusal(states, now)


_T = LoginThrottle
_LOST = object()


def _load(db: Session, kind: str, key: str):
    row = db.execute(
        select(_T.failures, _T.window_start, _T.retry_at, _T.locked_until).where(
            _T.kind == kind, _T.key == key
        )
    ).first()
    db.commit()  # end the read: the next write must see other processes' commits
    return row


def _first_refusal(states: dict, now: dt.datetime) -> Refusal | None:
    refusals = [_refusal(kind, state, now) for kind, state in states.items()]
    refusals = [r for r in refusals if r is not None]
    # A lock is the stronger news; among equals, the longer wait.
    return max(refusals, key=lambda r: (r.locked, r.until), default=None)


def _refusal(kind: str, state, now: dt.datetime) -> Refusal | None:
    if state is None:
        return None
    if state.locked_until is not None and state.locked_until > now:
        return Refusal(kind, locked=True, until=state.locked_until)
    if state.retry_at is not None and state.retry_at > now:
        return Refusal(kind, locked=False, until=state.retry_at)
    return None


def _count(db: Session, kind: str, key: str, state, now: dt.datetime):
    policy = POLICIES[kind]
    if state is None or now - state.window_start >= policy.window:
        attempts, window_start = 1, now
    else:
        attempts, window_start = state.failures + 1, state.window_start
    backoff = policy.backoff(attempts)
    values = {
        "failures": attempts,
        "window_start": window_start,
        "retry_at": now + backoff if backoff is not None else None,
        "locked_until": now + policy.lock_for if attempts >= policy.lock_after else None,
        "updated_at": now,
    }
    if state is None:
        try:
            db.execute(insert(_T).values(kind=kind, key=key, **values))
            db.commit()
        except IntegrityError:
            db.rollback()  # another request made the row first
            return _LOST
        return None
    return None if _compare_and_set(db, kind, key, state, **values) else _LOST


def _compare_and_set(db: Session, kind: str, key: str, state, **values) -> bool:
    # Changes only the row as it was read: a request that raced in between makes this one
    # read again (PostgreSQL re-checks the condition on the locked row; SQLite writes one at
    # a time).
    result = db.execute(
        update(_T)
        .where(
            _T.kind == kind,
            _T.key == key,
            _T.failures == state.failures,
            _T.window_start == state.window_start,
        )
        .values(**values)
    )
    db.commit()
    return result.rowcount == 1


def clock() -> dt.datetime:
    """The throttle's time (tests replace it to let locks expire)."""
    return utcnow()


__all__ = [
    "ACCOUNT",
    "ADDRESS",
    "POLICIES",
    "Policy",
    "Refusal",
    "account_key",
    "address_key",
    "clear_account",
    "clock",
    "refusal_for",
    "reserve",
    "succeeded",
]
