"""Damage to the knowledge store is found and named, really done to the files of an embedded
Chroma store: a chroma.sqlite3 that is not a database, and truncated or deleted HNSW files."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.errors import StageError
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, ChunkWrite, make_chroma_client
from knowledge.vector_index import check_vector_index

RECORDS = 1100
"""More than Chroma's sync_threshold (1000), so the vectors are flushed to the HNSW files."""
DIMENSION = 16


def write_records(
    settings: GloveboxSettings, kb: str = "default", *, model: str = "fake", dimension: int = 16
) -> ChromaKnowledgeStore:
    """`RECORDS` chunks of 10-chunk documents with seeded random vectors."""
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings), kb, model_name=model, dimension=dimension
    )
    generator = random.Random(14)
    chunks = [
        ChunkWrite(
            id=f"doc-{n // 10}::{n % 10}",
            text=f"passage {n}",
            metadata={
                "document_id": f"doc-{n // 10}",
                "document_revision": "r1",
                "document_chunk_count": 10,
                "position": n % 10,
            },
            embedding=[generator.uniform(-1, 1) for _ in range(dimension)],
        )
        for n in range(RECORDS)
    ]
    for start in range(0, RECORDS, 500):
        store.write(chunks[start : start + 500])
    return store


def reopen(
    settings: GloveboxSettings, kb: str = "default", *, model: str = "fake", dimension: int = 16
) -> ChromaKnowledgeStore:
    """The store as a new process sees it (Chroma caches an open store per path in-process)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return ChromaKnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=model,
        dimension=dimension,
        create=False,
    )


def segment_folder(settings: GloveboxSettings) -> Path:
    (folder,) = {path.parent for path in settings.chroma_path.glob("*/data_level0.bin")}
    return folder


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "data_level0.bin truncated": lambda folder: truncate(folder / "data_level0.bin"),
    "data_level0.bin deleted": lambda folder: (folder / "data_level0.bin").unlink(),
    "header.bin emptied": lambda folder: (folder / "header.bin").write_bytes(b""),
    "segment folder deleted": shutil.rmtree,
    "index_metadata.pickle deleted": lambda folder: (folder / "index_metadata.pickle").unlink(),
}


def test_a_sound_index_has_no_problems(settings: GloveboxSettings) -> None:
    write_records(settings)
    check = check_vector_index(reopen(settings), settings.chroma_path)

    assert (check.problems, check.records) == ([], RECORDS)


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_hnsw_files_are_found_and_a_repair_refuses_saying_what_to_do(
    settings: GloveboxSettings, damage: str
) -> None:
    write_records(settings)
    reopen(settings)
    DAMAGE[damage](segment_folder(settings))

    found = check_vector_index(reopen(settings), settings.chroma_path)
    assert found.problems, f"{damage} went unnoticed"
    with pytest.raises(StageError) as refused:
        check_vector_index(reopen(settings), settings.chroma_path, repair=True)
    assert "glovebox restore" in str(refused.value)
    assert "glovebox kb drop default --yes" in str(refused.value)


def test_a_rebuild_keeps_every_record_and_what_a_search_finds(settings: GloveboxSettings) -> None:
    write_records(settings)
    probe = [0.5] * DIMENSION
    before = [(chunk.id, text) for chunk, text, _ in reopen(settings).query(probe, k=20)]
    store = reopen(settings)
    # A sound index is only rebuilt on request, so force one as a damaged index would be.
    from knowledge.vector_index import rebuild_vector_index

    assert rebuild_vector_index(store.client, store.collection, "default") == RECORDS
    rebuilt = reopen(settings)
    assert [(chunk.id, text) for chunk, text, _ in rebuilt.query(probe, k=20)] == before
    assert rebuilt.embedding_model == "fake"
    assert check_vector_index(rebuilt, settings.chroma_path).problems == []


@pytest.mark.parametrize(
    ("damage", "said"),
    [(b"garbage where the SQLite header was", "SQLite header"), (b"", "0 bytes")],
    ids=["garbage header", "emptied"],
)
def test_a_damaged_chroma_sqlite3_is_refused_naming_it(
    settings: GloveboxSettings, damage: bytes, said: str
) -> None:
    write_records(settings)
    path = settings.chroma_path / "chroma.sqlite3"
    if damage:
        with path.open("r+b") as file:
            file.write(damage)
    else:
        path.write_bytes(b"")
    left = path.read_bytes()

    with pytest.raises(StageError) as refused:
        reopen(settings)

    assert str(path) in str(refused.value) and said in str(refused.value)
    assert "glovebox restore" in str(refused.value)
    assert path.read_bytes() == left


def test_a_damaged_index_is_refused_before_chroma_loads_it(settings: GloveboxSettings) -> None:
    """hnswlib can crash the process that loads a truncated file: `ask` and `serve` open the
    knowledge base through `open_knowledge_base`, which checks the files first."""
    from knowledge.components import open_knowledge_base
    from tests.fakes import HashEmbedder

    write_records(settings, model="hash-embedder", dimension=64)
    reopen(settings, model="hash-embedder", dimension=64)
    index_file = segment_folder(settings) / "data_level0.bin"
    truncate(index_file)

    with pytest.raises(StageError) as refused:
        open_knowledge_base(settings, "default", HashEmbedder(), create=False)
    assert str(index_file) in str(refused.value)
    assert "glovebox kb check --kb default --repair" in str(refused.value)
    assert "glovebox restore" in str(refused.value)
