"""The keyword index on disk: chunks in SQLite, snapshots of their postings beside them."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import ConfigurationError
from knowledge.filters import ChunkFilter
from knowledge.keywords.bm25 import IndexedChunk, IndexView, KeywordHit
from knowledge.keywords.postings import Postings, damaged_keyword_index, json_value
from knowledge.keywords.terms import indexed_terms

if TYPE_CHECKING:
    import numpy as np

    from knowledge.store import KnowledgeStore, StoredChunk

INDEX_FILE = "keywords.sqlite3"
SCHEMA_VERSION = 1
FILTER_FIELDS = ("audience", "vehicle_scope", "make", "model", "year_first", "year_last", "kind")
"""Metadata the assistant filters on, coded into every snapshot (others are read when asked)."""
COMPACT_MIN_CHANGES = 2000
COMPACT_CHANGED_SHARE = 0.1
ROWS_PER_READ = 500
"""Rows read back in one SQLite statement (under its limit on bound parameters)."""


class KeywordIndexFiles:
    """One knowledge base's keyword index; `directory=None` keeps it in memory (tests, evals)."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._lock = threading.RLock()
        self._database = self._connect()
        self._view: IndexView | None = None
        self._view_generation = -1
        self._memory_snapshot: Postings | None = None

    @classmethod
    def open(cls, directory: Path) -> KeywordIndexFiles:
        return cls(directory)

    @classmethod
    def in_memory(cls) -> KeywordIndexFiles:
        return cls(None)

    @property
    def directory(self) -> Path | None:
        return self._directory

    def _connect(self) -> sqlite3.Connection:
        if self._directory is None:
            database = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            self._directory.mkdir(parents=True, exist_ok=True)
            path = self._directory / INDEX_FILE
            database = sqlite3.connect(path, check_same_thread=False, timeout=60)
            try:
                database.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as error:
                raise damaged_keyword_index(path, str(error)) from error
        database.executescript(
            """
            CREATE TABLE IF NOT EXISTS chunks (
                row INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL UNIQUE,
                content_hash TEXT NOT NULL, metadata TEXT NOT NULL, text TEXT NOT NULL,
                terms TEXT NOT NULL, length INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS deleted (
                row INTEGER PRIMARY KEY, terms TEXT NOT NULL, length INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        version = self._state(database, "schema_version")
        if version is None:
            self._set_state(database, "schema_version", str(SCHEMA_VERSION))
            database.commit()
        elif version != str(SCHEMA_VERSION):
            raise ConfigurationError(
                f"the keyword index in {self._directory} has schema {version}, not "
                f"{SCHEMA_VERSION}; delete that folder and it is rebuilt from the knowledge base"
            )
        return database

    @staticmethod
    def _state(database: sqlite3.Connection, key: str) -> str | None:
        row = database.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _set_state(database: sqlite3.Connection, key: str, value: str) -> None:
        database.execute(
            "INSERT INTO state(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # What the index reflects --------------------------------------------------------------

    @property
    def revision(self) -> str | None:
        """The store's content revision this index was last brought up to."""
        return self._state(self._database, "revision")

    @property
    def generation(self) -> int:
        """Goes up with every write: a reader holding an older view reopens it."""
        return int(self._state(self._database, "generation") or 0)

    def reflects(self, store_revision: str) -> bool:
        """Whether the index holds what the store holds at this revision: its own, or the one
        an ingest announced before marking the store (the instant between the two)."""
        return store_revision in {self.revision, self._state(self._database, "pending_revision")}

    def announce_revision(self, revision: str) -> None:
        """An ingest has written its changes here and is about to give the store `revision`."""
        with self._lock, self._database as database:
            self._set_state(database, "pending_revision", revision)

    def confirm_revision(self, revision: str) -> None:
        """The store now has `revision`, and this index reflects it."""
        with self._lock, self._database as database:
            self._set_state(database, "revision", revision)
            database.execute("DELETE FROM state WHERE key = 'pending_revision'")
            self._bump_generation(database)

    def stored_hashes(self) -> dict[str, tuple[str, str]]:
        """Chunk id -> (content hash, metadata JSON) of every indexed chunk."""
        rows = self._database.execute("SELECT chunk_id, content_hash, metadata FROM chunks")
        return {chunk_id: (content_hash, metadata) for chunk_id, content_hash, metadata in rows}

    def chunk_outline(self, fields: Sequence[str]) -> list[tuple[str, list[Any]]]:
        """Chunk id and these metadata fields of every chunk, read inside SQLite (an ingest
        plans its removals from them without reading the whole store)."""
        columns = ", ".join("json_extract(metadata, ?)" for _ in fields)
        paths = [f'$."{field}"' for field in fields]
        found = self._database.execute(f"SELECT chunk_id, {columns} FROM chunks", paths)
        return [(row[0], list(row[1:])) for row in found]

    # Writing ------------------------------------------------------------------------------

    def apply(
        self,
        written: Iterable[IndexedChunk],
        deleted: Iterable[str],
        *,
        relabelled: Iterable[tuple[str, Mapping[str, Any]]] = (),
        revision: str | None = None,
    ) -> None:
        """Writes chunks (new or changed text), new metadata for others and removes deleted
        ones, in one transaction; with `revision`, records that the index now reflects it."""
        with self._lock, self._database:
            database = self._database
            for chunk_id in [*deleted, *(chunk.id for chunk in written)]:
                self._delete_row(database, chunk_id)
            database.executemany(
                "INSERT INTO chunks(chunk_id, content_hash, metadata, text, terms, length) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [_row_values(chunk) for chunk in written],
            )
            database.executemany(
                "UPDATE chunks SET metadata = ? WHERE chunk_id = ?",
                [
                    (json.dumps(dict(metadata), sort_keys=True), chunk_id)
                    for chunk_id, metadata in relabelled
                ],
            )
            if revision is not None:
                self._set_state(database, "revision", revision)
            self._bump_generation(database)

    def compact_if_needed(self) -> bool:
        """A new snapshot when enough changed since the last; an ingest calls it when done."""
        if not self._needs_compaction():
            return False
        self.compact()
        return True

    @staticmethod
    def _delete_row(database: sqlite3.Connection, chunk_id: str) -> None:
        row = database.execute(
            "SELECT row, terms, length FROM chunks WHERE chunk_id = ?", (chunk_id,)
        ).fetchone()
        if row is None:
            return
        database.execute("DELETE FROM chunks WHERE row = ?", (row[0],))
        snapshot_last = int(KeywordIndexFiles._state(database, "snapshot_last_row") or 0)
        if row[0] <= snapshot_last:  # the snapshot still scores it: remember to mask it out
            database.execute("INSERT OR REPLACE INTO deleted VALUES (?, ?, ?)", row)

    def _bump_generation(self, database: sqlite3.Connection) -> None:
        generation = int(self._state(database, "generation") or 0) + 1
        self._set_state(database, "generation", str(generation))

    def _needs_compaction(self) -> bool:
        changed, snapshot_rows = self._changes_since_snapshot()
        if changed == 0:
            return False
        return snapshot_rows == 0 or changed >= max(
            COMPACT_MIN_CHANGES, COMPACT_CHANGED_SHARE * snapshot_rows
        )

    def _changes_since_snapshot(self) -> tuple[int, int]:
        database = self._database
        last = int(self._state(database, "snapshot_last_row") or 0)
        added = database.execute("SELECT COUNT(*) FROM chunks WHERE row > ?", (last,)).fetchone()
        removed = database.execute("SELECT COUNT(*) FROM deleted").fetchone()
        return int(added[0]) + int(removed[0]), int(self._state(database, "snapshot_rows") or 0)

    def _read_postings(self, condition: str, parameters: Sequence[Any] = ()) -> Postings:
        """Postings and filter columns of the rows that match an SQL condition."""
        extracted = ", ".join(
            "json_extract(metadata, ?), json_type(metadata, ?)" for _ in FILTER_FIELDS
        )
        paths = [path for field in FILTER_FIELDS for path in (f'$."{field}"',) * 2]
        found = self._database.execute(
            f"SELECT row, terms, {extracted} FROM chunks WHERE {condition} ORDER BY row",
            [*paths, *parameters],
        ).fetchall()
        columns = {
            field: [json_value(row[2 + 2 * i], row[3 + 2 * i]) for row in found]
            for i, field in enumerate(FILTER_FIELDS)
        }
        return Postings.build([row[0] for row in found], [row[1] for row in found], columns)

    def compact(self) -> None:
        """Writes every chunk's postings into a new snapshot; the delta and tombstones empty."""
        with self._lock:
            postings = self._read_postings("1")
            rows = postings.rows
            generation = int(self._state(self._database, "generation") or 0) + 1
            stored = postings.save(self._snapshot_path(generation))
            with self._database as database:
                last = int(rows[-1]) if len(rows) else 0
                previous = self._state(database, "snapshot_generation")
                self._set_state(database, "snapshot_last_row", str(last))
                self._set_state(database, "snapshot_rows", str(len(rows)))
                self._set_state(database, "snapshot_generation", str(generation))
                self._set_state(database, "generation", str(generation))
                database.execute("DELETE FROM deleted")
            if stored is None:
                self._memory_snapshot = postings
            elif previous is not None and previous != str(generation):
                shutil.rmtree(stored.with_name(f"snapshot-{int(previous):06d}"), ignore_errors=True)

    def _snapshot_path(self, generation: int) -> Path | None:
        if self._directory is None:
            return None
        return self._directory / f"snapshot-{generation:06d}"

    # Reading ------------------------------------------------------------------------------

    def view(self) -> IndexView:
        """The index as of its latest write (reopened only when another write happened)."""
        generation = self.generation
        view = self._view
        if view is not None and generation == self._view_generation:
            return view
        with self._lock:
            generation = self.generation
            if self._view is None or generation != self._view_generation:
                self._view = self._load_view()
                self._view_generation = generation
            return self._view

    def _load_view(self) -> IndexView:
        database = self._database
        snapshot = self._load_snapshot()
        last = int(self._state(database, "snapshot_last_row") or 0)
        delta = self._read_postings("row > ?", (last,))
        tombstones = database.execute("SELECT row, terms FROM deleted").fetchall()
        return IndexView(self, snapshot, delta, tombstones)

    def _load_snapshot(self) -> Postings | None:
        for attempt in range(2):
            generation = self._state(self._database, "snapshot_generation")
            if generation is None:
                return None
            path = self._snapshot_path(int(generation))
            if path is None:
                return self._memory_snapshot
            try:
                return Postings.load(path)
            except ConfigurationError:
                if attempt:  # not an ingest that replaced the snapshot as it was read
                    raise
        return None

    def chunks(self, rows: Sequence[int]) -> dict[int, IndexedChunk]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self._database.execute(
            "SELECT row, chunk_id, content_hash, metadata, text FROM chunks "
            f"WHERE row IN ({marks})",
            list(rows),
        )
        return {
            row: IndexedChunk(chunk_id, content_hash, json.loads(metadata), text)
            for row, chunk_id, content_hash, metadata, text in found
        }

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, IndexedChunk]:
        """The chunks of these ids that the index holds."""
        found: dict[str, IndexedChunk] = {}
        for start in range(0, len(ids), ROWS_PER_READ):
            batch = list(ids[start : start + ROWS_PER_READ])
            marks = ",".join("?" * len(batch))
            for chunk_id, content_hash, metadata, text in self._database.execute(
                "SELECT chunk_id, content_hash, metadata, text FROM chunks "
                f"WHERE chunk_id IN ({marks})",
                batch,
            ):
                found[chunk_id] = IndexedChunk(chunk_id, content_hash, json.loads(metadata), text)
        return found

    def find(self, where: ChunkFilter | None) -> list[IndexedChunk]:
        """Every chunk `where` admits, with its text, in the order they were indexed: a
        metadata lookup (a vehicle's recall notices) that never reads the vector store."""
        found: list[IndexedChunk] = []
        for rows in self._matching_row_batches(where):
            chunks = self.chunks(rows)
            found += [chunks[row] for row in rows if row in chunks]
        return found

    def admitted_ids(self, where: ChunkFilter | None) -> list[str]:
        """The ids of every chunk `where` admits, in row order (texts not read)."""
        found: list[str] = []
        for rows in self._matching_row_batches(where):
            marks = ",".join("?" * len(rows))
            query = f"SELECT chunk_id FROM chunks WHERE row IN ({marks}) ORDER BY row"
            found += [chunk_id for (chunk_id,) in self._database.execute(query, rows)]
        return found

    def _matching_row_batches(self, where: ChunkFilter | None) -> Iterator[list[int]]:
        rows = [int(row) for row in self.view().matching_rows(where)]
        for start in range(0, len(rows), ROWS_PER_READ):
            yield rows[start : start + ROWS_PER_READ]

    def latest_value(self, field: str, where: ChunkFilter | None) -> Any:
        """The greatest value of one metadata field among the chunks `where` admits (None
        when none has it): an ISO date's 'as of', read as one column."""
        values = self.metadata_column(field, self.view().matching_rows(where))
        present = [value for value in values if value not in (None, "")]
        return max(present, key=str) if present else None

    def distinct_metadata(self, fields: Sequence[str]) -> list[tuple[dict[str, Any], int]]:
        """Each distinct combination of these metadata fields among the chunks, with how many
        chunks have it (the vehicle catalogue reads make, model and years this way instead of
        every chunk, and the counts tell it which model names are mostly other words)."""
        columns = ", ".join("json_extract(metadata, ?)" for _ in fields)
        paths = [f'$."{field}"' for field in fields]
        groups = ", ".join(str(number) for number in range(1, len(fields) + 1))
        found = self._database.execute(
            f"SELECT {columns}, COUNT(*) FROM chunks GROUP BY {groups}", paths
        )
        return [(dict(zip(fields, row[:-1], strict=True)), row[-1]) for row in found]

    def metadata_column(self, field: str, rows: np.ndarray) -> list[Any]:
        """One metadata field of these rows, in their order (None where it is missing)."""
        values: dict[int, Any] = {}
        if not len(rows):
            return []
        query = (
            "SELECT row, json_extract(metadata, ?), json_type(metadata, ?) FROM chunks "
            "WHERE row BETWEEN ? AND ?"
        )
        path = f'$."{field}"'
        bounds = (int(rows.min()), int(rows.max()))
        for row, value, kind in self._database.execute(query, (path, path, *bounds)):
            values[row] = json_value(value, kind)
        return [values.get(int(row)) for row in rows]

    def search(
        self, weights: Mapping[str, float], *, where: ChunkFilter | None, k: int
    ) -> list[KeywordHit]:
        return self.view().search(weights, where=where, k=k)

    def document_frequencies(self) -> Counter[str]:
        return self.view().document_frequencies()

    def count(self) -> int:
        return self.view().documents


