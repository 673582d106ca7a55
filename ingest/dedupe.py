"""Near-duplicate chunks: the same passage copied into several documents, found by SimHash."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from knowledge.records import Chunk

SIMHASH_BITS = 64
BANDS = 4
BAND_BITS = SIMHASH_BITS // BANDS
SHINGLE_WORDS = 3
MIN_WORDS = 8


@dataclass(frozen=True)
class NearDuplicate:
    chunk_id: str
    duplicate_of: str
    differing_bits: int


def simhash(text: str) -> int | None:
    """A 64-bit fingerprint whose Hamming distance tracks textual difference; None if too short."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    if len(words) < MIN_WORDS:
        return None
    import numpy as np

    digests = b"".join(
        hashlib.blake2b(
            " ".join(words[start : start + SHINGLE_WORDS]).encode(), digest_size=8
        ).digest()
        for start in range(len(words) - SHINGLE_WORDS + 1)
    )
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1)
    # Signed: unsigned sums would wrap below zero and set nearly every bit of every fingerprint.
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - bits.shape[0]  # per bit: set minus unset
    return int("".join("1" if vote > 0 else "0" for vote in votes), 2)


def find_near_duplicates(chunks: list[Chunk], max_distance: int) -> list[NearDuplicate]:
    """Each chunk that nearly repeats an earlier one (in id order), with the one it repeats.

    Banding finds candidate pairs without comparing all of them: with at most `max_distance`
    differing bits (< BANDS), two fingerprints agree exactly on at least one band.
    """
    fingerprints = {chunk.id: simhash(chunk.text) for chunk in chunks}
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    found: dict[str, NearDuplicate] = {}
    for chunk_id in sorted(fingerprints):
        fingerprint = fingerprints[chunk_id]
        if fingerprint is None:
            continue
        best: NearDuplicate | None = None
        for band in range(BANDS):
            key = (band, fingerprint >> (band * BAND_BITS) & ((1 << BAND_BITS) - 1))
            for other_id in buckets[key]:
                other = fingerprints[other_id]
                distance = bin(fingerprint ^ other).count("1") if other is not None else 99
                if distance <= max_distance and (best is None or distance < best.differing_bits):
                    original = found[other_id].duplicate_of if other_id in found else other_id
                    best = NearDuplicate(chunk_id, original, distance)
            buckets[key].append(chunk_id)
        if best is not None:
            found[chunk_id] = best
    return sorted(found.values(), key=lambda duplicate: duplicate.chunk_id)
