"""The shared limiter's arithmetic, with a clock the test moves."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bridge.db import engine_of
from bridge.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limiter(app):
    clock = Clock()
    limits = {"whatsapp_group": (1, 2.0), "telegram": (3, 10.0)}
    return RateLimiter(engine_of(app), limits, clock=clock), clock


def test_one_per_window_counts_from_the_answer(limiter):
    limiter, clock = limiter
    slot, wait = limiter.acquire("whatsapp_group", "g1", hold=60)
    assert slot is not None and wait == 0
    clock.now += 5  # the provider took 5 s to answer
    # In flight: others are told to look again one window later, not after the hold.
    assert limiter.acquire("whatsapp_group", "g1", hold=60) == (None, 2.0)
    limiter.release(slot)
    clock.now += 1.5
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[1] == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[0] is not None


def test_targets_are_independent(limiter):
    limiter, _ = limiter
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[0]
    assert limiter.acquire("whatsapp_group", "g2", hold=60)[0]
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[0] is None


def test_count_per_window(limiter):
    limiter, clock = limiter
    for _ in range(3):
        slot, _ = limiter.acquire("telegram", "c", hold=30)
        limiter.release(slot)
        clock.now += 1
    slot, wait = limiter.acquire("telegram", "c", hold=30)
    assert slot is None and wait == pytest.approx(7.0)
    clock.now += 7
    assert limiter.acquire("telegram", "c", hold=30)[0] is not None


def test_provider_asked_to_slow_down(limiter):
    limiter, clock = limiter
    slot, _ = limiter.acquire("whatsapp_group", "g1", hold=60)
    limiter.release(slot, quiet_for=30)
    clock.now += 31
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[1] == pytest.approx(1.0)


def test_a_batch_takes_what_each_target_allows_in_one_transaction(limiter):
    limiter, clock = limiter
    wanted = [("telegram", "c")] * 4 + [("whatsapp_group", "g1")] * 2 + [("telegram", "d")]
    with Session(limiter.engine) as db, db.begin():
        answers = limiter.acquire_in(db, wanted, hold=30)
    granted = [slot is not None for slot, _ in answers]
    assert granted == [True, True, True, False, True, False, True]
    # The slots still in flight count as ending now: look again in one window.
    assert answers[3][1] == pytest.approx(10.0) and answers[5][1] == pytest.approx(2.0)
    clock.now += 3
    with Session(limiter.engine) as db, db.begin():
        limiter.release_in(db, [(slot, 0.0) for slot, _ in answers if slot is not None])
    assert limiter.acquire("whatsapp_group", "g1", hold=60)[1] == pytest.approx(2.0)
    clock.now += 10
    assert limiter.acquire("telegram", "c", hold=30)[0] is not None
