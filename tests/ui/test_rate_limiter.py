"""The in-memory sliding-window limiter behind the driver API and agent sign-in."""

from __future__ import annotations

from ui.api.rate_limit import RateLimiter


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_per_window_and_no_more() -> None:
    clock = Clock()
    limiter = RateLimiter(3, window=60, clock=clock)
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2")  # another key has its own budget
    clock.now += 30
    assert not limiter.allow("10.0.0.1")
    clock.now += 31
    assert limiter.allow("10.0.0.1")  # the first events have slid out of the window


def test_keys_idle_for_a_window_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(5, window=60, clock=clock)
    for n in range(1000):
        limiter.allow(f"session-{n}")
    assert len(limiter) == 1000
    clock.now += 61
    limiter.allow("a-new-session")
    assert len(limiter) == 1


def test_a_key_still_in_its_window_survives_the_sweep() -> None:
    clock = Clock()
    limiter = RateLimiter(2, window=60, clock=clock)
    limiter.allow("old")
    clock.now += 50
    limiter.allow("busy")
    limiter.allow("busy")
    clock.now += 20  # "old" is 70 s old, "busy" 20 s
    assert not limiter.allow("busy")
    assert len(limiter) == 1


def test_failures_recorded_past_the_limit_keep_the_key_exhausted() -> None:
    clock = Clock()
    limiter = RateLimiter(2, window=60, clock=clock)
    assert not limiter.exhausted("10.0.0.9")
    for _ in range(3):
        limiter.record("10.0.0.9")
    assert limiter.exhausted("10.0.0.9") and not limiter.allow("10.0.0.9")
    clock.now += 61
    assert not limiter.exhausted("10.0.0.9")
