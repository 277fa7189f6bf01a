"""Keeping a handful of child processes running: ``wadule-bridge run`` and ``worker``.

Each child runs in a process group of its own, so stopping it stops everything it started too
(gunicorn's workers, Celery's pool processes), and nothing is left behind holding a port. A child
that exits while we are not stopping is logged and started again after a back-off that grows
with quick successive failures (1 s, 2 s, 4 s ... 30 s) and starts over once a child has run for
a minute. Ctrl-C (SIGINT) or SIGTERM stops every child: SIGTERM to each child itself, which
stops its own processes in order (gunicorn's arbiter its workers; a Celery worker's warm
shutdown lets running batches hand back and closes its pool: see :mod:`workers.stopping`), then
SIGKILL to each group, to whatever is left when :data:`STOP_TIMEOUT` is up, so the whole stop
takes less than 10 s. (SIGTERM to a Celery worker's whole group killed its idle pool processes
under it: the worker started new ones in the middle of its shutdown, logged an error for each,
and hung until the SIGKILL.)
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

#: Seconds children get to stop on SIGTERM before their groups are killed.
STOP_TIMEOUT = 8.0
#: Back-off before restart number 1, 2, 3, ... (the last one repeats).
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: A child that ran this long before it exited starts the back-off over.
STEADY_AFTER = 60.0
#: A child that fails this many times in a row, each time within STEADY_AFTER, is given up on
#: and the supervisor stops everything with an error (e.g. its port is taken for good).
GIVE_UP_AFTER = 8


@dataclasses.dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Start ``children`` (name -> argv), keep them running, stop them all on a signal."""

    def __init__(
        self,
        children: Mapping[str, Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        stop_timeout: float = STOP_TIMEOUT,
        backoff: Sequence[float] = BACKOFF,
    ):
        self.children = [Child(name, list(argv)) for name, argv in children.items()]
        self.env = dict(env) if env is not None else None
        self.stop_timeout = stop_timeout
        self.backoff = tuple(backoff)
        self._stopping = False
        self._exit_code = 0

    def run(self) -> int:
        """Run until a signal (exit code 0) or a child given up on (exit code 1)."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                self._start(child)
            while not self._stopping:
                self._check()
                time.sleep(0.2)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self._exit_code

    def _on_signal(self, signum, _frame) -> None:
        if not self._stopping:
            log.info("%s received: stopping %s", signal.Signals(signum).name, self._names())
        self._stopping = True

    def _names(self) -> str:
        return ", ".join(child.name for child in self.children)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, env=self.env, start_new_session=True, preexec_fn=_end_with_parent
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("%s started (pid %d)", child.name, child.process.pid)

    def _check(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start(child)
                continue
            code = child.process.poll() if child.process else None
            if code is None:
                continue
            _kill_group(child.process, signal.SIGKILL)  # whatever it left behind
            ran = now - child.started_at
            child.failures = 1 if ran >= STEADY_AFTER else child.failures + 1
            if child.failures >= GIVE_UP_AFTER:
                log.error(
                    "%s exited with %s %d times in a row; giving up and stopping everything",
                    child.name,
                    code,
                    child.failures,
                )
                self._exit_code = 1
                self._stopping = True
                return
            wait = self.backoff[min(child.failures, len(self.backoff)) - 1]
            log.warning(
                "%s exited with %s after %.0f s; restarting in %g s (restart %d)",
                child.name,
                code,
                ran,
                wait,
                child.failures,
            )
            child.restart_at = now + wait

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in self.children:
            if child.process is None:
                continue
            if child.process.poll() is None:
                log.warning("%s did not stop within %g s: killed", child.name, self.stop_timeout)
            # Also the group's other members (a gunicorn worker its arbiter left behind).
            _kill_group(child.process, signal.SIGKILL)
            child.process.wait()


def _end_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the supervisor dies, however it
    dies (even SIGKILL), so a child never outlives it unsupervised."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def _kill_group(process: subprocess.Popen, sig: int) -> None:
    # The child leads its own group (start_new_session): its pid is the group id, which stays
    # valid while any member lives, even after the leader has exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
