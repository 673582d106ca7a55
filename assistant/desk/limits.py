"""Rate limits kept in the desk's SQL database, so they hold across every server process that
shares it (several workers behind a load balancer, on SQLite or PostgreSQL).

Each key has one counter row per scope, counting in fixed windows (a minute, say). Admitting
an event is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE hits < limit RETURNING hits`: the
database serialises it per row, so two processes cannot both take the last place. A fixed
window lets a burst of at most twice the limit straddle a window boundary; the trade buys one
statement per request and an exact count. Rows of ended windows are purged once a window.

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

from sqlalchemy import ColumnElement, and_, case, delete, select, update
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
        window_start = int(now // self._window) * self._window
        with self._database.transaction(write=True) as session:
            hits = session.execute(self._count(session, stored_key, window_start)).scalar()
            if hits is not None:
                admission = Admission(True, self._scope, stored_key, window_start)
            else:
                current = session.scalar(
                    select(RateLimitRow.window_start).where(*self._row(stored_key))
                )
                ends = (current if current is not None else window_start) + self._window
                retry_after = max(1, math.ceil(ends - now))
                admission = Admission(False, self._scope, stored_key, window_start, retry_after)
        self._purge_now_and_then(now, window_start)
        return admission

    def release(self, admission: Admission) -> None:
        if not admission.allowed or admission.scope != self._scope:
            return
        with self._database.transaction(write=True) as session:
            session.execute(
                update(RateLimitRow)
                .where(
                    *self._row(admission.key),
                    RateLimitRow.window_start == admission.window_start,
                    RateLimitRow.hits > 0,
                )
                .values(hits=RateLimitRow.hits - 1)
            )

    def _count(self, session: Session, key: str, window_start: int) -> Any:
        """The upsert that counts one event unless the key's current window is full; it
        returns the new count, or no row when refused."""
        insert = _dialect_insert(session)
        table = RateLimitRow.__table__
        statement = insert(table).values(
            scope=self._scope, key=key, window_start=window_start, hits=1
        )
        # A later window starts the count afresh; an earlier one (a process whose clock is
        # a little behind) counts in the stored window, so clock skew never resets a count.
        later = statement.excluded.window_start > table.c.window_start
        return statement.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key],
            set_={
                "hits": case((later, 1), else_=table.c.hits + 1),
                "window_start": case((later, statement.excluded.window_start),
                                     else_=table.c.window_start),
            },
            where=later | (table.c.hits < self._limit),
        ).returning(table.c.hits)  # fmt: skip

    def _row(self, key: str) -> tuple[ColumnElement[bool], ...]:
        return (RateLimitRow.scope == self._scope, RateLimitRow.key == key)

    def _purge_now_and_then(self, now: float, window_start: int) -> None:
        # Once a window per process: ended windows' rows count nothing any more.
        with self._purge_lock:
            if now < self._next_purge:
                return
            self._next_purge = now + self._window
        with self._database.transaction(write=True) as session:
            session.execute(
                delete(RateLimitRow).where(
                    and_(
                        RateLimitRow.scope == self._scope,
                        RateLimitRow.window_start < window_start,
                    )
                )
            )


def _stored_key(key: str) -> str:
    if len(key) <= KEY_MAX_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _dialect_insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
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
