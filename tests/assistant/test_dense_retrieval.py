"""Dense retrieval's filters over a real embedded Chroma store: what reaches Chroma's `where`
(its pre-filter reads every chunk it admits), and that no path returns a chunk the asker may
not see. Vectors are unit vectors in a plane, so the nearest chunks are known exactly."""

from __future__ import annotations

import math
from typing import Any

import pytest

from assistant.records import Channel, RetrievalQuery, Vehicle
from assistant.retrieval import AccessFilter, DenseRetriever
from knowledge.filters import matches
from knowledge.records import MetadataValue
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, ChunkWrite, make_chroma_client

QUESTION_ANGLE = 0.0


def toward(degrees: float) -> list[float]:
    radians = math.radians(degrees)
    return [math.cos(radians), math.sin(radians), 0.0, 0.0]


class PlaneEmbedder:
    """Every question points at `QUESTION_ANGLE`; chunks are written with their own vectors."""

    model_name = "plane"
    dimension = 4

    def embed_query(self, text: str) -> list[float]:
        return toward(QUESTION_ANGLE)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [toward(QUESTION_ANGLE) for _ in texts]


class WhereSpy:
    """Records the `where` of every query the collection is asked."""

    def __init__(self, store: ChromaKnowledgeStore) -> None:
        self.wheres: list[Any] = []
        collection = store.collection
        query = collection.query

        def spying_query(*args: Any, **kwargs: Any) -> Any:
            self.wheres.append(kwargs.get("where"))
            return query(*args, **kwargs)

        collection.query = spying_query  # type: ignore[method-assign]


Layout = dict[str, tuple[float, dict[str, MetadataValue]]]
"""Chunk id: (angle from the question, metadata)."""


def general(audience: str) -> dict[str, MetadataValue]:
    return {"document_id": "general", "audience": audience, "vehicle_scope": "general"}


def specific(audience: str, make: str, model: str, first: int, last: int) -> dict[str, Any]:
    return {"document_id": f"{make}-{model}", "audience": audience, "vehicle_scope": "specific",
            "make": make, "model": model, "year_first": first, "year_last": last}  # fmt: skip


@pytest.fixture
def store(settings: GloveboxSettings) -> ChromaKnowledgeStore:
    return ChromaKnowledgeStore.open(
        make_chroma_client(settings), "plane", model_name="plane", dimension=4
    )


def write(store: ChromaKnowledgeStore, layout: Layout) -> None:
    store.write(
        [
            ChunkWrite(chunk_id, f"text of {chunk_id}", metadata, toward(angle))
            for chunk_id, (angle, metadata) in layout.items()
        ]
    )


def nearest_admitted(layout: Layout, access: AccessFilter, k: int) -> list[str]:
    """What the query must return: the k nearest chunks the filter admits, by exact angle."""
    admitted = [(angle, chunk_id) for chunk_id, (angle, metadata) in layout.items()
                if matches(access.chunk_filter(), metadata)]  # fmt: skip
    return [chunk_id for _, chunk_id in sorted(admitted)[:k]]


def dense_ids(store: ChromaKnowledgeStore, access: AccessFilter, k: int) -> list[str]:
    query = RetrievalQuery("anything", access.channel, access.vehicle, k)
    return [passage.chunk_id for passage in DenseRetriever(store, PlaneEmbedder()).run(query, k)]


MIXED: Layout = {
    f"chunk-{n}": (n * 2.0, general("internal" if n % 4 == 3 else "public")) for n in range(40)
}
"""Forty chunks, a quarter of them internal, every fourth one."""


def test_the_agent_channel_sends_no_filter_to_chroma(store: ChromaKnowledgeStore) -> None:
    write(store, MIXED)
    spy = WhereSpy(store)
    agent = AccessFilter(Channel.AGENT)
    for _ in range(3):
        assert dense_ids(store, agent, 5) == nearest_admitted(MIXED, agent, 5)
    assert spy.wheres == [None, None, None]


