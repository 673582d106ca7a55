"""The keyword index: BM25 over a knowledge base's chunks, kept on disk beside it.

Ingest writes it as it writes the store; a server opens it in milliseconds instead of reading
every chunk back. Scores are Okapi BM25 (rank_bm25's `BM25Okapi`: k1 1.5, b 0.75, negative IDF
floored at a quarter of the mean), computed at query time from term frequencies, so a change
needs no recomputation of the rest:

- the chunks live in SQLite (`keywords.sqlite3`): id, content hash, metadata, text and terms;
- the postings of most of them live in a snapshot, numpy arrays opened by memory map;
- rows written since the snapshot are scored from a small in-memory delta, and rows deleted
  since are masked out, until enough change has piled up to write a new snapshot.

Filters (`knowledge.filters`) are evaluated as numpy masks over columns of the metadata.

    index = KeywordIndexFiles.open(settings.kb_state_dir("default") / "keywords")
    index.search({"tpms": 1.0, "reset": 1.0}, where=None, k=10)
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import ConfigurationError
from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf

if TYPE_CHECKING:
    import numpy as np

    CodedColumn = tuple[np.ndarray, list[tuple[str, Any]]]

    from knowledge.store import KnowledgeStore, StoredChunk

TOKEN = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it its me my of on or our "
    "should so that the their there this to was what when where which who why will with you "
    "your".split()
)
INDEXED_FIELDS = ("title", "section", "campaign_number", "campaign_short", "bulletin_number")
INDEXED_LIST_FIELDS = ("fault_codes", "part_numbers")
K1 = 1.5
B = 0.75
EPSILON = 0.25
INDEX_FILE = "keywords.sqlite3"
SCHEMA_VERSION = 1
FILTER_FIELDS = ("audience", "vehicle_scope", "make", "model", "year_first", "year_last", "kind")
"""Metadata the assistant filters on, coded into every snapshot (others are read when asked)."""
COMPACT_MIN_CHANGES = 2000
COMPACT_CHANGED_SHARE = 0.1


def keyword_tokens(text: str) -> list[str]:
    """Lowercase words and codes. '24V-210', 'P0420' and 'HV-45022-KR2-A00' stay whole too."""
    tokens: list[str] = []
    for token in TOKEN.findall(text.lower()):
        if token in STOPWORDS:
            continue
        tokens.append(token)
        if "-" in token or "." in token or "/" in token:
            tokens.extend(part for part in re.split(r"[-./]", token) if part)
            tokens.append(re.sub(r"[-./]", "", token))
    return tokens


def indexed_terms(metadata: Mapping[str, Any], text: str) -> list[str]:
    """What a chunk is found by: its title, section and codes as well as its text."""
    extras = [str(metadata.get(key, "")) for key in INDEXED_FIELDS]
    for key in INDEXED_LIST_FIELDS:
        value = metadata.get(key)
        if isinstance(value, list):
            extras.extend(str(item) for item in value)
    return keyword_tokens(" ".join([*extras, text]))


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the keyword index keeps it."""

    id: str
    content_hash: str
    metadata: dict[str, Any]
    text: str


@dataclass(frozen=True)
class KeywordHit:
    chunk: IndexedChunk
    score: float


