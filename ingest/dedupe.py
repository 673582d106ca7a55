"""Near-duplicate chunks: the same passage copied into several documents, found with MinHash."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from knowledge.records import Chunk

SHINGLE_WORDS = 3
MIN_WORDS = 8
BANDS = 16
ROWS_PER_BAND = 2
MERSENNE_PRIME = (1 << 61) - 1
_SEEDED = np.random.default_rng(20261124)
_PERMUTATION_A = _SEEDED.integers(1, MERSENNE_PRIME, BANDS * ROWS_PER_BAND, dtype=np.uint64)
_PERMUTATION_B = _SEEDED.integers(0, MERSENNE_PRIME, BANDS * ROWS_PER_BAND, dtype=np.uint64)


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


def _signature(shingle_set: set[int]) -> np.ndarray:
    values = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
    # (a*x + b) mod p with uint64 wrap-around is a fine hash family for banding purposes.
    hashed = (values[:, None] * _PERMUTATION_A[None, :] + _PERMUTATION_B[None, :]) % MERSENNE_PRIME
    return np.asarray(hashed.min(axis=0))


def find_near_duplicates(chunks: list[Chunk], min_similarity: float) -> list[NearDuplicate]:
    """Each chunk that nearly repeats an earlier one (in id order), with the one it repeats.

    MinHash banding proposes candidate pairs without comparing every pair; each candidate is
    then confirmed on its exact Jaccard similarity.
    """
    sets = {chunk.id: shingles(chunk.text) for chunk in chunks}
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    found: dict[str, NearDuplicate] = {}
    for chunk_id in sorted(sets):
        shingle_set = sets[chunk_id]
        if not shingle_set:
            continue
        signature = _signature(shingle_set)
        candidates: set[str] = set()
        for band in range(BANDS):
            key = (band, signature[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND].tobytes())
            candidates.update(buckets[key])
            buckets[key].append(chunk_id)
        best: NearDuplicate | None = None
        for other_id in sorted(candidates):
            other = sets[other_id]
            similarity = len(shingle_set & other) / len(shingle_set | other)
            if similarity >= min_similarity and (best is None or similarity > best.similarity):
                original = found[other_id].duplicate_of if other_id in found else other_id
                best = NearDuplicate(chunk_id, original, round(similarity, 3))
        if best is not None:
            found[chunk_id] = best
    return sorted(found.values(), key=lambda duplicate: duplicate.chunk_id)
