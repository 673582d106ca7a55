"""Chunks read back as whole sections, so an answer can quote what chunking cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.records import Passage
from assistant.sections import SectionExpander, merge_overlapping, section_prefix
from knowledge.store import StoredChunk


class SectionStore:
    """Just what the expander asks of a store: chunks by id, with their text."""

    def __init__(self, chunks: dict[str, str]) -> None:
        self.chunks = chunks
        self.asked: list[list[str]] = []

    def get_chunks(self, ids: list[str]) -> list[tuple[StoredChunk, str]]:
        self.asked.append(list(ids))
        return [(StoredChunk(i, {}), self.chunks[i]) for i in ids if i in self.chunks]


def test_neighbouring_chunks_merge_without_their_overlap() -> None:
    assert merge_overlapping(["a\nb\nc", "c\nd", "d\ne"]) == "a\nb\nc\nd\ne"
    assert merge_overlapping(["a", "b"]) == "a\nb"
    assert section_prefix("doc::abc123:2") == ("doc::abc123", 2)
    assert section_prefix("no-section") is None


def test_each_section_comes_back_whole_once_at_its_best_rank() -> None:
    store = SectionStore({"m::s1:0": "1. One\n2. Two", "m::s1:1": "2. Two\n3. Three",
                          "m::s2:0": "Other"})  # fmt: skip
    passages = [
        Passage("m::s1:1", "2. Two\n3. Three", {"section_chunk_count": 2}, 0.9),
        Passage("m::s2:0", "Other", {"section_chunk_count": 1}, 0.5),
        Passage("m::s1:0", "1. One\n2. Two", {"section_chunk_count": 2}, 0.4),
    ]
    expanded = SectionExpander(store).run(passages)  # type: ignore[arg-type]
    assert [p.chunk_id for p in expanded] == ["m::s1:1", "m::s2:0"]
    assert expanded[0].text == "1. One\n2. Two\n3. Three"
    assert store.asked == [["m::s1:0", "m::s1:1"]]  # a one-chunk section costs no read


def test_a_sections_chunks_are_read_from_the_reader_where_it_has_them() -> None:
    store = SectionStore({"m::s1:0": "1. One\n2. Two", "m::s1:1": "2. Two\n3. Three"})
    kept = {"m::s1:0": ({}, "1. One\n2. Two")}

    def read(ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str]]:
        return {chunk_id: kept[chunk_id] for chunk_id in ids if chunk_id in kept}

    passage = Passage("m::s1:1", "2. Two\n3. Three", {"section_chunk_count": 2}, 0.9)
    [expanded] = SectionExpander(store, read).run([passage])  # type: ignore[arg-type]
    assert expanded.text == "1. One\n2. Two\n3. Three"
    assert store.asked == [["m::s1:1"]]  # only what the reader lacks
