"""A knowledge base's records through Chroma's API, in pages: read for a backup or a rebuild,
and added back. Works the same on an embedded store and a Chroma server.

    for page in read_records(collection): add_records(other_collection, page)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

TRANSFER_PAGE_SIZE = 500


@dataclass(frozen=True)
class RecordPage:
    """Up to `TRANSFER_PAGE_SIZE` records: ids with their vectors, texts and metadata."""

    ids: list[str]
    embeddings: list[list[float]]
    documents: list[str]
    metadatas: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"ids": self.ids, "embeddings": self.embeddings, "documents": self.documents,
                "metadatas": self.metadatas}  # fmt: skip

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RecordPage:
        return cls(value["ids"], value["embeddings"], value["documents"], value["metadatas"])


def read_records(collection: Collection) -> Iterator[RecordPage]:
    """Every record of the collection with its vector; a damaged vector index raises Chroma's
    error (the records' vectors are read back from it)."""
    offset = 0
    while True:
        page = collection.get(
            include=["embeddings", "documents", "metadatas"],
            limit=TRANSFER_PAGE_SIZE,
            offset=offset,
        )
        ids = list(page["ids"])
        embeddings = page["embeddings"] if page["embeddings"] is not None else []
        vectors = [[float(value) for value in vector] for vector in embeddings]
        yield RecordPage(
            ids,
            vectors,
            [text or "" for text in page["documents"] or []],
            [dict(metadata or {}) for metadata in page["metadatas"] or []],
        )
        if len(ids) < TRANSFER_PAGE_SIZE:
            return
        offset += TRANSFER_PAGE_SIZE


def add_records(collection: Collection, page: RecordPage) -> None:
    if page.ids:
        collection.add(
            ids=page.ids,
            embeddings=page.embeddings,  # type: ignore[arg-type]
            documents=page.documents,
            metadatas=page.metadatas,  # type: ignore[arg-type]
        )
