"""Hybrid retrieval over a real embedded Chroma store, with the hash embedder standing in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.records import Channel, Passage, RetrievalQuery, Vehicle
from assistant.retrieval import (
    AccessFilter,
    DenseRetriever,
    HybridRetriever,
    KeywordIndex,
    as_langchain_retriever,
    keyword_tokens,
)
from knowledge.errors import ConfigurationError
from knowledge.filters import ChunkFilter, matches
from knowledge.records import MetadataValue
from knowledge.settings import GloveboxSettings
from knowledge.store import (
    ChromaKnowledgeStore,
    ChunkWrite,
    KnowledgeStore,
    StoredChunk,
    make_chroma_client,
)
from tests.concurrency import run_at_once
from tests.fakes import HashEmbedder, InMemoryKnowledgeStore

VehicleScope = tuple[str, str, int, int]
"""(make, model, year_first, year_last) as ingest stores them: normalised, 0/9999 when unknown."""

CHUNKS: list[tuple[str, str, VehicleScope | None, str]] = [
    ("general-public", "public", None,
     "Roadside assistance is available around the clock on 1-800-555-0199."),
    ("general-internal", "internal", None,
     "Agents may approve goodwill repairs up to 500 dollars without a supervisor."),
    ("karst-2022-2023", "public", ("halvard", "karst", 2022, 2023),
     "To reset the tire pressure light on the Karst, hold the TPMS button for three seconds."),
    ("karst-2024-2025", "public", ("halvard", "karst", 2024, 2025),
     "On the Karst, reset the tire pressure light from the Vehicle Settings menu."),
    ("karst-tsb", "internal", ("halvard", "karst", 2022, 2025),
     "Bulletin TSB-HV-23-040: Karst AWD coupling noise, replace fluid with HV-41120-KR1-A03."),
    ("karst-any-year", "public", ("halvard", "karst", 0, 9999),
     "The Karst towing hitch is rated for 1,500 pounds with a braked trailer."),
    ("tessel-2021-2022", "public", ("halvard", "tessel", 2021, 2022),
     "The Tessel charges to 80 percent in 35 minutes on a DC fast charger."),
    ("tessel-2023-2025", "public", ("halvard", "tessel", 2023, 2025),
     "The Tessel charges to 80 percent in 28 minutes on a DC fast charger."),
    ("halvard-wide", "public", ("halvard", "", 2019, 2025),
     "Every Halvard built 2019 to 2025 is covered by recall 24V-210 for the rearview camera."),
    ("halvard-wide-internal", "internal", ("halvard", "", 0, 9999),
     "Agents: any Halvard with code P0420 needs the emissions bulletin checked first."),
    ("brisa-2019-2022", "public", ("halvard", "brisa", 2019, 2022),
     "The Brisa tire pressure light is reset with the button below the steering wheel."),
    ("ostra-karst", "public", ("ostra", "karst", 2022, 2025),
     "The Ostra Karst is another maker's car that shares a model name with ours."),
]  # fmt: skip


def chunk_metadata(
    chunk_id: str, audience: str, scope: VehicleScope | None
) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {
        "document_id": f"doc-{chunk_id}",
        "kind": "owner_manual",
        "audience": audience,
        "title": chunk_id.replace("-", " "),
        "section": "Section",
        "vehicle_scope": "specific" if scope else "general",
    }
    if scope:
        make, model, year_first, year_last = scope
        metadata.update(make=make, model=model, year_first=year_first, year_last=year_last)
    return metadata


def write_chunks(
    store: KnowledgeStore,
    embedder: HashEmbedder,
    chunks: list[tuple[str, str, VehicleScope | None, str]],
) -> None:
    store.write(
        [
            ChunkWrite(chunk_id, text, chunk_metadata(chunk_id, audience, scope), vector)
            for (chunk_id, audience, scope, text), vector in zip(
                chunks, embedder.embed_documents([c[3] for c in chunks]), strict=True
            )
        ]
    )


def open_store(settings: GloveboxSettings, embedder: HashEmbedder, kb: str) -> KnowledgeStore:
    return ChromaKnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=embedder.model_name,
        dimension=embedder.dimension,
    )


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def store(settings: GloveboxSettings, embedder: HashEmbedder) -> KnowledgeStore:
    knowledge = open_store(settings, embedder, "main")
    write_chunks(knowledge, embedder, CHUNKS)
    return knowledge


def ask(text: str, channel: Channel = Channel.DRIVER, vehicle: Vehicle | None = None, k: int = 8):
    return RetrievalQuery(text, channel, vehicle, k)


# ---------------------------------------------------------------- keyword tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is recall 24V-210 done?", {"24v-210", "24v210", "24v", "210"}),
        ("Code P0420 is on", {"p0420"}),
        ("Order HV-45022-KR2-A00", {"hv-45022-kr2-a00", "hv45022kr2a00", "kr2", "a00"}),
        ("TSB-HV-23-014", {"tsb-hv-23-014", "tsbhv23014"}),
    ],
)
def test_codes_are_kept_whole_and_split(text: str, expected: set[str]) -> None:
    assert expected <= set(keyword_tokens(text))


def test_stopwords_are_dropped() -> None:
    assert keyword_tokens("How do I reset the TPMS on my car?") == ["reset", "tpms", "car"]


def test_a_campaign_number_is_found_written_either_way(store: KnowledgeStore) -> None:
    keyword = KeywordIndex(store)
    for spelling in ("24V-210", "24V210", "24v210"):
        found = keyword.run(ask(f"recall {spelling}"), k=3)
        assert found and found[0].chunk_id == "halvard-wide", spelling


# ---------------------------------------------------------------- who sees what


PUBLIC_GENERAL = {"audience": "public", "vehicle_scope": "general"}
INTERNAL_GENERAL = {"audience": "internal", "vehicle_scope": "general"}


def specific(model: str, first: int, last: int, make: str = "halvard") -> dict[str, object]:
    return {
        "audience": "public",
        "vehicle_scope": "specific",
        "make": make,
        "model": model,
        "year_first": first,
        "year_last": last,
    }


def admits(access: AccessFilter, metadata: Mapping[str, object]) -> bool:
    """What the keyword index asks of each chunk: the same filter, evaluated in Python."""
    return matches(access.chunk_filter(), metadata)


def test_drivers_see_public_documents_only_and_agents_internal_too() -> None:
    assert admits(AccessFilter(Channel.DRIVER), PUBLIC_GENERAL)
    assert not admits(AccessFilter(Channel.DRIVER), INTERNAL_GENERAL)
    assert admits(AccessFilter(Channel.AGENT), PUBLIC_GENERAL)
    assert admits(AccessFilter(Channel.AGENT), INTERNAL_GENERAL)
    assert not admits(AccessFilter(Channel.AGENT), {"audience": "secret"})


@pytest.mark.parametrize(
    ("metadata", "admitted"),
    [
        (PUBLIC_GENERAL, True),
        (specific("karst", 2022, 2023), True),
        (specific("karst", 2023, 2023), True),
        (specific("", 2019, 2025), True),
        (specific("karst", 0, 9999), True),
        (specific("tessel", 2022, 2023), False),
        (specific("karst", 2024, 2025), False),
        (specific("karst", 2018, 2022), False),
        (specific("karst", 2022, 2023, make="ostra"), False),
    ],
)
def test_vehicle_filter(metadata: dict[str, object], admitted: bool) -> None:
    access = AccessFilter(Channel.DRIVER, Vehicle("Halvard", "Karst", 2023))
    assert admits(access, metadata) is admitted


FILTERS = [
    AccessFilter(Channel.DRIVER),
    AccessFilter(Channel.AGENT),
    AccessFilter(Channel.DRIVER, Vehicle("Halvard", "Karst", 2023)),
    AccessFilter(Channel.AGENT, Vehicle("HALVARD ", "karst", 2024)),
    AccessFilter(Channel.AGENT, Vehicle("Halvard", "Tessel", 2022)),
    AccessFilter(Channel.DRIVER, Vehicle(model="Karst")),
    AccessFilter(Channel.AGENT, Vehicle(make="Halvard")),
    AccessFilter(Channel.DRIVER, Vehicle(year=2020)),
    AccessFilter(Channel.AGENT, Vehicle("Halvard", "Zephyr", 2030)),
    AccessFilter(Channel.AGENT, Vehicle()),
    AccessFilter(Channel.DRIVER, Vehicle(make="Nobody")),
]


def test_chroma_selects_exactly_what_the_keyword_index_admits(store: KnowledgeStore) -> None:
    every_chunk = list(store.iter_chunks())
    assert len(every_chunk) == len(CHUNKS)
    for access in FILTERS:
        by_python = {c.id for c in every_chunk if admits(access, c.metadata)}
        by_chroma = {c.id for c in store.iter_chunks(where=access.chunk_filter())}
        assert by_chroma == by_python, access


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        (
            AccessFilter(Channel.DRIVER, Vehicle("Halvard", "Karst", 2023)),
            {"general-public", "karst-2022-2023", "karst-any-year", "halvard-wide"},
        ),
        (
            AccessFilter(Channel.AGENT, Vehicle("HALVARD ", "karst", 2024)),
            {
                "general-public",
                "general-internal",
                "karst-2024-2025",
                "karst-tsb",
                "karst-any-year",
                "halvard-wide",
                "halvard-wide-internal",
            },
        ),
        (
            AccessFilter(Channel.DRIVER, Vehicle(year=2020)),
            {"general-public", "karst-any-year", "halvard-wide", "brisa-2019-2022"},
        ),
        (AccessFilter(Channel.DRIVER, Vehicle(make="Nobody")), {"general-public"}),
    ],
)
def test_chroma_selects_the_askers_documents(
    store: KnowledgeStore, access: AccessFilter, expected: set[str]
) -> None:
    assert {c.id for c in store.iter_chunks(where=access.chunk_filter())} == expected


# ---------------------------------------------------------------- a filter that matches nothing


@pytest.fixture
def vehicle_specific_store(settings: GloveboxSettings, embedder: HashEmbedder) -> KnowledgeStore:
    knowledge = open_store(settings, embedder, "specific")
    write_chunks(knowledge, embedder, [c for c in CHUNKS if c[2] and c[2][1]])
    return knowledge


def test_a_filter_that_matches_nothing_returns_nothing(
    vehicle_specific_store: KnowledgeStore, embedder: HashEmbedder
) -> None:
    dense = DenseRetriever(vehicle_specific_store, embedder)
    keyword = KeywordIndex(vehicle_specific_store)
    hybrid = HybridRetriever(dense, keyword, fusion="rrf")
    question = "How fast does the Tessel charge on a DC fast charger?"
    nobody_has_it = ask(question, Channel.AGENT, Vehicle("Halvard", "Tessel", 2015))
    assert dense.run(nobody_has_it, k=8) == []
    assert keyword.run(nobody_has_it, k=8) == []
    assert hybrid.run(nobody_has_it).passages == []
    # The same question for a Tessel the knowledge base covers finds its document.
    covered = hybrid.run(ask(question, Channel.AGENT, Vehicle("Halvard", "Tessel", 2023)))
    assert covered.passages[0].chunk_id == "tessel-2023-2025"


def test_dense_and_keyword_results_obey_the_filter(
    store: KnowledgeStore, embedder: HashEmbedder
) -> None:
    query = ask("reset the tire pressure light", Channel.DRIVER, Vehicle("Halvard", "Karst", 2023))
    access = AccessFilter(query.channel, query.vehicle)
    dense = DenseRetriever(store, embedder).run(query, k=20)
    keyword = KeywordIndex(store).run(query, k=20)
    assert dense and keyword
    assert all(admits(access, p.metadata) for p in [*dense, *keyword])
    assert dense[0].chunk_id == keyword[0].chunk_id == "karst-2022-2023"


# ---------------------------------------------------------------- keyword index freshness


def test_keyword_index_sees_a_new_chunk_after_mark_changed(
    store: KnowledgeStore, embedder: HashEmbedder
) -> None:
    keyword = KeywordIndex(store)
    question = ask("windshield defroster")
    assert keyword.run(question, k=5) == []
    write_chunks(
        store,
        embedder,
        [("defrost", "public", None, "Press the windshield defroster button to clear fog.")],
    )
    store.mark_changed()
    assert [p.chunk_id for p in keyword.run(question, k=5)] == ["defrost"]


class CountingStore(InMemoryKnowledgeStore):
    """Counts full reads of the store (what catching the keyword index up starts with);
    each read can be held."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads = 0
        self.reading = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self._counted = threading.Lock()

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        if where is not None:
            yield from super().iter_chunks(where)
            return
        with self._counted:
            self.full_reads += 1
        chunks = list(super().iter_chunks())
        self.reading.set()
        self.release.wait(10)
        time.sleep(0.02)  # a read takes time: a second builder would arrive during it
        yield from chunks


