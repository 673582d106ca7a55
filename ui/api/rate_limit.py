"""The rate limits one app enforces, counted in the desk's shared database so they hold across
every server process: per client address and per conversation on the driver API, and the
sign-in throttle (`assistant.desk.sign_in_throttle`).

    limits = RateLimits.from_settings(settings, services.database)
    admission = limits.per_address.allow(client_address)
    if not admission.allowed: ...  # answer 429 with Retry-After: admission.retry_after
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.desk.database import Database
from assistant.desk.limits import RateLimiter, SqlRateLimiter
from assistant.desk.sign_in_throttle import SignInThrottle
from knowledge.settings import GloveboxSettings


@dataclass(frozen=True)
class RateLimits:
    """The limiters one app shares between its requests (and with its sibling processes)."""

    per_address: RateLimiter
    """Driver API requests per client address, a minute."""
    per_conversation: RateLimiter
    """Questions per driver conversation (or per OpenAI `user`), a minute."""
    sign_ins: SignInThrottle
    """Wrong passwords per address, account and trusted device."""

    @classmethod
    def from_settings(cls, settings: GloveboxSettings, database: Database) -> RateLimits:
        return cls(
            per_address=SqlRateLimiter(
                database, "driver_address", limit=settings.rate_limit_per_ip
            ),
            per_conversation=SqlRateLimiter(
                database, "driver_conversation", limit=settings.rate_limit_per_session
            ),
            sign_ins=SignInThrottle(database),
        )