def _row_values(chunk: IndexedChunk) -> tuple[str, str, str, str, str, int]:
    terms = indexed_terms(chunk.metadata, chunk.text)
    metadata = json.dumps(chunk.metadata, sort_keys=True)
    return chunk.id, chunk.content_hash, metadata, chunk.text, " ".join(terms), len(terms)


CATCH_UP_PAGE = 500


def catch_up(index: KeywordIndexFiles, store: KnowledgeStore, *, force: bool = False) -> bool:
    """Brings the index up to the store when something else changed the store (a restore,
    an older ingest, another machine's ingest on a shared Chroma server): only the chunks
    whose content hash or metadata differ are read. False when it was already current.

    `force` compares even at the same revision: an ingest cut off between its store write
    and its index write left the revision as it was."""
    revision = store.content_revision
    if index.reflects(revision) and not force:
        return False
    indexed = index.stored_hashes()
    wanted: dict[str, StoredChunk] = {chunk.id: chunk for chunk in store.iter_chunks()}
    changed: list[str] = []
    relabelled: list[tuple[str, dict[str, Any]]] = []
    for chunk_id, chunk in wanted.items():
        known = indexed.get(chunk_id)
        if known is None or not chunk.content_hash or known[0] != chunk.content_hash:
            changed.append(chunk_id)
        elif known[1] != json.dumps(chunk.metadata, sort_keys=True):
            relabelled.append((chunk_id, chunk.metadata))
    written = [
        IndexedChunk(chunk.id, chunk.content_hash, chunk.metadata, text)
        for start in range(0, len(changed), CATCH_UP_PAGE)
        for chunk, text in store.get_chunks(changed[start : start + CATCH_UP_PAGE])
    ]
    deleted = [chunk_id for chunk_id in indexed if chunk_id not in wanted]
    index.apply(written, deleted, relabelled=relabelled, revision=revision)
    index.compact_if_needed()
    return True