def test_the_driver_channel_stops_sending_the_filter_once_it_knows_the_public_share(
    store: ChromaKnowledgeStore,
) -> None:
    write(store, MIXED)
    spy = WhereSpy(store)
    driver = AccessFilter(Channel.DRIVER)
    expected = nearest_admitted(MIXED, driver, 6)
    assert all(MIXED[chunk_id][1]["audience"] == "public" for chunk_id in expected)
    for _ in range(4):
        assert dense_ids(store, driver, 6) == expected
    # The first question learns that 3 in 4 pass; from then on no question reaches the
    # pre-filter (about 0.5 s at 100k chunks).
    assert spy.wheres[-3:] == [None, None, None]


def test_a_chunk_of_an_audience_no_channel_names_is_never_returned(
    store: ChromaKnowledgeStore,
) -> None:
    """Ingest writes only public and internal, but a store may hold anything (a backup, a
    future audience): skipping the agent's filter must not let such a chunk through."""
    no_audience: dict[str, MetadataValue] = {"document_id": "x", "vehicle_scope": "general"}
    layout: Layout = {
        **MIXED,
        "partner-only": (0.0, general("partner")),
        "no-audience": (0.5, no_audience),
    }
    write(store, layout)
    for access in (AccessFilter(Channel.AGENT), AccessFilter(Channel.DRIVER)):
        for _ in range(3):
            found = dense_ids(store, access, 5)
            assert found == nearest_admitted(layout, access, 5)
            assert "partner-only" not in found and "no-audience" not in found


OTHER_VEHICLES_NEAREST: Layout = {
    **{f"zenith-{n}": (n * 0.25, specific("public", "zenith", "comet", 2020, 2025))
       for n in range(120)},
    **{f"acme-other-model-{n}": (30 + n * 1.0, specific("public", "acme", "rover", 2020, 2025))
       for n in range(10)},
    **{f"acme-other-year-{n}": (40 + n * 1.0, specific("public", "acme", "comet", 2015, 2019))
       for n in range(10)},
    "acme-comet-internal": (50.0, specific("internal", "acme", "comet", 2020, 2025)),
    "acme-comet": (55.0, specific("public", "acme", "comet", 2020, 2025)),
    "acme-any-model": (60.0, specific("public", "acme", "", 0, 9999)),
    "general": (65.0, general("public")),
    "acme-comet-later": (70.0, specific("public", "acme", "comet", 2024, 2025)),
}  # fmt: skip
"""The asker's chunks lie behind 140 of other vehicles': only Chroma's filter finds them."""

INTERLEAVED: Layout = {
    f"chunk-{n}": (
        n * 1.5,
        specific("public", "zenith", "comet", 2020, 2025) if n % 3 == 0
        else specific("public", "acme", "comet", 2020, 2025) if n % 3 == 1
        else general("public"),
    )
    for n in range(60)
}  # fmt: skip
"""Every third chunk is another make's: the nearest unfiltered chunks hold enough of the
asker's, filtered in Python."""


@pytest.mark.parametrize(
    ("layout", "chroma_filters_at_last"),
    [(OTHER_VEHICLES_NEAREST, True), (INTERLEAVED, False)],
    ids=["other-vehicles-nearest", "interleaved"],
)
@pytest.mark.parametrize("channel", [Channel.DRIVER, Channel.AGENT])
def test_a_vehicle_query_never_returns_another_vehicles_chunk(
    store: ChromaKnowledgeStore, layout: Layout, chroma_filters_at_last: bool, channel: Channel
) -> None:
    write(store, layout)
    spy = WhereSpy(store)
    access = AccessFilter(channel, Vehicle("ACME", "Comet", 2023))
    expected = nearest_admitted(layout, access, 3)
    for _ in range(4):
        found = dense_ids(store, access, 3)
        assert found == expected
        for chunk_id in found:
            metadata = layout[chunk_id][1]
            assert metadata["vehicle_scope"] == "general" or (
                metadata["make"] == "acme" and metadata["model"] in {"comet", ""}
            ), chunk_id
    assert (spy.wheres[-1] is not None) is chroma_filters_at_last
