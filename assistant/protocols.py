"""The assistant's seams. Each has a deterministic default and may have an LLM implementation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.records import DraftAnswer, Passage, RetrievalQuery, RetrievalResult, SupportVerdict

Turn = tuple[str, str]
"""(role, text) with role 'user' or 'assistant'."""


@runtime_checkable
class Retriever(Protocol):
    """The passages that may answer a query, best first, with the signals confidence uses."""

    def run(self, query: RetrievalQuery) -> RetrievalResult: ...

    def rarity(self, term: str) -> float:
        """How rare a word is in the knowledge base (rare words weigh more); 1.0 if unknown."""
        ...


@runtime_checkable
class PassageSearch(Protocol):
    """One way of finding candidates (dense search): the k best passages the query may read."""

    def run(self, query: RetrievalQuery, k: int) -> list[Passage]: ...


@runtime_checkable
class KeywordSearch(Protocol):
    """Keyword search that also knows the knowledge base's words (spelling, rarity, feedback)."""

    def run(self, query: RetrievalQuery, k: int, extra_terms: Sequence[str] = ()) -> list[Passage]:
        """The k best passages; `extra_terms` (expansion words) count less than the query's."""
        ...

    def corrected(self, text: str) -> str:
        """The text with words the knowledge base never uses replaced by its closest words."""
        ...

    def rarity(self, term: str) -> float: ...

    def expansion_for(self, query: str, feedback: list[Passage]) -> list[str]:
        """Words the feedback passages share that the query lacks."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Reorders retrieved passages for a question (best first)."""

    def run(self, question: str, passages: list[Passage]) -> list[Passage]: ...


@runtime_checkable
class AnswerGenerator(Protocol):
    """Drafts an answer from numbered passages; every sentence cites passages by number."""

    def run(
        self, question: str, passages: list[Passage], history: Sequence[Turn] = ()
    ) -> DraftAnswer: ...

    def stream(
        self, question: str, passages: list[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | DraftAnswer]:
        """Text pieces as they are produced, then the finished `DraftAnswer` last."""
        ...


@runtime_checkable
class SupportChecker(Protocol):
    """Whether a sentence is supported by the passages it cites."""

    def run(self, sentence: str, cited: list[Passage]) -> SupportVerdict: ...


@runtime_checkable
class QueryRewriter(Protocol):
    """Turns a follow-up question into one that stands on its own, using the history."""

    def run(self, question: str, history: Sequence[Turn]) -> str: ...
