"""The send budget against Telegram's count, which happens when a request arrives.

A simulated clock: requests ask for a slot as fast as the budget allows, each one's answer
comes back after a random delay and it reaches "Telegram" at a random moment of its flight.
Telegram's limit (the emulator's token bucket) must never refuse one of those arrivals.
"""

from __future__ import annotations

import random

import pytest

from bot.sandbox.tokenbucket import TokenBucket
from bot.send_budget import SendBudget


def arrivals(budget: SendBudget, count: int, seed: int, max_delay: float) -> list[float]:
    """When each of `count` eager sends reaches Telegram, on a simulated clock."""
    rng = random.Random(seed)
    now, arrived, flights = 0.0, [], []  # flights: (answered_at, arrived_at)
    while len(arrived) < count:
        for answered_at, _ in [f for f in flights if f[0] <= now]:
            budget.finish(answered_at)
        flights = [f for f in flights if f[0] > now]
        if budget.wait_time(now) == 0:
            budget.start()
            delay = rng.uniform(0, max_delay)
            arrival = now + rng.uniform(0, delay)
            flights.append((now + delay, arrival))
            arrived.append(arrival)
            continue
        now += 0.001
    return sorted(arrived)


def refused(times: list[float], rate: float, burst: float) -> int:
    """How many of these arrivals Telegram's bucket would answer with 429."""
    bucket, refusals = TokenBucket(rate, burst, 0.0), 0
    for at in times:
        if bucket.wait_time(at) > 1e-9:
            refusals += 1
        else:
            bucket.take(at)
    return refusals


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("rate", "burst", "max_delay"), [(30, 27, 1.5), (1, 4, 3.0)])
def test_late_arrivals_never_bunch_past_the_limit(
    seed: int, rate: float, burst: float, max_delay: float
) -> None:
    times = arrivals(SendBudget(rate, burst), 200 if rate > 1 else 20, seed, max_delay)
    assert refused(times, rate, burst) == 0


def test_the_budget_keeps_its_rate_when_answers_are_quick() -> None:
    times = arrivals(SendBudget(30, 27), 327, seed=0, max_delay=0.01)
    # 27 at once, then 30 a second: the last of 327 within about 10 s.
    assert 9.5 < times[-1] < 10.6


def test_a_plain_bucket_counting_grants_is_not_enough() -> None:
    """The reason for SendBudget: granting by a token bucket lets delayed requests bunch."""

    class GrantBucket(SendBudget):
        def __init__(self, rate: float, burst: float) -> None:
            super().__init__(rate, burst)
            self._bucket = TokenBucket(rate, burst, 0.0)
            self._now = 0.0

        def wait_time(self, now: float, need: float = 1.0) -> float:
            self._now = now
            return self._bucket.wait_time(now, need)

        def start(self) -> None:
            self._bucket.take(self._now)

    times = arrivals(GrantBucket(1, 4), 20, seed=0, max_delay=1.0)
    assert refused(times, 1, 4) > 0


def test_a_budget_says_when_its_sends_have_faded_from_telegrams_count() -> None:
    """What a clean stop waits for, so the next process starts with a whole budget."""
    budget = SendBudget(rate=1.0, burst=4.0)
    assert budget.whole_in(0.0) == 0.0, "nothing sent yet"
    for _ in range(4):
        budget.start()
        budget.finish(0.0)
    assert budget.whole_in(0.0) == 4.0
    assert budget.whole_in(2.5) == 1.5
    assert budget.whole_in(4.0) == 0.0
    budget.start()  # a send still in flight counts until its answer
    assert budget.whole_in(10.0) > 0.0
