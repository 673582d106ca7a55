"""The Chroma store: cosine space, the embedding model it was built with, embedded and server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.errors import ConfigurationError
from knowledge.filters import Equals
from knowledge.settings import GloveboxSettings
from knowledge.store import (
    ChromaKnowledgeStore,
    ChunkWrite,
    drop_knowledge_base,
    list_knowledge_bases,
    make_chroma_client,
)
from tests.fakes import HashEmbedder


def open_store(
    settings: GloveboxSettings, embedder: HashEmbedder, kb: str = "main"
) -> ChromaKnowledgeStore:
    return ChromaKnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=embedder.model_name,
        dimension=embedder.dimension,
    )


def test_collection_is_cosine_and_records_its_model(settings: GloveboxSettings) -> None:
    embedder = HashEmbedder()
    store = open_store(settings, embedder)
    collection = store._collection
    assert collection.configuration["hnsw"]["space"] == "cosine"
    assert collection.metadata["embedding_model"] == "hash-embedder"
    assert collection.metadata["embedding_dimension"] == 64


def test_mismatched_model_is_refused_with_what_to_do(settings: GloveboxSettings) -> None:
    open_store(settings, HashEmbedder())
    with pytest.raises(ConfigurationError) as refused:
        open_store(settings, HashEmbedder(dimension=32, name="bigger-model"))
    message = str(refused.value)
    assert "hash-embedder (64-d)" in message and "bigger-model (32-d)" in message
    assert "--kb" in message and "GLOVEBOX_EMBEDDING_MODEL_PATH" in message


def test_opening_a_missing_knowledge_base_without_create(settings: GloveboxSettings) -> None:
    with pytest.raises(ConfigurationError, match="glovebox ingest"):
        ChromaKnowledgeStore.open(
            make_chroma_client(settings), "absent", model_name="m", dimension=3, create=False
        )


@pytest.mark.parametrize("name", ["", "UPPER", "has space", "-dash-first", "x" * 60])
def test_bad_knowledge_base_names(settings: GloveboxSettings, name: str) -> None:
    with pytest.raises(ConfigurationError, match="knowledge base name"):
        open_store(settings, HashEmbedder(), kb=name)


def test_write_query_relabel_delete(settings: GloveboxSettings) -> None:
    embedder = HashEmbedder()
    store = open_store(settings, embedder)
    texts = {"a": "reset the tire pressure light", "b": "pair a phone over bluetooth"}
    store.write(
        [
            ChunkWrite(k, v, {"document_id": k, "audience": "public"}, embedder.embed_query(v))
            for k, v in texts.items()
        ]
    )
    nearest = store.query(embedder.embed_query("tire pressure"), k=1)
    assert nearest[0][0].id == "a" and nearest[0][1] == texts["a"]
    assert store.query(embedder.embed_query("x"), k=2, where=Equals("audience", "internal")) == []
    store.write([ChunkWrite("a", texts["a"], {"document_id": "a", "audience": "internal"})])
    assert [c.id for c in store.iter_chunks(where=Equals("audience", "internal"))] == ["a"]
    store.delete(["a"])
    assert store.count() == 1


def test_a_documents_chunks_come_back_in_document_order(settings: GloveboxSettings) -> None:
    embedder = HashEmbedder()
    store = open_store(settings, embedder)
    positions = {"m::b:0": 2, "m::a:0": 0, "m::a:1": 1, "other::a:0": 0}
    store.write(
        [
            ChunkWrite(chunk_id, chunk_id, {"document_id": chunk_id.split("::")[0],
                                            "position": position}, embedder.embed_query(chunk_id))
            for chunk_id, position in positions.items()
        ]
    )  # fmt: skip
    chunks = store.document_chunks("m")
    assert [(chunk.id, text) for chunk, text in chunks] == [
        ("m::a:0", "m::a:0"), ("m::a:1", "m::a:1"), ("m::b:0", "m::b:0"),
    ]  # fmt: skip
    assert store.document_chunks("missing") == []


def test_list_and_drop(settings: GloveboxSettings) -> None:
    client = make_chroma_client(settings)
    open_store(settings, HashEmbedder(), kb="one")
    open_store(settings, HashEmbedder(), kb="two")
    assert list_knowledge_bases(client) == ["one", "two"]
    drop_knowledge_base(client, "one")
    assert list_knowledge_bases(client) == ["two"]
    with pytest.raises(ConfigurationError, match="does not exist"):
        drop_knowledge_base(client, "one")


def test_bad_server_url_is_a_configuration_error(settings: GloveboxSettings) -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_CHROMA_URL"):
        make_chroma_client(settings.model_copy(update={"chroma_url": "localhost:8000"}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.integration
def test_server_mode_through_http_client(settings: GloveboxSettings, tmp_path: Path) -> None:
    """Chroma's server mode, the scale-out path, started on loopback for the test."""
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        remote = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{port}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                store = open_store(remote, HashEmbedder(), kb="remote")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        embedder = HashEmbedder()
        store.write([ChunkWrite("a", "brake fluid DOT 4", {"document_id": "a"},
                                embedder.embed_query("brake fluid DOT 4"))])  # fmt: skip
        again = open_store(remote, HashEmbedder(), kb="remote")
        assert again.count() == 1
        assert not (settings.home / "chroma").exists()  # nothing written to the embedded store
    finally:
        server.terminate()
        server.wait(timeout=30)
