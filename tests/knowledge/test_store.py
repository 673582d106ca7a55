"""The stores: every implementation passes the store contract; Chroma's own promises (cosine
space, the embedding model it was built with, names, server mode) are tested here too."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from knowledge.errors import ConfigurationError
from knowledge.filters import Equals, OneOf
from knowledge.settings import GloveboxSettings
from knowledge.store import (
    EXACT_SEARCH_IDS,
    REVISION_STANDS_SECONDS,
    ChromaKnowledgeStore,
    ChunkWrite,
    KnowledgeStore,
    PostFilterPlan,
    PostFilterRead,
    drop_knowledge_base,
    list_knowledge_bases,
    make_chroma_client,
)
from tests.fakes import HashEmbedder, InMemoryKnowledgeStore
from tests.knowledge.store_contract import (
    CONTRACT_DIMENSION,
    CONTRACT_MODEL,
    KnowledgeStoreContract,
    toward,
    write_far_chunks,
)


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


class TestChromaEmbeddedStore(KnowledgeStoreContract):
    @pytest.fixture
    def store(self, settings: GloveboxSettings) -> KnowledgeStore:
        return ChromaKnowledgeStore.open(
            make_chroma_client(settings),
            "contract",
            model_name=CONTRACT_MODEL,
            dimension=CONTRACT_DIMENSION,
        )


@pytest.mark.integration
class TestChromaServerStore(KnowledgeStoreContract):
    """Server mode (GLOVEBOX_CHROMA_URL), the scale-out path: one server, a fresh kb a test."""

    names = itertools.count()

    @pytest.fixture
    def store(self, settings: GloveboxSettings, chroma_server: str) -> Iterator[KnowledgeStore]:
        remote = settings.model_copy(update={"chroma_url": chroma_server})
        kb = f"contract-{next(self.names)}"
        client = make_chroma_client(remote)
        yield ChromaKnowledgeStore.open(
            client, kb, model_name=CONTRACT_MODEL, dimension=CONTRACT_DIMENSION
        )
        drop_knowledge_base(client, kb)


class TestInMemoryStore(KnowledgeStoreContract):
    """The unit tests' fake keeps the promises the real stores keep."""

    @pytest.fixture
    def store(self) -> KnowledgeStore:
        return InMemoryKnowledgeStore(kb="contract", embedding_model=CONTRACT_MODEL)


@pytest.mark.integration
def test_server_mode_writes_to_the_server_not_the_embedded_store(
    settings: GloveboxSettings, chroma_server: str
) -> None:
    remote = settings.model_copy(update={"chroma_url": chroma_server})
    embedder = HashEmbedder()
    store = open_store(remote, embedder, kb="remote")
    store.write([ChunkWrite("a", "brake fluid DOT 4", {"document_id": "a"},
                            embedder.embed_query("brake fluid DOT 4"))])  # fmt: skip
    again = open_store(remote, HashEmbedder(), kb="remote")
    assert again.count() == 1
    assert "remote" in list_knowledge_bases(make_chroma_client(remote))
    assert not (settings.home / "chroma").exists()  # nothing written to the embedded store


def test_a_post_filter_plan_reads_what_the_share_it_saw_needs() -> None:
    plan = PostFilterPlan()
    agent = OneOf("audience", ("public", "internal"))
    driver, nobody = Equals("audience", "public"), Equals("audience", "x")
    first = plan.read_for(agent, 30, search_depth=100)
    assert first == PostFilterRead(100, 100), "a filter not seen before reads what Chroma keeps"
    plan.observe_read(agent, passed=30, read=30, seconds=0.01)
    assert plan.read_for(agent, 30, search_depth=100) == PostFilterRead(30, 30)
    plan.observe_read(driver, passed=21, read=30, seconds=0.01)
    # As deep as Chroma's filtered search looks (100 that pass), reading 30 * 1.5 / 0.7.
    assert plan.read_for(driver, 30, search_depth=100) == PostFilterRead(143, 65)
    plan.observe_read(nobody, passed=0, read=30, seconds=0.01)
    assert plan.read_for(nobody, 30, search_depth=100) is None, "nothing passed: Chroma filters"


