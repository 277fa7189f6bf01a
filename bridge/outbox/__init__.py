"""The outbox: delivery rows are the work, the broker only a doorbell.

- :mod:`.claim`: which rows are due, which a worker takes, the claim and rate-limit slots;
- :mod:`.render`: what a row says (private complaint, public summary, the bridge's reply);
- :mod:`.engine`: a batch from claim to record, providers called side by side per target;
- :mod:`.sweeper`: the waker (due rows) and the sweeper (lost doorbells, vanished workers);
- :mod:`.redeliver`: a person's decision to send dead or needs-review rows again.
"""

from bridge.outbox.engine import Batch, Outcome, Result, deliver, deliver_batch
from bridge.outbox.redeliver import RowsRedelivered, redeliver, redeliver_rows
from bridge.outbox.sweeper import WAKE_INTERVAL, SweepResult, sweep, wake

__all__ = [
    "WAKE_INTERVAL",
    "Batch",
    "Outcome",
    "Result",
    "RowsRedelivered",
    "SweepResult",
    "deliver",
    "deliver_batch",
    "redeliver",
    "redeliver_rows",
    "sweep",
    "wake",
]