def counting_store(embedder: HashEmbedder) -> CountingStore:
    store = CountingStore()
    write_chunks(store, embedder, CHUNKS)
    return store


def test_concurrent_first_questions_build_the_keyword_index_once(
    embedder: HashEmbedder,
) -> None:
    store = counting_store(embedder)
    keyword = KeywordIndex(store)
    found = run_at_once(8, lambda: keyword.run(ask("tire pressure light"), k=3))
    assert store.full_reads == 1
    assert all(passages == found[0] and passages for passages in found)


def test_prepare_builds_the_index_so_the_first_question_reads_nothing(
    embedder: HashEmbedder,
) -> None:
    store = counting_store(embedder)
    keyword = KeywordIndex(store)
    keyword.prepare()
    keyword.run(ask("tire pressure light"), k=3)
    keyword.corrected("tire presure")
    assert store.full_reads == 1


def test_a_question_that_waited_while_an_ingest_landed_sees_the_new_chunk(
    embedder: HashEmbedder,
) -> None:
    """One question builds the index; a second waits for it; an ingest lands meanwhile. The
    second must not take the index built from before the ingest."""
    store = counting_store(embedder)
    keyword = KeywordIndex(store)
    store.release.clear()
    with ThreadPoolExecutor(2) as pool:
        building = pool.submit(keyword.run, ask("tire pressure"), 3)
        assert store.reading.wait(10)
        waiting = pool.submit(keyword.run, ask("windshield defroster"), 3)
        time.sleep(0.2)  # it has read the revision and waits for the builder's lock
        write_chunks(
            store,
            embedder,
            [("defrost", "public", None, "Press the windshield defroster button to clear fog.")],
        )
        store.mark_changed()
        store.release.set()
        building.result(10)
        assert [p.chunk_id for p in waiting.result(10)] == ["defrost"]
    assert store.full_reads == 2