def test_a_rare_filter_reads_more_only_when_chromas_filter_was_timed_slower() -> None:
    plan = PostFilterPlan()
    vehicle, other = Equals("make", "acme"), Equals("make", "zenith")
    for where in (vehicle, other):
        plan.observe_read(where, passed=3, read=60, seconds=0.018)  # 5% pass, 0.3 ms each
    assert plan.read_for(vehicle, 30, search_depth=100) is None, "Chroma's filter not timed yet"
    plan.observe_filtered(Equals("audience", "public"), seconds=1.0)
    assert plan.read_for(vehicle, 30, search_depth=100) == PostFilterRead(2000, 900), (
        "another filter's time tells what this store's filter costs"
    )
    plan.observe_filtered(vehicle, seconds=1.0)
    plan.observe_filtered(other, seconds=0.1)
    # 900 neighbours read at 0.3 ms each against 1 s of Chroma's filter; 0.1 s is cheaper.
    assert plan.read_for(vehicle, 30, search_depth=100) == PostFilterRead(2000, 900)
    assert plan.read_for(other, 30, search_depth=100) is None
    plan.observe_read(Equals("make", "rare"), passed=1, read=100, seconds=0.03)
    assert plan.read_for(Equals("make", "rare"), 30, search_depth=100) is None, "too deep"


@pytest.mark.parametrize("exact_up_to", [EXACT_SEARCH_IDS, 1], ids=["exact", "chroma"])
def test_a_selective_filter_is_searched_among_the_ids_it_admits(
    settings: GloveboxSettings, monkeypatch: pytest.MonkeyPatch, exact_up_to: int
) -> None:
    """When too few unfiltered neighbours pass, the ids the caller says the filter admits are
    searched (here a list that leaves out the nearest match: the list is what is searched):
    a few compared here exactly, more by Chroma."""
    monkeypatch.setattr("knowledge.store.EXACT_SEARCH_IDS", exact_up_to)
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings), "among", model_name=CONTRACT_MODEL,
        dimension=CONTRACT_DIMENSION,
    )  # fmt: skip
    write_far_chunks(store)
    far = Equals("far", True)
    told = store.query(toward(0), k=2, where=far, admitted=lambda: ["c143", "c141"])
    assert [chunk.id for chunk, _, _ in told] == ["c141", "c143"]  # c140 was not listed
    assert all(chunk.metadata.get("far") is True and text for chunk, text, _ in told)
    read = store.query(
        toward(0), k=2, where=far, admitted=lambda: ["c143", "c141"], read=lambda ids: {}
    )
    assert [(chunk.id, text) for chunk, text, _ in read] == [(c.id, t) for c, t, _ in told]
    plain = store._nearest(toward(0), 2, None, ids=["c143", "c141"])
    assert [distance for *_, distance in told] == pytest.approx([d for *_, d in plain], abs=1e-5)


def test_hits_are_read_from_the_reader_where_it_has_them(settings: GloveboxSettings) -> None:
    """Chroma gives only the distances; what the reader has is what the hits carry, and a chunk
    it lacks (an index behind the store) is read from Chroma."""
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings), "reader", model_name=CONTRACT_MODEL,
        dimension=CONTRACT_DIMENSION,
    )  # fmt: skip
    write_far_chunks(store)
    asked: list[list[str]] = []

    def read(ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str]]:
        asked.append(list(ids))
        return (
            {"c141": ({"far": True, "copy": "reader"}, "the reader's text")}
            if "c141" in ids
            else {}
        )

    found = store.query(toward(0), k=3, where=Equals("far", True), read=read)
    assert [chunk.id for chunk, _, _ in found] == ["c140", "c141", "c142"]
    assert [text for _, text, _ in found] == ["text 140", "the reader's text", "text 142"]
    assert found[1][0].metadata == {"far": True, "copy": "reader"}
    assert any("c141" in ids for ids in asked)


def test_a_revision_marked_in_this_process_is_seen_at_once_another_within_moments(
    settings: GloveboxSettings,
) -> None:
    """A revision read stands a moment (one question reads it several times), but never hides
    a change marked by any store object of this process."""
    client = make_chroma_client(settings)
    reader = ChromaKnowledgeStore.open(
        client, "revisions", model_name=CONTRACT_MODEL, dimension=CONTRACT_DIMENSION
    )
    writer = ChromaKnowledgeStore.open(
        make_chroma_client(settings), "revisions", model_name=CONTRACT_MODEL,
        dimension=CONTRACT_DIMENSION,
    )  # fmt: skip
    first = reader.content_revision
    assert writer.mark_changed("second") == "second" != first
    assert reader.content_revision == "second"
    # Another process changes it behind this one's back: seen once the read has stood its time.
    collection = client.get_collection(reader.collection.name)
    collection.modify(metadata={**(collection.metadata or {}), "content_revision": "third"})
    time.sleep(REVISION_STANDS_SECONDS * 2)
    assert reader.content_revision == "third"
