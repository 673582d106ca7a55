"""The desk database into a backup and back: SQLite through its online backup API (a consistent
copy while the server writes), another engine by copying every table through SQLAlchemy.

    copy_database("sqlite:///.glovebox/glovebox.sqlite3", Path("backup/database.sqlite3"))
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Integer, MetaData, create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url

from assistant.desk.integrity import damaged_database, sqlite_database_path
from knowledge.errors import InputError
from knowledge.integrity import sqlite_file_problem, sqlite_side_files

SCHEMA_VERSION_TABLE = "alembic_version"
"""Alembic's own table: the target's migrations write it, so it is never copied."""


def copy_database(database_url: str, backup_file: Path) -> None:
    """A consistent copy of the database in the SQLite file `backup_file`."""
    source = sqlite_database_path(make_url(database_url))
    if source is None:
        copy_tables(database_url, f"sqlite:///{backup_file}")
        return
    problem = sqlite_file_problem(source)
    if problem is not None:  # a copy of it would be a backup nobody can restore
        raise damaged_database("backup", source, problem)
    if not source.exists():  # nothing served yet: an empty database, never a file made there
        with closing(sqlite3.connect(backup_file)) as empty:
            empty.execute("PRAGMA user_version = 0")  # writes the header: a database, not 0 bytes
            empty.commit()
        return
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(backup_file)) as copy:
        live.backup(copy)  # consistent under concurrent writers: it restarts if they write
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file


def restore_database(backup_file: Path, database_url: str) -> None:
    """The backup's tables into the database (which `database_is_empty` or the caller's force
    allowed); a SQLite target file is moved aside first, never deleted."""
    target = sqlite_database_path(make_url(database_url))
    if target is None:
        copy_tables(f"sqlite:///{backup_file}", database_url)
        return
    move_aside(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(backup_file)) as copy, closing(sqlite3.connect(target)) as live:
        copy.backup(live)
        live.execute("PRAGMA journal_mode = WAL")


def copy_tables(source_url: str, target_url: str) -> None:
    """Every desk table's rows, read in one transaction (one snapshot: repeatable read outside
    SQLite), into the target, which is first brought to this version's schema by its own
    migrations (another engine's DDL, PostgreSQL's sequence defaults say, would not run there),
    for engines without SQLite's backup API (PostgreSQL)."""
    prepare_schema(target_url)
    read, written = MetaData(), MetaData()
    source, target = create_engine(source_url), create_engine(target_url)
    snapshot = {} if source.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
    try:
        with source.connect().execution_options(**snapshot) as reading, target.begin() as writing:
            read.reflect(reading)
            written.reflect(writing)
            for table in written.sorted_tables:  # parents before the rows that refer to them
                if table.name == SCHEMA_VERSION_TABLE or table.name not in read.tables:
                    continue
                columns = set(table.columns.keys())
                rows = [
                    {key: value for key, value in row._mapping.items() if key in columns}
                    for row in reading.execute(select(read.tables[table.name]))
                ]
                if rows:
                    writing.execute(table.insert(), rows)
            if writing.dialect.name == "postgresql":
                _advance_sequences(writing, written)
    finally:
        source.dispose()
        target.dispose()


def prepare_schema(database_url: str) -> None:
    """The desk's tables in `database_url`, migrated to this version's schema."""
    from assistant.desk.stores import open_desk

    desk = open_desk(database_url)
    try:
        desk.database.prepare()
    finally:
        desk.close()


def _advance_sequences(connection: Connection, metadata: MetaData) -> None:
    """Rows inserted with their ids leave PostgreSQL's id sequences behind; the next ticket
    would collide with a restored one."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f'COALESCE(MAX("{column.name}"), 0) + 1, false) FROM "{table.name}" '
                        f"WHERE pg_get_serial_sequence('{table.name}', '{column.name}') IS NOT NULL"
                    )
                )


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per table, for the manifest and for checking a restore."""
    metadata = MetaData()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            metadata.reflect(connection)
            return {
                table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def database_is_empty(database_url: str) -> bool:
    target = sqlite_database_path(make_url(database_url))
    if target is not None and not target.exists():
        return True
    if target is not None and sqlite_file_problem(target) is not None:
        return False  # a damaged file is not empty: it may be all that is left
    return not any(table_counts(database_url).values())


def check_database_copy(backup_file: Path, expected: dict[str, int]) -> None:
    """Refuses a backup database that is damaged or holds other rows than its manifest says."""
    problem = sqlite_file_problem(backup_file) if backup_file.exists() else "it is missing"
    if problem is None:
        problem = _integrity_problem(backup_file)
    if problem is None and table_counts(f"sqlite:///{backup_file}") != expected:
        problem = "its tables do not hold the rows its manifest counts"
    if problem is not None:
        raise InputError(str(backup_file), f"{problem}; this backup is incomplete, take another")


def _integrity_problem(database_file: Path) -> str | None:
    try:
        with closing(sqlite3.connect(f"file:{database_file}?mode=ro", uri=True)) as copy:
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        return f"SQLite cannot read it ({error})"
    return None if verdict == "ok" else f"SQLite's integrity check says {verdict}"


def move_aside(path: Path) -> list[Path]:
    """The database file and its -wal and -shm files renamed with a time stamp; where to."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    moved = []
    for file in (path, *sqlite_side_files(path)):
        if file.exists():
            moved.append(file.rename(file.with_name(f"{file.name}.replaced-{stamp}")))
    return moved
