"""The typed values that flow between the assistant's stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

from knowledge.errors import GloveboxError, InputError
from knowledge.records import Audience


class Channel(StrEnum):
    """Who is asking. Drivers see public documents only; agents also see internal ones."""

    DRIVER = "driver"
    AGENT = "agent"

    @property
    def audiences(self) -> list[str]:
        if self is Channel.DRIVER:
            return [Audience.PUBLIC.value]
        return [Audience.PUBLIC.value, Audience.INTERNAL.value]


@dataclass(frozen=True)
class Vehicle:
    """The asker's vehicle, as far as it is known."""

    make: str | None = None
    model: str | None = None
    year: int | None = None
    vin: str | None = None

    @property
    def is_known(self) -> bool:
        return bool(self.model and self.year)

    def label(self) -> str:
        parts = [self.make or "", self.model or "", str(self.year) if self.year else ""]
        return " ".join(part for part in parts if part) or "unknown vehicle"

    def merged_with(self, newer: Vehicle | None) -> Vehicle:
        """What the user said last wins, field by field."""
        if newer is None:
            return self
        return Vehicle(
            make=newer.make or self.make,
            model=newer.model or self.model,
            year=newer.year or self.year,
            vin=newer.vin or self.vin,
        )


@dataclass
class Passage:
    """A retrieved chunk with its scores; the unit answers cite."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0
    dense_rank: int | None = None
    keyword_rank: int | None = None
    dense_similarity: float | None = None

    @property
    def document_id(self) -> str:
        return str(self.metadata.get("document_id", ""))

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind", ""))

    @property
    def section(self) -> str:
        return str(self.metadata.get("section", ""))


@dataclass(frozen=True)
class RetrievalQuery:
    text: str
    channel: Channel
    vehicle: Vehicle | None = None
    k: int = 8


@dataclass
class RetrievalResult:
    passages: list[Passage]
    dense_top_similarity: float = 0.0
    keyword_top_score: float = 0.0
    retriever_agreement: float = 0.0
    """Share of the top dense passages that keyword search also found in its top results."""


@dataclass
class AnswerSentence:
    text: str
    citations: list[int] = field(default_factory=list)
    """1-based indexes into the passages the answer was drafted from."""
    unit: int | None = None
    """Lines of one unit (a procedure, a list, a warning) share it: they stand or fall together."""


@dataclass
class DraftAnswer:
    """A generator's output: sentences with citations into `passages` (numbered from 1)."""

    sentences: list[AnswerSentence]
    passages: list[Passage]
    match_score: float | None = None
    """How well the generator's chosen text matched the question, where it knows (0..1)."""
    listed: bool = False
    """Each unit is one item of a list (a vehicle's recalls), not prose."""

    @property
    def text(self) -> str:
        return " ".join(
            sentence.text + "".join(f" [{n}]" for n in sentence.citations)
            for sentence in self.sentences
        ).strip()


@dataclass(frozen=True)
class SupportVerdict:
    supported: bool
    score: float
    reason: str = ""


class EscalationState(StrEnum):
    AI = "ai"
    WAITING_FOR_HUMAN = "waiting_for_human"
    HUMAN = "human"
    RESOLVED = "resolved"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


# --- Conversations and tickets: what the chain and the desk hand each other -------------------

TurnRole = Literal["user", "assistant", "agent"]
TURN_ROLES: tuple[str, ...] = get_args(TurnRole)

TICKET_PREFIX = "GBX-"
TICKET_REFERENCE = re.compile(r"^\s*(?:GBX-)?0*(\d+)\s*$", re.IGNORECASE)
TICKET_ID_MAX = 2**31 - 1
"""The largest id an INTEGER column holds on every engine the desk runs on (PostgreSQL's is
32-bit): a larger number names no ticket, and must not reach the database."""


