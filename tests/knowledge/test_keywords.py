"""The persisted keyword index: rank_bm25's scores, filters as `matches` decides them, on disk."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from knowledge.errors import ConfigurationError
from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf, matches
from knowledge.keywords import (
    IndexedChunk,
    KeywordIndexFiles,
    catch_up,
    indexed_terms,
)
from knowledge.store import ChunkWrite
from tests.fakes import InMemoryKnowledgeStore

WORDS = "brake pedal soft airbag light tpms reset coolant leak hybrid battery recall wiper".split()


def random_chunk(rng: random.Random, number: int) -> IndexedChunk:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))) + f" only{number}"
    metadata: dict[str, Any] = {
        "audience": rng.choice(["public", "internal"]),
        "make": rng.choice(["ford", "kia", ""]),
        "year_first": rng.choice([2019, 2020, 2022]),
        "year_last": rng.choice([2021, 2024]),
        "flag": rng.choice([True, False, 1, 0]),
        "codes": ["p0420"] if number % 7 == 0 else "none",
    }
    if number % 5:
        metadata["vehicle_scope"] = rng.choice(["general", "vehicle"])
    return IndexedChunk(f"c{number:04d}", f"h{number}-{hash(text)}", metadata, text)


def bm25_reference(chunks: list[IndexedChunk], weights: dict[str, float]) -> dict[str, float]:
    from rank_bm25 import BM25Okapi

    corpus = [indexed_terms(chunk.metadata, chunk.text) for chunk in chunks]
    model = BM25Okapi(corpus)
    scores = sum(weight * model.get_scores([term]) for term, weight in weights.items())
    return {chunk.id: float(score) for chunk, score in zip(chunks, scores, strict=True)}


def changed_index(tmp_path: Path, rng: random.Random) -> tuple[KeywordIndexFiles, list]:
    """An index with a snapshot, a delta written after it and tombstones in the snapshot."""
    index = KeywordIndexFiles.open(tmp_path / "keywords")
    chunks = {chunk.id: chunk for chunk in (random_chunk(rng, n) for n in range(300))}
    index.apply(list(chunks.values()), [], revision="r1")
    index.compact()
    rewritten = [random_chunk(rng, n) for n in range(0, 300, 9)]
    removed = [f"c{n:04d}" for n in range(5, 300, 11) if n % 9]
    index.apply(rewritten, removed, revision="r2")
    for chunk in rewritten:
        chunks[chunk.id] = chunk
    for chunk_id in removed:
        chunks.pop(chunk_id, None)
    return index, list(chunks.values())


@pytest.mark.parametrize("compacted", [False, True])
def test_scores_are_rank_bm25s_across_snapshot_delta_and_tombstones(
    tmp_path: Path, compacted: bool
) -> None:
    index, alive = changed_index(tmp_path, random.Random(15))
    if compacted:
        index.compact()
    reopened = KeywordIndexFiles.open(tmp_path / "keywords")
    weights = {"brake": 1.0, "tpms": 2.0, "leak": 0.3, "unknownword": 1.0}
    expected = bm25_reference(alive, weights)
    hits = reopened.search(weights, where=None, k=len(alive))
    found = {hit.chunk.id: hit.score for hit in hits}
    assert found == pytest.approx({key: v for key, v in expected.items() if v > 0}, rel=1e-9)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert reopened.count() == len(alive)


def random_filter(rng: random.Random, depth: int = 0) -> ChunkFilter:
    leaves: list[ChunkFilter] = [
        Equals("audience", rng.choice(["public", "internal"])),
        OneOf("make", tuple(rng.sample(["ford", "kia", ""], 2))),
        AtMost("year_first", rng.choice([2019, 2020, 2021])),
        AtLeast("year_last", rng.choice([2021, 2023])),
        Equals("flag", rng.choice([True, 1, False, 0])),
        Equals("vehicle_scope", "general"),
        Equals("codes", "p0420"),
        Equals("missing_field", "x"),
    ]
    if depth < 2 and rng.random() < 0.6:
        parts = tuple(random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3)))
        return AllOf(parts) if rng.random() < 0.5 else AnyOf(parts)
    return rng.choice(leaves)


def test_filters_select_exactly_what_matches_selects(tmp_path: Path) -> None:
    rng = random.Random(7)
    index, alive = changed_index(tmp_path, rng)
    by_id = {chunk.id: chunk for chunk in alive}
    weights = {f"only{number}": 1.0 for number in range(300)}
    for _ in range(60):
        where = random_filter(rng)
        found = {hit.chunk.id for hit in index.search(weights, where=where, k=1000)}
        expected = {chunk_id for chunk_id, c in by_id.items() if matches(where, c.metadata)}
        assert found == expected, where


def test_finding_by_metadata_gives_every_live_match_with_its_text(tmp_path: Path) -> None:
    rng = random.Random(11)
    index, alive = changed_index(tmp_path, rng)
    for _ in range(30):
        where = random_filter(rng)
        expected = [chunk for chunk in alive if matches(where, chunk.metadata)]
        found = index.find(where)
        assert sorted(found, key=lambda c: c.id) == sorted(expected, key=lambda c: c.id), where
    latest = index.latest_value("year_first", Equals("audience", "public"))
    assert latest == max(
        c.metadata["year_first"] for c in alive if c.metadata["audience"] == "public"
    )
    assert index.latest_value("missing_field", Equals("audience", "public")) is None


def test_chunks_by_id_gives_the_live_ones_asked_for(tmp_path: Path) -> None:
    rng = random.Random(12)
    index, alive = changed_index(tmp_path, rng)
    live = {chunk.id: chunk for chunk in alive}
    asked = [*rng.sample(sorted(live), 5), "c0005", "never-there"]  # c0005 was removed
    assert index.chunks_by_id(asked) == {chunk_id: live[chunk_id] for chunk_id in asked[:5]}
    assert index.chunks_by_id([]) == {}


def test_catching_up_reads_only_the_chunks_that_changed() -> None:
    store = InMemoryKnowledgeStore()
    writes = [
        ChunkWrite(f"c{n}", f"brake pedal {n}", {"document_id": "d", "content_hash": f"h{n}"},
                   [1.0, 0.0])
        for n in range(50)
    ]  # fmt: skip
    store.write(writes)
    store.mark_changed()
    index = KeywordIndexFiles.in_memory()
    assert catch_up(index, store)
    assert index.count() == 50
    store.write([ChunkWrite("c3", "coolant leak", {"document_id": "d", "content_hash": "new"},
                            [0.0, 1.0])])  # fmt: skip
    store.delete(["c4"])
    store.mark_changed()
    asked: list[list[str]] = []
    original = store.get_chunks
    store.get_chunks = lambda ids: asked.append(list(ids)) or original(ids)  # type: ignore[method-assign]
    assert catch_up(index, store)
    assert asked == [["c3"]]
    assert [hit.chunk.id for hit in index.search({"coolant": 1.0}, where=None, k=5)] == ["c3"]
    assert index.count() == 49
    assert not catch_up(index, store)


def test_an_announced_revision_counts_as_current() -> None:
    index = KeywordIndexFiles.in_memory()
    index.apply([], [], revision="old")
    index.announce_revision("new")
    assert index.reflects("old") and index.reflects("new")
    index.confirm_revision("new")
    assert index.reflects("new") and not index.reflects("old")


def test_a_damaged_index_file_says_how_to_recover(tmp_path: Path) -> None:
    directory = tmp_path / "keywords"
    directory.mkdir()
    (directory / "keywords.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigurationError, match=r"delete the folder .*keywords"):
        KeywordIndexFiles.open(directory)


def test_distinct_metadata_gives_each_combination_once() -> None:
    index = KeywordIndexFiles.in_memory()
    chunks = [
        IndexedChunk(f"c{n}", str(n), {"make": make, "year_first": year, "other": n}, "text")
        for n, (make, year) in enumerate([("Ford", 2020), ("Ford", 2020), ("Kia", 2021)])
    ]
    index.apply(chunks, [])
    rows = index.distinct_metadata(("make", "year_first", "absent"))
    assert sorted(rows, key=str) == sorted(
        [
            ({"make": "Ford", "year_first": 2020, "absent": None}, 2),
            ({"make": "Kia", "year_first": 2021, "absent": None}, 1),
        ],
        key=str,
    )


def test_distinct_metadata_counts_the_chunks_there_are_now() -> None:
    index = KeywordIndexFiles.in_memory()
    models = ["Fuel", "Fuel", "Odyssey", None]
    metadata = [{"model": model} if model else {} for model in models]
    index.apply([IndexedChunk(f"c{n}", str(n), m, "text") for n, m in enumerate(metadata)], [])
    index.apply([], ["c1"])

    counts = {row["model"]: chunks for row, chunks in index.distinct_metadata(("model",))}
    assert counts == {"Fuel": 1, "Odyssey": 1, None: 1}
