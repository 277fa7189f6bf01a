"""How long the bridge keeps what, and :func:`prune`, which deletes what has served its purpose.

Kept until pruned here:

- ``inbound_events`` (provider webhook ids, for dropping repeats): one day. WAHA and Telegram
  events older than 15 minutes are refused as stale anyway, and Telegram stops resending an
  update after a day, so an older id can never come back as a repeat.
- ``sandbox_messages`` (what sandbox mode "sent", full text, reporter details included): 30
  days. The sandbox is for trying the bridge out, not an archive.
- ``login_throttles`` (failed console log-ins per account and address): one day after the last
  change, long after any window or lock is over.
- ``waha_lids`` (what WAHA said a WhatsApp LID stands for): 30 days after it was asked; a LID
  still in use is simply asked again.

Everything else is kept for as long as the bridge runs (SECURITY.md lists each table).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bridge.models import InboundEvent, LoginThrottle, SandboxMessage, WahaLid

INBOUND_EVENTS = dt.timedelta(days=1)
SANDBOX_MESSAGES = dt.timedelta(days=30)
LOGIN_THROTTLES = dt.timedelta(days=1)
WAHA_LIDS = dt.timedelta(days=30)


def prune(db: Session, now: dt.datetime) -> dict[str, int]:
    """Delete rows past their retention at ``now``; the number deleted per table (committed)."""
    counts = {
        "inbound_events": db.execute(
            delete(InboundEvent).where(InboundEvent.received_at < now - INBOUND_EVENTS)
        ).rowcount,
        "sandbox_messages": db.execute(
            delete(SandboxMessage).where(SandboxMessage.created_at < now - SANDBOX_MESSAGES)
        ).rowcount,
        "waha_lids": db.execute(
            delete(WahaLid).where(WahaLid.resolved_at < now - WAHA_LIDS)
        ).rowcount,
        "login_throttles": db.execute(
            delete(LoginThrottle).where(LoginThrottle.updated_at < now - LOGIN_THROTTLES)
        ).rowcount,
    }
    db.commit()
    return counts
