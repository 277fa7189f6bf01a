"""The doorbell of one process: at once after a quiet spell, gathered while rings come fast."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bridge import queue
from bridge.statuses import Lane


class Published(list):
    """Each publish: (the thread that published, the rows); ``done`` is set by each."""

    def __init__(self):
        super().__init__()
        self.done = threading.Event()


@pytest.fixture
def published(monkeypatch):
    seen = Published()
    done = seen.done

    def publish(rows):
        rows = list(rows)
        seen.append((threading.current_thread().name, rows))
        done.set()
        return [row_id for row_id, _lane in rows]

    monkeypatch.setattr(queue, "publish", publish)
    return seen


def test_a_ring_after_a_quiet_spell_is_published_at_once_by_its_own_thread(app, published):
    doorbell = queue.Doorbell(app, window=0.2)
    with app.app_context():
        doorbell.ring([(1, Lane.PRIVATE), (2, Lane.PUBLIC)])
    assert published == [(threading.current_thread().name, [(1, Lane.PRIVATE), (2, Lane.PUBLIC)])]


def test_rings_within_the_window_go_out_together_once_it_ends(app, published):
    doorbell = queue.Doorbell(app, window=0.3)
    with app.app_context():
        started = time.monotonic()
        doorbell.ring([(1, Lane.PRIVATE)])
        published.done.clear()
        for n in range(2, 12):
            doorbell.ring([(n, Lane.PRIVATE), (100 + n, Lane.PUBLIC)])
        doorbell.ring([(5, Lane.PRIVATE)])  # rung twice: published once
        assert len(published) == 1  # the rest wait for the window
    assert published.done.wait(5)
    waited = time.monotonic() - started
    assert 0.25 <= waited < 2, waited
    assert len(published) == 2
    thread, rows = published[1]
    assert thread != threading.current_thread().name
    pairs = [((n, Lane.PRIVATE), (100 + n, Lane.PUBLIC)) for n in range(2, 12)]
    assert rows == [row for pair in pairs for row in pair]
    # Quiet again: the next ring goes at once.
    time.sleep(0.35)
    with app.app_context():
        doorbell.ring([(50, Lane.PRIVATE)])
    assert published[-1] == (threading.current_thread().name, [(50, Lane.PRIVATE)])


def test_what_is_gathered_is_published_on_the_way_out(app, published):
    doorbell = queue.Doorbell(app, window=60)
    with app.app_context():
        doorbell.ring([(1, Lane.PRIVATE)])
        doorbell.ring([(2, Lane.PRIVATE)])
    assert len(published) == 1
    queue._flush_doorbells()  # what atexit runs
    assert [(2, Lane.PRIVATE)] in [rows for _thread, rows in published[1:]]


def test_a_flush_with_broker_and_database_gone_only_logs(app, monkeypatch, caplog):
    def fail(rows):
        raise ConnectionError("db at 10.0.0.5 refused user budi")

    monkeypatch.setattr(queue, "ring_or_forget", fail)
    doorbell = queue.Doorbell(app, window=60)
    with app.app_context():
        doorbell._last = time.monotonic()  # as if it had just rung
        doorbell.ring([(1, Lane.PRIVATE)])
    with caplog.at_level(logging.WARNING, logger="bridge.queue"):
        doorbell.flush()  # no exception escapes the timer thread
    assert "doorbell for 1 deliveries not rung (builtins.ConnectionError)" in caplog.text
    assert "budi" not in caplog.text and "10.0.0.5" not in caplog.text
