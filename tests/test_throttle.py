"""The throttle's decisions with a fake clock: milliseconds, no server, no sleeping.

Shared pause, the AIMD limit on batches in flight, the send rate learned from 429s, one burst counted once,
and waits longer than the run may take; plus the ``Retry-After`` reading that feeds it.
"""

from __future__ import annotations

import math
import threading

import pytest

from sfmc_nb._rules import MAX_RETRY_AFTER
from sfmc_nb.client import RetryPolicy
from sfmc_nb.engine.throttle import MIN_WAIT, Pacer, Throttle


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def running() -> threading.Event:
    return threading.Event()


def answered(throttle: Throttle, clock: Clock, count: int, every: float, epoch: int | None = None) -> None:
    """``count`` clean answers, ``every`` seconds apart."""
    for _ in range(count):
        clock.advance(every)
        throttle.success(epoch)


def test_nothing_is_paced_before_the_first_429():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    assert throttle.rate is None
    assert [throttle.pacer.reserve(clock()) for _ in range(100)] == [clock.now] * 100
    answered(throttle, clock, 50, 0.01)
    assert throttle.rate is None and throttle.acquire(running()) == 0 and throttle.wait(running()) == 0.0


def test_the_first_burst_learns_the_rate_the_service_admitted():
    clock = Clock()
    throttle = Throttle(16, clock=clock)
    answered(throttle, clock, 200, 0.01)        # 2 s at 100 answers a second, the last second counts
    throttle.throttled(1.0, epoch=0)
    assert throttle.rate == pytest.approx(100, abs=1)
    assert throttle.allowed == 8 and throttle.epoch == 1


def test_too_few_answers_teach_nothing_and_sending_stays_unpaced():
    clock = Clock()
    throttle = Throttle(4, clock=clock)
    answered(throttle, clock, 2, 0.1)
    throttle.throttled(1.0, epoch=0)
    assert throttle.rate is None and throttle.allowed == 2       # the pause and the limit still act


def test_the_rate_goes_down_on_a_new_burst_and_up_with_clean_answers_never_below_the_floor():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    answered(throttle, clock, 40, 0.02)
    throttle.throttled(0.5, epoch=0)
    learned = throttle.rate
    assert learned is not None
    clock.advance(0.5)
    throttle.throttled(0.5, epoch=throttle.acquire(running()))   # sent after the pause: a new burst
    assert throttle.rate == pytest.approx(learned * Pacer.DECREASE)
    lowered = throttle.rate
    for _ in range(30):                                           # sent right after each pause: each a new burst
        clock.advance(0.5)
        throttle.throttled(0.5, epoch=throttle.epoch)
    assert throttle.rate == Pacer.FLOOR and throttle.allowed == 1
    assert lowered > throttle.rate
    clock.advance(0.5)
    answered(throttle, clock, 20, 0.0, epoch=throttle.epoch)     # answers while sends queue for their slots
    assert throttle.rate > Pacer.FLOOR and throttle.allowed > 1


def test_the_rate_rises_by_a_share_of_itself_per_second_whatever_the_quota():
    for quota in (4, 400):
        clock = Clock()
        throttle = Throttle(16, clock=clock)
        answered(throttle, clock, quota, 1 / quota)
        throttle.throttled(1.0, epoch=0)
        start = throttle.rate
        assert start is not None
        clock.advance(1.0)
        for _ in range(int(start)):                        # one second of answers at the rate, all slots taken
            throttle.pacer.reserve(clock())
            clock.advance(1 / start)
            throttle.success(throttle.epoch)
        assert throttle.rate == pytest.approx(start * (1 + Pacer.INCREASE), rel=0.05)


def test_the_rate_does_not_grow_while_something_else_holds_sends_back():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    answered(throttle, clock, 50, 0.02)
    throttle.throttled(1.0, epoch=0)
    rate = throttle.rate
    clock.advance(5.0)                                     # long after the burst, sends come slower than the pace
    for _ in range(50):
        throttle.pacer.reserve(clock())
        clock.advance(1.0)
        throttle.success(throttle.epoch)
    assert throttle.rate == rate


def test_paced_sends_are_spaced_after_the_burst_allowance():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    answered(throttle, clock, 10, 0.1)
    throttle.throttled(1.0, epoch=0)
    assert throttle.rate == pytest.approx(10, abs=1)
    clock.advance(1.0)                                  # the pause: the service's bucket refilled a second's worth
    slots = [throttle.pacer.reserve(clock()) for _ in range(20)]
    at_once = sum(1 for s in slots if s - clock.now < 1e-6)
    assert 10 <= at_once <= 12
    gaps = [b - a for a, b in zip(slots[at_once - 1:], slots[at_once:], strict=False)]
    assert gaps and all(g == pytest.approx(1 / throttle.rate) for g in gaps)


