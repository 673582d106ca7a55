"""Cited documents read back whole, section by section, with the anchors citations link to."""

from __future__ import annotations

from assistant.sources import SourceLibrary, section_anchor, stored_source_link
from knowledge.store import StoredChunk


class DocumentStore:
    """Just what the library asks of a store: one document's chunks, in order."""

    def __init__(self, chunks: list[tuple[str, dict[str, object], str]]) -> None:
        self.chunks = [(StoredChunk(i, dict(m)), text) for i, m, text in chunks]  # type: ignore[arg-type]

    def document_chunks(self, document_id: str) -> list[tuple[StoredChunk, str]]:
        return [pair for pair in self.chunks if pair[0].document_id == document_id]


MANUAL = {"document_id": "manual", "title": "Owner's Manual", "kind": "owner_manual",
          "audience": "public", "vehicle": "Example 2024"}  # fmt: skip


def test_a_document_comes_back_as_whole_sections_with_their_anchors() -> None:
    store = DocumentStore([
        ("manual::s1:0", MANUAL | {"section": "Tires > Reset", "anchor": "reset"},
         "1. Inflate\n2. Press"),
        ("manual::s1:1", MANUAL | {"section": "Tires > Reset", "anchor": "reset"},
         "2. Press\n3. Drive"),
        ("manual::s2:0", MANUAL | {"section": "Fuses", "page": 12}, "Fuse box"),
    ])  # fmt: skip
    document = SourceLibrary(store).document("manual", audiences=["public"])  # type: ignore[arg-type]
    assert document is not None and document.title == "Owner's Manual"
    assert document.kind == "owner manual" and document.vehicle == "Example 2024"
    assert [(s.heading, s.anchor, s.text) for s in document.sections] == [
        ("Tires > Reset", "reset", "1. Inflate\n2. Press\n3. Drive"),
        ("Fuses", "page-12", "Fuse box"),
    ]


def test_a_document_outside_the_askers_audiences_or_unknown_is_none() -> None:
    bulletin = MANUAL | {"document_id": "tsb", "audience": "internal", "section": "Cause"}
    library = SourceLibrary(DocumentStore([("tsb::c:0", bulletin, "text")]))  # type: ignore[arg-type]
    assert library.document("tsb", audiences=["public"]) is None
    assert library.document("tsb", audiences=["public", "internal"]) is not None
    assert library.document("nothing", audiences=["public", "internal"]) is None


def test_an_anchor_falls_back_to_the_page_then_the_heading() -> None:
    assert section_anchor("A > B", "own", 3) == "own"
    assert section_anchor("A > B", None, 3) == "page-3"
    assert section_anchor("Warning lights > Oil (red)", None, None) == "warning-lights-oil-red"
    assert section_anchor("", None, None) == "section"


def test_a_link_opens_the_document_at_the_cited_section_for_its_reader() -> None:
    cited = {"document_id": "a b/c", "section": "Tires > Reset", "anchor": None, "page": None}
    assert stored_source_link(cited, agent=False) == "/v1/sources/a%20b%2Fc#tires-reset"
    on_page = stored_source_link(cited | {"page": 7}, agent=True)
    assert on_page == "/v1/agent/sources/a%20b%2Fc#page-7"
