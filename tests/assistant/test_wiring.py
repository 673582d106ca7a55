"""A server's services: opened without loading anything slow, then warmed up once, in the
background, with first requests arriving meanwhile building nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import wiring
from assistant.records import Channel, RetrievalQuery
from assistant.vehicles import VehicleCatalog
from ingest.sync import build_ingest_job
from knowledge.filters import ChunkFilter
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, StoredChunk
from tests.concurrency import run_at_once
from tests.fakes import HashEmbedder
from tests.ingest.corpus import write_corpus


@pytest.fixture
def builds(
    settings: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, int]:
    """How often the knowledge base was read whole (what catching the keyword index up from
    the store starts with) and the catalogue built, on a small ingested knowledge base served
    with the hash embedder."""
    embedder = HashEmbedder()
    build_ingest_job(settings, "default", embedder).run([write_corpus(tmp_path / "kb")])
    counts = {"keyword index": 0, "catalogue": 0}
    counted = threading.Lock()
    read_for_real = ChromaKnowledgeStore.iter_chunks
    from_metadata = VehicleCatalog.from_metadata.__func__  # type: ignore[attr-defined]

    def count(what: str) -> None:
        with counted:
            counts[what] += 1

    def counting_read(
        store: ChromaKnowledgeStore, where: ChunkFilter | None = None
    ) -> Iterator[StoredChunk]:
        if where is None:
            count("keyword index")
        yield from read_for_real(store, where)

    def counting_catalog(cls: type[VehicleCatalog], *args: Any, **kwargs: Any) -> VehicleCatalog:
        count("catalogue")
        return from_metadata(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(ChromaKnowledgeStore, "iter_chunks", counting_read)
    monkeypatch.setattr(VehicleCatalog, "from_metadata", classmethod(counting_catalog))
    monkeypatch.setattr(wiring, "build_embedder", lambda settings: embedder)
    return counts


def serve_settings(settings: GloveboxSettings) -> GloveboxSettings:
    # The semantic safety layer's real models are the embedder tests' business.
    return settings.model_copy(update={"safety_semantic": False})


def test_opening_a_servers_services_reads_nothing(
    settings: GloveboxSettings, builds: dict[str, int]
) -> None:
    wiring.build_services(serve_settings(settings), "default")
    assert builds == {"keyword index": 0, "catalogue": 0}


def without_keyword_index(settings: GloveboxSettings, on_disk: bool) -> int:
    """Deletes the keyword index ingest wrote unless `on_disk`: the full reads catching it up
    from the store then takes (one, or none)."""
    import shutil

    if on_disk:
        return 0
    shutil.rmtree(settings.kb_state_dir("default") / "keywords")
    return 1


@pytest.mark.parametrize("on_disk", [True, False], ids=["index on disk", "index deleted"])
def test_first_requests_during_the_warm_up_build_nothing_twice(
    settings: GloveboxSettings, builds: dict[str, int], on_disk: bool
) -> None:
    reads = without_keyword_index(settings, on_disk)
    services = wiring.build_services(serve_settings(settings), "default")
    warm_up = wiring.WarmUp(services)

    def first_request() -> object:
        warm_up.start()  # the server's startup, racing the requests
        query = RetrievalQuery("how do I charge the battery", Channel.DRIVER, None, 3)
        return services.retriever.run(query).passages, services.catalog

    results = run_at_once(6, first_request)
    assert warm_up.wait(60) and warm_up.state == "ready", warm_up.error
    assert builds == {"keyword index": reads, "catalogue": 1}
    assert all(result == results[0] for result in results)
    assert results[0][0]  # the requests found passages


@pytest.mark.parametrize("on_disk", [True, False], ids=["index on disk", "index deleted"])
def test_the_warm_up_leaves_the_first_question_nothing_to_build(
    settings: GloveboxSettings, builds: dict[str, int], on_disk: bool
) -> None:
    reads = without_keyword_index(settings, on_disk)
    services = wiring.build_services(serve_settings(settings), "default")
    warm_up = wiring.WarmUp(services)
    warm_up.run()
    assert (warm_up.state, warm_up.error) == ("ready", None)
    assert builds == {"keyword index": reads, "catalogue": 1}
    reply = services.assistant.ask("How do I charge the battery?", channel=Channel.DRIVER)
    assert reply.answer
    assert builds == {"keyword index": reads, "catalogue": 1}


def test_a_model_other_than_the_knowledge_bases_fails_the_warm_up_and_says_what_to_do(
    settings: GloveboxSettings, builds: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = HashEmbedder(dimension=32)  # same name, other vectors: found once loaded
    monkeypatch.setattr(wiring, "build_embedder", lambda settings: other)
    warm_up = wiring.WarmUp(wiring.build_services(serve_settings(settings), "default"))
    warm_up.run()
    assert warm_up.state == "failed" and warm_up.error is not None
    assert warm_up.error.startswith("loading the embedding model failed")
    assert "(32-d)" in warm_up.error and "GLOVEBOX_EMBEDDING_MODEL_PATH" in warm_up.error


def test_the_catalogue_reads_the_same_counts_with_or_without_the_keyword_index(
    settings: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which model names are mostly other words is decided from each model's chunks and each
    word's chunks: the keyword index gives them, and a store without one must give the same."""
    from knowledge.components import open_keyword_index, open_knowledge_base

    embedder = HashEmbedder()
    build_ingest_job(settings, "default", embedder).run([write_corpus(tmp_path / "kb")])
    store = open_knowledge_base(settings, "default", embedder, create=False)
    seen: list[tuple[dict[str | None, int], dict[str, int]]] = []

    def noting(model_chunks: Any, word_documents: Any) -> frozenset[str]:
        seen.append((dict(model_chunks), dict(word_documents)))
        return frozenset()

    monkeypatch.setattr(wiring, "names_used_for_other_things", noting)
    wiring.build_catalog(settings, store, open_keyword_index(settings, "default"))
    wiring.build_catalog(settings, store)

    (indexed_models, indexed_words), (read_models, read_words) = seen
    assert indexed_models == read_models and sum(read_models.values()) == store.count()
    assert "tessel" in indexed_words and indexed_words == read_words
