"""Opening Glovebox's SQL database: one recipe for the desk's stores and the account store.

SQLite by default (WAL, a busy timeout, writers take the lock at BEGIN IMMEDIATE), any
SQLAlchemy URL with an installed driver otherwise: PostgreSQL (postgresql+psycopg://) for
several workers, where the WRITER option does nothing (row locks serialize writers instead).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, TypeDecorator, create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from assistant.desk.integrity import check_database_file, database_failure
from knowledge.errors import ConfigurationError, InputError

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another process's write to finish before failing."""

RecordT = TypeVar("RecordT")

_BEGIN_OPTION = "glovebox_begin"
WRITER = {_BEGIN_OPTION: "BEGIN IMMEDIATE"}
"""Execution options for a transaction that writes: it takes the write lock at BEGIN."""


class Database:
    """One SQL database: read and write transactions, `create_tables` run once on first use
    inside a write transaction (the desk passes `upgrade_to_head`, which migrates).

    db = Database(url, stage="tickets", create_tables=upgrade_to_head)
    with db.transaction(write=True) as session: ...
    """

    def __init__(
        self, database_url: str, *, stage: str, create_tables: Callable[[Connection], None]
    ) -> None:
        try:
            url = make_url(database_url)
        except ArgumentError as error:
            raise ConfigurationError(
                f"database URL {database_url!r} is not a SQLAlchemy URL ({error}); "
                "set GLOVEBOX_DATABASE_URL like sqlite:///path/to/glovebox.sqlite3"
            ) from error
        self.display_url = url.render_as_string(hide_password=True)
        """The URL with any password hidden, for messages."""
        check_database_file(url, stage=stage)
        try:
            self.engine = _make_engine(url)
        except NoSuchModuleError as error:
            raise ConfigurationError(
                f"database URL {self.display_url} names a database Glovebox has no driver "
                f"for ({error}); install its driver or use a sqlite:/// URL"
            ) from error
        self._stage = stage
        self._create_tables = create_tables
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(**WRITER), expire_on_commit=False)
        self._tables_ready = False
        self._tables_lock = threading.Lock()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Session]:
        """Commits on success, rolls back on an exception; a database failure is a StageError."""
        self._create_tables_once()
        factory = self._writes if write else self._reads
        try:
            with factory.begin() as session:
                yield session
        except IntegrityError:
            raise  # a store's own refusal (a duplicate), not a failure of the database
        except DataError as error:  # PostgreSQL checks lengths and ranges that SQLite does not
            raise InputError(
                source=self._stage,
                problem=f"a value does not fit the database ({_first_line(error.orig)}); "
                "shorten it or use a smaller number",
            ) from error
        except DatabaseError as error:
            raise database_failure(self._stage, self.display_url, error) from error

    def close(self) -> None:
        """Release the connections; the database can still be used (it reconnects)."""
        self.engine.dispose()

    def prepare(self) -> None:
        """Create or migrate the tables now rather than at first use (`glovebox db upgrade`)."""
        self._create_tables_once()

    def _create_tables_once(self) -> None:
        if self._tables_ready:
            return
        with self._tables_lock:
            if self._tables_ready:
                return
            try:
                with self.engine.execution_options(**WRITER).begin() as connection:
                    self._create_tables(connection)
            except DatabaseError as error:
                raise database_failure(self._stage, self.display_url, error) from error
            self._tables_ready = True


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite keeps no offsets) and hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def record_from_row(record_type: type[RecordT], row: Any, **overrides: Any) -> RecordT:
    """The frozen record of a row: every field the row has a column of, then `overrides`."""
    values = {
        field.name: getattr(row, field.name)
        for field in fields(record_type)  # type: ignore[arg-type]
        if field.name not in overrides and hasattr(row, field.name)
    }
    return record_type(**values, **overrides)


def _switch_to_wal(cursor: Any) -> None:
    """Two processes opening a new file at once both switch it to WAL; SQLite can refuse the
    loser "database is locked" at once, without waiting the busy timeout, so wait here."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
        return engine
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        # One shared connection, or every checkout would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, says when a transaction begins (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            # Readers (the console) and a writer (the API) then work at the same time.
            _switch_to_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Writers take the write lock at BEGIN IMMEDIATE, where busy_timeout can wait for it;
        # a deferred transaction that reads and then writes fails at once if another process
        # wrote in between.
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))

    return engine


NUL_STAND_IN = "\ufffd"
"""PostgreSQL text cannot hold NUL (SQLite's can): it is stored as U+FFFD, which shows where."""


def _without_nul(
    _connection: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    if executemany and isinstance(parameters, list | tuple):
        return statement, [_scrubbed(row) for row in parameters]
    return statement, _scrubbed(parameters)


def _scrubbed(parameters: Any) -> Any:
    def scrub(value: Any) -> Any:
        return value.replace("\x00", NUL_STAND_IN) if isinstance(value, str) else value

    if isinstance(parameters, dict):
        return {name: scrub(value) for name, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(scrub(value) for value in parameters)
    return parameters
