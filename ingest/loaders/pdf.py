"""PDF: text in reading order (two columns read one after the other), structured by its headings.

pdfminer.six's layout analysis groups a page's characters into text boxes and orders them
column by column; pypdf's plain extraction follows the content stream, which many PDFs write
line across line, weaving two columns into one sentence. pdfminer also gives each character's
font, so bold and larger lines can be told as headings. pypdf still checks the file first
(encryption, truncation) and reads the outline.

A PDF whose pages show headings is cut at them (`ingest.pdf_text`); one without is one
section per page, named by its outline entry or its number. Every section keeps its page.
"""

from __future__ import annotations

import io
import re
import statistics
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug
from ingest.pdf_text import structure_pdf_text
from ingest.reading import read_bytes
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section


class PdfLoader:
    """Text per page through pypdf; refuses encrypted, damaged and image-only PDFs with a reason."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        raw = read_bytes(path, context.max_file_mb)
        if not raw.lstrip().startswith(b"%PDF-"):
            raise InputError(
                context.source, "the file is named .pdf but is not a PDF; re-export or rename it"
            )
        if b"%%EOF" not in raw[-2048:]:
            raise InputError(
                context.source,
                "the PDF is truncated (no end-of-file marker); copy or export it again",
            )
        try:
            reader = PdfReader(io.BytesIO(raw), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise InputError(
                    context.source,
                    "the PDF is password-protected; save an unprotected copy "
                    "(for example `qpdf --decrypt in.pdf out.pdf`) and ingest that",
                )
            headings = _outline_headings(reader, len(reader.pages))
            pdf_title = (reader.metadata.title if reader.metadata else None) or ""
            page_texts = _pages_in_reading_order(raw)
        except InputError:
            raise
        except Exception as error:  # pypdf or pdfminer: a damaged file, whatever it trips on
            if not isinstance(error, PdfReadError | ValueError | KeyError | TypeError | OSError):
                error_name = type(error).__name__
                error = ValueError(f"{error_name}: {error}")
            raise InputError(
                context.source,
                f"the PDF is damaged and cannot be read ({error}); export it again",
            ) from error
        sections = _sections(page_texts, headings)
        if not sections:
            raise InputError(
                context.source,
                "the PDF has no extractable text (a scan?); run OCR on it and ingest the result",
            )
        fields: dict[str, Any] = dict(context.manifest_fields or {})
        fields.setdefault("title", pdf_title.strip() or path.stem)
        fields.setdefault("id", slug(path.stem))
        document = build_document(fields, source=context.source)
        return LoadResult([ParsedDocument(document=document, sections=sections)])


def _outline_headings(reader: Any, page_count: int) -> list[list[str]]:
    """For each page, the outline path of the last bookmark that starts on or before it."""
    starts: list[tuple[int, list[str]]] = []

    def visit(items: list[Any], parents: list[str]) -> None:
        last_path = parents
        for item in items:
            if isinstance(item, list):
                visit(item, last_path)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a broken bookmark costs its heading, not the page text
                continue
            last_path = [*parents, str(item.title).strip()]
            starts.append((page, last_path))

    try:
        visit(list(reader.outline), [])
    except Exception:
        starts = []
    starts.sort(key=lambda start: start[0])
    headings: list[list[str]] = []
    current: list[str] = []
    pointer = 0
    for page in range(page_count):
        while pointer < len(starts) and starts[pointer][0] <= page:
            current = starts[pointer][1]
            pointer += 1
        headings.append(current or [f"Page {page + 1}"])
    return headings


BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
HEADING_SIZE = 1.15
"""A line this much larger than the body text is a heading."""


def _pages_in_reading_order(raw: bytes) -> list[str]:
    """Each page's lines in reading order; bold lines as **bold**, larger ones as headings."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextContainer, LTTextLine

    pages: list[list[tuple[str, float, bool]]] = []
    for layout in extract_pages(io.BytesIO(raw), laparams=LAParams()):
        lines: list[tuple[str, float, bool]] = []
        boxes = [box for box in layout if isinstance(box, LTTextContainer)]
        for box in reading_order(boxes, layout.width):
            for line in box:
                if not isinstance(line, LTTextLine):
                    continue
                chars = [c for c in line if isinstance(c, LTChar) and c.get_text().strip()]
                text = re.sub(r"\s+", " ", line.get_text()).strip()
                if not text or not chars:
                    continue
                size = statistics.median(c.size for c in chars)
                bold = sum(bool(BOLD_FONT.search(c.fontname)) for c in chars) > len(chars) / 2
                lines.append((text, size, bold))
            lines.append(("", 0.0, False))  # a box ends: a paragraph break
        pages.append(lines)
    sizes = [size for lines in pages for text, size, _ in lines if text]
    body = statistics.median(sizes) if sizes else 0.0
    return [
        "\n".join(_marked(text, size, bold, body) for text, size, bold in lines) for lines in pages
    ]


