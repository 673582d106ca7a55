"""The assistant's seams. Each has a deterministic default and may have an LLM implementation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from assistant.records import (
    Channel,
    ConversationSession,
    DraftAnswer,
    EscalationState,
    Passage,
    RetrievalQuery,
    RetrievalResult,
    SupportVerdict,
    Ticket,
    TicketDraft,
    Turn,
    TurnRole,
    Vehicle,
)

HistoryTurn = tuple[str, str]
"""(role, text) with role 'user' or 'assistant': the history a stage reads."""


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
        self, question: str, passages: list[Passage], history: Sequence[HistoryTurn] = ()
    ) -> DraftAnswer: ...

    def stream(
        self, question: str, passages: list[Passage], history: Sequence[HistoryTurn] = ()
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

    def run(self, question: str, history: Sequence[HistoryTurn]) -> str: ...


@runtime_checkable
class SessionStore(Protocol):
    """Where the chain keeps each conversation between requests (the desk implements it)."""

    def create_session(self, channel: Channel, *, client_key: str | None = None) -> str: ...

    def get_session(self, session_id: str) -> ConversationSession | None: ...

    def add_turn(
        self,
        session_id: str,
        role: TurnRole,
        text: str,
        payload: dict[str, Any] | None = None,
        *,
        vehicle: Vehicle | None = None,
        answered: bool | None = None,
    ) -> Turn:
        """A turn at the end of the conversation, in one write with what it changes of it:
        `vehicle` set as `set_vehicle` does, `answered` counted as `record_outcome` does."""
        ...

    def set_vehicle(self, session_id: str, vehicle: Vehicle) -> None: ...

    def record_outcome(self, session_id: str, answered: bool) -> int:
        """Reset (answered) or count (not answered) failed turns; returns the new count."""
        ...

    def set_state(self, session_id: str, state: EscalationState) -> None: ...


@runtime_checkable
class TicketStore(Protocol):
    """How the chain hands a case to a person (the desk implements it)."""

    def open_ticket(self, draft: TicketDraft, *, reuse_open: bool = False) -> Ticket:
        """Store the escalation and move the session to waiting_for_human.

        A session has one open ticket at a time: opening another is an InputError, or with
        `reuse_open` gives back the open one (two requests at once then share it).
        """
        ...

    def note_asker_message(self, ticket_id: int, *, urgent: bool = False) -> Ticket:
        """The asker wrote to the person on the case: flagged in the queue until an agent
        replies; `urgent` (a safety message) raises the ticket to critical."""
        ...
