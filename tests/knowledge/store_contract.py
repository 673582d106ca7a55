"""What every `KnowledgeStore` must do, as one test class each implementation subclasses.

A subclass provides a `store` fixture: an empty knowledge base opened with `CONTRACT_MODEL`
and vectors of `CONTRACT_DIMENSION`, its name starting with "contract" (as Haystack's
`testing/document_store.py` and LangChain's standard vector-store tests are used).

    class TestMyStore(KnowledgeStoreContract):
        @pytest.fixture
        def store(self) -> KnowledgeStore:
            return MyStore.open("contract", ...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf, matches
from knowledge.records import MetadataValue
from knowledge.store import READ_PAGE_SIZE, ChunkWrite, KnowledgeStore

CONTRACT_MODEL = "contract-model"
CONTRACT_DIMENSION = 4


def toward(degrees: float) -> list[float]:
    """A unit vector in the first plane: the cosine distance between two is 1 - cos(angle)."""
    radians = math.radians(degrees)
    return [math.cos(radians), math.sin(radians), 0.0, 0.0]


LIBRARY: dict[str, dict[str, MetadataValue]] = {
    "manual:0": {"document_id": "manual", "position": 0, "audience": "public", "make": "acme",
                 "year_first": 2020, "year_last": 2023, "urgent": False},
    "manual:1": {"document_id": "manual", "position": 1, "audience": "public", "make": "acme",
                 "year_first": 2020, "year_last": 2023, "urgent": False},
    "bulletin:0": {"document_id": "bulletin", "position": 0, "audience": "internal",
                   "make": "acme", "year_first": 2024, "year_last": 2025, "urgent": True},
    "faq:0": {"document_id": "faq", "position": 0, "audience": "public", "make": "",
              "urgent": False},
    "other:0": {"document_id": "other", "position": 0, "audience": "partner", "make": "zenith",
                "year_first": 2018, "year_last": 2030, "urgent": True},
}  # fmt: skip
"""Five chunks whose metadata every kind of filter can tell apart; 'faq:0' has no years."""

ANGLES = {"manual:0": 0.0, "manual:1": 20.0, "bulletin:0": 45.0, "faq:0": 70.0, "other:0": 100.0}

FILTERS: list[tuple[ChunkFilter, set[str]]] = [
    (Equals("audience", "public"), {"manual:0", "manual:1", "faq:0"}),
    (Equals("year_first", 2024), {"bulletin:0"}),
    (Equals("urgent", True), {"bulletin:0", "other:0"}),
    (Equals("urgent", 1), set()),  # a bool is not a number
    (Equals("audience", "nobody"), set()),
    (OneOf("audience", ("internal", "partner")), {"bulletin:0", "other:0"}),
    (OneOf("make", ("acme", "")), {"manual:0", "manual:1", "bulletin:0", "faq:0"}),
    (AtMost("year_first", 2020), {"manual:0", "manual:1", "other:0"}),  # faq:0 has no year
    (AtLeast("year_last", 2025), {"bulletin:0", "other:0"}),
    (AtMost("year_first", 2019.5), {"other:0"}),
    (AllOf((Equals("make", "acme"), AtLeast("year_last", 2024))), {"bulletin:0"}),
    (AllOf((Equals("audience", "public"),)), {"manual:0", "manual:1", "faq:0"}),
    (AnyOf((Equals("make", ""), Equals("audience", "internal"))), {"faq:0", "bulletin:0"}),
    (AnyOf((Equals("make", "zenith"),)), {"other:0"}),
    (
        AllOf(
            (
                OneOf("audience", ("public", "internal")),
                AnyOf(
                    (
                        Equals("make", ""),
                        AllOf((AtMost("year_first", 2021), AtLeast("year_last", 2021))),
                    )
                ),
            )
        ),
        {"manual:0", "manual:1", "faq:0"},
    ),
]


def write_far_chunks(store: KnowledgeStore) -> None:
    """148 chunks fanning out from the query's direction; the last 8 are `far`."""
    store.write(
        [
            ChunkWrite(f"c{n}", f"text {n}", {"document_id": "d", "far": n >= 140},
                       toward(n * 0.5))
            for n in range(148)
        ]
    )  # fmt: skip


def write_library(store: KnowledgeStore) -> None:
    store.write(
        [
            ChunkWrite(chunk_id, f"text of {chunk_id}", metadata, toward(ANGLES[chunk_id]))
            for chunk_id, metadata in LIBRARY.items()
        ]
    )


