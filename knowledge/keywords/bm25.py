"""Okapi BM25 over a snapshot and a delta, as rank_bm25's `BM25Okapi` scores it, with
filters evaluated as numpy masks over coded metadata columns."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf
from knowledge.keywords.postings import Postings, coded, typed

if TYPE_CHECKING:
    import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the keyword index keeps it."""

    id: str
    content_hash: str
    metadata: dict[str, Any]
    text: str

    @property
    def document_id(self) -> str:
        return str(self.metadata.get("document_id", ""))


@dataclass(frozen=True)
class KeywordHit:
    chunk: IndexedChunk
    score: float


class IndexRows(Protocol):
    """Where a view reads the chunks it found and metadata it was not given coded."""

    def chunks(self, rows: Sequence[int]) -> dict[int, IndexedChunk]: ...

    def metadata_column(self, field: str, rows: np.ndarray) -> list[Any]: ...


class IndexView:
    """The index at one generation: snapshot plus delta minus tombstones, with BM25's statistics."""

    def __init__(
        self,
        files: IndexRows,
        snapshot: Postings | None,
        delta: Postings,
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
        self._columns = [FilterColumns(files, part) for part in self._parts]

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

    def matching_rows(self, where: ChunkFilter | None) -> np.ndarray:
        """The rows of every live chunk `where` admits (all of them for None), in row order."""
        import numpy as np

        masks = self._mask(where) if where is not None else None
        chosen = [
            part.rows[
                self._alive[index] & masks[index] if masks is not None else self._alive[index]
            ]
            for index, part in enumerate(self._parts)
        ]
        return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)

    def _part_scores(self, part: Postings, weights: Mapping[str, float]) -> np.ndarray:
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


class FilterColumns:
    """Metadata fields of some rows as numpy columns (each value coded once per view), so a
    filter is a few vectorised comparisons, however many rows there are."""

    def __init__(self, files: IndexRows, part: Postings) -> None:
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
        chosen = [dictionary[key] for key in map(typed, wanted) if key in dictionary]
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