@pytest.mark.parametrize("retry_after", [1.0, None], ids=["header", "body"])
def test_one_burst_of_429s_counts_once_whichever_style(retry_after):
    clock = Clock()
    throttle = Throttle(16, backoff_base=0.5, backoff_max=30.0, clock=clock)
    answered(throttle, clock, 40, 0.02)
    epochs = [throttle.acquire(running()) for _ in range(16)]          # 16 requests in flight
    first = throttle.throttled(retry_after, epochs[0])
    rate, limit, paused = throttle.rate, throttle.allowed, throttle.paused_seconds
    for epoch in epochs[1:]:                                           # the rest of the burst answers 429 too
        clock.advance(0.003)
        throttle.throttled(retry_after, epoch)
    assert (throttle.epoch, throttle.rate, throttle.allowed) == (1, rate, limit) == (1, rate, 8)
    assert throttle.paused_seconds == paused
    if retry_after is None:
        assert 0.25 <= first <= 0.5                                    # the backoff's first step, not its 16th
    clock.advance(first)
    assert throttle.acquire(running()) == 1                             # sent after the pause: the next epoch
    second = throttle.throttled(retry_after, 1)                        # refused again: a new burst
    assert throttle.epoch == 2 and throttle.allowed == 4 and throttle.rate == pytest.approx(rate * Pacer.DECREASE)
    if retry_after is None:
        assert 0.5 <= second <= 1.0                                    # the backoff escalates once per burst


def test_a_late_429_asking_for_longer_extends_the_pause_to_that_wait_from_the_bursts_start():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    assert throttle.throttled(1.0, 0) == pytest.approx(1.0)
    clock.advance(0.2)
    assert throttle.throttled(1.0, 0) == pytest.approx(0.8)           # the same wait: the pause stands
    assert throttle.throttled(3.0, 0) == pytest.approx(2.8)           # a longer one counts from the burst's start
    assert throttle.paused_seconds == pytest.approx(3.0) and throttle.epoch == 1


def test_answers_to_requests_sent_before_a_burst_do_not_lift_the_limits():
    clock = Clock()
    throttle = Throttle(8, clock=clock)
    throttle.throttled(0.1, epoch=0)
    answered(throttle, clock, 50, 0.001, epoch=0)                      # in flight before the burst
    assert throttle.allowed == 4
    answered(throttle, clock, 50, 0.001, epoch=1)
    assert throttle.allowed == 8


def test_a_wait_longer_than_the_run_may_take_stops_sending_instead_of_pausing():
    clock = Clock()
    throttle = Throttle(4, max_wait=5.0, clock=clock)
    assert throttle.throttled(3600.0, 0) == 0.0
    assert throttle.gave_up == "the service asked to wait 3600 s, beyond max_seconds=5: call .retry() later"
    assert throttle.paused_seconds == 0.0 and throttle.allowed == 4    # what is left ends at once, no request
    assert throttle.acquire(running()) == 0 and throttle.wait(running()) == 0.0
    throttle.throttled(MAX_RETRY_AFTER, 0)                             # the first reason stays
    assert "3600 s" in throttle.gave_up


def test_a_wait_within_the_budget_still_pauses():
    clock = Clock()
    throttle = Throttle(4, max_wait=5.0, clock=clock)
    assert throttle.throttled(5.0, 0) == 5.0 and throttle.gave_up is None
    assert throttle.throttled(0.0, None) == 5.0                        # Retry-After: 0 still waits a little
    clock.advance(5.0)
    assert throttle.throttled(0.0, None) == pytest.approx(MIN_WAIT)


def test_a_stopped_run_does_not_sit_out_the_pause():
    throttle = Throttle(4)
    throttle.throttled(600.0)
    stop = threading.Event()
    stop.set()
    assert throttle.wait(stop) == 0.0 and throttle.acquire(stop) == 1


@pytest.mark.parametrize("header, seconds", [
    ("1e309", MAX_RETRY_AFTER), ("inf", MAX_RETRY_AFTER), ("Infinity", MAX_RETRY_AFTER),
    ("1e12", MAX_RETRY_AFTER), ("3600", 3600.0), ("-5", 0.0), ("-inf", 0.0), ("nan", None), ("soon", None),
    ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
])
def test_retry_after_is_always_a_finite_wait_or_none(header, seconds):
    assert RetryPolicy.retry_after_seconds({"Retry-After": header}, None) == seconds


def test_retry_after_from_the_body_is_bounded_the_same_way():
    assert RetryPolicy.retry_after_seconds({}, {"retryAfter": math.inf}) == MAX_RETRY_AFTER
    assert RetryPolicy.retry_after_seconds({}, {"retryAfter": "1e309"}) == MAX_RETRY_AFTER
    assert RetryPolicy.retry_after_seconds({}, {"retryAfter": math.nan, "retry_after": 2}) == 2.0
    assert RetryPolicy.retry_after_seconds({}, {"retryAfter": True}) is None
    assert RetryPolicy.retry_after_seconds({"Retry-After": "nan"}, {"retryAfter": 4}) == 4.0
