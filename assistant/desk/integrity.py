"""A damaged desk database is refused with the way back, never recreated empty.

check_database_file(make_url("sqlite:///.glovebox/glovebox.sqlite3"), stage="tickets")
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError

from knowledge.errors import StageError
from knowledge.integrity import damaged_file_error, sqlite_file_problem, sqlite_side_files

# SQLITE_CORRUPT and SQLITE_NOTADB: the file's pages are not a database SQLite can read.
_DAMAGE_CODES = {11, 26}


def sqlite_database_path(url: URL) -> Path | None:
    """The file of a sqlite:/// URL; None for an in-memory database or another engine."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database)).expanduser()


def check_database_file(url: URL, *, stage: str) -> None:
    """Refuses an existing SQLite file that is empty or not a database, before SQLite opens it
    (SQLite would take an empty file for a new database and start again at GBX-000001)."""
    path = sqlite_database_path(url)
    problem = sqlite_file_problem(path) if path is not None else None
    if path is not None and problem is not None:
        raise damaged_database(stage, path, problem)


def database_failure(stage: str, display_url: str, error: DatabaseError) -> StageError:
    """A StageError for a failed statement: a damaged file says so and names the way back."""
    path = sqlite_database_path(make_url(display_url))
    code = getattr(error.orig, "sqlite_errorcode", None)
    if path is not None and isinstance(error.orig, sqlite3.DatabaseError) and code in _DAMAGE_CODES:
        return damaged_database(stage, path, f"SQLite says {error.orig}")
    return StageError(stage, f"database {display_url} failed: {error.orig}")


def damaged_database(stage: str, path: Path, problem: str) -> StageError:
    side_files = " and ".join(side.name for side in sqlite_side_files(path) if side.exists())
    return damaged_file_error(
        stage,
        path,
        problem,
        fresh_start=f"move it aside{f' with {side_files}' if side_files else ''} to start "
        "with an empty database, without its accounts and tickets",
    )
