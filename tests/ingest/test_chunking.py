"""Chunks fit the embedder's window, follow the document's structure and keep stable ids."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ingest.chunking import Chunker
from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
from knowledge.errors import ConfigurationError
from knowledge.records import Chunk, ParsedDocument
from tests.fakes import HashEmbedder

TITLE = "Halvard Karst Brake Service"
count_tokens = HashEmbedder().count_tokens


def parse(tmp_path: Path, body: str, name: str = "karst-brakes.md") -> ParsedDocument:
    path = tmp_path / name
    path.write_text(
        f"---\nid: karst-brakes\nkind: service_manual\naudience: internal\ntitle: {TITLE}\n---\n"
        f"# {TITLE}\n\n{body}",
        encoding="utf-8",
    )
    [parsed] = MarkdownLoader().load(path, LoadContext(source=name)).documents
    return parsed


def tokens(text: str) -> int:
    return count_tokens([text])[0]


def sentences(count: int) -> list[str]:
    return [
        f"Check pad {i} for wear, cracks and glazing before step {i + 1}." for i in range(count)
    ]


def lines_of(chunk: Chunk) -> list[str]:
    return chunk.text.split("\n")


def overlap(previous: list[str], following: list[str]) -> int:
    """How many lines the start of `following` repeats from the end of `previous`."""
    return max(
        (k for k in range(1, min(len(previous), len(following)) + 1)
         if previous[-k:] == following[:k]),
        default=0,
    )  # fmt: skip


def merged(chunks: list[Chunk]) -> list[str]:
    """The chunks' lines read in order, each overlap counted once."""
    lines = lines_of(chunks[0])
    for previous, chunk in itertools.pairwise(chunks):
        lines += lines_of(chunk)[overlap(lines_of(previous), lines_of(chunk)) :]
    return lines


STEPS = [f"{i}. Torque wheel nut {i} to 140 Nm in a star pattern." for i in range(1, 31)]
TABLE = [f"| Caliper bolt {i} | {20 + i} Nm | M{8 + i % 4} |" for i in range(30)]
HARD_BODY = "\n\n".join(
    [
        "## Prose",
        " ".join(sentences(40)),
        "## Steps",
        "\n".join(STEPS),
        "## Torque table",
        "\n".join(TABLE),
        "## Run-on",
        " ".join(f"word{i}" for i in range(400)),  # one sentence, no punctuation
        "## Contents",
        "Brake fluid " + "." * 150 + " 45",  # a PDF-style dot leader: one token per dot
        "## Calipers",
        "### Rear calipers with the electric parking brake motor",
        " ".join(sentences(12)),
    ]
)


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(64, 16), (128, 32), (256, 0)])
def test_every_chunk_fits_the_embedder_window(
    tmp_path: Path, max_tokens: int, overlap_tokens: int
) -> None:
    chunker = Chunker(count_tokens, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    chunks = chunker.run(parse(tmp_path, HARD_BODY))

    sizes = [tokens(chunk.embedding_text) for chunk in chunks]
    too_big = [
        chunk.text[:60] for chunk, size in zip(chunks, sizes, strict=True) if size > max_tokens - 2
    ]
    assert too_big == []
    # and nothing but the one unbroken 150-dot run was cut away
    stored = "\n".join(chunk.text for chunk in chunks)
    assert {f"word{i}" for i in range(400)} <= set(stored.split())
    for line in sentences(40) + STEPS + TABLE:
        assert line in stored


def test_a_long_section_splits_into_overlapping_chunks_under_its_heading(
    tmp_path: Path,
) -> None:
    text = sentences(30)
    parsed = parse(tmp_path, "## Brakes\n\n### Front pads\n\n" + " ".join(text) + "\n")
    chunks = Chunker(count_tokens, max_tokens=64, overlap_tokens=16).run(parsed)

    assert len(chunks) >= 3
    assert all(chunk.heading_path == ["Brakes", "Front pads"] for chunk in chunks)
    for previous, following in itertools.pairwise(chunks):
        assert overlap(lines_of(previous), lines_of(following)) >= 1, (
            previous.text,
            following.text,
        )
    assert merged(chunks) == text  # every sentence once, in order
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))