# ---------------------------------------------------------------- fusion


class ScriptedDense(DenseRetriever):
    """Dense results in a fixed order with fixed similarities."""

    def __init__(self, ranked: list[tuple[str, float]]) -> None:
        self._ranked = ranked

    def run(self, query: RetrievalQuery, k: int) -> list[Passage]:
        return [
            Passage(chunk_id, chunk_id, {}, similarity, rank, None, similarity)
            for rank, (chunk_id, similarity) in enumerate(self._ranked[:k], start=1)
        ]


class ScriptedKeyword(KeywordIndex):
    """Keyword results in a fixed order with fixed BM25 scores."""

    def __init__(self, ranked: list[tuple[str, float]]) -> None:
        self._ranked = ranked

    def run(self, query: RetrievalQuery, k: int) -> list[Passage]:
        return [
            Passage(chunk_id, chunk_id, {}, score, None, rank)
            for rank, (chunk_id, score) in enumerate(self._ranked[:k], start=1)
        ]


def fused_ids(retriever: HybridRetriever) -> list[str]:
    return [p.chunk_id for p in retriever.run(ask("anything", k=10)).passages]


def test_rrf_puts_a_chunk_both_retrievers_found_first() -> None:
    dense = ScriptedDense([("dense-only", 0.9), ("runner-up", 0.8), ("both", 0.7)])
    keyword = ScriptedKeyword([("keyword-only", 12.0), ("both", 8.0), ("also-keyword", 3.0)])
    ranking = fused_ids(HybridRetriever(dense, keyword, fusion="rrf"))
    assert ranking[0] == "both"
    assert set(ranking) == {"dense-only", "runner-up", "both", "keyword-only", "also-keyword"}


