"""Near-duplicate chunks: the same passage copied into several documents, found with MinHash.

The MinHash bands of every distinct chunk text live in a SQLite index beside the knowledge
base, so an ingest signs and compares only the texts that are new; chunks with the same text
share one entry and cost one dictionary look-up each.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.errors import ConfigurationError
from knowledge.records import Chunk

SHINGLE_WORDS = 3
MIN_WORDS = 8
BANDS = 16
ROWS_PER_BAND = 2
MERSENNE_PRIME = (1 << 61) - 1
_SEEDED = np.random.default_rng(20261124)
_PERMUTATION_A = _SEEDED.integers(1, MERSENNE_PRIME, BANDS * ROWS_PER_BAND, dtype=np.uint64)
_PERMUTATION_B = _SEEDED.integers(0, MERSENNE_PRIME, BANDS * ROWS_PER_BAND, dtype=np.uint64)
SHINGLE_CACHE_TEXTS = 50_000
INDEX_FILE_NAME = "near_duplicates.sqlite3"
INDEX_LAYOUT = f"1 shingles={SHINGLE_WORDS} min_words={MIN_WORDS} bands={BANDS}x{ROWS_PER_BAND}"

SCHEMA = """
CREATE TABLE IF NOT EXISTS index_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS texts (
    id INTEGER PRIMARY KEY,  -- the order texts were indexed in: a text repeats only earlier ones
    text_key BLOB NOT NULL UNIQUE,
    parent INTEGER,  -- the earlier text it nearly repeats, if any
    similarity REAL,
    shingles BLOB  -- sorted uint64 shingle hashes; NULL for a text too short to compare
);
CREATE INDEX IF NOT EXISTS texts_by_parent ON texts (parent);
CREATE TABLE IF NOT EXISTS bands (bucket INTEGER NOT NULL, text_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bands_by_bucket ON bands (bucket);
CREATE INDEX IF NOT EXISTS bands_by_text ON bands (text_id);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    text_id INTEGER NOT NULL,
    seq INTEGER NOT NULL  -- the order chunks were indexed in: the first copy is the original
);
"""


@dataclass(frozen=True)
class NearDuplicate:
    chunk_id: str
    duplicate_of: str
    similarity: float
    """Jaccard similarity of the two chunks' word 3-grams."""


