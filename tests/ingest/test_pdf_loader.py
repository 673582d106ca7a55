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
