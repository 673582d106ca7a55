"""Rate limits kept in the desk's SQL database, so they hold across every server process that
shares it (several workers behind a load balancer, on SQLite or PostgreSQL).

Each key has one counter row per scope: its count in the current fixed window and in the one
before. The limit is checked against a sliding window, estimated as the previous window's
count weighted by how much of it the sliding window still covers, plus the current count (the
"sliding window counter" of Cloudflare and others): no burst of twice the limit across a
window boundary, and one small row per key instead of a row per event.

Counting an event is one write transaction that locks the key's row: created if missing with
`INSERT ... ON CONFLICT DO NOTHING`, then read `FOR UPDATE` (PostgreSQL) or under SQLite's
write lock, taken at BEGIN IMMEDIATE; so two processes cannot both take the last place. Rows
of keys idle for two windows are purged once a window.

    per_address = SqlRateLimiter(database, "driver_address", limit=60)
    admission = per_address.allow("203.0.113.7")
    if not admission.allowed: ...  # answer 429 with Retry-After: admission.retry_after
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from assistant.desk.database import Database
from assistant.desk.tables import RateLimitRow
from knowledge.errors import ConfigurationError

KEY_MAX_CHARS = 255
"""Longer keys (a long OpenAI `user`, say) are stored as their SHA-256."""


@dataclass(frozen=True)
class Admission:
    """Whether one event was let in, and if not, how long until its key is let in again."""

    allowed: bool
    scope: str
    key: str
    window_start: int
    """The window the event was counted in (when allowed), for `release`."""
    retry_after: int = 0
    """Whole seconds (at least 1) until the key is allowed again; 0 when allowed."""


class RateLimiter(Protocol):
    """At most `limit` events per window per key."""

    @property
    def scope(self) -> str:
        """Which limit this is (one table holds the counters of all)."""
        ...

    @property
    def limit(self) -> int: ...

    def allow(self, key: str) -> Admission:
        """Counts an event for `key` and lets it in; at the limit, refuses it (uncounted)."""
        ...

    def release(self, admission: Admission) -> None:
        """Takes back an allowed event (a sign-in that turned out right), if its window is
        still the current one."""
        ...


class SqlRateLimiter:
    """A `RateLimiter` on the desk's `Database`, shared by every process that opens it.

    `scope` names the limit (one table holds them all); `clock` gives Unix seconds, which
    every process reads alike.
    """

    def __init__(
        self,
        database: Database,
        scope: str,
        *,
        limit: int,
        window_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ConfigurationError(
                f"rate limit {scope!r}: limit and window must be at least 1, "
                f"not {limit} per {window_seconds} s"
            )
        self._insert = _dialect_insert(database.engine.dialect.name)  # refused at start-up
        self._database = database
        self._scope = scope
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def limit(self) -> int:
        return self._limit

    def allow(self, key: str) -> Admission:
        stored_key = _stored_key(key)
        now = self._clock()
        current = int(now // self._window) * self._window
        with self._database.transaction(write=True) as session:
            row = self._locked_row(session, stored_key, current)
            # A row from a later window (a process whose clock is a little ahead) is counted
            # in as it stands, so clock skew between processes never resets a count.
            window_start = max(current, row.window_start)
            hits, previous = self._counts(row, window_start)
            elapsed = max(0.0, now - window_start)
            if previous * (1 - elapsed / self._window) + hits + 1 > self._limit:
                wait = self._wait(hits, previous, elapsed)
                return Admission(False, self._scope, stored_key, window_start, wait)
            row.window_start, row.hits, row.previous_hits = window_start, hits + 1, previous
        self._purge_now_and_then(now, current)
        return Admission(True, self._scope, stored_key, window_start)

    def release(self, admission: Admission) -> None:
        if not admission.allowed or admission.scope != self._scope:
            return
        with self._database.transaction(write=True) as session:
            row = session.scalars(
                select(RateLimitRow).where(*self._row(admission.key)).with_for_update()
            ).first()
            if row is None:
                return
            if row.window_start == admission.window_start:
                row.hits = max(0, row.hits - 1)
            elif row.window_start == admission.window_start + self._window:
                row.previous_hits = max(0, row.previous_hits - 1)

    def _locked_row(self, session: Session, key: str, window_start: int) -> RateLimitRow:
        session.execute(
            self._insert(RateLimitRow.__table__)
            .values(scope=self._scope, key=key, window_start=window_start, hits=0,
                    previous_hits=0)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
        )  # fmt: skip
        return session.scalars(
            select(RateLimitRow)
            .where(*self._row(key))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()

    def _counts(self, row: RateLimitRow, window_start: int) -> tuple[int, int]:
        """(this window's count, the previous window's) as of `window_start`."""
        if row.window_start == window_start:
            return row.hits, row.previous_hits
        if row.window_start == window_start - self._window:
            return 0, row.hits
        return 0, 0

    def _wait(self, hits: int, previous: int, elapsed: float) -> int:
        """Whole seconds until one more event fits, if none is counted meanwhile."""
        room = self._limit - 1
        window = self._window
        if hits <= room and previous > 0:
            # Within this window, as the previous window's share fades.
            fits_at = window * (1 - (room - hits) / previous)
            if fits_at <= window:
                return max(1, math.ceil(fits_at - elapsed))
        # In the next window, as this one's count fades in turn.
        fades = max(0.0, window * (1 - room / hits)) if hits else 0.0
        return max(1, math.ceil(window - elapsed + fades))

    def _row(self, key: str) -> tuple[ColumnElement[bool], ...]:
        return (RateLimitRow.scope == self._scope, RateLimitRow.key == key)

    def _purge_now_and_then(self, now: float, window_start: int) -> None:
        # Once a window per process: a row last counted two windows ago weighs nothing.
        with self._purge_lock:
            if now < self._next_purge:
                return
            self._next_purge = now + self._window
        with self._database.transaction(write=True) as session:
            session.execute(
                delete(RateLimitRow).where(
                    and_(
                        RateLimitRow.scope == self._scope,
                        RateLimitRow.window_start < window_start - self._window,
                    )
                )
            )


def _stored_key(key: str) -> str:
    if len(key) <= KEY_MAX_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _dialect_insert(dialect: str) -> Any:
    """The INSERT with ON CONFLICT of the database's dialect."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    raise ConfigurationError(
        f"the rate limits need SQLite or PostgreSQL, not {dialect}; "
        "set GLOVEBOX_DATABASE_URL to a sqlite:/// or postgresql+psycopg:// URL"
    )
