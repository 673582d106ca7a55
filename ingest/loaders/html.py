"""HTML split at its headings; metadata comes from a manifest entry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
TEXT_BLOCKS = {"p", "pre", "blockquote", "dt", "dd", "caption", "figcaption", "address"}
CONTAINERS = {
    "body", "main", "article", "section", "div", "ul", "ol", "table", "thead", "tbody", "tfoot",
    "dl", "aside", "header", "footer", "nav", "details", "figure", "html",
}  # fmt: skip
BLOCKS = [*HEADINGS, *TEXT_BLOCKS, *CONTAINERS, "li", "tr"]
SKIPPED = {"script", "style", "noscript", "template", "head"}


class HtmlLoader:
    """Sections per heading; lists keep their numbering, tables become 'cell | cell' rows."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        from bs4 import BeautifulSoup

        text = read_text(path, context.max_file_mb)
        soup = BeautifulSoup(text, "html.parser")
        walker = _SectionWalker()
        walker.walk(soup.body or soup)
        walker.flush()
        fields: dict[str, Any] = dict(context.manifest_fields or {})
        page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
        fields.setdefault("title", page_title or walker.first_title or path.stem)
        fields.setdefault("id", slug(path.stem))
        document = build_document(fields, source=context.source)
        if not walker.sections:
            raise InputError(context.source, "the page has no text; check it is the right file")
        sections = [
            Section(
                heading_path=(
                    section.heading_path[1:]
                    if section.heading_path
                    and section.heading_path[0].casefold() == document.title.casefold()
                    else section.heading_path
                ),
                text=section.text,
                anchor=section.anchor,
            )
            for section in walker.sections
        ]
        return LoadResult([ParsedDocument(document=document, sections=sections)])


class _SectionWalker:
    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.stack: list[tuple[int, str]] = []
        self.blocks: list[str] = []
        self.anchor: str | None = None
        self.first_title: str | None = None

    def flush(self) -> None:
        content = "\n".join(block for block in self.blocks if block).strip()
        if content:
            self.sections.append(
                Section(heading_path=[t for _, t in self.stack], text=content, anchor=self.anchor)
            )
        self.blocks = []

    def walk(self, element: Any) -> None:
        from bs4 import NavigableString, Tag

        for child in element.children:
            if isinstance(child, NavigableString):
                loose = _squash(str(child))
                if loose and type(child) is NavigableString:
                    self.blocks.append(loose)
                continue
            if not isinstance(child, Tag) or child.name in SKIPPED:
                continue
            name = child.name
            if name in HEADINGS:
                self._heading(HEADINGS[name], child)
            elif name == "li":
                self._list_item(child)
            elif name == "tr":
                cells = [_squash(cell.get_text(" ")) for cell in child.find_all(["th", "td"])]
                self.blocks.append(" | ".join(cell for cell in cells if cell))
            elif name in TEXT_BLOCKS:
                self.blocks.append(_squash(child.get_text(" ")))
            elif child.find(BLOCKS):
                self.walk(child)
            elif name in CONTAINERS and name not in {"ul", "ol", "table", "dl"}:
                self.blocks.append(_squash(child.get_text(" ")))  # a div of inline text
            elif name in CONTAINERS:
                self.walk(child)
            else:
                self.blocks.append(_squash(child.get_text(" ")))

    def _heading(self, level: int, tag: Any) -> None:
        title = _squash(tag.get_text(" "))
        if not title:
            return
        self.flush()
        if level == 1 and self.first_title is None:
            self.first_title = title
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))
        self.anchor = tag.get("id") or slug(title)

    def _list_item(self, item: Any) -> None:
        nested = item.find_all(["ul", "ol"], recursive=False)
        for sublist in nested:
            sublist.extract()
        parent = item.parent
        marker = "-"
        if parent is not None and parent.name == "ol":
            siblings = [li for li in parent.find_all("li", recursive=False)]
            start_attribute = str(parent.get("start", "1") or "1")
            start = int(start_attribute) if start_attribute.isdigit() else 1
            marker = f"{start + siblings.index(item)}."
        self.blocks.append(f"{marker} {_squash(item.get_text(' '))}")
        for sublist in nested:
            self.walk(sublist)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
