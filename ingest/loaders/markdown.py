"""Markdown (and plain text) with front matter, split at its headings.

Text converted from a PDF (hard-wrapped lines, page separators, bold pseudo-headings) is
recognised and read through `ingest.pdf_text` first, so its sections have real titles, whole
sentences and the page they start on.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug, split_front_matter
from ingest.pdf_text import looks_pdf_derived, split_pages, structure_pdf_text
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
FENCE = re.compile(r"^(```|~~~)")


def clean_heading(raw: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*_`]+", "", raw)).strip(" -:")


class MarkdownLoader:
    """Heading-aware Markdown: each heading's text is a section that keeps its heading path."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        text = read_text(path, context.max_file_mb)
        front_matter, body, _ = split_front_matter(text, context.source)
        fields = {**(context.manifest_fields or {}), **front_matter}
        if looks_pdf_derived(body):
            sections, first_title = structure_pdf_text(split_pages(body)), None
        else:
            sections, first_title = split_sections(body)
        fields.setdefault("title", first_title or path.stem.replace("-", " ").replace("_", " "))
        fields.setdefault("id", slug(path.stem))
        document = build_document(fields, source=context.source)
        sections = [
            Section(
                heading_path=_drop_title(section.heading_path, document.title),
                text=section.text,
                page=section.page,
                anchor=section.anchor or (f"page={section.page}" if section.page else None),
            )
            for section in sections
        ]
        if not sections:
            raise InputError(context.source, "the document has no text under its headings; add it")
        return LoadResult([ParsedDocument(document=document, sections=sections)])


def _drop_title(heading_path: list[str], title: str) -> list[str]:
    if heading_path and heading_path[0].casefold() == title.casefold():
        return heading_path[1:]
    return heading_path


def split_sections(body: str) -> tuple[list[Section], str | None]:
    """Sections with non-empty text, and the first level-1 heading (the usual title)."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    first_title: str | None = None
    in_fence = False
    anchor: str | None = None

    def flush() -> None:
        content = "\n".join(lines).strip()
        if content:
            sections.append(
                Section(heading_path=[title for _, title in stack], text=content, anchor=anchor)
            )
        lines.clear()

    for raw_line in body.split("\n"):
        if FENCE.match(raw_line.strip()):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(raw_line)
        if not match:
            lines.append(raw_line)
            continue
        title = clean_heading(match.group(2))
        if not title:
            lines.append(raw_line)
            continue
        flush()
        level = len(match.group(1))
        if level == 1 and first_title is None:
            first_title = title
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        anchor = slug(title)
    flush()
    return sections, first_title
