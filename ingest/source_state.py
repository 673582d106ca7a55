"""What ingest last made of each source file, so that an unchanged file is neither parsed nor
chunked again (SQLite beside the near-duplicate index, in the knowledge base's state folder)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import ConfigurationError

STATE_FILE_NAME = "source_files.sqlite3"
LOADERS_VERSION = 1
"""Bump when a loader or the chunker would make other documents or chunks of the same file."""

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL, documents TEXT NOT NULL);
"""


@dataclass(frozen=True)
class RecordedDocument:
    """A document a file produced, as far as the next ingest needs it without parsing."""

    id: str
    source_file: str
    line: int | None
    names: tuple[str, ...]
    """What a `supersedes` entry can name it by: its id, and its bulletin number if any."""
    supersedes: tuple[str, ...]
    chunks: dict[str, str]
    """Chunk id -> the chunk it nearly repeats ("" for none); empty when it was superseded."""


@dataclass(frozen=True)
class RecordedFile:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    fingerprint: str
    documents: tuple[RecordedDocument, ...]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(settings: Mapping[str, Any]) -> str:
    """One hash of everything besides a file's bytes that decides its documents and chunks."""
    payload = json.dumps({"loaders": LOADERS_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


class SourceState:
    """The files of one knowledge base's last ingests, and the store revision they left.

    state = SourceState.open(state_dir / STATE_FILE_NAME)
    if state.revision == store.content_revision: ...  # nobody else changed the store
    """

    def __init__(self, connection: sqlite3.Connection, shown: str, existed: bool) -> None:
        self._db = connection
        self._shown = shown
        self.existed = existed
        """False when the file was missing (a first ingest, or someone deleted it)."""

    @classmethod
    def open(cls, path: Path | None) -> SourceState:
        """The state in `path` (created if missing), or one in memory for None (a dry run)."""
        shown = str(path) if path is not None else ":memory:"
        existed = path is not None and path.exists()
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(shown)
            connection.executescript(SCHEMA)
            state = cls(connection, shown, existed)
            state._check_schema()
        except sqlite3.DatabaseError as error:
            raise cls._damaged(shown, str(error)) from error
        return state

    @staticmethod
    def _damaged(shown: str, problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"the source-file state {shown} cannot be read ({problem}); it holds only what "
            "ingest derives from the sources and the store: delete the file and run "
            "`glovebox ingest` again (that run parses every file)"
        )

    def _check_schema(self) -> None:
        version = self._value("schema_version")
        if version is None:
            self._db.execute("INSERT INTO state VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            self._db.commit()
        elif version != SCHEMA_VERSION:
            raise self._damaged(self._shown, "it was written by another Glovebox version")

    def _value(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def revision(self) -> str | None:
        """The store's content revision after the last ingest that wrote this state."""
        return self._value("store_revision")

    def files(self) -> dict[str, RecordedFile]:
        try:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, sha256, fingerprint, documents FROM files"
            ).fetchall()
            return {row[0]: _recorded_file(row) for row in rows}
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as error:
            raise self._damaged(self._shown, str(error)) from error

    def record(self, files: Iterable[RecordedFile], forget: Iterable[str], revision: str) -> None:
        """Writes these files, drops those paths, and notes the store revision, in one go."""
        with self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in forget))
            self._db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (f.path, f.size, f.mtime_ns, f.sha256, f.fingerprint, _documents_json(f))
                    for f in files
                ),
            )
            self._db.execute(
                "INSERT OR REPLACE INTO state VALUES ('store_revision', ?)", (revision,)
            )

    def close(self) -> None:
        self._db.close()


def _documents_json(file: RecordedFile) -> str:
    return json.dumps(
        [
            {
                "id": d.id,
                "source_file": d.source_file,
                "line": d.line,
                "names": list(d.names),
                "supersedes": list(d.supersedes),
                "chunks": d.chunks,
            }
            for d in file.documents
        ]
    )


def _recorded_file(row: tuple[Any, ...]) -> RecordedFile:
    path, size, mtime_ns, sha256, file_fingerprint, documents = row
    return RecordedFile(
        path,
        int(size),
        int(mtime_ns),
        str(sha256),
        str(file_fingerprint),
        tuple(
            RecordedDocument(
                str(d["id"]),
                str(d["source_file"]),
                d["line"],
                tuple(d["names"]),
                tuple(d["supersedes"]),
                dict(d["chunks"]),
            )
            for d in json.loads(documents)
        ),
    )
