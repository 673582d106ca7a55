"""The default answer generator: picks the passages' own sentences and steps, cited. No LLM."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

from assistant.protocols import HistoryTurn
from assistant.records import AnswerSentence, DraftAnswer, Passage
from assistant.retrieval import keyword_tokens
from assistant.units import Unit, split_units
from knowledge.embedder import Embedder

PROCEDURAL = re.compile(
    r"\b(how (do|can|should|would) (i|you|we)|how to|what (should|do) i do|what to do|steps?"
    r"|procedure|reset|pair|connect|replace|change|install|attach|jump|relearn|set up|setup"
    r"|program|turn (on|off)|activate"
    # A symptom asks what to do about it: 'the light stays on', 'it won't pair'.
    r"|stays? on|won'?t|will not|doesn'?t|does not|keeps|(is|isn'?t|not|stopped) working|fix)\b",
    re.IGNORECASE,
)
SIMILARITY_FLOOR = 0.25
"""Cosine a unit reaches by sharing the topic of a question without answering it."""
GENERIC_TERMS = frozenset(
    "car vehicle please tell know need want get drive driving own have got".split()
)


@functools.lru_cache(maxsize=1 << 16)  # an answer stems every word of its passages
def stem(token: str) -> str:
    """Crude, but 'tires'/'tire' and 'pairing'/'pair' meet: enough for term overlap."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            token = token[: -len(suffix)]
            break
    return token[:-1] if len(token) > 3 and token.endswith("e") else token


def content_terms(text: str) -> set[str]:
    return {stem(token) for token in keyword_tokens(text) if token not in GENERIC_TERMS}


class ExtractiveGenerator:
    """Answers with the passages' own words, in whole units: a procedure with every step in
    order, a list with its lead, a warning, a table row, an FAQ answer, or the few sentences
    that best match the question; each line cited with its passage number.

        draft = ExtractiveGenerator().run("How do I reset the TPMS?", passages)
        draft.text  # "1. Inflate all four tires ... [1] 2. Press and hold ... [1]"
    """

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        max_sentences: int = 3,
        min_overlap: float = 0.34,
        semantic_weight: float = 0.8,
        passages_considered: int = 4,
    ) -> None:
        self._embedder = embedder
        self._max_sentences = max_sentences
        self._semantic_weight = semantic_weight if embedder is not None else 0.0
        # With meaning counted, a unit needs it too: the floor rises by a plain similarity.
        self._min_score = min_overlap + self._semantic_weight * SIMILARITY_FLOOR
        self._min_overlap = min_overlap
        self._passages_considered = passages_considered

    def run(
        self, question: str, passages: list[Passage], history: Sequence[HistoryTurn] = ()
    ) -> DraftAnswer:
        terms = content_terms(question)
        if not terms or not passages:
            return DraftAnswer([], passages)
        considered = passages[: self._passages_considered]
        units = [
            unit
            for number, passage in enumerate(considered, 1)
            for unit in self._scored_units(number, passage, terms)
        ]
        self._add_meaning(question, units)
        chosen = self._choose(units, terms, procedural=bool(PROCEDURAL.search(question)))
        return DraftAnswer(
            [
                AnswerSentence(line.strip(), [unit.passage_number], unit=index)
                for index, unit in enumerate(chosen)
                for line in unit.lines
                if line.strip()
            ],
            passages,
            match_score=max((unit.score for unit in chosen), default=0.0),
        )

    def stream(
        self, question: str, passages: list[Passage], history: Sequence[HistoryTurn] = ()
    ) -> Iterator[str | DraftAnswer]:
        draft = self.run(question, passages, history)
        for sentence in draft.sentences:
            yield sentence.text + "".join(f" [{n}]" for n in sentence.citations) + " "
        yield draft

    def _scored_units(self, number: int, passage: Passage, terms: set[str]) -> list[Unit]:
        # An FAQ answer rarely repeats its question: the heading says what the text is about.
        heading = content_terms(f"{passage.title} {passage.section}")
        heading_overlap = len(terms & heading) / len(terms)
        units = [
            unit
            for unit in split_units(number, passage.text, kind=passage.kind)
            if unit.kind != "fragment"
        ]
        for unit in units:
            whole = len(terms & content_terms(unit.text)) / len(terms)
            best_line = max(len(terms & content_terms(line)) / len(terms) for line in unit.lines)
            # A block's many lines cover more words by size alone: its best line counts most.
            overlap = whole if len(unit.lines) == 1 else 0.7 * best_line + 0.3 * whole
            unit.score = 0.6 * overlap + 0.4 * heading_overlap + 0.15 / number
        return units

    def _add_meaning(self, question: str, units: list[Unit]) -> None:
        """Each unit's embedding similarity to the question, so a driver's words ('the nav
        lady is too loud') still find the manual's ('volume of voice guidance')."""
        if self._embedder is None or not units:
            return
        import numpy as np

        vectors = np.asarray(self._embedder.embed_documents([unit.text for unit in units]))
        similarities = vectors @ np.asarray(self._embedder.embed_query(question))
        for unit, similarity in zip(units, similarities.tolist(), strict=True):
            unit.score += self._semantic_weight * max(0.0, similarity)

    def _choose(self, units: list[Unit], terms: set[str], *, procedural: bool) -> list[Unit]:
        """The best unit (a procedure, when the question asks how), and what else answers a
        part of the question the first one leaves open."""
        if not units:
            return []
        best = max(
            units,
            key=lambda u: (round(u.score, 6), u.kind == "sentence", -u.passage_number, -u.position),
        )
        if procedural:
            procedures = [u for u in units if u.kind == "procedure" and len(u.steps) >= 2]
            # A procedure only when it is about as good a match as anything: 'how do I replace
            # the timing belt?' must not get the child-seat steps for sharing 'replace'.
            bar = max(self._min_score, 0.85 * best.score)
            relevant = [u for u in procedures if u.score >= bar]
            if relevant:
                best = max(relevant, key=lambda u: (u.score, -u.passage_number, -u.position))
        if best.score < self._min_score:
            return []
        floor = max(self._min_score, best.score * 0.7)
        if best.kind == "sentence":
            sentences = sorted(
                (u for u in units if u.kind == "sentence" and u.score >= floor),
                key=lambda u: (-u.score, u.passage_number, u.position),
            )[: self._max_sentences]
            if best not in sentences:
                sentences = [best, *sentences[: self._max_sentences - 1]]
            return sorted(sentences, key=lambda u: (u.passage_number, u.position))
        covered = content_terms(best.text) & terms
        for unit in sorted(units, key=lambda u: -u.score):
            if unit is best or unit.score < floor:
                continue
            if (content_terms(unit.text) & terms) - covered and unit.kind != "sentence":
                return [best, unit]  # it answers another part of the question
        return [best]
