"""Stopping a worker without losing or repeating a delivery, and without waiting on providers.

Two ways a batch is asked to stop early; in both the engine looks at :func:`requested` before
each provider call, so the calls in flight end, their outcomes are recorded and the rows not
attempted are handed back (pending, due now) for the next worker:

- **The worker shuts down** (SIGTERM or Ctrl-C to its main process: Celery's warm shutdown).
  The main process sets a flag its pool processes share (an anonymous shared mapping made
  before the pool forks), so a running batch ends within a provider call instead of going on
  through its whole batch; Celery then closes the pool as usual: idle processes end at once,
  nothing is replaced, nobody is killed.
- **A pool process gets SIGTERM** (Celery terminates one when it cancels its task because the
  broker connection was lost, and at a cold shutdown). billiard's own handler raises
  ``SystemExit`` wherever the process is, so a batch would die holding every row it claimed and
  they would all end up in ``needs_review``. Here the handler only asks the batch to stop; once
  it has recorded, the task ends the process through billiard's handler, as it would have. A
  process that is not in a batch is ended at once.
"""

from __future__ import annotations

import contextlib
import mmap
import signal
import threading
from collections.abc import Iterator

from celery.signals import task_prerun, worker_shutting_down

_pool_handler = signal.SIG_DFL
#: Set while a batch runs in this process, and when someone asked the batch to stop early.
_running = threading.Event()
_stop = threading.Event()
#: One byte shared by the worker's main process and every pool process it forks (this module
#: is imported by the main process, before the pool exists): 1 once the worker shuts down.
_shutting_down = mmap.mmap(-1, 1)


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
    return _stop.is_set() or _shutting_down[0] == 1


def terminated() -> bool:
    """Whether this pool process itself was told to end (SIGTERM), not only its worker."""
    return _stop.is_set()


@worker_shutting_down.connect
def _tell_the_pool(**_kwargs) -> None:
    # In the main process, from Celery's shutdown signal handler: one byte, no locks.
    _shutting_down[0] = 1


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
