"""FAQs from YAML and CSV: one document per entry; a bad entry is named by its line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.loaders.base import LoadContext, LoadResult
from ingest.loaders.faq import FaqCsvLoader, FaqYamlLoader
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind, ParsedDocument

FAQ_YAML = """\
defaults:
  audience: public
  language: en
  effective_date: 2024-01-15
  version: "3"
faqs:
  - id: faq-warranty-new-vehicle
    category: Warranty
    question: What does the new-vehicle limited warranty cover?
    answer: |
      Defects in materials and workmanship
      for 4 years or 50,000 miles.
    vehicle: {make: Halvard, model: Tessel, year_first: 2023, year_last: 2025}
  - id: faq-goodwill
    category: Goodwill
    audience: internal
    question: When may an agent offer goodwill repairs?
    answer: Within 6 months after the warranty ends, with a team lead's approval.
  - id: faq-roadside
    category: Roadside
    question: Is roadside assistance included?
  - id: faq-book-service
    question: How do I book a service?
    answer: Use the Halvard app or call your dealer.
"""

FAQ_CSV_HEADER = "id,category,question,answer,audience,make,model,year_first,year_last\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_yaml(path: Path) -> LoadResult:
    return FaqYamlLoader().load(path, LoadContext(source=path.name))


def load_csv(path: Path) -> LoadResult:
    return FaqCsvLoader().load(path, LoadContext(source=path.name))


def by_id(result: LoadResult) -> dict[str, ParsedDocument]:
    return {parsed.document.id: parsed for parsed in result.documents}


def test_yaml_entries_take_the_defaults_unless_they_override_them(tmp_path: Path) -> None:
    documents = by_id(load_yaml(write(tmp_path, "care.faq.yaml", FAQ_YAML)))

    warranty = documents["faq-warranty-new-vehicle"].document
    goodwill = documents["faq-goodwill"].document
    assert warranty.kind is DocumentKind.FAQ
    assert warranty.audience is Audience.PUBLIC
    assert goodwill.audience is Audience.INTERNAL  # the entry overrides the default
    for document in (warranty, goodwill):
        assert document.effective_date == date(2024, 1, 15)
        assert document.version == "3"
        assert document.language == "en"


def test_a_yaml_entry_is_a_document_titled_by_its_question(tmp_path: Path) -> None:
    documents = by_id(load_yaml(write(tmp_path, "care.faq.yaml", FAQ_YAML)))

    warranty = documents["faq-warranty-new-vehicle"]
    assert warranty.document.title == "What does the new-vehicle limited warranty cover?"
    assert warranty.document.attributes["category"] == "Warranty"
    [section] = warranty.sections
    assert section.heading_path == ["Warranty", warranty.document.title]
    assert section.text == "Defects in materials and workmanship\nfor 4 years or 50,000 miles."
    assert warranty.document.provenance.line == 7
    # an entry without a category is filed under General
    assert documents["faq-book-service"].sections[0].heading_path[0] == "General"


def test_a_yaml_vehicle_block_scopes_the_entry(tmp_path: Path) -> None:
    documents = by_id(load_yaml(write(tmp_path, "care.faq.yaml", FAQ_YAML)))

    vehicle = documents["faq-warranty-new-vehicle"].document.vehicle
    assert vehicle is not None
    assert (vehicle.make, vehicle.model, vehicle.year_first, vehicle.year_last) == (
        "Halvard",
        "Tessel",
        2023,
        2025,
    )
    assert documents["faq-goodwill"].document.vehicle is None


def test_a_yaml_entry_without_an_answer_is_reported_by_line_and_the_rest_load(
    tmp_path: Path,
) -> None:
    result = load_yaml(write(tmp_path, "care.faq.yaml", FAQ_YAML))

    assert sorted(by_id(result)) == [
        "faq-book-service",
        "faq-goodwill",
        "faq-warranty-new-vehicle",
    ]
    [problem] = result.skipped_parts
    assert problem.line == 19  # the "- id: faq-roadside" line
    assert "'answer'" in problem.problem


def test_invalid_yaml_is_an_input_error_with_its_line(tmp_path: Path) -> None:
    text = (
        "faqs:\n"
        "  - id: faq-a\n"
        "    question: Where is the spare wheel?\n"
        "    answer: Under the boot floor.\n"
        "  - id: faq-b\n"
        "   question: misindented\n"
    )
    with pytest.raises(InputError) as caught:
        load_yaml(write(tmp_path, "broken.faq.yaml", text))

    assert caught.value.line == 6
    assert "YAML" in str(caught.value)


def test_yaml_without_a_faqs_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'faqs:'"):
        load_yaml(write(tmp_path, "other.faq.yaml", "questions:\n  - a\n"))


def test_csv_rows_become_entries_and_quoted_commas_stay_in_their_field(tmp_path: Path) -> None:
    text = FAQ_CSV_HEADER + (
        'faq-rain,Charging,"Can I charge in rain, snow or heat?",'
        '"Yes, the connector is sealed, even in heavy rain.",public,Halvard,Tessel,2023,2025\n'
        "faq-time,Charging,How long does a full charge take?,About 8 hours on a wallbox.,"
        "internal,,,,\n"
    )
    documents = by_id(load_csv(write(tmp_path, "ev.faq.csv", text)))

    rain = documents["faq-rain"]
    assert rain.document.title == "Can I charge in rain, snow or heat?"
    assert rain.sections[0].text == "Yes, the connector is sealed, even in heavy rain."
    assert rain.document.vehicle is not None
    assert (rain.document.vehicle.model, rain.document.vehicle.year_last) == ("Tessel", 2025)
    assert rain.document.provenance.line == 2
    time = documents["faq-time"].document
    assert time.vehicle is None
    assert time.audience is Audience.INTERNAL


def test_a_csv_missing_a_header_column_is_refused_naming_it(tmp_path: Path) -> None:
    text = "id,category,question\nfaq-a,General,Where is the jack?\n"
    with pytest.raises(InputError) as caught:
        load_csv(write(tmp_path, "ev.faq.csv", text))

    assert caught.value.line == 1
    assert "lacks column(s) answer;" in caught.value.problem  # names just what is missing


def test_a_csv_row_with_too_many_fields_is_reported_by_line(tmp_path: Path) -> None:
    text = FAQ_CSV_HEADER + (
        "faq-a,Charging,Is the cable included?,Yes.,public,,,,\n"
        "faq-b,Charging,Can I charge at 11 kW, 22 kW or more?,Up to 11 kW.,public,,,,\n"
        "faq-c,Charging,Where is the charge port?,Front left.,public,,,,\n"
    )
    result = load_csv(write(tmp_path, "ev.faq.csv", text))

    assert sorted(by_id(result)) == ["faq-a", "faq-c"]
    [problem] = result.skipped_parts
    assert problem.line == 3
    assert "quote" in problem.problem


def test_a_csv_where_no_row_is_usable_is_refused(tmp_path: Path) -> None:
    text = FAQ_CSV_HEADER + "faq-a,Charging,Is the cable included?,,public,,,,\n"
    with pytest.raises(InputError, match="no usable FAQ row"):
        load_csv(write(tmp_path, "ev.faq.csv", text))
