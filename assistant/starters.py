"""The questions the widget offers a driver before the first one: its starter chips.

The carmaker's profile names them per language (`text.<language>.starters`); without, they
are the question-like headings of the knowledge base's public FAQ entries in that language.

    starters = StarterQuestions(store, profile)
    starters.for_language("en")  # ['How do I book a service appointment?', ...]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from knowledge.filters import AllOf, Equals
from knowledge.profile import MAX_STARTER_CHARS, CarmakerProfile

if TYPE_CHECKING:
    from knowledge.store import KnowledgeStore

MAX_KNOWLEDGE_STARTERS = 4


class StarterQuestions:
    """A language's starter questions; those read from the knowledge base are kept until an
    ingest changes it."""

    def __init__(self, store: KnowledgeStore, profile: CarmakerProfile) -> None:
        self._store = store
        self._profile = profile
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._from_knowledge: dict[str, list[str]] = {}

    def for_language(self, language: str) -> list[str]:
        configured = self._profile.text.get(language)
        if configured is not None and configured.starters:
            return list(configured.starters)
        revision = self._store.content_revision
        with self._lock:
            if revision != self._revision:
                self._revision, self._from_knowledge = revision, {}
            if language not in self._from_knowledge:
                public_faq = AllOf(
                    (
                        Equals("kind", "faq"),
                        Equals("audience", "public"),
                        Equals("language", language),
                    )
                )
                chunks = (chunk.metadata for chunk in self._store.iter_chunks(where=public_faq))
                self._from_knowledge[language] = faq_starters(chunks)
            return list(self._from_knowledge[language])


def faq_starters(
    chunks: Iterable[Mapping[str, Any]], limit: int = MAX_KNOWLEDGE_STARTERS
) -> list[str]:
    """Up to `limit` FAQ headings that are questions (end in '?', fit a chip), from the FAQ
    chunks' metadata: entries for every vehicle before model-specific ones, in file order, and
    one from each category in turn, so the chips are not all about one thing."""
    ordered = sorted(
        chunks,
        key=lambda chunk: (
            str(chunk.get("source_file", "")),
            int(chunk.get("source_line") or 0),
            int(chunk.get("position") or 0),
        ),
    )
    general: dict[str, list[str]] = {}
    specific: dict[str, list[str]] = {}
    seen: set[str] = set()
    for chunk in ordered:
        *category, heading = str(chunk.get("section") or "").split(" > ")
        question = " ".join(heading.split())
        if not question.endswith("?") or len(question) > MAX_STARTER_CHARS:
            continue
        if question.casefold() in seen:
            continue
        seen.add(question.casefold())
        groups = specific if chunk.get("vehicle_scope") == "specific" else general
        groups.setdefault(" > ".join(category), []).append(question)
    return [*_in_turn(general.values()), *_in_turn(specific.values())][:limit]


def _in_turn(groups: Iterable[list[str]]) -> list[str]:
    """The first of each group, then the second of each, ..."""
    return [item for round_ in zip_longest(*groups) for item in round_ if item is not None]
