"""A pool process told to stop (SIGTERM) mid-batch ends its provider calls first.

Celery terminates a pool process with SIGTERM when it cancels the task it runs (the broker
connection was lost) and at a cold shutdown. billiard's own handler raises ``SystemExit``
wherever the process is, so a batch dies holding every row it claimed, and they all end up in
``needs_review``. Here the handler only asks the batch to stop (the engine looks at
:func:`requested` before each provider call): the calls in flight end, the outcomes are
recorded, the rows not attempted are handed back, and then the task ends the process through
billiard's handler, as it would have. A process that is not in a batch is ended at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from celery.signals import task_prerun

_pool_handler = signal.SIG_DFL
#: Set while a batch runs in this process, and when someone asked the batch to stop early.
_running = threading.Event()
_stop = threading.Event()


@contextlib.contextmanager
def batch_running() -> Iterator[None]:
    """Mark a batch as running in this process (the SIGTERM handler then waits for it)."""
    _running.set()
    try:
        yield
    finally:
        _running.clear()


def requested() -> bool:
    """Whether a stop was asked for (the running batch hands back what it has not tried)."""
    return _stop.is_set()


def stop_softly() -> bool:
    """Ask the running batch to stop before its next provider call; False when no batch runs
    (the caller may then stop at once)."""
    if not _running.is_set():
        return False
    _stop.set()
    return True


@task_prerun.connect
def _install(**_kwargs) -> None:
    # billiard sets its handler after Celery's process initializer has run, so ours goes in
    # before the first task instead.
    global _pool_handler
    if threading.current_thread() is not threading.main_thread():
        return  # a thread pool: signals are the main thread's, and batches run side by side
    current = signal.getsignal(signal.SIGTERM)
    if current is not _on_sigterm:
        _pool_handler = current
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame) -> None:
    if not stop_softly():
        _end(signum, frame)


def end_process() -> None:
    """End this pool process as a SIGTERM would have (called once the batch has recorded)."""
    _end(signal.SIGTERM, None)


def _end(signum, frame) -> None:
    if callable(_pool_handler):
        _pool_handler(signum, frame)  # billiard's: SystemExit, then the pool is told
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)
