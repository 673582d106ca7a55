"""Recall exports (NHTSA recalls API as JSON, spreadsheet CSV): one notice per vehicle."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from ingest.loaders import loader_for
from ingest.loaders.base import LoadContext
from ingest.loaders.nhtsa import display_name, stated_model_years
from ingest.loaders.recall_exports import RecallCsvLoader, RecallJsonLoader
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind
from tests.conftest import shared_data

API_RECALL = {
    "NHTSACampaignNumber": "24V210000",
    "Make": "HALVARD",
    "Model": "TESSEL",
    "ModelYear": "2022",
    "Component": "ELECTRICAL SYSTEM:PROPULSION SYSTEM:TRACTION BATTERY",
    "Summary": "The high-voltage battery coolant pump may fail.",
    "Consequence": "The battery may overheat, increasing the risk of a fire.",
    "Remedy": "Dealers will replace the coolant pump, free of charge.",
    "parkIt": True,
    "parkOutSide": False,
    "ReportReceivedDate": "15/03/2024",
}


def write_json(tmp_path: Path, data: object, name: str = "recalls.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_every_row_of_the_real_recall_export_lands() -> None:
    path = shared_data("nhtsa/recent_recalls_2023_2026/nhtsa_recalls.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = RecallCsvLoader().load(path, LoadContext(source=path.name))

    assert result.skipped_parts == []
    assert isinstance(loader_for(path), RecallCsvLoader)
    groups = {(row["nhtsa_id"], row["make"], row["model"]) for row in rows}
    assert len(result.documents) == len(groups)  # one document per (campaign, make, model)
    assert len({parsed.document.id for parsed in result.documents}) == len(result.documents)
    for row in rows:
        matches = [
            parsed.document
            for parsed in result.documents
            if parsed.document.attributes["campaign_number"] == row["nhtsa_id"]
            and parsed.document.vehicle is not None
            and parsed.document.vehicle.make.casefold() == row["make"].casefold()
            and (parsed.document.vehicle.model or "").casefold() == row["model"].casefold()
        ]
        assert len(matches) == 1, f"{row['nhtsa_id']} {row['make']} {row['model']}"
        document = matches[0]
        assert document.kind is DocumentKind.RECALL_NOTICE
        assert document.audience is Audience.PUBLIC
        assert row["year"] == "9999" or row["year"] in document.attributes["model_years"]


def test_a_real_csv_recall_keeps_its_summary_consequence_and_date() -> None:
    path = shared_data("nhtsa/recent_recalls_2023_2026/nhtsa_recalls.csv")
    result = RecallCsvLoader().load(path, LoadContext(source=path.name))
    [kia] = [
        parsed for parsed in result.documents
        if parsed.document.attributes["campaign_number"] == "26V232000"
    ]  # fmt: skip

    assert kia.document.attributes["campaign_short"] == "26V232"
    assert kia.document.effective_date == date(2026, 4, 10)  # 10/04/2026 is day/month
    assert kia.document.provenance.line == 2
    text = kia.sections[0].text
    assert "Summary: Kia America, Inc. (Kia) is recalling certain 2022-2026 Carnival" in text
    assert "Consequence: A fuel leak increases the risk of a fire." in text


def test_an_nhtsa_api_response_becomes_a_recall_notice(tmp_path: Path) -> None:
    path = write_json(
        tmp_path, {"Count": 1, "Message": "Results returned", "results": [API_RECALL]}
    )
    result = RecallJsonLoader().load(path, LoadContext(source="recalls.json"))

    assert result.skipped_parts == []
    [parsed] = result.documents
    document = parsed.document
    assert document.kind is DocumentKind.RECALL_NOTICE
    assert document.audience is Audience.PUBLIC
    assert document.attributes["campaign_number"] == "24V210000"
    assert document.attributes["campaign_short"] == "24V210"
    assert document.attributes["model_years"] == ["2022"]
    assert document.attributes["do_not_drive"] is True
    assert document.attributes["park_outside"] is False
    assert document.vehicle is not None
    assert (document.vehicle.make, document.vehicle.model) == ("Halvard", "Tessel")
    assert (document.vehicle.year_first, document.vehicle.year_last) == (2022, 2022)
    assert document.effective_date == date(2024, 3, 15)
    assert document.title.startswith("Recall 24V210:")

    [section] = parsed.sections
    assert section.anchor == "24V210000"
    assert "Consumer advisory: DO NOT DRIVE" in section.text
    assert "PARK OUTSIDE" not in section.text
    assert "Summary: The high-voltage battery coolant pump may fail." in section.text
    assert "Consequence: The battery may overheat" in section.text
    assert "Remedy: Dealers will replace the coolant pump" in section.text


def test_a_json_list_groups_model_years_and_reports_an_incomplete_record(
    tmp_path: Path,
) -> None:
    records = [
        API_RECALL,
        {**API_RECALL, "ModelYear": "2023"},
        {**API_RECALL, "Model": "KARST"},
        {**API_RECALL, "Make": ""},
    ]
    result = RecallJsonLoader().load(write_json(tmp_path, records), LoadContext(source="r.json"))

    models = {
        (parsed.document.vehicle.model if parsed.document.vehicle else None): parsed.document
        for parsed in result.documents
    }
    assert sorted(models) == ["Karst", "Tessel"]
    assert models["Tessel"].attributes["model_years"] == ["2022", "2023"]
    [problem] = result.skipped_parts
    assert "make" in problem.problem


def test_invalid_json_is_an_input_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "recalls.json"
    path.write_text(
        '{\n  "Count": 1,\n  "results": [\n    {"NHTSACampaignNumber": "24V210000",}\n  ]\n}\n'
    )
    with pytest.raises(InputError) as caught:
        RecallJsonLoader().load(path, LoadContext(source="recalls.json"))

    assert caught.value.line == 4
    assert "JSON" in str(caught.value)
    assert str(caught.value).startswith("recalls.json:4:")


def test_json_of_another_shape_is_refused(tmp_path: Path) -> None:
    path = write_json(tmp_path, {"Count": 0, "Message": "No results"})

    with pytest.raises(InputError, match="'results' list"):
        RecallJsonLoader().load(path, LoadContext(source="recalls.json"))


def test_a_feed_row_of_one_year_takes_the_range_its_notice_states() -> None:
    path = shared_data("nhtsa/recent_recalls_2023_2026/nhtsa_recalls.csv")
    result = RecallCsvLoader().load(path, LoadContext(source=path.name))
    [kia] = [
        parsed.document for parsed in result.documents
        if parsed.document.attributes["campaign_number"] == "26V232000"
    ]  # fmt: skip

    assert kia.attributes["model_years"] == ["2022", "2023", "2024", "2025", "2026"]
    assert kia.attributes["model_years_from"] == "notice text"
    assert kia.vehicle is not None and (kia.vehicle.year_first, kia.vehicle.year_last) == (
        2022,
        2026,
    )


@pytest.mark.parametrize(
    ("text", "model", "years"),
    [
        ("Kia is recalling certain 2022-2026 Carnival vehicles.", "CARNIVAL", (2022, 2026)),
        ("recalling certain Genesis 2022-2026 GV70, 2023-2025 G90", "G90", (2023, 2025)),
        ("certain 2023-2025 Acura Integra, Civic Type R, CR-V Hybrid, CR-V, HR-V", "CR-V",
         (2023, 2025)),
        ("recalling certain 2024 F150 vehicles", "F-150", (2024, 2024)),
        ("recalling certain 2022-2026 Carnival vehicles. Also 2019 Sorento.", "SORENTO",
         (2019, 2019)),
    ],
)  # fmt: skip
def test_model_years_stated_in_a_notice_are_read_for_its_model(
    text: str, model: str, years: tuple[int, int]
) -> None:
    found = stated_model_years(text, model)

    assert (found[0], found[-1]) == years


def test_a_model_the_notice_does_not_name_gets_no_years() -> None:
    assert stated_model_years("recalling certain 2022-2026 Carnival vehicles.", "TELLURIDE") == []


@pytest.mark.parametrize(
    ("written", "shown"),
    [("GRAND CHEROKEE 4XE", "Grand Cherokee 4XE"), ("MDX", "MDX"), ("CR-V", "CR-V"),
     ("MODEL Y", "Model Y"), ("KIA", "Kia"), ("BMW", "BMW"), ("Civic", "Civic")],
)  # fmt: skip
def test_capitalised_names_are_shown_the_way_people_write_them(written: str, shown: str) -> None:
    assert display_name(written) == shown


def test_the_recall_document_index_layout_is_read_one_notice_per_campaign_and_model(
    tmp_path: Path,
) -> None:
    path = tmp_path / "RCL_FROM_2020_2024.csv"
    path.write_text(
        "NHTSA ID,DOCUMENT NAME,MAKE,MODEL,MODEL YEAR,SUMMARY\n"
        "24V001,RCMN-24V001-1.pdf,ACME,ROADSTER,2023,Final copy\n"
        "24V001,RCONL-24V001-2.pdf,ACME,ROADSTER,2024,Acme is recalling certain 2022-2024 "
        "Roadster vehicles. The brake hose may leak.\n",
        encoding="utf-8",
    )

    result = RecallCsvLoader().load(path, LoadContext(source=path.name))

    assert isinstance(loader_for(path), RecallCsvLoader)
    [parsed] = result.documents
    assert parsed.document.attributes["model_years"] == ["2022", "2023", "2024"]
    assert "brake hose may leak" in parsed.sections[0].text  # the fuller summary of the two


def test_a_model_spelled_two_ways_in_one_feed_is_one_notice(tmp_path: Path) -> None:
    path = tmp_path / "recalls.csv"
    path.write_text(
        "NHTSA ID,MAKE,MODEL,MODEL YEAR,SUMMARY\n"
        "22V315,MERCEDES-BENZ,GL450,2013,a notice\n22V315,MERCEDES-BENZ,GL 450,2014,a notice\n",
        encoding="utf-8",
    )

    result = RecallCsvLoader().load(path, LoadContext(source=path.name))

    assert result.skipped_parts == []
    [parsed] = result.documents
    assert parsed.document.attributes["model_years"] == ["2013", "2014"]
