"""The page a citation opens."""

from __future__ import annotations

from assistant.sources import SourceDocument, SourceSection
from ui.source_page import source_page_html


def test_the_page_escapes_what_the_document_says_and_marks_each_section() -> None:
    document = SourceDocument(
        "doc", "Manual <b>", "owner manual", "public", None, None,
        [SourceSection("Steps", "steps", None, "1. <script>alert(1)</script>"),
         SourceSection("Fuses", "page-4", 4, "Fuse box")],
    )  # fmt: skip
    page = source_page_html(document)
    assert "<script>" not in page and "&lt;script&gt;" in page and "Manual &lt;b&gt;" in page
    assert '<section id="steps">' in page and '<section id="page-4">' in page
    assert "(page 4)" in page
