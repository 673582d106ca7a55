"""The assistant's seams. Each has a deterministic default and may have an LLM implementation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.records import DraftAnswer, Passage, RetrievalQuery, RetrievalResult, SupportVerdict

Turn = tuple[str, str]
"""(role, text) with role 'user' or 'assistant'."""


@runtime_checkable
class Retriever(Protocol):
    def run(self, query: RetrievalQuery) -> RetrievalResult: ...


@runtime_checkable
class Reranker(Protocol):
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