class KeywordIndexFiles:
    """One knowledge base's keyword index; `directory=None` keeps it in memory (tests, evals)."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._lock = threading.RLock()
        self._database = self._connect()
        self._view: _IndexView | None = None
        self._view_generation = -1
        self._memory_snapshot: _Postings | None = None

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

    def _read_postings(self, condition: str, parameters: Sequence[Any] = ()) -> _Postings:
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
            field: [_json_value(row[2 + 2 * i], row[3 + 2 * i]) for row in found]
            for i, field in enumerate(FILTER_FIELDS)
        }
        return _Postings.build([row[0] for row in found], [row[1] for row in found], columns)

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

    def view(self) -> _IndexView:
        """The index as of its latest write (reopened only when another write happened)."""
        generation = int(self._state(self._database, "generation") or 0)
        view = self._view
        if view is not None and generation == self._view_generation:
            return view
        with self._lock:
            generation = int(self._state(self._database, "generation") or 0)
            if self._view is None or generation != self._view_generation:
                self._view = self._load_view()
                self._view_generation = generation
            return self._view

    def _load_view(self) -> _IndexView:
        database = self._database
        snapshot = self._load_snapshot()
        last = int(self._state(database, "snapshot_last_row") or 0)
        delta = self._read_postings("row > ?", (last,))
        tombstones = database.execute("SELECT row, terms FROM deleted").fetchall()
        return _IndexView(self, snapshot, delta, tombstones)

    def _load_snapshot(self) -> _Postings | None:
        for attempt in range(2):
            generation = self._state(self._database, "snapshot_generation")
            if generation is None:
                return None
            path = self._snapshot_path(int(generation))
            if path is None:
                return self._memory_snapshot
            try:
                return _Postings.load(path)
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

    def distinct_metadata(self, fields: Sequence[str]) -> list[dict[str, Any]]:
        """Each distinct combination of these metadata fields among the chunks (the vehicle
        catalogue reads make, model and years this way instead of every chunk)."""
        columns = ", ".join("json_extract(metadata, ?)" for _ in fields)
        paths = [f'$."{field}"' for field in fields]
        found = self._database.execute(f"SELECT DISTINCT {columns} FROM chunks", paths)
        return [dict(zip(fields, row, strict=True)) for row in found]

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
            values[row] = _json_value(value, kind)
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


def _json_value(value: Any, kind: str | None) -> Any:
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in {"array", "object"}:
        return _Unmatchable()
    return value


class _Unmatchable:
    """A list or object in metadata: equal to no filter value (as `matches` decides)."""


def damaged_keyword_index(path: Path, detail: str) -> ConfigurationError:
    return ConfigurationError(
        f"the keyword index {path} is damaged ({detail}); it holds nothing the knowledge base "
        f"does not: delete the folder {path.parent} and it is rebuilt from the knowledge base"
    )


class _Postings:
    """Term frequencies of some rows, by term: the compressed-column layout BM25 sums over."""

    def __init__(
        self,
        rows: np.ndarray,
        lengths: np.ndarray,
        vocabulary: dict[str, int],
        pointers: np.ndarray,
        documents: np.ndarray,
        frequencies: np.ndarray,
        columns: dict[str, CodedColumn] | None = None,
    ) -> None:
        self.columns = columns or {}
        """Filter fields, coded: field -> (codes, the typed value of each code)."""
        self.rows = rows
        self.lengths = lengths
        self.vocabulary = vocabulary
        self.pointers = pointers
        self.documents = documents
        self.frequencies = frequencies

    @classmethod
    def build(
        cls,
        rows: Sequence[int],
        terms: Sequence[str],
        columns: Mapping[str, list[Any]] | None = None,
    ) -> _Postings:
        import numpy as np

        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        document_ids: list[int] = []
        lengths = np.zeros(len(rows), dtype=np.int32)
        for position, text in enumerate(terms):
            words = text.split()
            lengths[position] = len(words)
            for word, _ in Counter(words).items():
                term_ids.append(vocabulary.setdefault(word, len(vocabulary)))
                document_ids.append(position)
        counts = [count for text in terms for count in Counter(text.split()).values()]
        term_array = np.asarray(term_ids, dtype=np.int32)
        order = np.argsort(term_array, kind="stable")
        pointers = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_array, minlength=len(vocabulary)), out=pointers[1:])
        return cls(
            np.asarray(rows, dtype=np.int64),
            lengths,
            vocabulary,
            pointers,
            np.asarray(document_ids, dtype=np.int32)[order],
            np.asarray(counts, dtype=np.float32)[order],
            {field: coded(values) for field, values in (columns or {}).items()},
        )

    def save(self, path: Path | None) -> Path | None:
        import numpy as np

        if path is None:
            return None
        temporary = path.with_name(path.name + ".tmp")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        for name in ("rows", "lengths", "pointers", "documents", "frequencies"):
            np.save(temporary / f"{name}.npy", getattr(self, name))
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (temporary / "terms.txt").write_text("\n".join(terms), encoding="utf-8")
        for field, (codes, _) in self.columns.items():
            np.save(temporary / f"codes-{field}.npy", codes)
        dictionaries = {field: values for field, (_, values) in self.columns.items()}
        (temporary / "columns.json").write_text(json.dumps(dictionaries), encoding="utf-8")
        temporary.rename(path)
        return path

    @classmethod
    def load(cls, path: Path) -> _Postings:
        import numpy as np

        try:
            arrays = {
                name: np.load(path / f"{name}.npy", mmap_mode="r")
                for name in ("rows", "lengths", "pointers", "documents", "frequencies")
            }
            terms = (path / "terms.txt").read_text(encoding="utf-8").split("\n")
            dictionaries = json.loads((path / "columns.json").read_text(encoding="utf-8"))
            columns = {
                field: (
                    np.load(path / f"codes-{field}.npy", mmap_mode="r"),
                    [(kind, value) for kind, value in values],
                )
                for field, values in dictionaries.items()
            }
        except (OSError, ValueError) as error:
            raise damaged_keyword_index(path / "terms.txt", str(error)) from error
        vocabulary = {term: index for index, term in enumerate(terms) if term}
        return cls(vocabulary=vocabulary, columns=columns, **arrays)

    def document_frequency(self) -> np.ndarray:
        import numpy as np

        return np.diff(self.pointers)


class _IndexView:
    """The index at one generation: snapshot plus delta minus tombstones, with BM25's statistics."""

    def __init__(
        self,
        files: KeywordIndexFiles,
        snapshot: _Postings | None,
        delta: _Postings,
        tombstones: list[tuple[int, str]],
    ) -> None:
        import numpy as np

        self._files = files
        self._parts = [part for part in (snapshot, delta) if part is not None]
        dead = np.asarray(sorted(row for row, _ in tombstones), dtype=np.int64)
        self._alive = [~np.isin(part.rows, dead) for part in self._parts]
        removed = Counter(word for _, terms in tombstones for word in set(terms.split()))
        frequency: Counter[str] = Counter()
        for part in self._parts:
            counts = part.document_frequency()
            for term, index in part.vocabulary.items():
                frequency[term] += int(counts[index])
        frequency.subtract(removed)
        self._frequency = +frequency
        removed_length = sum(len(terms.split()) for _, terms in tombstones)
        self.documents = sum(len(part.rows) for part in self._parts) - len(tombstones)
        total_length = sum(int(part.lengths.sum()) for part in self._parts) - removed_length
        self._average_length = total_length / self.documents if self.documents else 1.0
        self._idf_floor = EPSILON * self._mean_idf()
        self._masks: dict[str, list[np.ndarray]] = {}
        self._length_norms: dict[int, np.ndarray] = {}
        self._columns = [_FilterColumns(files, part) for part in self._parts]

    def _mean_idf(self) -> float:
        if not self._frequency:
            return 0.0
        total = sum(
            math.log(self.documents - df + 0.5) - math.log(df + 0.5)
            for df in self._frequency.values()
        )
        return total / len(self._frequency)

    def idf(self, term: str) -> float:
        df = self._frequency.get(term, 0)
        if df == 0:
            return 0.0
        value = math.log(self.documents - df + 0.5) - math.log(df + 0.5)
        return value if value >= 0 else self._idf_floor

    def document_frequencies(self) -> Counter[str]:
        return Counter(self._frequency)

    def warm(self, where: ChunkFilter) -> None:
        """Computes this filter's mask and codes the vehicle columns, before a first question."""
        self._mask(where)
        for columns in self._columns:
            for field in ("make", "model", "vehicle_scope"):
                columns.code_column(field)
            for field in ("year_first", "year_last"):
                columns.number_column(field)

    def search(
        self, weights: Mapping[str, float], *, where: ChunkFilter | None, k: int
    ) -> list[KeywordHit]:
        import numpy as np

        candidates: list[tuple[np.ndarray, np.ndarray]] = []
        masks = self._mask(where) if where is not None else None
        for index, part in enumerate(self._parts):
            scores = self._part_scores(part, weights)
            keep = (scores > 0) & self._alive[index]
            if masks is not None:
                keep &= masks[index]
            chosen = np.flatnonzero(keep)
            candidates.append((part.rows[chosen], scores[chosen]))
        rows = np.concatenate([rows for rows, _ in candidates]) if candidates else np.array([])
        scores = np.concatenate([s for _, s in candidates]) if candidates else np.array([])
        if not len(rows):
            return []
        top = np.argpartition(-scores, k)[:k] if len(rows) > k else np.arange(len(rows))
        top = top[np.lexsort((-rows[top], -scores[top]))]  # ties: the later row first
        chosen_rows = [int(row) for row in rows[top]]
        chunks = self._files.chunks(chosen_rows)
        return [
            KeywordHit(chunks[row], float(score))
            for row, score in zip(chosen_rows, scores[top], strict=True)
            if row in chunks
        ]

    def _part_scores(self, part: _Postings, weights: Mapping[str, float]) -> np.ndarray:
        import numpy as np

        scores = np.zeros(len(part.rows), dtype=np.float64)
        norm = self._length_norms.get(id(part))
        if norm is None:
            lengths = np.asarray(part.lengths, dtype=np.float64)
            norm = self._length_norms[id(part)] = K1 * (1 - B + B * lengths / self._average_length)
        for term, weight in weights.items():
            term_id = part.vocabulary.get(term)
            if term_id is None or weight == 0:
                continue
            start, end = int(part.pointers[term_id]), int(part.pointers[term_id + 1])
            documents = part.documents[start:end]
            frequency = np.asarray(part.frequencies[start:end], dtype=np.float64)
            gain = weight * self.idf(term) * frequency * (K1 + 1) / (frequency + norm[documents])
            np.add.at(scores, documents, gain)
        return scores

    def _mask(self, where: ChunkFilter) -> list[np.ndarray]:
        key = repr(where)  # Equals("f", True) == Equals("f", 1), but they select differently
        masks = self._masks.get(key)
        if masks is None:
            masks = [columns.mask(where) for columns in self._columns]
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = masks
        return masks


