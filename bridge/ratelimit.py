"""Per-target send limits shared by every worker, kept in the database.

A sliding log per key (``kind:target``): at most COUNT sends in any SECONDS. A slot is held
from the moment a worker takes it until the provider has answered, and the send counts from the
answer. So with ``whatsapp_group=1/2`` the next message to a group leaves at least 2 s after the
previous one was accepted, which keeps arrivals 2 s apart whatever the network does, and however
many workers run.
"""

from __future__ import annotations

import dataclasses
import time

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge.models import RateLimitSlot


@dataclasses.dataclass(frozen=True)
class Slot:
    key: str
    token: float


class RateLimiter:
    """Acquire a slot before a provider call, release it with the time the call ended."""

    def __init__(self, engine: Engine, limits, clock=time.time):
        self.engine = engine
        self.limits = limits
        self.clock = clock

    def acquire(self, kind: str, target: str, hold: float) -> tuple[Slot | None, float]:
        """Take a slot for ``hold`` seconds at most; return ``(slot, 0)`` or ``(None, wait)``."""
        with Session(self.engine) as db, db.begin():
            return self.acquire_in(db, kind, target, hold)

    def release(self, slot: Slot, *, quiet_for: float = 0.0) -> None:
        """Count the send from now (plus ``quiet_for`` when a provider asked to slow down)."""
        with Session(self.engine) as db, db.begin():
            self.release_in(db, slot, quiet_for=quiet_for)

    def acquire_in(
        self, db: Session, kind: str, target: str, hold: float
    ) -> tuple[Slot | None, float]:
        """:meth:`acquire` inside the caller's transaction (the row lock lasts until it ends)."""
        count, seconds = self.limits[kind]
        key = f"{kind}:{target}"
        row = _locked_row(db, key)
        now = self.clock()
        recent = sorted(t for t in row.sent if t > now - seconds)
        if len(recent) >= count:
            # A send still in flight holds a placeholder in the future; count it as ending
            # now, so the caller looks again in ``seconds`` rather than after the lease.
            return None, max(0.01, min(recent[-count], now) + seconds - now)
        token = now + hold
        while token in recent:
            token += 1e-6
        row.sent = [*recent, token]
        return Slot(key, token), 0.0

    def release_in(self, db: Session, slot: Slot, *, quiet_for: float = 0.0) -> None:
        """:meth:`release` inside the caller's transaction."""
        row = _locked_row(db, slot.key)
        ended = self.clock() + max(0.0, quiet_for)
        row.sent = sorted(ended if t == slot.token else t for t in row.sent)


def _locked_row(db: Session, key: str) -> RateLimitSlot:
    """The key's row, locked for this transaction; created when missing."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        # The row exists after a target's first send: lock it directly (one round trip).
        row = db.get(RateLimitSlot, key, with_for_update=True, populate_existing=True)
        if row is not None:
            return row
    # SQLite: a write first takes the database's write lock up front, so the read-modify-write
    # never meets a concurrent writer. PostgreSQL: create the row, then lock it.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(insert(RateLimitSlot.__table__).values(key=key, sent=[]).on_conflict_do_nothing())
    return db.get(RateLimitSlot, key, with_for_update=True, populate_existing=True)
