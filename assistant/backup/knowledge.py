"""Knowledge bases into a backup and back, through Chroma's API (embedded or server mode):
one JSON-lines file of record pages per knowledge base, its collection metadata in the manifest.

    exported = export_knowledge_base(client, "default", Path("backup/knowledge/default.jsonl"))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import InputError
from knowledge.store import collection_name
from knowledge.transfer import RecordPage, add_records, read_records

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def export_knowledge_base(client: ClientAPI, kb: str, file: Path) -> dict[str, Any]:
    """Writes every record of `kb` to `file`; its manifest entry (records, collection metadata)."""
    collection = client.get_collection(collection_name(kb), embedding_function=None)
    records = 0
    with file.open("w", encoding="utf-8") as output:
        for page in read_records(collection):
            output.write(json.dumps(page.to_json()) + "\n")
            records += len(page.ids)
    return {"records": records, "metadata": dict(collection.metadata or {})}


def check_export(file: Path, expected_records: int) -> None:
    """Refuses an export that is missing, cut short or holds other records than counted."""
    if not file.exists():
        raise InputError(str(file), "missing; this backup is incomplete, take another")
    try:
        records = sum(len(page.ids) for page in read_export(file))
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(
            str(file), f"not a record export ({error}); take another backup"
        ) from error
    if records != expected_records:
        raise InputError(
            str(file), f"{records} records, the manifest says {expected_records}; take another"
        )


def read_export(file: Path) -> list[RecordPage]:
    with file.open(encoding="utf-8") as lines:
        return [RecordPage.from_json(json.loads(line)) for line in lines if line.strip()]


def import_knowledge_base(client: ClientAPI, kb: str, file: Path, metadata: dict[str, Any]) -> int:
    """`kb` as exported: an existing one (which the caller's force allowed) is dropped first."""
    name = collection_name(kb)
    if name in {collection.name for collection in client.list_collections()}:
        client.delete_collection(name)
    collection = client.create_collection(
        name, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata,
        embedding_function=None,
    )  # fmt: skip
    for page in read_export(file):
        add_records(collection, page)
    return int(collection.count())


def knowledge_base_records(client: ClientAPI, kb: str) -> int:
    """How many records `kb` holds in the target; 0 when it does not exist."""
    name = collection_name(kb)
    if name not in {collection.name for collection in client.list_collections()}:
        return 0
    return int(client.get_collection(name, embedding_function=None).count())
