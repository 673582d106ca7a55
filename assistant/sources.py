"""A cited document read back whole, section by section, so a citation can be followed.

An answer cites a passage; the asker follows `[n]` to the document it came from, opened at
that passage's section (or page). The document is rebuilt from the store's chunks: each
section's chunks in order, with the overlap between neighbours removed.

    document = SourceLibrary(store).document("owner-manual-2024", audiences=["public"])
    document.sections[0].anchor  # what a citation's link points at
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from assistant.sections import merge_overlapping, section_prefix
from knowledge.records import MetadataValue
from knowledge.store import KnowledgeStore, StoredChunk

DRIVER_SOURCES_PATH = "/v1/sources"
AGENT_SOURCES_PATH = "/v1/agent/sources"
"""Where this server serves a cited document: drivers see public ones, agents any."""


def section_anchor(section: str, anchor: str | None, page: int | None) -> str:
    """The fragment a link to one section uses: its own anchor, else its page, else its heading."""
    if anchor:
        return anchor
    if page is not None:
        return f"page-{page}"
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "section"


def stored_source_link(citation: dict[str, Any], *, agent: bool) -> str:
    """Where a citation (as `Citation.to_json()` or a stored transcript has it) opens: its
    document, at its section (a path on this server)."""
    base = AGENT_SOURCES_PATH if agent else DRIVER_SOURCES_PATH
    page = citation.get("page")
    fragment = section_anchor(
        str(citation.get("section") or ""), citation.get("anchor") or None,
        page if isinstance(page, int) else None,
    )  # fmt: skip
    document_id = quote(str(citation.get("document_id") or ""), safe="")
    return f"{base}/{document_id}#{quote(fragment, safe='')}"


def metadata_anchor(metadata: dict[str, MetadataValue]) -> str:
    page = metadata.get("page")
    anchor = metadata.get("anchor")
    return section_anchor(
        str(metadata.get("section") or ""),
        anchor if isinstance(anchor, str) else None,
        page if isinstance(page, int) else None,
    )


@dataclass(frozen=True)
class SourceSection:
    heading: str
    anchor: str
    page: int | None
    text: str


@dataclass(frozen=True)
class SourceDocument:
    document_id: str
    title: str
    kind: str
    audience: str
    vehicle: str | None
    effective_date: str | None
    sections: list[SourceSection]


class SourceLibrary:
    """The documents behind citations, for the audiences the asker may read."""

    def __init__(self, store: KnowledgeStore) -> None:
        self._store = store

    def document(self, document_id: str, *, audiences: list[str]) -> SourceDocument | None:
        """The document as its sections, or None if it is unknown or not for these audiences."""
        chunks = self._store.document_chunks(document_id)
        if not chunks or str(chunks[0][0].metadata.get("audience")) not in audiences:
            return None
        first = chunks[0][0].metadata
        return SourceDocument(
            document_id=document_id,
            title=str(first.get("title") or document_id),
            kind=str(first.get("kind") or "").replace("_", " "),
            audience=str(first.get("audience")),
            vehicle=_text_or_none(first.get("vehicle")),
            effective_date=_text_or_none(first.get("effective_date")),
            sections=_sections(chunks),
        )


def _sections(chunks: list[tuple[StoredChunk, str]]) -> list[SourceSection]:
    grouped: dict[str, list[tuple[StoredChunk, str]]] = {}
    for chunk, text in chunks:
        split = section_prefix(chunk.id)
        grouped.setdefault(split[0] if split else chunk.id, []).append((chunk, text))
    sections = []
    for members in grouped.values():
        metadata = members[0][0].metadata
        page = metadata.get("page")
        sections.append(
            SourceSection(
                heading=str(metadata.get("section") or ""),
                anchor=metadata_anchor(metadata),
                page=page if isinstance(page, int) else None,
                text=merge_overlapping([text for _, text in members]),
            )
        )
    return sections


def _text_or_none(value: MetadataValue | None) -> str | None:
    return str(value) if value not in (None, "") else None
