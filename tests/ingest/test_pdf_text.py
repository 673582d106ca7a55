"""Reading text converted from a PDF: headings, wrapped lines, cut words, page furniture, steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
from ingest.pdf_text import looks_pdf_derived, split_pages, structure_pdf_text
from tests.conftest import SAMPLE_KNOWLEDGE

# As a PDF-to-Markdown converter writes a two-page manual: hard wraps, cut words, a heading in
# two bold lines, a stray '##' on a body line, symbol-font bullets, a running header.
CONVERTED = """\
Navigation System Owner's Manual
## **Registering home (12.3-**

**inch display model)**
Home can be registered so that
the route to it is found with
one touch. This operation cannot be
performed while driving.
1 Press the “MAP” button.
2 Select “Setup”, then the
navigation settings.
\uf06c If the settings screen is not
displayed, select “Navigation”.
3 Select “Home”.
## 4 Search for your home and
select “Enter”.
Registration of home is complete.
12

## -----

Navigation System Owner's Manual
■ **Deleting home**
Select “Delete” to remove the registered home. The connec
tion to the server is made with the DCM.
**WARNING**
-  Do not operate the system while
driving.
**Adjusting the con-**
**trast**
Select “+” to brighten the screen.
13

## -----

Navigation System Owner's Manual
**Contents**
Registering home..........................12
Deleting home.............................13
The connection settings are kept.
14

## -----

Navigation System Owner's Manual
Select “Phone” to open the phone
screen.
15
"""


def sections() -> dict[str, object]:
    return {" > ".join(s.heading_path): s for s in structure_pdf_text(split_pages(CONVERTED))}


def test_a_converted_pdf_is_told_from_authored_markdown() -> None:
    assert looks_pdf_derived(CONVERTED)
    for manual in sorted((SAMPLE_KNOWLEDGE / "manuals").glob("*.md")):
        assert not looks_pdf_derived(manual.read_text(encoding="utf-8")), manual.name


def test_a_heading_cut_over_bold_lines_is_one_title() -> None:
    titles = [s.heading_path[-1] for s in structure_pdf_text(split_pages(CONVERTED))]
    assert "Registering home (12.3-inch display model)" in titles
    assert "Adjusting the contrast" in titles
    assert "Deleting home" in titles
    assert not any(title.startswith("4 Search") for title in titles)  # a stray '##' is text


def test_steps_stay_whole_with_their_notes_and_wrapped_lines() -> None:
    home = next(s for s in structure_pdf_text(split_pages(CONVERTED)) if "Registering" in s.text
                or s.heading_path[-1].startswith("Registering"))  # fmt: skip
    assert home.page == 1
    assert "Home can be registered so that the route to it is found with one touch." in home.text
    lines = home.text.split("\n")
    steps = [line for line in lines if line[:2] in ("1.", "2.", "3.", "4.")]
    assert steps == [
        "1. Press the “MAP” button.",
        "2. Select “Setup”, then the navigation settings.",
        "3. Select “Home”.",
        "4. Search for your home and select “Enter”.",
    ]
    note = lines.index("   - If the settings screen is not displayed, select “Navigation”.")
    assert lines.index(steps[1]) < note < lines.index(steps[2])


def test_cut_words_are_joined_and_page_furniture_dropped() -> None:
    texts = "\n".join(s.text for s in structure_pdf_text(split_pages(CONVERTED)))
    assert "The connection to the server is made with the DCM." in texts
    assert "Navigation System Owner's Manual" not in texts  # the running header
    assert "\n12\n" not in f"\n{texts}\n" and "13" not in texts  # page numbers
    assert "......" not in texts  # the contents page


def test_a_warning_keeps_its_items_and_pages_are_provenance() -> None:
    by_title = {s.heading_path[-1]: s for s in structure_pdf_text(split_pages(CONVERTED))}
    deleting = by_title["Deleting home"]
    assert deleting.page == 2
    assert "WARNING:\n- Do not operate the system while driving." in deleting.text
    assert by_title["Adjusting the contrast"].page == 2


def test_the_markdown_loader_reads_a_converted_pdf_with_pages(tmp_path: Path) -> None:
    path = tmp_path / "manual.md"
    path.write_text(CONVERTED, encoding="utf-8")
    manifest = {"id": "nav-manual", "kind": "owner_manual", "audience": "public",
                "title": "Navigation System Owner's Manual"}  # fmt: skip
    [parsed] = MarkdownLoader().load(path, LoadContext(str(path), manifest)).documents
    pages = {section.heading_path[-1]: section.page for section in parsed.sections}
    assert pages["Registering home (12.3-inch display model)"] == 1
    assert all(section.anchor and section.anchor.startswith("page=") for section in parsed.sections)


@pytest.mark.parametrize(
    ("text", "pages"),
    [("a\n-----\nb", 2), ("a\n## -----\nb\n\fc", 3), ("no separators", 1)],
)
def test_pages_split_at_separators(text: str, pages: int) -> None:
    assert len(split_pages(text)) == pages
