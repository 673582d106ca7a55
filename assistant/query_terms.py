"""The knowledge base's own words, used to read a question the way the manuals are written.

- `SpellingCorrector`: a word the knowledge never uses ('bluetooh', 'navagation') becomes the
  closest word it does use, when one is close enough.
- `expansion_terms`: words that the best-matching passages share and the question lacks
  (pseudo-relevance feedback), to search again with the manual's vocabulary.

    corrector = SpellingCorrector(document_frequency)
    corrector.run(["bluetooh", "pair"])  # ['bluetooth', 'pair']
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

MIN_CORRECTED_LENGTH = 4
MAX_EXPANSION_TERMS = 6


def _allowed_distance(word: str) -> int:
    return 1 if len(word) <= 6 else 2


class SpellingCorrector:
    """Corrects words the knowledge base does not contain to its nearest frequent word.

    Codes and numbers ('p0420', '24v210') are never touched; a correction needs a candidate
    within one edit (two for words of seven letters or more), and the most used wins.
    """

    def __init__(self, document_frequency: Counter[str]) -> None:
        self._frequency = document_frequency
        self._by_length: dict[int, list[str]] = {}
        for word in document_frequency:
            if word.isalpha():
                self._by_length.setdefault(len(word), []).append(word)

    def correct(self, word: str) -> str:
        if word in self._frequency or len(word) < MIN_CORRECTED_LENGTH or not word.isalpha():
            return word
        from rapidfuzz.distance import DamerauLevenshtein

        limit = _allowed_distance(word)
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            for candidate in self._by_length.get(length, ()):
                distance = DamerauLevenshtein.distance(word, candidate, score_cutoff=limit)
                if distance > limit:
                    continue
                key = (distance, -self._frequency[candidate], candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best is not None else word

    def run(self, words: Sequence[str]) -> list[str]:
        return [self.correct(word) for word in words]


def expansion_terms(
    query: Sequence[str],
    feedback: Iterable[Sequence[str]],
    document_frequency: Counter[str],
    documents: int,
    *,
    limit: int = MAX_EXPANSION_TERMS,
) -> list[str]:
    """Terms frequent in the feedback passages, rare in the knowledge base, not in the query."""
    asked = set(query)
    weights: dict[str, float] = {}
    passages = [list(tokens) for tokens in feedback]
    for tokens in passages:
        counts = Counter(tokens)
        for term, count in counts.items():
            if term in asked or not term.isalpha() or len(term) < 3:
                continue
            idf = math.log((documents + 1) / (document_frequency[term] + 0.5))
            weights[term] = weights.get(term, 0.0) + (count / len(tokens)) * idf
    # A term must come from more than one passage when there are several: one passage's
    # own topic is no evidence of what the question means.
    spread = Counter(term for tokens in passages for term in set(tokens))
    if len(passages) > 1:
        weights = {term: weight for term, weight in weights.items() if spread[term] > 1}
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [term for term, _ in ranked[:limit]]