@pytest.mark.parametrize(
    ("dense_weight", "expected"),
    [(0.0, ["c", "b", "a"]), (1.0, ["a", "b", "c"])],
)
def test_weighted_fusion_follows_dense_weight(dense_weight: float, expected: list[str]) -> None:
    dense = ScriptedDense([("a", 0.9), ("b", 0.6), ("c", 0.3)])
    keyword = ScriptedKeyword([("c", 9.0), ("b", 5.0), ("a", 1.0)])
    retriever = HybridRetriever(dense, keyword, fusion="weighted", dense_weight=dense_weight)
    assert fused_ids(retriever) == expected


def test_hybrid_reports_how_strong_and_how_agreed_retrieval_was() -> None:
    dense = ScriptedDense([("a", 0.9), ("b", 0.6), ("c", 0.3)])
    keyword = ScriptedKeyword([("c", 9.0), ("x", 5.0)])
    result = HybridRetriever(dense, keyword, fusion="rrf").run(ask("anything", k=2))
    assert len(result.passages) == 2
    assert result.dense_top_similarity == 0.9
    assert result.keyword_top_score == 9.0
    assert result.retriever_agreement == pytest.approx(1 / 3)


def test_unknown_fusion_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_RETRIEVAL_FUSION='borda'"):
        HybridRetriever(ScriptedDense([]), None, fusion="borda")
    with pytest.raises(ConfigurationError, match="dense search, keyword search or both"):
        HybridRetriever(None, None)


