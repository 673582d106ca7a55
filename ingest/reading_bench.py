"""`glovebox bench reading`: a PDF-derived file read as authored Markdown, and through the PDF
text reader, side by side: how many sections have a real title, how many chunk sentences are
whole, and the same passage in both.

    report = compare_readings(path, count_tokens)
    print(report.describe())
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.chunking import Chunker, TokenCounter
from ingest.loaders.markdown import split_sections
from ingest.metadata import build_document
from ingest.pdf_text import split_pages, structure_pdf_text
from ingest.reading import read_text
from knowledge.records import Chunk, ParsedDocument, Section

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")
LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
WHOLE_START = re.compile(r"^[A-Z0-9\"'“(*→]")
WHOLE_END = (".", "!", "?", ":", ")", "”", '"')


def is_real_title(title: str) -> bool:
    """A heading a reader would recognise: capitalised, not cut mid-word or mid-sentence."""
    words = title.split()
    return (
        bool(words)
        and len(words) <= 14
        and bool(re.match(r"^[A-Z0-9“\"'■]", title))
        and not title.endswith(("-", ","))
        and any(len(re.sub(r"[^A-Za-z]", "", word)) >= 3 for word in words)
        and not (title.endswith(".") and len(words) > 4)
    )


def chunk_sentences(chunks: list[Chunk]) -> list[str]:
    """The sentences and list items of the chunks' text (markup and step numbers removed)."""
    sentences: list[str] = []
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            line = LIST_MARK.sub("", line.replace("**", "")).strip()
            if line and not line.startswith("|"):
                sentences += [s.strip() for s in SENTENCE_END.split(line) if s.strip()]
    return sentences


def is_whole(sentence: str) -> bool:
    return bool(WHOLE_START.match(sentence)) and sentence.endswith(WHOLE_END)


@dataclass(frozen=True)
class Reading:
    name: str
    sections: list[Section]
    chunks: list[Chunk]

    @property
    def titled(self) -> int:
        return sum(
            bool(s.heading_path) and is_real_title(s.heading_path[-1]) for s in self.sections
        )

    @property
    def whole_share(self) -> float:
        sentences = chunk_sentences(self.chunks)
        return sum(map(is_whole, sentences)) / len(sentences) if sentences else 0.0

    def row(self) -> str:
        return (
            f"{self.name:<24}{len(self.sections):>9}{self.titled:>8}"
            f"{self.titled / max(1, len(self.sections)):>8.0%}{len(self.chunks):>8}"
            f"{self.whole_share:>8.0%}"
        )


@dataclass(frozen=True)
class ReadingComparison:
    path: Path
    before: Reading
    after: Reading
    probes: list[str]

    def describe(self, width: int = 58) -> str:
        header = f"{'reading':<24}{'sections':>9}{'titled':>8}{'share':>8}{'chunks':>8}{'whole':>8}"
        lines = [f"{self.path.name}", header, self.before.row(), self.after.row()]
        for probe in self.probes:
            lines += ["", f"--- the chunk holding {probe!r}", *self._side_by_side(probe, width)]
        return "\n".join(lines)

    def _side_by_side(self, probe: str, width: int) -> list[str]:
        columns = []
        for reading in (self.before, self.after):
            chunk = _chunk_with(reading.chunks, probe)
            text = "(not found)" if chunk is None else f"[{chunk.heading_path[-1:]}]\n{chunk.text}"
            columns.append(_wrap(text, width)[:24])
        rows = max(len(column) for column in columns)
        padded = [column + [""] * (rows - len(column)) for column in columns]
        titles = [f"{self.before.name:<{width}} | {self.after.name}"]
        return titles + [f"{left:<{width}} | {right}" for left, right in zip(*padded, strict=True)]


def _chunk_with(chunks: list[Chunk], probe: str) -> Chunk | None:
    flat = re.sub(r"[^a-z0-9]", "", probe.lower())
    return next((c for c in chunks if flat in re.sub(r"[^a-z0-9]", "", c.text.lower())), None)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words, current = paragraph.split(), ""
        for word in words:
            if current and len(current) + 1 + len(word) > width:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        lines.append(current)
    return lines


def compare_readings(
    path: Path,
    count_tokens: TokenCounter,
    *,
    probes: list[str],
    max_tokens: int = 256,
    overlap_tokens: int = 32,
) -> ReadingComparison:
    """The file read both ways and chunked the same way."""
    body = read_text(path, max_megabytes=200)
    chunker = Chunker(count_tokens, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    document = build_document(
        {"id": "reading-bench", "kind": "owner_manual", "audience": "public", "title": path.stem},
        source=str(path),
    )
    readings = []
    for name, sections in (
        ("as authored Markdown", split_sections(body)[0]),
        ("PDF text reader", structure_pdf_text(split_pages(body))),
    ):
        chunks = chunker.run(ParsedDocument(document=document, sections=sections))
        readings.append(Reading(name, sections, chunks))
    return ReadingComparison(path, readings[0], readings[1], probes)