class _Box(Protocol):
    x0: float
    x1: float
    y0: float
    y1: float


BoxT = TypeVar("BoxT", bound=_Box)


def reading_order(boxes: list[BoxT], page_width: float) -> list[BoxT]:
    """Text boxes as a reader reads them: on a two-column page, down the left column, then
    down the right, band by band between the boxes that span both (titles, wide tables)."""
    top_down = sorted(boxes, key=lambda box: (-box.y1, box.x0))
    gutter = _gutter(boxes, page_width)
    if gutter is None:
        return top_down
    ordered: list[BoxT] = []
    band: list[BoxT] = []
    for box in top_down:
        if box.x0 < gutter < box.x1:  # spans both columns: it closes the band above it
            ordered += _columns(band, gutter)
            ordered.append(box)
            band = []
        else:
            band.append(box)
    return ordered + _columns(band, gutter)


def _columns(band: list[BoxT], gutter: float) -> list[BoxT]:
    return [box for box in band if box.x1 <= gutter] + [box for box in band if box.x0 >= gutter]


def _gutter(boxes: list[BoxT], page_width: float) -> float | None:
    """An x in the middle of the page that no box crosses, with text on both sides of it."""
    best: tuple[int, float] | None = None
    for step in range(30, 71, 2):
        x = page_width * step / 100
        left = sum(box.x1 <= x for box in boxes)
        right = sum(box.x0 >= x for box in boxes)
        crossing = len(boxes) - left - right
        fits = left and right and crossing <= max(2, len(boxes) // 3)
        if fits and (best is None or crossing < best[0]):
            best = (crossing, x)
    return best[1] if best else None


def _marked(text: str, size: float, bold: bool, body: float) -> str:
    if not text:
        return ""
    if body and size >= HEADING_SIZE * body:
        return f"## **{text}**"
    return f"**{text}**" if bold else text


def _sections(page_texts: list[str], outline: list[list[str]]) -> list[Section]:
    """Sections cut at the headings the pages show, under their page's outline entry; or, in a
    PDF that shows none, one section per page named by the outline."""
    if any("**" in text for text in page_texts):
        sections = structure_pdf_text(page_texts)
        for section in sections:
            page_outline = outline[(section.page or 1) - 1]
            if (
                not page_outline[0].startswith("Page ")
                and page_outline[-1:] != section.heading_path[:1]
            ):
                section.heading_path = [*page_outline, *section.heading_path]
            section.anchor = f"page={section.page}"
        return sections
    sections = []
    for index, text in enumerate(page_texts):
        readable = "\n\n".join(s.text for s in structure_pdf_text([text], first_page=index + 1))
        if readable.strip():
            sections.append(
                Section(
                    heading_path=outline[index],
                    text=readable,
                    page=index + 1,
                    anchor=f"page={index + 1}",
                )
            )
    return sections
