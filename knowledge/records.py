"""Typed records: a source document, the sections a loader finds in it, and the chunks we store."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MetadataValue = str | int | float | bool | list[str] | list[int]
"""What Chroma can store and filter on."""

UNKNOWN_YEAR_FIRST = 0
UNKNOWN_YEAR_LAST = 9999
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


class DocumentKind(StrEnum):
    OWNER_MANUAL = "owner_manual"
    SERVICE_MANUAL = "service_manual"
    RECALL_NOTICE = "recall_notice"
    FAQ = "faq"
    SERVICE_BULLETIN = "service_bulletin"


class Audience(StrEnum):
    PUBLIC = "public"
    """Drivers and agents."""
    INTERNAL = "internal"
    """Agents only."""


class VehicleApplicability(BaseModel):
    """Which vehicles a document applies to; years are inclusive and None means 'any'."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    make: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    model: str | None = None
    year_first: int | None = Field(default=None, ge=1900, le=2100)
    year_last: int | None = Field(default=None, ge=1900, le=2100)
    market: str | None = None

    @model_validator(mode="after")
    def _years_in_order(self) -> VehicleApplicability:
        if self.year_first and self.year_last and self.year_first > self.year_last:
            raise ValueError(
                f"year_first {self.year_first} is after year_last {self.year_last}; swap them"
            )
        return self

    def label(self) -> str:
        years = ""
        if self.year_first and self.year_last and self.year_first != self.year_last:
            years = f" {self.year_first}–{self.year_last}"
        elif self.year_first or self.year_last:
            years = f" {self.year_first or self.year_last}"
        return f"{self.make} {self.model or ''}".strip() + years


class Provenance(BaseModel):
    """Where a document (or a part of it) came from, precisely enough to open it and look."""

    model_config = ConfigDict(frozen=True)

    source_file: str
    line: int | None = None
    anchor: str | None = None


class SourceDocument(BaseModel):
    """One document of service knowledge: a manual, a recall notice, an FAQ entry, a bulletin."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=DOCUMENT_ID_PATTERN)]
    kind: DocumentKind
    audience: Audience
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    vehicle: VehicleApplicability | None = None
    language: str = "en"
    effective_date: date | None = None
    version: str | None = None
    provenance: Provenance
    supersedes: list[str] = Field(default_factory=list)
    attributes: dict[str, MetadataValue] = Field(
        default_factory=dict,
        description="Kind-specific facts to filter on: campaign_number, fault_codes...",
    )

    def flat_metadata(self) -> dict[str, MetadataValue]:
        """The document's metadata as flat scalar fields Chroma can filter on."""
        metadata: dict[str, MetadataValue] = {
            "document_id": self.id,
            "kind": self.kind.value,
            "audience": self.audience.value,
            "title": self.title,
            "language": self.language,
            "source_file": self.provenance.source_file,
            "vehicle_scope": "specific" if self.vehicle else "general",
        }
        if self.vehicle:
            metadata.update(
                make=normalise_vehicle_name(self.vehicle.make),
                model=normalise_vehicle_name(self.vehicle.model or ""),
                year_first=self.vehicle.year_first or UNKNOWN_YEAR_FIRST,
                year_last=self.vehicle.year_last or UNKNOWN_YEAR_LAST,
                vehicle=self.vehicle.label(),
            )
            if self.vehicle.market:
                metadata["market"] = self.vehicle.market
        if self.effective_date:
            metadata["effective_date"] = self.effective_date.isoformat()
        if self.version:
            metadata["version"] = self.version
        if self.provenance.line is not None:
            metadata["source_line"] = self.provenance.line
        for key, value in self.attributes.items():
            if value == [] or value == "":
                continue  # Chroma rejects empty lists; an absent key filters the same way.
            metadata[key] = value
        return metadata


class Section(BaseModel):
    """A structural unit a loader found: a heading's text, a PDF page, a recall record."""

    heading_path: list[str]
    text: str
    page: int | None = None
    anchor: str | None = None


class ParsedDocument(BaseModel):
    """A document with its sections, as a loader returns it."""

    document: SourceDocument
    sections: list[Section]


class Chunk(BaseModel):
    """A piece of a document small enough for the embedder, with everything needed to cite it."""

    id: str
    document_id: str
    text: str
    heading_path: list[str]
    position: int
    content_hash: str
    embedding_text: str
    page: int | None = None
    anchor: str | None = None
    section_chunk_count: int = 1
    """How many chunks its section was cut into: the answer reads the whole section back."""
    document_metadata: dict[str, MetadataValue]

    def chroma_metadata(self, document_revision: str, chunk_count: int) -> dict[str, MetadataValue]:
        metadata = dict(self.document_metadata)
        metadata.update(
            section=" > ".join(self.heading_path),
            position=self.position,
            content_hash=self.content_hash,
            document_revision=document_revision,
            document_chunk_count=chunk_count,
            section_chunk_count=self.section_chunk_count,
        )
        if self.page is not None:
            metadata["page"] = self.page
        if self.anchor:
            metadata["anchor"] = self.anchor
        return metadata


def normalise_vehicle_name(name: str) -> str:
    """'TOYOTA', 'Toyota ' and 'toyota' are one make; filters compare this form."""
    return re.sub(r"\s+", " ", name).strip().lower()


def compact_name(name: str) -> str:
    """'CR-V', 'cr v' and 'crv' are one name; so are 'F-150' and 'f150', 'GL 450' and 'GL450'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def document_revision(metadata: dict[str, MetadataValue], chunk_hashes: list[str]) -> str:
    """Changes when anything about the document changes: its metadata, or any chunk."""
    payload = json.dumps([metadata, chunk_hashes], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
