"""Throttling wrong passwords without locking anyone out: OWASP's "device cookie" design.

A browser or API client that once signed in as an agent gets a device token (stored only as
its SHA-256, with the username). What a sign-in attempt is counted against depends on it:

- **A trusted device** (its token names this username) is always let in to have its password
  checked; only its own wrong passwords count, against the token (`per_device`). Nobody
  else's guessing, from the same address or anywhere, refuses it.
- **Any other client** is counted per (address, username), per username across addresses
  and per address across usernames. Once any of the three is full it is refused without its
  password being checked, so a refusal tells a guesser nothing about the password.

Every attempt takes its places before the password is checked (so concurrent guesses cannot
overrun a limit), and a right password gives them back: only wrong ones stay counted. So the
right password for one account is never refused because of wrong guesses at another from the
same address, unless that address is spraying guesses across many accounts.

    attempt = throttle.admit(address, username, device_token)
    if not attempt.allowed: ...  # 429, Retry-After: attempt.retry_after, password unchecked
    if right: device_token = throttle.succeeded(attempt)  # else its places stay taken
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from assistant.desk.accounts import normalized_username, token_digest
from assistant.desk.database import Database, utc_now
from assistant.desk.limits import Admission, RateLimiter, SqlRateLimiter
from assistant.desk.tables import TrustedDeviceRow

DEVICE_TRUST = timedelta(days=90)
"""How long a device stays trusted after its last right sign-in."""
DEVICES_PER_AGENT = 20
"""Trusted devices kept per username (the most recently used): a script that ignores its
device token cannot grow the table without end."""


@dataclass(frozen=True)
class SignInLimits:
    """Wrong passwords allowed per window. The defaults, and why:

    - 10 a minute per (address, username): room for a person's typos, 14,400 guesses a day
      at most at one account from one address;
    - 50 a minute per address across usernames: a call centre behind one NAT address still
      has room for five agents mistyping at once; a guesser spraying many accounts does not;
    - 100 an hour per username across addresses: caps a distributed guesser at 2,400 a day
      per account, while the account's own trusted devices still sign in;
    - 10 per 15 minutes per trusted device: its owner's typos, and no more than 960 guesses a
      day from a stolen device token.
    """

    per_address_account: int = 10
    per_address: int = 50
    per_account_per_hour: int = 100
    per_device_per_quarter_hour: int = 10


@dataclass(frozen=True)
class SignInAttempt:
    """One sign-in attempt as the throttle admitted (or refused) it."""

    username: str
    device_token: str | None
    """The token the client sent, when it is trusted for `username`."""
    admissions: tuple[Admission, ...]
    retry_after: int = 0
    """Whole seconds to wait when refused; 0 when the password may be checked."""

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0

    @property
    def trusted(self) -> bool:
        return self.device_token is not None


class SignInThrottle:
    """The sign-in counters and trusted devices on the desk's database (see the module)."""

    def __init__(
        self,
        database: Database,
        limits: SignInLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        limits = limits or SignInLimits()
        self._database = database
        self._now = now
        self._per_address_account: RateLimiter = SqlRateLimiter(
            database, "sign_in_address_account", limit=limits.per_address_account, clock=clock
        )
        self._per_address: RateLimiter = SqlRateLimiter(
            database, "sign_in_address", limit=limits.per_address, clock=clock
        )
        self._per_account: RateLimiter = SqlRateLimiter(
            database, "sign_in_account", limit=limits.per_account_per_hour,
            window_seconds=3600, clock=clock,
        )  # fmt: skip
        self._per_device: RateLimiter = SqlRateLimiter(
            database, "sign_in_device", limit=limits.per_device_per_quarter_hour,
            window_seconds=900, clock=clock,
        )  # fmt: skip
        self._limiters = {
            limiter.scope: limiter
            for limiter in (
                self._per_address_account,
                self._per_address,
                self._per_account,
                self._per_device,
            )
        }

    def admit(self, address: str, username: str, device_token: str | None) -> SignInAttempt:
        """Takes this attempt's places; a refused attempt holds none. A wrong password keeps
        them until their windows end; `succeeded` gives them back."""
        username = normalized_username(username)
        if device_token and self.trusts(device_token, username):
            checks = [(self._per_device, token_digest(device_token))]
        else:
            device_token = None
            checks = [
                (self._per_address_account, f"{address}|{username}"),
                (self._per_account, username),
                (self._per_address, address),
            ]
        admitted: list[Admission] = []
        waits: list[int] = []
        for limiter, key in checks:
            admission = limiter.allow(key)
            if admission.allowed:
                admitted.append(admission)
            else:
                waits.append(admission.retry_after)
        if waits:  # every counter asked, so Retry-After is the longest wait, not the first
            self._give_back(admitted)
            return SignInAttempt(username, device_token, (), max(waits))
        return SignInAttempt(username, device_token, tuple(admitted))

    def succeeded(self, attempt: SignInAttempt) -> str:
        """A right password: gives the places back and returns the device token to keep (the
        trusted one the client sent, or a new one)."""
        self._give_back(list(attempt.admissions))
        if attempt.device_token is not None:
            self._touch(attempt.device_token)
            return attempt.device_token
        return self._issue(attempt.username)

    def trusts(self, device_token: str, username: str) -> bool:
        with self._database.transaction(write=False) as session:
            row = session.get(TrustedDeviceRow, token_digest(device_token))
            return (
                row is not None
                and row.username == normalized_username(username)
                and row.expires_at > self._now()
            )

    def _give_back(self, admissions: list[Admission]) -> None:
        for admission in admissions:
            self._limiters[admission.scope].release(admission)

    def _touch(self, device_token: str) -> None:
        now = self._now()
        with self._database.transaction(write=True) as session:
            row = session.get(TrustedDeviceRow, token_digest(device_token))
            if row is not None:
                row.last_used_at = now
                row.expires_at = now + DEVICE_TRUST

    def _issue(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._database.transaction(write=True) as session:
            session.add(
                TrustedDeviceRow(
                    token_sha256=token_digest(token),
                    username=username,
                    created_at=now,
                    last_used_at=now,
                    expires_at=now + DEVICE_TRUST,
                )
            )
            session.flush()
            kept = (
                select(TrustedDeviceRow.token_sha256)
                .where(TrustedDeviceRow.username == username, TrustedDeviceRow.expires_at > now)
                .order_by(TrustedDeviceRow.last_used_at.desc())
                .limit(DEVICES_PER_AGENT)
            )
            session.execute(
                delete(TrustedDeviceRow).where(
                    TrustedDeviceRow.username == username,
                    TrustedDeviceRow.token_sha256.not_in(kept.scalar_subquery()),
                )
            )
            session.execute(delete(TrustedDeviceRow).where(TrustedDeviceRow.expires_at <= now))
        return token
