"""Damaged state on disk: SQLite files that cannot be what Glovebox wrote, and the message that
says how to get back. Damage is reported, never repaired or replaced without being asked.

    problem = sqlite_file_problem(Path(".glovebox/glovebox.sqlite3"))  # None when sound
"""

from __future__ import annotations

from pathlib import Path

from knowledge.errors import StageError

SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

RESTORE_ADVICE = "restore the last backup with `glovebox restore BACKUP_DIR`"


def sqlite_side_files(path: Path) -> list[Path]:
    """The write-ahead log and shared-memory files SQLite keeps beside a database in WAL mode."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def sqlite_file_problem(path: Path) -> str | None:
    """Why the file at `path` is not a SQLite database to open, or None.

    A missing file is sound (it is created fresh) unless its write-ahead log is still there:
    then the database was moved or deleted and SQLite would rebuild it from half the data.
    """
    if not path.exists():
        log = sqlite_side_files(path)[0]
        if log.exists() and log.stat().st_size > 0:
            return f"it is missing but its write-ahead log {log.name} is still there"
        return None
    if path.stat().st_size == 0:
        return "it is empty (0 bytes), so its data is gone"
    with path.open("rb") as database:
        header = database.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "it does not start with the SQLite header, so it is not a database any more"
    return None


def damaged_file_error(stage: str, path: Path, problem: str, *, fresh_start: str) -> StageError:
    """The error for a damaged file: which file, what is wrong, and the ways back.

    `fresh_start` says how to begin again without the backup (what to move aside, what to run).
    """
    return StageError(
        stage,
        f"{path} is damaged: {problem}. Glovebox changed nothing. To recover, "
        f"{RESTORE_ADVICE}; or {fresh_start}",
    )


CHROMA_FILE = "chroma.sqlite3"


def check_chroma_file(chroma_path: Path) -> None:
    """Refuses an embedded store whose chroma.sqlite3 is empty or not a database (Chroma would
    take an empty one for a new store and forget every knowledge base)."""
    path = chroma_path / CHROMA_FILE
    problem = sqlite_file_problem(path)
    if problem is not None:
        raise damaged_chroma(path, problem)


def damaged_chroma(path: Path, problem: str) -> StageError:
    return damaged_file_error(
        "knowledge store",
        path,
        problem,
        fresh_start=f"move {path.parent} aside and ingest your documents again "
        "(`glovebox ingest PATH --kb NAME`)",
    )
