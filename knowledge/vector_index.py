"""A knowledge base's vector index checked against its records, and rebuilt from the records'
stored vectors when it is damaged and they can still be read.

    check = check_vector_index(store, settings.chroma_path, repair=False)
    check.problems  # [] when sound
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import StageError
from knowledge.integrity import CHROMA_FILE, RESTORE_ADVICE
from knowledge.transfer import add_records, read_records

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from knowledge.store import ChromaKnowledgeStore

HNSW_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
HNSW_METADATA = "index_metadata.pickle"
# hnswlib's header.bin: int32 version, then uint64 offset_level0, max_elements,
# cur_element_count, size_data_per_element, ...
_HNSW_HEADER = struct.Struct("<iQQQQ")


@dataclass(frozen=True)
class VectorIndexCheck:
    """What `check_vector_index` found: its problems, the records Chroma could count (None
    when it could not, or when the files were too damaged to let Chroma load them), and how
    many records a repair put back."""

    problems: list[str]
    records: int | None
    rebuilt: int | None = None


def check_vector_index(
    store: ChromaKnowledgeStore, chroma_path: Path | None, *, repair: bool = False
) -> VectorIndexCheck:
    """The vector index against the records (`chroma_path` for an embedded store: its HNSW
    files too); with `repair`, a damaged index is rebuilt from the records' stored vectors, or
    refused with the way back, changing nothing."""
    found = vector_index_problems(store.collection, store.kb, chroma_path)
    if not found.problems or not repair:
        return found
    if found.records is None:
        raise _cannot_rebuild(store.kb, "; ".join(found.problems))
    rebuilt = rebuild_vector_index(store.client, store.collection, store.kb)
    collection = store.client.get_collection(store.collection.name, embedding_function=None)
    after = vector_index_problems(collection, store.kb, chroma_path)
    return VectorIndexCheck(after.problems, after.records, rebuilt)


def vector_index_problems(
    collection: Collection, kb: str, chroma_path: Path | None
) -> VectorIndexCheck:
    """The HNSW files first (a damaged file can crash the process that loads it), then every
    record's vector read back and a search that must reach every record."""
    from chromadb.errors import ChromaError

    problems = hnsw_file_problems(chroma_path, str(collection.id)) if chroma_path else []
    if problems:
        return VectorIndexCheck(problems, None)
    try:
        record_count = collection.count()
        vectors = [page.embeddings for page in read_records(collection)]
        first = next((page[0] for page in vectors if page), None)
        reached = len(_nearest_ids(collection, first, record_count)) if first else 0
    except ChromaError as error:
        return VectorIndexCheck([f"{kb}: the vector index cannot be read ({error})"], None)
    read_back = sum(len(page) for page in vectors)
    if read_back != record_count:
        problems.append(f"{kb}: {read_back} vectors read back for {record_count} records")
    if reached != record_count:
        problems.append(f"{kb}: a search reaches {reached} of {record_count} records")
    return VectorIndexCheck(problems, record_count)


def refuse_damaged_index_files(chroma_path: Path, store: ChromaKnowledgeStore) -> None:
    problems = hnsw_file_problems(chroma_path, str(store.collection.id))
    if problems:
        raise StageError(
            "knowledge store",
            f"the vector index of knowledge base {store.kb!r} is damaged: {'; '.join(problems)}. "
            f"To recover, run `glovebox kb check --kb {store.kb} --repair`, or {RESTORE_ADVICE}",
        )


def hnsw_file_problems(chroma_path: Path, collection_id: str) -> list[str]:
    """What is missing or cut short in the collection's persisted HNSW files.

    Chroma keeps recent vectors in its write-ahead log (in chroma.sqlite3) until it flushes the
    index; an index never flushed has no files to check.
    """
    database = sqlite3.connect(f"file:{chroma_path / CHROMA_FILE}?mode=ro", uri=True)
    try:
        flushed = database.execute(
            "SELECT segments.id FROM segments JOIN max_seq_id ON max_seq_id.segment_id = "
            "segments.id WHERE segments.collection = ? AND segments.scope = 'VECTOR'",
            (collection_id,),
        ).fetchall()
    finally:
        database.close()
    return [
        problem for (segment,) in flushed for problem in _segment_problems(chroma_path / segment)
    ]


def _segment_problems(folder: Path) -> list[str]:
    missing = [f"{folder / name}: missing" for name in (*HNSW_FILES, HNSW_METADATA)
               if not (folder / name).exists()]  # fmt: skip
    if missing:
        return missing
    header = (folder / "header.bin").read_bytes()
    if len(header) < _HNSW_HEADER.size:
        return [f"{folder / 'header.bin'}: {len(header)} bytes, too short for an HNSW header"]
    _, _, _, elements, element_size = _HNSW_HEADER.unpack_from(header)
    expected = {"data_level0.bin": elements * element_size, "length.bin": elements * 4}
    return [
        f"{folder / name}: {(folder / name).stat().st_size} bytes, expected {size} for "
        f"{elements} vectors"
        for name, size in expected.items()
        if (folder / name).stat().st_size != size
    ]


def _nearest_ids(collection: Collection, vector: list[float], k: int) -> list[str]:
    result = collection.query(query_embeddings=[vector], n_results=k, include=[])  # type: ignore[arg-type]
    return list(result["ids"][0])


def rebuild_vector_index(client: ClientAPI, collection: Collection, kb: str) -> int:
    """A fresh collection with every record's stored vector, put in the old one's place;
    returns how many records it holds. Refuses, changing nothing, when the vectors cannot be
    read back: then only a backup or a new ingest can mend it."""
    from chromadb.errors import ChromaError

    name = collection.name
    try:
        pages = list(read_records(collection))
    except ChromaError as error:
        raise _cannot_rebuild(kb, str(error)) from error
    rebuilt = client.create_collection(
        f"{name}.rebuild",
        configuration={"hnsw": {"space": "cosine"}},
        metadata=dict(collection.metadata or {}),
        embedding_function=None,
    )
    for page in pages:
        add_records(rebuilt, page)
    client.delete_collection(name)
    rebuilt.modify(name=name)
    return rebuilt.count()


def _cannot_rebuild(kb: str, reason: str) -> StageError:
    return StageError(
        "knowledge store",
        f"the vectors of knowledge base {kb!r} cannot be read back ({reason}), so the index "
        f"cannot be rebuilt from them. Glovebox changed nothing. To recover, {RESTORE_ADVICE}; "
        f"or drop it and ingest again: `glovebox kb drop {kb} --yes`, then "
        f"`glovebox ingest PATH --kb {kb}`",
    )
