"""Deterministic fakes for unit tests only. Integration tests use the real model and real Chroma."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

WORDPIECE_LIKE = re.compile(r"\w+|[^\w\s]")


class HashEmbedder:
    """A deterministic bag-of-words embedder: same text, same vector; shared words, nearby vectors.

    Counts every `embed_documents` text so tests can assert what was (not) re-embedded.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 256, name: str = "hash-embedder"):
        self._dimension = dimension
        self._max_tokens = max_tokens
        self._name = name
        self.embedded_texts: list[str] = []

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded_texts.extend(texts)
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(WORDPIECE_LIKE.findall(text)) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        for word in WORDPIECE_LIKE.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self._dimension] += 1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        return [value / norm for value in vector]