@dataclass(frozen=True)
class Turn:
    """One message in a conversation; `index` is its 0-based position in the session."""

    index: int
    role: TurnRole
    text: str
    created_at: datetime
    payload: dict[str, Any] | None = None
    """For assistant turns: citations, confidence, abstained."""

    def transcript_entry(self) -> dict[str, str]:
        return {"role": self.role, "text": self.text, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ConversationSession:
    """A conversation with one asker, as the assistant and the agent console see it."""

    id: str
    channel: Channel
    created_at: datetime
    updated_at: datetime
    vehicle: Vehicle | None
    state: EscalationState
    failed_answers: int
    """Consecutive turns the assistant could not answer (or abstained on)."""
    turns: list[Turn]
    open_ticket_id: int | None = None
    """The ticket a human has not resolved yet, if the session has one."""
    last_ticket_id: int | None = None
    """The session's newest ticket, open or resolved."""

    def transcript(self) -> list[dict[str, str]]:
        """The turns as `TicketDraft.transcript` expects them."""
        return [turn.transcript_entry() for turn in self.turns]


@dataclass(frozen=True)
class TicketDraft:
    """What the assistant hands a human when it escalates.

    `reason` is a short code: safety, do_not_drive_recall, human_requested, legal_threat,
    frustration, repeated_failures, low_confidence, unsupported.
    """

    session_id: str
    channel: Channel
    reason: str
    severity: Severity
    summary: str
    assistant_said: str
    """What the asker has already been told, so the agent does not contradict it."""
    vehicle: Vehicle | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """{role, text, created_at} per turn; see `ConversationSession.transcript()`."""
    passages: list[dict[str, Any]] = field(default_factory=list)
    """{chunk_id, document_id, title, section, quote, score}; see `passage_evidence()`."""


@dataclass(frozen=True)
class Ticket:
    """An escalation waiting for, or handled by, a human agent."""

    id: int
    session_id: str
    channel: Channel
    reason: str
    severity: Severity
    summary: str
    assistant_said: str
    vehicle: Vehicle | None
    transcript: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    state: EscalationState
    assignee: str | None
    resolution_note: str | None
    created_at: datetime
    updated_at: datetime
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Agents' internal notes, {author, text, created_at}; never shown to the asker."""
    asker_waiting_since: datetime | None = None
    """When the asker wrote with no agent reply since: the queue shows it as a new message."""
    csat: CsatRating | None = None
    """The asker's rating once the ticket was resolved, if they gave one."""

    @property
    def reference(self) -> str:
        return ticket_reference(self.id)


@dataclass(frozen=True)
class CsatRating:
    """A driver's rating (1-5, with an optional comment) of how a person resolved a ticket."""

    id: int
    ticket_id: int
    session_id: str
    rating: int
    comment: str | None
    created_at: datetime

    @property
    def ticket_reference(self) -> str:
        return ticket_reference(self.ticket_id)


def ticket_reference(ticket_id: int) -> str:
    """`GBX-000123`: how people name a ticket."""
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def ticket_id_from_reference(reference: str) -> int:
    """The ticket id in `GBX-000123` (or in plain `123`)."""
    ticket_id = ticket_number(reference)
    if ticket_id is None:
        raise InputError(
            source="ticket",
            problem=f"{reference[:40]!r} is not a ticket reference; write it like GBX-000123",
        )
    return ticket_id


def ticket_number(text: str) -> int | None:
    """The ticket id `text` names (`GBX-000123`, `123`); None when it names none, an absurd
    number (past `TICKET_ID_MAX`) included."""
    match = TICKET_REFERENCE.match(text)
    if not match or len(match.group(1)) > len(str(TICKET_ID_MAX)):
        return None
    number = int(match.group(1))
    return number if number <= TICKET_ID_MAX else None


def has_words(text: str) -> bool:
    """Whether `text` holds a letter or a digit: a question or a message a person could act on,
    not only whitespace, punctuation or control characters."""
    return any(character.isalnum() for character in text)


class TooManyOpenTickets(GloveboxError):
    """The asker's address already has as many open tickets as one address may have."""

    def __init__(self, open_references: list[str]) -> None:
        self.open_references = open_references
        super().__init__(
            f"{len(open_references)} cases from here are already open "
            f"({', '.join(open_references)}); a person will reply in those conversations"
        )


def passage_evidence(passage: Passage, quote: str | None = None) -> dict[str, Any]:
    """A passage as `TicketDraft.passages` stores it; `quote` defaults to the passage text."""
    return {
        "chunk_id": passage.chunk_id,
        "document_id": passage.document_id,
        "title": passage.title,
        "section": passage.section,
        "quote": passage.text if quote is None else quote,
        "score": passage.score,
    }
