"""Markdown manuals and bulletins: front matter or manifest metadata, sections per heading."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind, ParsedDocument

MANUAL_BODY = """\
# Halvard Tessel 2021–2022 Owner's Manual

Read this manual before you drive.

## Tire pressure and TPMS

The tire pressure label is on the driver's door pillar.

### Checking tire pressure

Check the pressure when the tires are cold.

### Inflating the tires

Inflate to the pressure on the label, then check again.

## Charging

Plug the connector in until it clicks.
"""


def load(
    tmp_path: Path, text: str, manifest: dict[str, Any] | None = None, name: str = "manual.md"
) -> ParsedDocument:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = MarkdownLoader().load(path, LoadContext(source=name, manifest_fields=manifest))
    assert result.skipped_parts == []
    assert len(result.documents) == 1
    return result.documents[0]


def load_error(tmp_path: Path, text: str, manifest: dict[str, Any] | None = None) -> InputError:
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        MarkdownLoader().load(path, LoadContext(source="broken.md", manifest_fields=manifest))
    return caught.value


def test_front_matter_fills_the_document_and_extra_keys_become_attributes(
    tmp_path: Path,
) -> None:
    text = (
        "---\n"
        "id: tsb-hv-23-014\n"
        "kind: service_bulletin\n"
        "audience: internal\n"
        "title: P0420 after cold start\n"
        "vehicle:\n"
        "  make: Halvard\n"
        "  model: Brisa\n"
        "  year_first: 2021\n"
        "  year_last: 2023\n"
        "  market: US\n"
        "language: en\n"
        "effective_date: 2023-05-02\n"
        "version: 1.2\n"
        "bulletin_number: HV-23-014\n"
        "fault_codes: [P0420, P0430]\n"
        "---\n"
        "# P0420 after cold start\n"
        "\n"
        "## Repair\n"
        "Reflash the engine control module.\n"
    )
    parsed = load(tmp_path, text, name="tsb-hv-23-014.md")
    document = parsed.document

    assert document.id == "tsb-hv-23-014"
    assert document.kind is DocumentKind.SERVICE_BULLETIN
    assert document.audience is Audience.INTERNAL
    assert document.title == "P0420 after cold start"
    assert document.vehicle is not None
    assert (document.vehicle.make, document.vehicle.model) == ("Halvard", "Brisa")
    assert (document.vehicle.year_first, document.vehicle.year_last) == (2021, 2023)
    assert document.vehicle.market == "US"
    assert document.effective_date == date(2023, 5, 2)
    assert document.version == "1.2"  # an unquoted YAML number still reads as the version text
    assert document.attributes == {
        "bulletin_number": "HV-23-014",
        "fault_codes": ["P0420", "P0430"],
    }
    assert document.provenance.source_file == "tsb-hv-23-014.md"
    assert [section.text for section in parsed.sections] == ["Reflash the engine control module."]


def test_sections_carry_nested_heading_paths_without_the_title_and_anchors(
    tmp_path: Path,
) -> None:
    front_matter = (
        "---\nkind: owner_manual\naudience: public\n"
        "title: Halvard Tessel 2021–2022 Owner's Manual\n---\n"
    )
    parsed = load(tmp_path, front_matter + MANUAL_BODY)

    assert [(s.heading_path, s.anchor, s.text) for s in parsed.sections] == [
        ([], "halvard-tessel-2021-2022-owner-s-manual", "Read this manual before you drive."),
        (
            ["Tire pressure and TPMS"],
            "tire-pressure-and-tpms",
            "The tire pressure label is on the driver's door pillar.",
        ),
        (
            ["Tire pressure and TPMS", "Checking tire pressure"],
            "checking-tire-pressure",
            "Check the pressure when the tires are cold.",
        ),
        (
            ["Tire pressure and TPMS", "Inflating the tires"],
            "inflating-the-tires",
            "Inflate to the pressure on the label, then check again.",
        ),
        (["Charging"], "charging", "Plug the connector in until it clicks."),
    ]


def test_the_first_h1_is_the_title_when_nothing_else_names_one(tmp_path: Path) -> None:
    parsed = load(tmp_path, "---\nkind: owner_manual\naudience: public\n---\n" + MANUAL_BODY)

    assert parsed.document.title == "Halvard Tessel 2021–2022 Owner's Manual"
    assert parsed.document.id == "manual"  # from the file name
    assert all("Owner's Manual" not in " ".join(s.heading_path) for s in parsed.sections)


def test_headings_inside_code_fences_stay_text(tmp_path: Path) -> None:
    text = (
        "---\nkind: service_manual\naudience: internal\ntitle: Diagnostics\n---\n"
        "## Reading the log\n"
        "Run this on the head unit:\n"
        "```\n"
        "# dump the CAN log\n"
        "## not a heading either\n"
        "candump can0\n"
        "```\n"
        "Then send the file to engineering.\n"
        "## Clearing codes\n"
        "Use the scan tool.\n"
    )
    parsed = load(tmp_path, text)

    assert [s.heading_path for s in parsed.sections] == [["Reading the log"], ["Clearing codes"]]
    log = parsed.sections[0].text
    assert "# dump the CAN log\n## not a heading either\ncandump can0" in log
    assert log.endswith("Then send the file to engineering.")


def test_manifest_fields_are_used_when_there_is_no_front_matter(tmp_path: Path) -> None:
    manifest = {
        "path": "manuals/*.md",
        "id": "halvard-tessel-2021-2022-owner-manual",
        "kind": "owner_manual",
        "audience": "public",
        "vehicle": {"make": "Halvard", "model": "Tessel", "year_first": 2021, "year_last": 2022},
        "effective_date": "2021-08-01",
        "version": "1.0",
    }
    document = load(tmp_path, MANUAL_BODY, manifest).document

    assert document.id == "halvard-tessel-2021-2022-owner-manual"
    assert document.kind is DocumentKind.OWNER_MANUAL
    assert document.audience is Audience.PUBLIC
    assert document.vehicle is not None and document.vehicle.model == "Tessel"
    assert document.effective_date == date(2021, 8, 1)
    assert document.version == "1.0"
    assert document.title == "Halvard Tessel 2021–2022 Owner's Manual"
    assert "path" not in document.attributes  # the manifest's glob is not a fact to filter on


def test_front_matter_overrides_the_manifest(tmp_path: Path) -> None:
    manifest = {
        "kind": "owner_manual",
        "audience": "internal",
        "version": "1.0",
        "vehicle": {"make": "Halvard", "model": "Tessel"},
    }
    text = "---\naudience: public\nversion: '2.1'\n---\n" + MANUAL_BODY
    document = load(tmp_path, text, manifest).document

    assert document.audience is Audience.PUBLIC
    assert document.version == "2.1"
    # what the front matter does not mention still comes from the manifest
    assert document.kind is DocumentKind.OWNER_MANUAL
    assert document.vehicle is not None and document.vehicle.model == "Tessel"


@pytest.mark.parametrize(
    ("front_matter", "bad_line"),
    [
        # a mis-indented key inside a block: the line of that key, not the start of the block
        (
            "id: x\nkind: owner_manual\naudience: public\nvehicle:\n"
            "  make: Halvard\n model: Tessel\n",
            7,
        ),
        # a quote left open: the line that opened it
        ('id: x\nkind: owner_manual\ntitle: "Open quote\naudience: public\n', 4),
        # a bracket left open: the line that opened it
        ("id: x\nkind: owner_manual\naudience: [public\n", 4),
    ],
)
def test_invalid_front_matter_is_an_input_error_with_its_line(
    tmp_path: Path, front_matter: str, bad_line: int
) -> None:
    error = load_error(tmp_path, f"---\n{front_matter}---\n# Title\nSome text.\n")

    assert error.line == bad_line
    assert "YAML" in str(error)
    assert f"broken.md:{bad_line}" in str(error)


@pytest.mark.parametrize("field", ["kind", "audience"])
def test_missing_kind_or_audience_names_the_field_and_the_manifest(
    tmp_path: Path, field: str
) -> None:
    fields = {"kind": "owner_manual", "audience": "public"}
    del fields[field]
    front_matter = "".join(f"{key}: {value}\n" for key, value in fields.items())
    error = load_error(tmp_path, f"---\n{front_matter}---\n# Title\nSome text.\n")

    assert f"'{field}'" in str(error)
    assert "manifest" in str(error)


def test_an_invalid_field_value_names_the_field(tmp_path: Path) -> None:
    error = load_error(tmp_path, "---\nkind: brochure\naudience: public\n---\n# T\nText.\n")

    assert "field 'kind'" in str(error)
    assert "owner_manual" in str(error)  # says what would be accepted
