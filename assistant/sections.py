"""Whole sections behind retrieved chunks, so an answer can quote a procedure that was chunked.

Chunks are cut to fit the embedder; a long procedure may lie in two or three of them. The
answer must quote it whole, so the chunks that were found are read back as their sections:
every chunk of the section, in order, with the overlap between neighbours removed.

    passages = SectionExpander(store).run(retrieval.passages)
"""

from __future__ import annotations

from dataclasses import replace

from assistant.records import Passage
from knowledge.store import ChunkReader, KnowledgeStore, read_chunks

UNKNOWN_COUNT_PROBE = 16
"""Chunks asked for when a knowledge base predates `section_chunk_count` (missing ids are free)."""
MAX_SECTION_CHUNKS = 40


def section_prefix(chunk_id: str) -> tuple[str, int] | None:
    """'doc::key:3' -> ('doc::key', 3): chunks of one section share the prefix."""
    prefix, _, index = chunk_id.rpartition(":")
    if not prefix or not index.isdigit() or "::" not in prefix:
        return None
    return prefix, int(index)


def merge_overlapping(texts: list[str]) -> str:
    """Neighbouring chunks' texts as one, each repeated overlap (whole lines) kept once."""
    merged: list[str] = []
    for text in texts:
        lines = text.split("\n")
        overlap = 0
        for size in range(min(len(merged), len(lines)), 0, -1):
            if merged[-size:] == lines[:size]:
                overlap = size
                break
        merged += lines[overlap:]
    return "\n".join(merged)


class SectionExpander:
    """Each passage as its whole section (one passage per section, at its best rank); the
    sections' chunks read from `read` (the keyword index) where it has them."""

    def __init__(self, store: KnowledgeStore, read: ChunkReader | None = None) -> None:
        self._store = store
        self._read = read

    def run(self, passages: list[Passage]) -> list[Passage]:
        wanted: dict[str, list[str]] = {}
        for passage in passages:
            split = section_prefix(passage.chunk_id)
            if split is None or split[0] in wanted:
                continue
            count = passage.metadata.get("section_chunk_count")
            total = int(count) if isinstance(count, int) else UNKNOWN_COUNT_PROBE
            if total > 1:
                total = min(total, MAX_SECTION_CHUNKS)
                wanted[split[0]] = [f"{split[0]}:{index}" for index in range(total)]
        found = read_chunks(self._store, [i for ids in wanted.values() for i in ids], self._read)
        texts: dict[str, list[str]] = {}
        for chunk, text in found:
            split = section_prefix(chunk.id)
            if split is not None:
                texts.setdefault(split[0], []).append(text)
        expanded: list[Passage] = []
        seen: set[str] = set()
        for passage in passages:
            split = section_prefix(passage.chunk_id)
            prefix = split[0] if split else passage.chunk_id
            if prefix in seen:
                continue
            seen.add(prefix)
            siblings = texts.get(prefix)
            if siblings and len(siblings) > 1:
                passage = replace(passage, text=merge_overlapping(siblings))
            expanded.append(passage)
        return expanded

    def texts_for(self, chunk_ids: list[str]) -> dict[str, str]:
        """The whole-section text behind each chunk id (what an answer citing it could quote)."""
        found = self._store.get_chunks(list(dict.fromkeys(chunk_ids)))
        passages = [Passage(chunk.id, text, chunk.metadata) for chunk, text in found]
        texts = {}
        for passage in passages:
            [expanded] = self.run([passage])
            texts[passage.chunk_id] = expanded.text
        return texts
