"""Starter questions: the carmaker's own, else question headings of the public FAQ."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

from assistant.starters import StarterQuestions, faq_starters
from knowledge.filters import AllOf, ChunkFilter, Equals
from knowledge.profile import NO_PROFILE, CarmakerProfile, SurfaceText
from knowledge.store import StoredChunk

if TYPE_CHECKING:
    from knowledge.settings import GloveboxSettings
    from knowledge.store import KnowledgeStore


def faq(line: int, section: str, *, specific: bool = False) -> dict[str, Any]:
    return {
        "section": section,
        "source_file": "faq/care.faq.yaml",
        "source_line": line,
        "position": 0,
        "vehicle_scope": "specific" if specific else "general",
    }


def test_starters_take_one_question_of_each_category_in_turn_general_ones_first() -> None:
    chunks = [
        faq(40, "Charging > How fast does it charge?", specific=True),
        faq(30, "Service > How do I book a service?"),
        faq(10, "Warranty > What does the warranty cover?"),
        faq(20, "Warranty > Is rust covered?"),
        faq(25, "Warranty > Opening hours"),  # not a question
        faq(35, "Service > how do I book a service?"),  # the same question again
        faq(45, "Service > " + "Why " * 40 + "?"),  # too long for a chip
    ]

    assert faq_starters(chunks) == [
        "What does the warranty cover?",
        "How do I book a service?",
        "Is rust covered?",
        "How fast does it charge?",
    ]
    assert faq_starters(chunks, limit=2) == [
        "What does the warranty cover?",
        "How do I book a service?",
    ]
    assert faq_starters([]) == []


class FakeStore:
    """The two things `StarterQuestions` reads of a knowledge base; counts the reads."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks
        self.content_revision = "1"
        self.reads: list[ChunkFilter | None] = []

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        self.reads.append(where)
        return iter(StoredChunk(f"c{n}", chunk) for n, chunk in enumerate(self.chunks))


def test_the_profiles_starters_win_and_faq_ones_are_read_again_only_after_an_ingest() -> None:
    store = FakeStore([faq(10, "Warranty > What does the warranty cover?")])
    profile = CarmakerProfile(
        text={"en": SurfaceText(starters=["How do I pair my phone?"]), "es": SurfaceText()}
    )
    starters = StarterQuestions(cast("KnowledgeStore", store), profile)

    assert starters.for_language("en") == ["How do I pair my phone?"]
    assert store.reads == []
    assert starters.for_language("es") == ["What does the warranty cover?"]
    assert starters.for_language("es") == ["What does the warranty cover?"]
    assert store.reads == [
        AllOf((Equals("kind", "faq"), Equals("audience", "public"), Equals("language", "es")))
    ], "public FAQ entries in the language asked, read once"
    store.chunks = [faq(10, "Recalls > Is my car recalled?")]
    store.content_revision = "2"
    assert starters.for_language("es") == ["Is my car recalled?"]


@pytest.mark.integration
def test_without_a_profile_the_sample_faq_gives_four_public_questions(
    sample_kb_home: GloveboxSettings, real_embedder: Any
) -> None:
    from knowledge.components import open_knowledge_base

    store = open_knowledge_base(sample_kb_home, "default", real_embedder, create=False)
    starters = StarterQuestions(store, NO_PROFILE)

    found = starters.for_language("en")

    assert found == [
        "What does the new-vehicle limited warranty cover?",
        "What does Halvard Roadside Assistance include and how do I reach it?",
        "How do I book a service appointment?",
        "What is HalvardLink and what does it include?",
    ]
    assert starters.for_language("es") == []  # the sample FAQ is in English only