def shingles(text: str) -> set[int]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    if len(words) < MIN_WORDS:
        return set()
    return {
        int.from_bytes(
            hashlib.blake2b(" ".join(words[i : i + SHINGLE_WORDS]).encode(), digest_size=7).digest()
        )
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def _signature(shingle_set: np.ndarray) -> np.ndarray:
    # (a*x + b) mod p with uint64 wrap-around is a fine hash family for banding purposes.
    hashed = (
        shingle_set[:, None] * _PERMUTATION_A[None, :] + _PERMUTATION_B[None, :]
    ) % MERSENNE_PRIME
    return np.asarray(hashed.min(axis=0))


def _buckets(shingle_set: np.ndarray) -> list[int]:
    signature = _signature(shingle_set)
    return [
        int.from_bytes(
            hashlib.blake2b(
                bytes([band])
                + signature[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND].tobytes(),
                digest_size=8,
            ).digest(),
            signed=True,
        )
        for band in range(BANDS)
    ]


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@dataclass
class _Text:
    parent: int | None
    similarity: float | None
    comparable: bool
    """Long enough to have shingles (MIN_WORDS words)."""


class NearDuplicateIndex:
    """MinHash LSH over every chunk text of a knowledge base, kept in SQLite between ingests.

    `sync` tells it the chunks the store will hold; it signs and compares only texts it has not
    seen, drops chunks that are gone, and answers which chunks nearly repeat an earlier one.
    "Earlier" is the order chunks entered the index (ids in order within one ingest), so a new
    document never turns a chunk that was an original into a duplicate.

        with NearDuplicateIndex.open(state_dir / INDEX_FILE_NAME, 0.8) as index:
            duplicates = index.sync({chunk.id: chunk.text for chunk in chunks})
            index.commit()
    """

    def __init__(self, connection: sqlite3.Connection, min_similarity: float, shown: str) -> None:
        self._db = connection
        self._min_similarity = min_similarity
        self._shown = shown
        self.texts_signed = 0
        """Texts shingled and compared by the last `sync` (the work an unchanged ingest skips)."""
        self._shingle_cache: dict[int, np.ndarray] = {}
        self._unwritten_bands: defaultdict[int, list[int]] = defaultdict(list)
        """Bands of texts added by this sync, written in one go at its end."""

    @classmethod
    def open(cls, path: Path | None, min_similarity: float) -> NearDuplicateIndex:
        """The index in `path` (created if missing), or a throwaway one in memory for None."""
        shown = str(path) if path is not None else ":memory:"
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(shown, isolation_level=None)
            connection.executescript(SCHEMA)
            connection.execute("BEGIN")
            index = cls(connection, min_similarity, shown)
            index._reset_if_built_otherwise()
        except sqlite3.DatabaseError as error:
            raise cls._damaged(shown, error) from error
        return index

    @staticmethod
    def _damaged(shown: str, error: sqlite3.DatabaseError) -> ConfigurationError:
        return ConfigurationError(
            f"the near-duplicate index {shown} cannot be read ({error}); it holds only what "
            "ingest derives from the sources: delete the file and run `glovebox ingest` again "
            "to rebuild it"
        )

    def __enter__(self) -> NearDuplicateIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def commit(self) -> None:
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def close(self) -> None:
        """Closes the index; whatever `sync` changed since the last `commit` is dropped."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._db.close()

    def _reset_if_built_otherwise(self) -> None:
        wanted = {"layout": INDEX_LAYOUT, "min_similarity": repr(self._min_similarity)}
        stored = dict(self._db.execute("SELECT name, value FROM index_settings").fetchall())
        if stored == wanted:
            return
        # Built with other settings: its answers mean something else, so it starts over.
        for table in ("texts", "bands", "chunks", "index_settings"):
            self._db.execute(f"DELETE FROM {table}")
        self._db.executemany("INSERT INTO index_settings VALUES (?, ?)", wanted.items())

    def sync(
        self,
        texts: dict[str, str],
        kept: Collection[str] = (),
        fetch_texts: Callable[[Sequence[str]], dict[str, str]] | None = None,
        also_report: Collection[str] = (),
    ) -> list[NearDuplicate]:
        """Brings the index to exactly these chunks; returns the near duplicates among `texts`
        (and among the `kept` chunks in `also_report`).

        `texts` are the chunks (id: text) of the documents being ingested; `kept` the ids of
        other chunks the store keeps, whose texts `fetch_texts` gives where the index lacks
        them. Every other indexed chunk is dropped.
        """
        try:
            return self._sync(texts, kept, fetch_texts, also_report)
        except sqlite3.DatabaseError as error:
            raise self._damaged(self._shown, error) from error

    def _sync(
        self,
        texts: dict[str, str],
        kept: Collection[str],
        fetch_texts: Callable[[Sequence[str]], dict[str, str]] | None,
        also_report: Collection[str] = (),
    ) -> list[NearDuplicate]:
        self.texts_signed = 0
        members = {
            chunk_id: (text_id, seq)
            for chunk_id, text_id, seq in self._db.execute(
                "SELECT chunk_id, text_id, seq FROM chunks"
            )
        }
        rows = self._db.execute(
            "SELECT id, text_key, parent, similarity, shingles IS NOT NULL FROM texts"
        )
        known: dict[int, _Text] = {}
        id_of_key: dict[bytes, int] = {}
        for text_id, key, parent, similarity, comparable in rows:
            known[text_id] = _Text(parent, similarity, bool(comparable))
            id_of_key[bytes(key)] = text_id
        ingested = texts.keys()
        wanted = {chunk_id: text_key(text) for chunk_id, text in texts.items()}
        missing = [
            chunk_id for chunk_id in kept if chunk_id not in members and chunk_id not in wanted
        ]
        fetched = fetch_texts(missing) if missing and fetch_texts is not None else {}
        texts = {**texts, **fetched}
        wanted.update((chunk_id, text_key(text)) for chunk_id, text in fetched.items())
        keep = {chunk_id for chunk_id in kept if chunk_id in members or chunk_id in wanted}
        next_seq = 1 + max((seq for _, seq in members.values()), default=0)

        leaving = [
            chunk_id
            for chunk_id, (text_id, _) in members.items()
            if (chunk_id not in wanted and chunk_id not in keep)
            or (chunk_id in wanted and id_of_key.get(wanted[chunk_id]) != text_id)
        ]
        for chunk_id in leaving:
            del members[chunk_id]
        self._db.executemany("DELETE FROM chunks WHERE chunk_id = ?", ((c,) for c in leaving))

        # Chunks the store already holds come before the ones this ingest brings.
        arriving = sorted(
            (chunk_id for chunk_id in wanted if chunk_id not in members),
            key=lambda chunk_id: (chunk_id not in fetched, chunk_id),
        )
        new_texts: list[str] = []  # chunks whose text the index has not seen, in id order
        for chunk_id in arriving:
            text_id = id_of_key.get(wanted[chunk_id])
            if text_id is None:
                new_texts.append(chunk_id)
                continue
            members[chunk_id] = (text_id, next_seq)
            next_seq += 1

        orphans = self._drop_texts_without_chunks(members, known, id_of_key)
        next_text_id = 1 + max(known, default=0)
        for chunk_id in new_texts:
            key = wanted[chunk_id]
            text_id = id_of_key.get(key)  # a copy earlier in this same ingest
            if text_id is None:
                text_id, next_text_id = next_text_id, next_text_id + 1
                known[text_id] = self._add_text(text_id, key, texts[chunk_id])
                id_of_key[key] = text_id
            members[chunk_id] = (text_id, next_seq)
            next_seq += 1
        self._db.executemany(
            "INSERT INTO bands VALUES (?, ?)",
            ((b, text_id) for b, text_ids in self._unwritten_bands.items() for text_id in text_ids),
        )
        self._unwritten_bands.clear()
        for text_id in sorted(orphans):
            self._relink(text_id, known[text_id])
        self._db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?)",
            ((chunk_id, *members[chunk_id]) for chunk_id in arriving),
        )
        reported = [*ingested, *(c for c in also_report if c in members and c not in ingested)]
        return _duplicates(members, known, scope=reported)

    def _drop_texts_without_chunks(
        self,
        members: dict[str, tuple[int, int]],
        known: dict[int, _Text],
        id_of_key: dict[bytes, int],
    ) -> set[int]:
        """Forgets texts no chunk has now; returns the texts that repeated one of them."""
        used = {text_id for text_id, _ in members.values()}
        gone = [text_id for text_id in known if text_id not in used]
        if not gone:
            return set()
        gone_set = set(gone)
        for key, text_id in list(id_of_key.items()):
            if text_id in gone_set:
                del id_of_key[key]
        for text_id in gone:
            del known[text_id]
            self._shingle_cache.pop(text_id, None)
        pairs = [(text_id,) for text_id in gone]
        self._db.executemany("DELETE FROM texts WHERE id = ?", pairs)
        self._db.executemany("DELETE FROM bands WHERE text_id = ?", pairs)
        return {text_id for text_id, text in known.items() if text.parent in gone_set}

    def _add_text(self, text_id: int, key: bytes, text: str) -> _Text:
        self.texts_signed += 1
        shingle_set = shingles(text)
        if not shingle_set:
            self._db.execute("INSERT INTO texts VALUES (?, ?, NULL, NULL, NULL)", (text_id, key))
            return _Text(None, None, comparable=False)
        values = np.array(sorted(shingle_set), dtype=np.uint64)
        buckets = _buckets(values)
        parent, similarity = self._most_similar_earlier(text_id, values, buckets)
        self._db.execute(
            "INSERT INTO texts VALUES (?, ?, ?, ?, ?)",
            (text_id, key, parent, similarity, values.tobytes()),
        )
        for bucket in buckets:
            self._unwritten_bands[bucket].append(text_id)
        self._cache_shingles(text_id, values)
        return _Text(parent, similarity, comparable=True)

    def _relink(self, text_id: int, text: _Text) -> None:
        """A text whose original left the index: find the earlier text it now repeats, if any."""
        values = self._shingles([text_id])[text_id]
        buckets = [bucket for (bucket,) in self._db.execute(
            "SELECT bucket FROM bands WHERE text_id = ?", (text_id,)
        )]  # fmt: skip
        text.parent, text.similarity = self._most_similar_earlier(text_id, values, buckets)
        self._db.execute(
            "UPDATE texts SET parent = ?, similarity = ? WHERE id = ?",
            (text.parent, text.similarity, text_id),
        )

    def _most_similar_earlier(
        self, text_id: int, values: np.ndarray, buckets: list[int]
    ) -> tuple[int | None, float | None]:
        marks = ",".join("?" * len(buckets))
        stored = self._db.execute(
            f"SELECT DISTINCT text_id FROM bands WHERE bucket IN ({marks}) AND text_id < ?",
            (*buckets, text_id),
        )
        unwritten = (other for b in buckets for other in self._unwritten_bands.get(b, ()))
        candidates = sorted({other for (other,) in stored} | {o for o in unwritten if o < text_id})
        best: tuple[int | None, float | None] = (None, None)
        if not candidates:
            return best
        # Every candidate's exact Jaccard similarity in one pass over their shingles together.
        arrays = list(self._shingles(candidates).values())
        sizes = np.array([len(array) for array in arrays])
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        pool = np.concatenate(arrays)
        places = np.minimum(np.searchsorted(values, pool), len(values) - 1)  # values is sorted
        shared = np.add.reduceat(values[places] == pool, starts)
        similarities = shared / (len(values) + sizes - shared)
        for position in np.flatnonzero(similarities >= self._min_similarity):
            similarity = float(similarities[position])
            if best[1] is None or similarity > best[1]:
                best = (candidates[position], round(similarity, 3))
        return best

    def _cache_shingles(self, text_id: int, values: np.ndarray) -> None:
        if len(self._shingle_cache) >= SHINGLE_CACHE_TEXTS:  # bounded memory on a first ingest
            self._shingle_cache.clear()
        self._shingle_cache[text_id] = values

    def _shingles(self, text_ids: list[int]) -> dict[int, np.ndarray]:
        """Shingle sets in the order of `text_ids` (ties go to the earliest text)."""
        missing = [text_id for text_id in text_ids if text_id not in self._shingle_cache]
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            marks = ",".join("?" * len(part))
            for text_id, blob in self._db.execute(
                f"SELECT id, shingles FROM texts WHERE id IN ({marks})",
                part,
            ):
                self._cache_shingles(text_id, np.frombuffer(blob, dtype=np.uint64))
        return {text_id: self._shingle_cache[text_id] for text_id in text_ids}


def _duplicates(
    members: dict[str, tuple[int, int]], known: dict[int, _Text], scope: Iterable[str]
) -> list[NearDuplicate]:
    first_copy: dict[int, tuple[int, str]] = {}
    for chunk_id, (text_id, seq) in members.items():
        if text_id not in first_copy or seq < first_copy[text_id][0]:
            first_copy[text_id] = (seq, chunk_id)
    roots: dict[int, int] = {}

    def root_of(text_id: int) -> int:
        path = []
        while text_id not in roots:
            parent = known[text_id].parent
            if parent is None:
                roots[text_id] = text_id
                break
            path.append(text_id)
            text_id = parent
        for step in path:
            roots[step] = roots[text_id]
        return roots[text_id]

    found: list[NearDuplicate] = []
    for chunk_id in scope:
        text_id, _ = members[chunk_id]
        text = known[text_id]
        if not text.comparable:
            continue
        original = first_copy[root_of(text_id)][1]
        if original == chunk_id:
            continue
        is_first_copy = first_copy[text_id][1] == chunk_id
        similarity = text.similarity if is_first_copy and text.similarity is not None else 1.0
        found.append(NearDuplicate(chunk_id, original, similarity))
    return sorted(found, key=lambda duplicate: duplicate.chunk_id)


def find_near_duplicates(chunks: list[Chunk], min_similarity: float) -> list[NearDuplicate]:
    """Each chunk that nearly repeats an earlier one (in id order), with the one it repeats.

    MinHash banding proposes candidate texts without comparing every pair; each candidate is
    then confirmed on its exact Jaccard similarity. Chunks of one text are compared once.
    """
    with NearDuplicateIndex.open(None, min_similarity) as index:
        return index.sync({chunk.id: chunk.text for chunk in chunks})
