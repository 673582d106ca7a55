"""In-memory sliding-window rate limits: per client address and per conversation on the driver
API, and failed sign-ins per address.

    limits = RateLimits.from_settings(settings)
    if not limits.per_address.allow(client_address): ...  # answer 429
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.settings import GloveboxSettings

FAILED_SIGN_INS_PER_MINUTE = 10
"""Per client address; a right password is never throttled, so a call centre behind one
address can all sign in at the start of a shift."""


class RateLimiter:
    """At most `limit` events per `window` seconds per key (a sliding window, in memory).

    per_ip = RateLimiter(60)
    if not per_ip.allow(client_ip): ...  # answer 429
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def allow(self, key: str) -> bool:
        """Counts an event for `key`; False (and not counted) when `key` is at its limit."""
        with self._lock:
            events = self._recent(key)
            if len(events) >= self._limit:
                return False
            events.append(self._clock())
            return True

    def exhausted(self, key: str) -> bool:
        """Whether `key` is at its limit now; counts nothing."""
        with self._lock:
            return len(self._recent(key)) >= self._limit

    def record(self, key: str) -> None:
        """Counts an event for `key` even past its limit (a failed sign-in, say)."""
        with self._lock:
            self._recent(key).append(self._clock())

    def __len__(self) -> int:
        """How many keys are remembered."""
        with self._lock:
            return len(self._events)

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        if now >= self._next_sweep:
            # At most once a window, so a limiter with many keys is not rebuilt on every call.
            self._events = {
                k: v for k, v in self._events.items() if v and now - v[-1] <= self._window
            }
            self._next_sweep = now + self._window
        events = self._events.setdefault(key, deque())
        while events and now - events[0] > self._window:
            events.popleft()
        return events


@dataclass(frozen=True)
class RateLimits:
    """The limiters one app shares between its requests."""

    per_address: RateLimiter
    """Driver API requests per client address."""
    per_conversation: RateLimiter
    """Questions per driver conversation (or per OpenAI `user`)."""
    failed_sign_ins: RateLimiter
    """Wrong passwords per client address."""

    @classmethod
    def from_settings(cls, settings: GloveboxSettings) -> RateLimits:
        return cls(
            per_address=RateLimiter(settings.rate_limit_per_ip),
            per_conversation=RateLimiter(settings.rate_limit_per_session),
            failed_sign_ins=RateLimiter(FAILED_SIGN_INS_PER_MINUTE),
        )
