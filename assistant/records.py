"""The typed values that flow between the assistant's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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