# ---------------------------------------------------------------- the LangChain seam


def test_langchain_retriever_returns_documents_with_ids_and_metadata(
    store: KnowledgeStore, embedder: HashEmbedder
) -> None:
    hybrid = HybridRetriever(DenseRetriever(store, embedder), KeywordIndex(store), fusion="rrf")
    retriever = as_langchain_retriever(
        hybrid, Channel.DRIVER, Vehicle("Halvard", "Karst", 2023), k=3
    )
    documents = retriever.invoke("reset the tire pressure light")
    assert 1 <= len(documents) <= 3
    assert documents[0].id == "karst-2022-2023"
    assert documents[0].page_content.startswith("To reset the tire pressure light on the Karst")
    access = AccessFilter(Channel.DRIVER, Vehicle("Halvard", "Karst", 2023))
    for document in documents:
        assert document.id and document.metadata["document_id"] == f"doc-{document.id}"
        assert document.metadata["score"] > 0
        assert admits(access, document.metadata)
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)


def test_the_line_reranker_lifts_the_passage_whose_one_line_answers() -> None:
    from assistant.retrieval import UnitReranker

    mixed = Passage("mixed", "Radio presets.\nAdjust the voice guidance volume with plus.", {}, 0.5)
    vague = Passage("vague", "Navigation screen colours, map scale and icons.", {}, 0.55)
    ranked = UnitReranker(HashEmbedder(), weight=1.0).run("voice guidance volume", [vague, mixed])
    assert [p.chunk_id for p in ranked] == ["mixed", "vague"]


def test_spelling_is_mended_against_the_knowledge_bases_words(store: KnowledgeStore) -> None:
    keyword = KeywordIndex(store)
    assert keyword.corrected("reset the tire presure light") == "reset the tire pressure light"
    assert keyword.corrected("Karst P0420") == "Karst P0420"
    retriever = HybridRetriever(None, keyword, spelling=True)
    result = retriever.run(RetrievalQuery("towwing hitch", Channel.DRIVER, None, 3))
    assert result.passages[0].chunk_id == "karst-any-year"
    assert keyword.rarity("towing") > keyword.rarity("karst")  # in one chunk, not in six
