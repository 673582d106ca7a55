"""Near-duplicate chunks: a passage copied into another document is flagged, others are not."""

from __future__ import annotations

from pathlib import Path

from ingest.chunking import Chunker
from ingest.dedupe import find_near_duplicates
from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
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