class KnowledgeStoreContract:
    """The shared behaviour; subclasses provide the `store` fixture."""

    def test_an_empty_store_holds_nothing(self, store: KnowledgeStore) -> None:
        assert store.count() == 0
        assert list(store.iter_chunks()) == []
        assert store.query(toward(0), k=3) == []
        assert store.get_chunks(["missing"]) == [] and store.get_chunks([]) == []
        assert store.get_texts([]) == {}
        assert store.document_chunks("manual") == []

    def test_it_names_its_knowledge_base_and_embedding_model(self, store: KnowledgeStore) -> None:
        assert store.kb.startswith("contract")
        assert store.embedding_model == CONTRACT_MODEL

    def test_written_chunks_are_counted_and_read_back(self, store: KnowledgeStore) -> None:
        write_library(store)
        assert store.count() == len(LIBRARY)
        assert {chunk.id: chunk.metadata for chunk in store.iter_chunks()} == LIBRARY
        with_text = {chunk.id: text for chunk, text in store.iter_chunks_with_text()}
        assert with_text == {chunk_id: f"text of {chunk_id}" for chunk_id in LIBRARY}
        assert store.get_texts(["faq:0", "missing"]) == {"faq:0": "text of faq:0"}
        [(chunk, _)] = store.get_chunks(["bulletin:0"])
        assert chunk.document_id == "bulletin"

    def test_a_query_returns_the_nearest_first_with_cosine_distances(
        self, store: KnowledgeStore
    ) -> None:
        write_library(store)
        nearest = store.query(toward(30), k=3)
        assert [chunk.id for chunk, _, _ in nearest] == ["manual:1", "bulletin:0", "manual:0"]
        distances = [distance for _, _, distance in nearest]
        expected = [1 - math.cos(math.radians(angle)) for angle in (10, 15, 30)]
        assert distances == pytest.approx(expected, abs=1e-4)
        assert nearest[0][1] == "text of manual:1"
        assert nearest[0][0].metadata == LIBRARY["manual:1"]
        assert len(store.query(toward(30), k=50)) == len(LIBRARY)

    @pytest.mark.parametrize(("where", "expected"), FILTERS)
    def test_every_kind_of_filter_selects_what_matches_says(
        self, store: KnowledgeStore, where: ChunkFilter, expected: set[str]
    ) -> None:
        write_library(store)
        assert {chunk_id for chunk_id, m in LIBRARY.items() if matches(where, m)} == expected
        assert {chunk.id for chunk in store.iter_chunks(where=where)} == expected
        found = store.query(toward(0), k=len(LIBRARY), where=where)
        assert {chunk.id for chunk, _, _ in found} == expected
        assert [distance for _, _, distance in found] == sorted(d for _, _, d in found)

    def test_a_filtered_query_finds_the_nearest_matches_however_far_they_are(
        self, store: KnowledgeStore
    ) -> None:
        """Asked again and again, as a store that learns how much a filter admits would be:
        matches near the query, matches behind every other chunk, and a relabelled chunk."""
        store.write(
            [
                ChunkWrite(f"c{n}", f"text {n}",
                           {"document_id": "d", "odd": n % 2 == 1, "far": n >= 140},
                           toward(n * 0.5))
                for n in range(148)
            ]
        )  # fmt: skip
        cases: list[tuple[ChunkFilter, list[str]]] = [
            (Equals("odd", True), ["c1", "c3", "c5"]),
            (Equals("far", True), ["c140", "c141", "c142"]),
            (OneOf("far", (True, False)), ["c0", "c1", "c2"]),
            (AnyOf((Equals("far", True), Equals("document_id", "x"))), ["c140", "c141", "c142"]),
        ]
        for _ in range(3):
            for where, expected in cases:
                found = store.query(toward(0), k=3, where=where)
                assert [chunk.id for chunk, _, _ in found] == expected, where
                assert [text for _, text, _ in found] == [f"text {i[1:]}" for i in expected]
        store.write([ChunkWrite("c0", "", {"far": True}), ChunkWrite("c1", "", {"odd": False})])
        assert [c.id for c, _, _ in store.query(toward(0), k=3, where=Equals("far", True))] == [
            "c0", "c140", "c141",
        ]  # fmt: skip
        assert [c.id for c, _, _ in store.query(toward(0), k=2, where=Equals("odd", True))] == [
            "c3", "c5",
        ]  # fmt: skip

    def test_a_filtered_query_told_the_admitted_ids_finds_the_same(
        self, store: KnowledgeStore
    ) -> None:
        write_far_chunks(store)
        far = Equals("far", True)
        admitted = [f"c{n}" for n in range(140, 148)]
        for _ in range(2):
            found = store.query(toward(0), k=3, where=far, admitted=lambda: admitted)
            assert [chunk.id for chunk, _, _ in found] == ["c140", "c141", "c142"]
            assert [text for _, text, _ in found] == ["text 140", "text 141", "text 142"]
        told_nothing = store.query(toward(0), k=3, where=far, admitted=lambda: None)
        assert [chunk.id for chunk, _, _ in told_nothing] == ["c140", "c141", "c142"]

    def test_a_query_given_a_reader_of_the_chunks_finds_the_same(
        self, store: KnowledgeStore
    ) -> None:
        write_library(store)
        kept = {chunk.id: (chunk.metadata, text) for chunk, text in store.iter_chunks_with_text()}

        def read(ids: Sequence[str]) -> dict[str, tuple[Mapping[str, Any], str]]:
            return {chunk_id: kept[chunk_id] for chunk_id in ids if chunk_id in kept}

        public = Equals("audience", "public")
        for where in (None, public):
            plain = store.query(toward(0), k=4, where=where)
            assert store.query(toward(0), k=4, where=where, read=read) == plain

    def test_a_filter_that_matches_nothing_returns_nothing(self, store: KnowledgeStore) -> None:
        write_library(store)
        nobody = Equals("audience", "nobody")
        assert store.query(toward(0), k=5, where=nobody) == []
        assert list(store.iter_chunks(where=nobody)) == []

    def test_writing_without_an_embedding_changes_only_the_metadata(
        self, store: KnowledgeStore
    ) -> None:
        write_library(store)
        relabelled = {**LIBRARY["faq:0"], "audience": "internal"}
        store.write([ChunkWrite("faq:0", "ignored", relabelled)])
        assert store.get_chunks(["faq:0"])[0][0].metadata == relabelled
        assert store.get_texts(["faq:0"]) == {"faq:0": "text of faq:0"}
        [(chunk, _, distance)] = store.query(toward(70), k=1)
        assert chunk.id == "faq:0" and distance == pytest.approx(0.0, abs=1e-4)
        assert store.count() == len(LIBRARY)

    def test_writing_an_embedded_chunk_again_replaces_it(self, store: KnowledgeStore) -> None:
        write_library(store)
        store.write([ChunkWrite("faq:0", "new text", {"document_id": "new"}, toward(180))])
        [(chunk, text)] = store.get_chunks(["faq:0"])
        assert text == "new text" and chunk.document_id == "new"
        assert store.query(toward(180), k=1)[0][0].id == "faq:0"
        assert store.count() == len(LIBRARY)

    def test_a_write_keeps_the_metadata_fields_it_does_not_name(
        self, store: KnowledgeStore
    ) -> None:
        """Chroma merges a write's metadata into the stored one (upsert and update alike): a
        field is removed only by deleting the chunk. Ingest writes every field it knows."""
        write_library(store)
        store.write([ChunkWrite("faq:0", "new text", {"audience": "internal"}, toward(70))])
        store.write([ChunkWrite("manual:0", "", {"urgent": True})])
        assert store.get_chunks(["faq:0"])[0][0].metadata == {
            **LIBRARY["faq:0"],
            "audience": "internal",
        }
        assert store.get_chunks(["manual:0"])[0][0].metadata == {
            **LIBRARY["manual:0"],
            "urgent": True,
        }

    def test_deleted_chunks_are_gone_everywhere(self, store: KnowledgeStore) -> None:
        write_library(store)
        store.delete([])
        store.delete(["manual:0", "other:0"])
        assert store.count() == len(LIBRARY) - 2
        assert {chunk.id for chunk in store.iter_chunks()} == {"manual:1", "bulletin:0", "faq:0"}
        assert store.get_chunks(["manual:0"]) == []
        assert [chunk.id for chunk, _, _ in store.query(toward(0), k=1)] == ["manual:1"]

    def test_chunks_by_id_come_in_the_order_asked(self, store: KnowledgeStore) -> None:
        write_library(store)
        found = store.get_chunks(["other:0", "missing", "manual:0", "faq:0"])
        assert [(chunk.id, text) for chunk, text in found] == [
            ("other:0", "text of other:0"), ("manual:0", "text of manual:0"),
            ("faq:0", "text of faq:0"),
        ]  # fmt: skip

    def test_a_documents_chunks_come_in_document_order(self, store: KnowledgeStore) -> None:
        positions = {"m::b:0": 2, "m::a:1": 1, "m::a:0": 0, "m::c:0": 2, "n::a:0": 0}
        store.write(
            [
                ChunkWrite(chunk_id, f"text {chunk_id}",
                           {"document_id": chunk_id.split("::")[0], "position": position},
                           toward(index * 10))
                for index, (chunk_id, position) in enumerate(positions.items())
            ]
        )  # fmt: skip
        chunks = store.document_chunks("m")
        assert [(chunk.id, text) for chunk, text in chunks] == [
            ("m::a:0", "text m::a:0"), ("m::a:1", "text m::a:1"),
            ("m::b:0", "text m::b:0"), ("m::c:0", "text m::c:0"),
        ]  # fmt: skip
        assert store.document_chunks("missing") == []

    def test_reading_every_chunk_goes_past_one_page(self, store: KnowledgeStore) -> None:
        many = READ_PAGE_SIZE + 5  # Chroma's store reads in pages of this size
        store.write(
            [
                ChunkWrite(f"c{n}", "", {"document_id": "big", "odd": n % 2 == 1}, toward(n))
                for n in range(many)
            ]
        )
        assert len({chunk.id for chunk in store.iter_chunks()}) == many
        assert len(list(store.iter_chunks(where=Equals("odd", True)))) == many // 2

    def test_the_content_revision_changes_when_marked_and_only_then(
        self, store: KnowledgeStore
    ) -> None:
        first = store.content_revision
        write_library(store)
        list(store.iter_chunks())
        assert store.content_revision == first
        store.mark_changed()
        second = store.content_revision
        assert second != first
        store.mark_changed()
        assert store.content_revision not in {first, second}