class _FilterColumns:
    """Metadata fields of some rows as numpy columns (each value coded once per view), so a
    filter is a few vectorised comparisons, however many rows there are."""

    def __init__(self, files: KeywordIndexFiles, part: _Postings) -> None:
        self._files = files
        self._rows = part.rows
        self._codes: dict[str, tuple[np.ndarray, dict[tuple[str, Any], int]]] = {
            field: (codes, {key: code for code, key in enumerate(values)})
            for field, (codes, values) in part.columns.items()
        }
        self._numbers: dict[str, np.ndarray] = {}

    def mask(self, where: ChunkFilter) -> np.ndarray:
        import numpy as np

        match where:
            case AllOf(filters):
                return np.logical_and.reduce([self.mask(part) for part in filters])
            case AnyOf(filters):
                return np.logical_or.reduce([self.mask(part) for part in filters])
            case Equals(field, value):
                return self._equal_to(field, (value,))
            case OneOf(field, values):
                return self._equal_to(field, values)
            case AtMost(field, value):
                return self.number_column(field) <= value
            case AtLeast(field, value):
                return self.number_column(field) >= value
        raise TypeError(f"not a chunk filter: {where!r}")

    def code_column(self, field: str) -> tuple[np.ndarray, dict[tuple[str, Any], int]]:

        if field not in self._codes:
            codes, values = coded(self._files.metadata_column(field, self._rows))
            self._codes[field] = (codes, {key: code for code, key in enumerate(values)})
        return self._codes[field]

    def _equal_to(self, field: str, wanted: Sequence[Any]) -> np.ndarray:
        import numpy as np

        codes, dictionary = self.code_column(field)
        chosen = [dictionary[key] for key in map(_typed, wanted) if key in dictionary]
        return np.isin(codes, np.asarray(chosen, dtype=np.int32))

    def number_column(self, field: str) -> np.ndarray:
        import numpy as np

        if field not in self._numbers:
            if field in self._codes:  # from the coded column: no read at all
                codes, dictionary = self._codes[field]
                numbers_by_code = np.full(len(dictionary) + 1, np.nan)
                for (kind, value), code in dictionary.items():
                    if kind == "number":
                        numbers_by_code[code] = float(value)
                self._numbers[field] = numbers_by_code[codes]
                return self._numbers[field]
            values = self._files.metadata_column(field, self._rows)
            self._numbers[field] = np.fromiter(
                (
                    float(value)
                    if isinstance(value, int | float) and not isinstance(value, bool)
                    else np.nan
                    for value in values
                ),
                dtype=np.float64,
                count=len(values),
            )
        return self._numbers[field]


def coded(values: Sequence[Any]) -> CodedColumn:
    """A column as codes and the typed value each code stands for."""
    import numpy as np

    dictionary: dict[tuple[str, Any], int] = {}
    codes = np.fromiter(
        (dictionary.setdefault(_typed(value), len(dictionary)) for value in values),
        dtype=np.int32,
        count=len(values),
    )
    return codes, list(dictionary)


def _typed(value: Any) -> tuple[str, Any]:
    """A value with its kind, so True never equals 1 and a list equals nothing."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("text", value)
    return ("unmatchable", None)


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


def open_keyword_index(directory: Path, store: KnowledgeStore) -> KeywordIndexFiles:
    """The keyword index in `directory`, brought up to the store if it is behind."""
    index = KeywordIndexFiles.open(directory)
    catch_up(index, store)
    return index
