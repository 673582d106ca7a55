"""Chunking that follows the document's structure and fits the embedder's token window."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from knowledge.errors import ConfigurationError
from knowledge.records import Chunk, ParsedDocument, Section, content_hash

TokenCounter = Callable[[Sequence[str]], list[int]]
SPECIAL_TOKENS = 2  # [CLS] and [SEP] take two places of the window
MIN_BODY_TOKENS = 48
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
LIST_OR_TABLE_LINE = re.compile(r"^\s*([-*+]|\d+[.)]|\|)\s")


class Chunker:
    """Splits each section into chunks of at most `max_tokens` embedder tokens, heading included.

    A section that fits is one chunk. A longer one is cut at paragraph, list-item and table-row
    boundaries, then sentences, then words, and consecutive chunks share about
    `overlap_tokens` of text so a step or sentence cut at the edge keeps its context.

        chunker = Chunker(embedder.count_tokens, max_tokens=256, overlap_tokens=32)
        chunks = chunker.run(parsed_document)
    """

    def __init__(self, count_tokens: TokenCounter, *, max_tokens: int, overlap_tokens: int) -> None:
        if max_tokens - SPECIAL_TOKENS < MIN_BODY_TOKENS:
            raise ConfigurationError(
                f"GLOVEBOX_CHUNK_MAX_TOKENS={max_tokens} is too small; use at least "
                f"{MIN_BODY_TOKENS + SPECIAL_TOKENS}"
            )
        if overlap_tokens >= (max_tokens - SPECIAL_TOKENS) // 2:
            raise ConfigurationError(
                f"GLOVEBOX_CHUNK_OVERLAP_TOKENS={overlap_tokens} must be under half of "
                f"GLOVEBOX_CHUNK_MAX_TOKENS={max_tokens}"
            )
        self._count_tokens = count_tokens
        self._max_tokens = max_tokens
        self._overlap_tokens = overlap_tokens

    @property
    def settings(self) -> dict[str, int]:
        """What decides how a document is cut (an ingest skips a file only if these match)."""
        return {"max_tokens": self._max_tokens, "overlap_tokens": self._overlap_tokens}

    def run(self, parsed: ParsedDocument) -> list[Chunk]:
        document = parsed.document
        metadata = document.flat_metadata()
        chunks: list[Chunk] = []
        occurrences: dict[str, int] = {}
        prefixes = [self._prefix(document.title, s.heading_path) for s in parsed.sections]
        # One tokenizer call for every prefix and section text: most sections fit as they are.
        sizes = self._count_tokens([*prefixes, *(section.text for section in parsed.sections)])
        prefix_sizes, text_sizes = sizes[: len(prefixes)], sizes[len(prefixes) :]
        for section, prefix, prefix_size, text_size in zip(
            parsed.sections, prefixes, prefix_sizes, text_sizes, strict=True
        ):
            section_key = self._section_key(section, occurrences)
            budget = self._max_tokens - SPECIAL_TOKENS - prefix_size
            bodies = [section.text] if text_size <= budget else self._split(section.text, budget)
            for index, body in enumerate(bodies):
                embedding_text = f"{prefix}{body}"
                chunks.append(
                    Chunk(
                        id=f"{document.id}::{section_key}:{index}",
                        document_id=document.id,
                        text=body,
                        heading_path=section.heading_path,
                        position=len(chunks),
                        content_hash=content_hash(embedding_text),
                        embedding_text=embedding_text,
                        page=section.page,
                        anchor=section.anchor,
                        section_chunk_count=len(bodies),
                        document_metadata=metadata,
                    )
                )
        return chunks

    @staticmethod
    def _section_key(section: Section, occurrences: dict[str, int]) -> str:
        """Stable across edits elsewhere in the document, so only changed sections re-embed."""
        base = "\x1f".join([*section.heading_path, str(section.page or "")])
        occurrence = occurrences.get(base, 0)
        occurrences[base] = occurrence + 1
        return hashlib.sha1(f"{base}\x1e{occurrence}".encode()).hexdigest()[:12]

    def _prefix(self, title: str, heading_path: list[str]) -> str:
        prefix = f"{title}\n{' > '.join(heading_path)}\n" if heading_path else f"{title}\n"
        # ~4 characters a token: only a suspiciously long prefix is worth a tokenizer call.
        limit = self._max_tokens - SPECIAL_TOKENS - MIN_BODY_TOKENS
        if len(prefix) > limit * 2 and self._count_tokens([prefix])[0] > limit:
            prefix = f"{' > '.join(heading_path[-1:])[:200] or title[:80]}\n"
        return prefix

    def _split(self, text: str, budget: int) -> list[str]:
        units = self._units(text, budget)
        sizes = self._count_tokens(units)
        chunks: list[str] = []
        current: list[int] = []
        current_size = 0
        for index, size in enumerate(sizes):
            if current and current_size + size > budget:
                chunks.append("\n".join(units[i] for i in current))
                current, current_size = self._overlap(current, sizes, budget - size)
            current.append(index)
            current_size += size
        if current:
            chunks.append("\n".join(units[i] for i in current))
        return chunks

    def _overlap(self, previous: list[int], sizes: list[int], room: int) -> tuple[list[int], int]:
        """The trailing units of the previous chunk that fit in the overlap and in the room left."""
        carried: list[int] = []
        carried_size = 0
        for index in reversed(previous[1:]):
            if carried_size + sizes[index] > min(self._overlap_tokens, room):
                break
            carried.insert(0, index)
            carried_size += sizes[index]
        return carried, carried_size

    def _units(self, text: str, budget: int) -> list[str]:
        """Paragraphs and lists, whole where they fit; a list that does not is cut between its
        items (a step keeps its notes, a line ending in ':' keeps the item after it); anything
        still over budget is cut into sentences, then words."""
        paragraphs: list[list[str]] = []
        for paragraph in re.split(r"\n\s*\n", text):
            lines = [line for line in paragraph.split("\n") if line.strip()]
            if any(LIST_OR_TABLE_LINE.match(line) for line in lines):
                paragraphs.append(lines)
            elif lines:
                paragraphs.append([" ".join(line.strip() for line in lines)])
        wholes = ["\n".join(lines) for lines in paragraphs]
        blocks: list[str] = []
        for lines, whole, size in zip(paragraphs, wholes, self._count_tokens(wholes), strict=True):
            blocks.extend([whole] if size <= budget or len(lines) == 1 else _list_items(lines))
        units: list[str] = []
        for block, size in zip(blocks, self._count_tokens(blocks), strict=True):
            if size <= budget:
                units.append(block)
                continue
            for sentence in SENTENCE_END.split(block):
                if self._count_tokens([sentence])[0] <= budget:
                    units.append(sentence)
                else:
                    units.extend(self._words(sentence, budget))
        return units

    def _words(self, sentence: str, budget: int) -> list[str]:
        words = sentence.split()
        sizes = self._count_tokens(words)
        pieces: list[str] = []
        current: list[str] = []
        current_size = 0
        for word, size in zip(words, sizes, strict=True):
            if size > budget:  # one unbroken token run longer than the window: cut it to fit
                word = word[: budget * 2]
                size = self._count_tokens([word])[0]
                while size > budget and len(word) > 1:  # e.g. "....": one token a character
                    word = word[: max(1, min(len(word) - 1, len(word) * budget // size))]
                    size = self._count_tokens([word])[0]
            if current and current_size + size > budget:
                pieces.append(" ".join(current))
                current, current_size = [], 0
            current.append(word)
            current_size += size
        if current:
            pieces.append(" ".join(current))
        return pieces


def _list_items(lines: list[str]) -> list[str]:
    """A list's items: each top-level line with the indented lines under it; a lead line that
    ends with ':' stays with the item after it."""
    items: list[list[str]] = []
    for line in lines:
        indented = line[:1].isspace() and items
        if indented or (items and items[-1][-1].rstrip().endswith(":")):
            items[-1].append(line)
        else:
            items.append([line])
    return ["\n".join(item) for item in items]
