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
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge.models import RateLimitSlot


@dataclasses.dataclass(frozen=True)
class Slot:
    key: str
    token: float


class RateLimiter:
    """Acquire slots before provider calls, release them with the time each call ended."""

    def __init__(self, engine: Engine, limits, clock=time.time):
        self.engine = engine
        self.limits = limits
        self.clock = clock

    def acquire(self, kind: str, target: str, hold: float) -> tuple[Slot | None, float]:
        """Take a slot for ``hold`` seconds at most; return ``(slot, 0)`` or ``(None, wait)``."""
        with Session(self.engine) as db, db.begin():
            return self.acquire_in(db, [(kind, target)], hold)[0]

    def release(self, slot: Slot, *, quiet_for: float = 0.0) -> None:
        """Count the send from now (plus ``quiet_for`` when a provider asked to slow down)."""
        with Session(self.engine) as db, db.begin():
            self.release_in(db, [(slot, quiet_for)])

    def acquire_in(
        self, db: Session, wanted: Sequence[tuple[str, str]], hold: float
    ) -> list[tuple[Slot | None, float]]:
        """:meth:`acquire` for each ``(kind, target)`` inside the caller's transaction, in
        order; the key rows stay locked until it ends. Keys are locked in sorted order, so two
        batches never wait for each other in a cycle."""
        answers: list[tuple[Slot | None, float]] = [(None, 0.0)] * len(wanted)
        by_key: dict[str, list[int]] = {}
        for index, (kind, target) in enumerate(wanted):
            by_key.setdefault(f"{kind}:{target}", []).append(index)
        now = self.clock()
        rows = _locked_rows(db, by_key)
        for key in sorted(by_key):
            count, seconds = self.limits[key.split(":", 1)[0]]
            recent = sorted(t for t in rows[key] if t > now - seconds)
            for index in by_key[key]:
                if len(recent) >= count:
                    # A send still in flight holds a placeholder in the future; count it as
                    # ending now, so the caller looks again in ``seconds``, not after the lease.
                    answers[index] = (None, max(0.01, min(recent[-count], now) + seconds - now))
                    continue
                token = now + hold
                while token in recent:
                    token += 1e-6
                recent = sorted([*recent, token])
                answers[index] = (Slot(key, token), 0.0)
            rows[key] = recent
        _write_rows(db, rows)
        return answers

    def release_in(self, db: Session, released: Sequence[tuple[Slot, float]]) -> None:
        """:meth:`release` for each ``(slot, quiet_for)`` inside the caller's transaction."""
        ended = self.clock()
        by_key: dict[str, dict[float, float]] = {}
        for slot, quiet_for in released:
            by_key.setdefault(slot.key, {})[slot.token] = ended + max(0.0, quiet_for)
        rows = _locked_rows(db, by_key)
        _write_rows(db, {k: sorted(by_key[k].get(t, t) for t in sent) for k, sent in rows.items()})


def _locked_rows(db: Session, keys: Iterable[str]) -> dict[str, list[float]]:
    """The keys' recent send times, their rows locked (in key order) for this transaction;
    rows are created for keys seen for the first time."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = _select_locked(db, keys)
    missing = [k for k in keys if k not in rows]
    if missing:
        # SQLite: the caller's transaction already holds the write lock (its claim came first).
        # PostgreSQL: a concurrent first insert of the same key waits for ours, then does nothing.
        dialect = db.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.execute(
            insert(_TABLE)
            .values([{"key": k, "sent": []} for k in missing])
            .on_conflict_do_nothing()
        )
        rows |= _select_locked(db, missing)
    return rows


def _select_locked(db: Session, keys: list[str]) -> dict[str, list[float]]:
    return {
        key: list(sent or [])
        for key, sent in db.execute(
            select(_TABLE.c.key, _TABLE.c.sent)
            .where(_TABLE.c.key.in_(keys))
            .order_by(_TABLE.c.key)
            .with_for_update()
        )
    }


def _write_rows(db: Session, rows: dict[str, list[float]]) -> None:
    if rows:
        db.connection().execute(
            update(_TABLE)
            .where(_TABLE.c.key == bindparam("row_key"))
            .values(sent=bindparam("new_sent")),
            [{"row_key": k, "new_sent": v} for k, v in rows.items()],
        )


_TABLE = RateLimitSlot.__table__