def test_numbered_steps_stay_in_order_across_chunks(tmp_path: Path) -> None:
    steps = [f"{i}. Loosen wheel nut {i} half a turn with the 19 mm socket." for i in range(1, 41)]
    parsed = parse(tmp_path, "## Removing a wheel\n\n" + "\n".join(steps) + "\n")
    chunks = Chunker(count_tokens, max_tokens=80, overlap_tokens=20).run(parsed)

    assert len(chunks) >= 3
    for chunk in chunks:
        numbers = [int(line.split(".", 1)[0]) for line in lines_of(chunk)]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), chunk.text
    assert merged(chunks) == steps


def test_a_short_section_is_one_chunk_with_its_text_unchanged(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "## Brake fluid\n\nUse DOT 4 fluid.\nReplace it every 2 years.\n")
    [chunk] = Chunker(count_tokens, max_tokens=256, overlap_tokens=32).run(parsed)

    assert chunk.text == "Use DOT 4 fluid.\nReplace it every 2 years."
    assert chunk.heading_path == ["Brake fluid"]
    assert chunk.anchor == "brake-fluid"
    assert chunk.document_id == "karst-brakes"
    assert chunk.document_metadata["kind"] == "service_manual"


def test_the_title_and_heading_path_prefix_the_embedding_text_but_not_the_text(
    tmp_path: Path,
) -> None:
    parsed = parse(
        tmp_path, "Read this first.\n\n## Brakes\n\n### Front pads\n\nReplace below 3 mm.\n"
    )
    intro, pads = Chunker(count_tokens, max_tokens=256, overlap_tokens=32).run(parsed)

    assert pads.text == "Replace below 3 mm."
    assert pads.embedding_text == f"{TITLE}\nBrakes > Front pads\nReplace below 3 mm."
    assert intro.text == "Read this first."
    assert intro.embedding_text == f"{TITLE}\nRead this first."
    assert TITLE not in pads.text


def test_editing_one_section_leaves_the_other_chunks_alone(tmp_path: Path) -> None:
    chunker = Chunker(count_tokens, max_tokens=64, overlap_tokens=16)
    long_section = " ".join(sentences(20))

    def document(pads_text: str) -> list[Chunk]:
        body = (
            f"## Discs\n\n{long_section}\n\n"
            f"## Pads\n\n{pads_text}\n\n"
            "## Fluid\n\nUse DOT 4 fluid only.\n"
        )
        return chunker.run(parse(tmp_path, body))

    before = document("Replace the pads below 3 mm.")
    after = document("Replace the pads below 2 mm. " + " ".join(sentences(12)))

    def by_section(chunks: list[Chunk], heading: str) -> list[tuple[str, str]]:
        return [(c.id, c.content_hash) for c in chunks if c.heading_path == [heading]]

    assert len(by_section(before, "Discs")) > 1
    for untouched in ("Discs", "Fluid"):
        assert by_section(after, untouched) == by_section(before, untouched)
    [(pads_id, pads_hash)] = by_section(before, "Pads")
    edited = by_section(after, "Pads")
    assert len(edited) > 1  # the edit made the section long enough to split
    assert edited[0][0] == pads_id
    assert edited[0][1] != pads_hash
    assert len({chunk.id for chunk in after}) == len(after)


def test_sections_with_the_same_heading_get_different_ids(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path, "## Front\n\n### Torque\n\n35 Nm.\n\n## Rear\n\n### Torque\n\n28 Nm.\n"
    )
    chunks = Chunker(count_tokens, max_tokens=256, overlap_tokens=32).run(parsed)

    assert [c.heading_path for c in chunks] == [["Front", "Torque"], ["Rear", "Torque"]]
    assert chunks[0].id != chunks[1].id


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(40, 0), (256, 127)])
def test_a_window_too_small_for_the_settings_is_refused(
    max_tokens: int, overlap_tokens: int
) -> None:
    with pytest.raises(ConfigurationError, match="MAX_TOKENS"):
        Chunker(count_tokens, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
