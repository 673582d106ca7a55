"""PDF: one section per page (named by the outline where there is one), with page numbers."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug
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
            page_texts = [page.extract_text() or "" for page in reader.pages]
            headings = _outline_headings(reader, len(page_texts))
            pdf_title = (reader.metadata.title if reader.metadata else None) or ""
        except InputError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
            raise InputError(
                context.source,
                f"the PDF is damaged and cannot be read ({error}); export it again",
            ) from error
        sections = [
            Section(
                heading_path=headings[index],
                text=_tidy(text),
                page=index + 1,
                anchor=f"page={index + 1}",
            )
            for index, text in enumerate(page_texts)
            if _tidy(text)
        ]
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


def _tidy(text: str) -> str:
    return re.sub(r"[ \t]+\n", "\n", re.sub(r"\n{3,}", "\n\n", text)).strip()
