"""PDF manuals: a section per page with its number and outline heading; bad PDFs say why."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest.loaders.base import LoadContext, LoadResult
from ingest.loaders.pdf import PdfLoader
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind

MANIFEST = {
    "id": "halvard-tessel-2023-quick-guide",
    "kind": "owner_manual",
    "audience": "public",
    "vehicle": {"make": "Halvard", "model": "Tessel", "year_first": 2023},
}

# (outline heading, outline level, page text); None: the page starts no new outline entry
Page = tuple[str | None, int, str]
GUIDE: list[Page] = [
    ("Tire pressure", 0, "Check the tire pressure once a month when the tires are cold."),
    ("Using a gauge", 1, "Press the gauge firmly onto the valve stem and read the value."),
    (None, 0, "Refit the valve caps after checking all four tires."),
]


def write_pdf(path: Path, pages: list[Page], title: str | None = None) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for heading, level, text in pages:
        pdf.add_page()
        if heading:
            pdf.start_section(heading, level=level)
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def load(path: Path, manifest: dict | None = MANIFEST) -> LoadResult:
    return PdfLoader().load(path, LoadContext(source=path.name, manifest_fields=manifest))


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.source == path.name
    return caught.value


def test_each_page_is_a_section_with_its_page_number_and_outline_heading(
    tmp_path: Path,
) -> None:
    path = write_pdf(tmp_path / "tessel-quick-guide.pdf", GUIDE, title="Tessel Quick Guide")
    result = load(path)

    assert result.skipped_parts == []
    [parsed] = result.documents
    assert [(s.page, s.anchor, s.heading_path) for s in parsed.sections] == [
        (1, "page=1", ["Tire pressure"]),
        (2, "page=2", ["Tire pressure", "Using a gauge"]),
        # a page with no bookmark of its own belongs to the last one before it
        (3, "page=3", ["Tire pressure", "Using a gauge"]),
    ]
    assert "once a month" in parsed.sections[0].text
    assert "valve stem" in parsed.sections[1].text
    assert "valve caps" in parsed.sections[2].text
    assert "once a month" not in parsed.sections[1].text


def test_metadata_comes_from_the_manifest_and_the_title_from_the_pdf(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "tessel-quick-guide.pdf", GUIDE, title="Tessel Quick Guide")
    document = load(path).documents[0].document

    assert document.id == "halvard-tessel-2023-quick-guide"
    assert document.kind is DocumentKind.OWNER_MANUAL
    assert document.audience is Audience.PUBLIC
    assert document.vehicle is not None and document.vehicle.model == "Tessel"
    assert document.title == "Tessel Quick Guide"
    assert document.provenance.source_file == "tessel-quick-guide.pdf"


def test_pages_without_an_outline_are_named_by_their_number(tmp_path: Path) -> None:
    pages: list[Page] = [(None, 0, "Front matter page."), (None, 0, "Second page text.")]
    parsed = load(write_pdf(tmp_path / "plain.pdf", pages)).documents[0]

    assert [s.heading_path for s in parsed.sections] == [["Page 1"], ["Page 2"]]
    assert parsed.document.title == "plain"  # no PDF title and none in the manifest


def test_a_page_without_text_is_left_out_and_the_others_keep_their_numbers(
    tmp_path: Path,
) -> None:
    pages: list[Page] = [
        ("Lights", 0, "Turn the dial to AUTO."),
        ("Diagram", 0, ""),  # a figure page: nothing to extract
        ("Wipers", 0, "Lift the stalk for a single wipe."),
    ]
    parsed = load(write_pdf(tmp_path / "lights.pdf", pages)).documents[0]

    assert [(s.page, s.heading_path) for s in parsed.sections] == [
        (1, ["Lights"]),
        (3, ["Wipers"]),
    ]


def test_an_encrypted_pdf_asks_for_an_unprotected_copy(tmp_path: Path) -> None:
    plain = write_pdf(tmp_path / "plain.pdf", GUIDE)
    writer = PdfWriter()
    writer.append(PdfReader(plain))
    writer.encrypt(user_password="secret")
    encrypted = tmp_path / "locked.pdf"
    with encrypted.open("wb") as handle:
        writer.write(handle)

    assert "password" in str(load_error(encrypted))


def test_a_truncated_pdf_says_it_is_truncated(tmp_path: Path) -> None:
    whole = write_pdf(tmp_path / "whole.pdf", GUIDE).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 2])

    assert "truncated" in str(load_error(cut))


def test_a_file_named_pdf_that_is_not_a_pdf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "manual.pdf"
    fake.write_text("<html><body>Sorry, this download has expired.</body></html>")

    assert "not a PDF" in str(load_error(fake))


def test_a_pdf_with_no_text_asks_for_ocr(tmp_path: Path) -> None:
    scan = write_pdf(tmp_path / "scan.pdf", [(None, 0, ""), (None, 0, "")])

    assert "OCR" in str(load_error(scan))


def write_two_column_pdf(path: Path) -> Path:
    """A page whose content stream writes the two columns line across line, as many PDF
    producers do: plain extraction weaves them into one text."""
    import textwrap

    left = textwrap.wrap(
        "Home can be registered so that the route to it is found with one touch. Press the "
        "MAP button, select Setup, then select Home and search for your home.",
        45,
    )
    right = textwrap.wrap(
        "When route guidance is no longer necessary the destination can be deleted. Press "
        "the MAP button, select Delete, then select Yes when asked.",
        45,
    )
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=16)
    pdf.text(10, 20, "Registering home")
    pdf.text(110, 20, "Deleting destinations")
    pdf.set_font("helvetica", size=10)
    for row, (first, second) in enumerate(zip(left, right, strict=False)):
        pdf.text(10, 30 + 5 * row, first)
        pdf.text(110, 30 + 5 * row, second)
    pdf.output(str(path))
    return path


def test_two_columns_are_read_one_after_the_other_and_bold_lines_are_headings(
    tmp_path: Path,
) -> None:
    woven = PdfReader(write_two_column_pdf(tmp_path / "nav.pdf")).pages[0].extract_text()
    # what plain extraction makes of it: both columns on one line
    assert any("Home can be" in line and "When route" in line for line in woven.split("\n"))

    [parsed] = load(tmp_path / "nav.pdf").documents
    by_title = {s.heading_path[-1]: s for s in parsed.sections}
    assert set(by_title) == {"Registering home", "Deleting destinations"}
    home = by_title["Registering home"].text
    assert "Home can be registered so that the route to it is found with one touch." in home
    assert "select Home and search for your home." in home and "Delete" not in home
    assert "deleted. Press the MAP button, select Delete" in by_title["Deleting destinations"].text
    assert {s.page for s in parsed.sections} == {1}


def test_reading_order_goes_down_each_column_band_by_band() -> None:
    from dataclasses import dataclass

    from ingest.loaders.pdf import reading_order

    @dataclass
    class Box:
        name: str
        x0: float
        x1: float
        y0: float
        y1: float

    page = [
        Box("right-top", 310, 590, 600, 700), Box("title", 20, 590, 720, 760),
        Box("left-top", 20, 290, 620, 700), Box("left-bottom", 20, 290, 400, 600),
        Box("right-bottom", 310, 590, 420, 590), Box("wide-table", 20, 590, 300, 380),
        Box("after-table-right", 310, 590, 100, 280), Box("after-table-left", 20, 290, 120, 280),
    ]  # fmt: skip
    assert [box.name for box in reading_order(page, 612)] == [
        "title", "left-top", "left-bottom", "right-top", "right-bottom", "wide-table",
        "after-table-left", "after-table-right",
    ]  # fmt: skip
    single = [Box("b", 20, 590, 100, 200), Box("a", 20, 590, 300, 400)]
    assert [box.name for box in reading_order(single, 612)] == ["a", "b"]
