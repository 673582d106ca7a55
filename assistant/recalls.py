"""Recall lookup: the recall notices in the knowledge base that affect one vehicle."""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.records import AnswerSentence, Channel, DraftAnswer, Passage, Vehicle
from assistant.retrieval import AccessFilter
from knowledge.store import KnowledgeStore

RECALL_QUESTION = re.compile(r"\brecall(s|ed)?\b", re.IGNORECASE)
CAMPAIGN_NUMBER = re.compile(r"\b\d{2}[VETC]-?\d{3}(\d{3})?\b", re.IGNORECASE)
RECALL_LINES = (
    "NHTSA recall campaign",
    "Component:",
    "Consumer advisory:",
    "Consequence:",
    "Remedy:",
)


def is_recall_lookup(question: str) -> bool:
    """'Is there a recall on my car?' (not a question about one campaign number)."""
    return bool(RECALL_QUESTION.search(question)) and not CAMPAIGN_NUMBER.search(question)


def affects(passage_metadata: Mapping[str, object], vehicle: Vehicle) -> bool:
    years = passage_metadata.get("model_years")
    if vehicle.year and isinstance(years, list) and years:
        return str(vehicle.year) in {str(year) for year in years}
    return True


class RecallLookup:
    """Lists a vehicle's recall notices, each with its consequence and remedy, cited."""

    def __init__(self, store: KnowledgeStore) -> None:
        self._store = store

    def recalls_for(self, vehicle: Vehicle, channel: Channel) -> list[Passage]:
        access = AccessFilter(channel, vehicle).chroma_where()
        where = {"$and": [{"kind": "recall_notice"}, access]}
        chunks = [
            chunk
            for chunk in self._store.iter_chunks(where=where)
            if chunk.metadata.get("vehicle_scope") == "specific"
            and affects(chunk.metadata, vehicle)
        ]
        texts = self._store.get_texts([chunk.id for chunk in chunks])
        first_chunk_per_document: dict[str, Passage] = {}
        for chunk in sorted(
            chunks, key=lambda c: (c.document_id, str(c.metadata.get("position", 0)).zfill(6))
        ):
            first_chunk_per_document.setdefault(
                chunk.document_id, Passage(chunk.id, texts.get(chunk.id, ""), chunk.metadata, 1.0)
            )
        return sorted(
            first_chunk_per_document.values(),
            key=lambda p: str(p.metadata.get("effective_date", "")),
            reverse=True,
        )

    def run(self, vehicle: Vehicle, channel: Channel) -> DraftAnswer:
        passages = self.recalls_for(vehicle, channel)
        sentences: list[AnswerSentence] = []
        for number, passage in enumerate(passages, 1):
            for line in passage.text.split("\n"):
                if line.startswith(RECALL_LINES):
                    sentences.append(AnswerSentence(line.strip(), [number]))
        return DraftAnswer(sentences, passages)

    def urgent_for(self, vehicle: Vehicle, channel: Channel) -> list[Passage]:
        """Recalls that tell this vehicle's owner not to drive it or to park it outside."""
        return [
            passage
            for passage in self.recalls_for(vehicle, channel)
            if passage.metadata.get("do_not_drive") or passage.metadata.get("park_outside")
        ]
