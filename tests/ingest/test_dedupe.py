"""Near-duplicate chunks: a passage copied into another document is flagged, others are not."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.chunking import Chunker
from ingest.dedupe import NearDuplicateIndex, find_near_duplicates, shingles
from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
from knowledge.errors import ConfigurationError
from knowledge.records import Chunk
from knowledge.settings import GloveboxSettings
from tests.fakes import HashEmbedder

WARNING_LIGHT = (
    "If the brake warning light comes on while you drive, slow down carefully and stop in a safe "
    "place away from traffic. Check the brake fluid level in the reservoir under the hood. If the "
    "level is below the MIN mark, do not drive the Tessel: call Halvard Roadside Assistance and "
    "have the vehicle towed to a dealer for inspection."
)
CHARGING = (
    "To charge at home, plug the connector into the charge port on the front left fender until "
    "it clicks. The ring around the port pulses green while the battery charges and stays solid "
    "green when charging is complete. You can set a departure time in the Halvard app so the car "
    "finishes charging and warms the cabin just before you leave in the morning."
)
WIPERS = (
    "Replace the wiper blades every twelve months or sooner if they streak or chatter. Lift the "
    "arm away from the windscreen, press the release tab and slide the old blade off the hook. "
    "Slide the new blade on until it locks, then lower the arm gently so it does not strike the "
    "glass. Use washer fluid rated for freezing temperatures during the winter months."
)


def chunks_of(tmp_path: Path, passages: dict[str, str]) -> list[Chunk]:
    """One single-section Markdown document per passage, loaded and chunked as ingest does."""
    chunker = Chunker(HashEmbedder().count_tokens, max_tokens=256, overlap_tokens=32)
    chunks: list[Chunk] = []
    for document_id, passage in passages.items():
        path = tmp_path / f"{document_id}.md"
        path.write_text(
            f"---\nid: {document_id}\nkind: owner_manual\naudience: public\n"
            f"title: {document_id}\n---\n## Section\n\n{passage}\n",
            encoding="utf-8",
        )
        [parsed] = MarkdownLoader().load(path, LoadContext(source=path.name)).documents
        chunks += chunker.run(parsed)
    return chunks


def duplicates(chunks: list[Chunk], settings: GloveboxSettings) -> dict[str, str]:
    found = find_near_duplicates(chunks, settings.near_duplicate_min_similarity)
    return {duplicate.chunk_id: duplicate.duplicate_of for duplicate in found}


def chunk_id(chunks: list[Chunk], document_id: str) -> str:
    [match] = [chunk.id for chunk in chunks if chunk.document_id == document_id]
    return match


def test_the_passage_is_sixty_words() -> None:
    assert len(WARNING_LIGHT.split()) == 60


def test_an_exact_copy_is_a_near_duplicate_of_the_first(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    chunks = chunks_of(
        tmp_path, {"a-tessel": WARNING_LIGHT, "b-wipers": WIPERS, "c-copy": WARNING_LIGHT}
    )

    assert duplicates(chunks, settings) == {
        chunk_id(chunks, "c-copy"): chunk_id(chunks, "a-tessel")
    }


def test_the_first_in_id_order_is_the_original_whatever_the_input_order(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    chunks = chunks_of(
        tmp_path, {"c-copy": WARNING_LIGHT, "b-copy": WARNING_LIGHT, "a-tessel": WARNING_LIGHT}
    )

    original = chunk_id(chunks, "a-tessel")
    assert duplicates(chunks, settings) == {
        chunk_id(chunks, "b-copy"): original,
        chunk_id(chunks, "c-copy"): original,
    }


def test_a_copy_with_one_word_changed_is_a_near_duplicate_of_the_first(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    edited = WARNING_LIGHT.replace("the Tessel", "the Karst")
    chunks = chunks_of(tmp_path, {"a-tessel": WARNING_LIGHT, "b-karst": edited})

    assert duplicates(chunks, settings) == {
        chunk_id(chunks, "b-karst"): chunk_id(chunks, "a-tessel")
    }


def test_unrelated_passages_are_not_near_duplicates(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    passages = {  # of many lengths, odd and even
        "a-warning": WARNING_LIGHT,
        "b-charging": " ".join(CHARGING.split()[:45]),
        "c-wipers": " ".join(WIPERS.split()[:30]),  # half of f-wipers: related, not a copy
        "d-tires": "Check tire pressure monthly when the tires are cold.",
        "e-long": f"{CHARGING} {WIPERS}",
        "f-wipers": WIPERS,
    }
    chunks = chunks_of(tmp_path, passages)

    assert duplicates(chunks, settings) == {}


def test_texts_under_eight_words_are_never_flagged(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    short = "Use DOT 4 brake fluid only."  # six words
    chunks = chunks_of(tmp_path, {"a-fluid": short, "b-fluid": short, "c-fluid": short})

    assert duplicates(chunks, settings) == {}


# --- The index kept between ingests -----------------------------------------------------------

EDITED = WARNING_LIGHT.replace("the Tessel", "the Karst")
EDITED_TWICE = EDITED.replace("safe place", "quiet place")


def synced(path: Path, texts: dict[str, str]) -> tuple[dict[str, str], int]:
    """Syncs the index in `path` to these chunks (id: text) and commits: who repeats whom, and
    how many texts that sync had to sign."""
    with NearDuplicateIndex.open(path, 0.8) as index:
        found = index.sync(texts)
        index.commit()
        return {d.chunk_id: d.duplicate_of for d in found}, index.texts_signed


def test_a_re_sync_of_the_same_chunks_signs_nothing_and_answers_the_same(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    texts = {"a::0": WARNING_LIGHT, "b::0": WIPERS, "c::0": WARNING_LIGHT, "d::0": EDITED}

    first = synced(path, texts)
    again = synced(path, texts)

    assert first == ({"c::0": "a::0", "d::0": "a::0"}, 3)
    assert again == (first[0], 0)


def test_a_thousand_copies_of_one_text_are_found_fast(tmp_path: Path) -> None:
    [chunk] = chunks_of(tmp_path, {"recall": WARNING_LIGHT})
    copies = [chunk.model_copy(update={"id": f"recall-{n:04d}::0"}) for n in range(1000)]

    started = time.perf_counter()
    found = find_near_duplicates(copies, 0.8)

    assert time.perf_counter() - started < 1.0  # comparing every pair of copies took 8 s
    assert {d.duplicate_of for d in found} == {"recall-0000::0"} and len(found) == 999
    assert synced(tmp_path / "index.sqlite3", {c.id: c.text for c in copies})[1] == 1  # signed


def test_a_copy_that_arrives_later_repeats_the_indexed_one_whatever_its_id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    synced(path, {"m::0": WARNING_LIGHT})

    found, signed = synced(path, {"m::0": WARNING_LIGHT, "a::0": WARNING_LIGHT})

    assert (found, signed) == ({"a::0": "m::0"}, 0)


def test_when_the_original_goes_the_next_copy_becomes_the_original(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    synced(path, {"a::0": WARNING_LIGHT, "b::0": WARNING_LIGHT, "c::0": EDITED})

    found, signed = synced(path, {"b::0": WARNING_LIGHT, "c::0": EDITED})

    assert (found, signed) == ({"c::0": "b::0"}, 0)


def test_a_passage_whose_original_text_is_gone_is_compared_again(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    first, _ = synced(path, {"a::0": WARNING_LIGHT, "b::0": EDITED, "c::0": EDITED_TWICE})
    assert first == {"b::0": "a::0", "c::0": "a::0"}

    assert synced(path, {"b::0": EDITED, "c::0": EDITED_TWICE}) == ({"c::0": "b::0"}, 0)
    assert synced(path, {"c::0": EDITED_TWICE}) == ({}, 0)


def test_an_edited_chunk_is_signed_again_and_compared_with_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    synced(path, {"a::0": WARNING_LIGHT, "b::0": WIPERS})

    assert synced(path, {"a::0": WARNING_LIGHT, "b::0": EDITED}) == ({"b::0": "a::0"}, 1)
    assert synced(path, {"a::0": WARNING_LIGHT, "b::0": WIPERS}) == ({}, 1)


def test_kept_chunks_stay_originals_and_unknown_ones_are_fetched(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    fetched: list[str] = []

    def fetch(ids: Sequence[str]) -> dict[str, str]:
        fetched.extend(ids)
        return {"other::0": WARNING_LIGHT}

    with NearDuplicateIndex.open(path, 0.8) as index:
        found = index.sync({"new::0": EDITED}, kept=["other::0"], fetch_texts=fetch)

    assert fetched == ["other::0"]
    assert [(d.chunk_id, d.duplicate_of) for d in found] == [("new::0", "other::0")]


def test_what_is_not_committed_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    synced(path, {"a::0": WARNING_LIGHT})
    with NearDuplicateIndex.open(path, 0.8) as index:
        index.sync({"a::0": WIPERS, "b::0": WARNING_LIGHT})

    assert synced(path, {"a::0": WARNING_LIGHT}) == ({}, 0)


def test_a_damaged_index_names_its_file_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"not a database" * 100)

    with pytest.raises(ConfigurationError, match=r"index\.sqlite3.*delete the file"):
        NearDuplicateIndex.open(path, 0.8)


def test_another_similarity_threshold_rebuilds_the_index(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    synced(path, {"a::0": WARNING_LIGHT, "b::0": EDITED})

    with NearDuplicateIndex.open(path, 0.99) as index:
        assert index.sync({"a::0": WARNING_LIGHT, "b::0": EDITED}) == []
        assert index.texts_signed == 2


def reference_near_duplicates(texts: dict[str, str], min_similarity: float) -> dict[str, str]:
    """What every chunk nearly repeats when all of them are compared in id order, pair by
    pair (the detection as it was before it kept an index): the answer a fresh index gives."""
    sets = {chunk_id: shingles(text) for chunk_id, text in texts.items()}
    found: dict[str, str] = {}
    for chunk_id in sorted(sets):
        best, best_similarity = None, 0.0
        for other_id in sorted(other for other in sets if other < chunk_id):
            mine, other = sets[chunk_id], sets[other_id]
            if not mine or not other:
                continue
            similarity = round(len(mine & other) / len(mine | other), 3)
            if similarity >= min_similarity and similarity > best_similarity:
                best, best_similarity = found.get(other_id, other_id), similarity
        if best is not None:
            found[chunk_id] = best
    return found


def test_a_fresh_index_finds_what_comparing_every_pair_finds() -> None:
    rng = random.Random(20261202)
    words = f"{WARNING_LIGHT} {CHARGING} {WIPERS}".split()
    texts: dict[str, str] = {}
    for number in range(300):
        passage = rng.choice([WARNING_LIGHT, CHARGING, WIPERS]).split()
        for _ in range(rng.choice([0, 0, 1, 2, 4, 10])):
            passage[rng.randrange(len(passage))] = rng.choice(words)
        if rng.random() < 0.2:
            passage = passage[: rng.randrange(5, len(passage))]
        texts[f"doc-{rng.randrange(10**6):06d}::{number}"] = " ".join(passage)

    with NearDuplicateIndex.open(None, 0.8) as index:
        found = {d.chunk_id: d.duplicate_of for d in index.sync(texts)}

    expected = reference_near_duplicates(texts, 0.8)
    assert len(expected) > 100
    assert found == expected
