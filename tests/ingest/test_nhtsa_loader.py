"""NHTSA FLAT_RCL recalls and FLAT_TSBS bulletins: every real row lands; bad rows are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import loader_for
from ingest.loaders.base import LoadContext
from ingest.loaders.nhtsa import FlatRecallLoader, FlatServiceBulletinLoader, sniff_flat_file
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind, ParsedDocument
from tests.conftest import shared_data

# FLAT_RCL fields 1-29, as docs/knowledge-formats.md lists them.
RECALL_COLUMNS = (
    "RECORD_ID", "CAMPNO", "MAKETXT", "MODELTXT", "YEARTXT", "MFGCAMPNO", "COMPNAME", "MFGNAME",
    "BGMAN", "ENDMAN", "RCLTYPECD", "POTAFF", "ODATE", "INFLUENCED_BY", "MFGTXT", "RCDATE",
    "DATEA", "RPNO", "FMVSS", "DESC_DEFECT", "CONEQUENCE_DEFECT", "CORRECTIVE_ACTION", "NOTES",
    "RCL_CMPT_ID", "MFR_COMP_NAME", "MFR_COMP_DESC", "MFR_COMP_PTNO", "DO_NOT_DRIVE",
    "PARK_OUTSIDE",
)  # fmt: skip


def recall_row(record_id: str, year: str = "2022", **values: str) -> str:
    """One 29-field FLAT_RCL line for a Halvard Tessel campaign; keyword arguments override."""
    fields = dict.fromkeys(RECALL_COLUMNS, "")
    fields.update(
        RECORD_ID=record_id,
        CAMPNO="24V210000",
        MAKETXT="HALVARD",
        MODELTXT="TESSEL",
        YEARTXT=year,
        MFGCAMPNO="HV-24-R02",
        COMPNAME="ELECTRICAL SYSTEM:PROPULSION SYSTEM:TRACTION BATTERY",
        MFGNAME="HALVARD MOTORS",
        RCDATE="20240315",
        DATEA="20240320",
        DESC_DEFECT="THE HIGH VOLTAGE BATTERY COOLANT PUMP MAY FAIL.",
        CONEQUENCE_DEFECT="THE BATTERY MAY OVERHEAT, INCREASING THE RISK OF A FIRE.",
        CORRECTIVE_ACTION="DEALERS WILL REPLACE THE COOLANT PUMP, FREE OF CHARGE.",
        DO_NOT_DRIVE="No",
        PARK_OUTSIDE="No",
    )
    fields.update(values)
    return "\t".join(fields[name] for name in RECALL_COLUMNS)


def bulletin_row(odi: str = "10045123", make: str = "HALVARD", model: str = "KARST") -> str:
    return "\t".join(
        ["HV-23-006", "", odi, "20230412", "040000 POWER TRAIN:AUTOMATIC TRANSMISSION",
         make, model, "2023", "20230420", "3-4 SHIFT FLARE WHEN COLD. *TR"]
    )  # fmt: skip


def load_recalls(path: Path) -> list[ParsedDocument]:
    result = FlatRecallLoader().load(path, LoadContext(source=path.name))
    assert result.skipped_parts == []
    return result.documents


def find(documents: list[ParsedDocument], campaign: str) -> ParsedDocument:
    [match] = [d for d in documents if d.document.attributes["campaign_number"] == campaign]
    return match


def same_name(a: str | None, b: str) -> bool:
    return (a or "").strip().casefold() == b.strip().casefold()


# -- the real 2014 samples, read in place ---------------------------------------------------


def test_every_real_flat_rcl_row_lands_in_a_recall_document() -> None:
    path = shared_data("nhtsa/flatfile_samples_2014/recalls.txt")
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    documents = load_recalls(path)

    assert len(rows) == 100
    groups = {(row[1].strip(), row[2].strip(), row[3].strip()) for row in rows}
    assert len(documents) == len(groups)  # one document per (campaign, make, model)
    assert len({d.document.id for d in documents}) == len(documents)
    for row in rows:
        record_id, campaign, make, model, year = (value.strip() for value in row[:5])
        matches = [
            d.document
            for d in documents
            if d.document.attributes["campaign_number"] == campaign
            and d.document.vehicle is not None
            and same_name(d.document.vehicle.make, make)
            and same_name(d.document.vehicle.model, model)
        ]
        assert len(matches) == 1, f"record {record_id} ({campaign} {make} {model})"
        document = matches[0]
        assert document.kind is DocumentKind.RECALL_NOTICE
        assert document.audience is Audience.PUBLIC
        assert year == "9999" or year in document.attributes["model_years"], record_id
        assert record_id in document.attributes["nhtsa_record_ids"]


def test_a_real_recall_reads_as_a_notice_a_customer_can_follow() -> None:
    documents = load_recalls(shared_data("nhtsa/flatfile_samples_2014/recalls.txt"))
    [focus] = [
        d for d in documents
        if d.document.attributes["campaign_number"] == "02V288000"
        and d.document.vehicle is not None and d.document.vehicle.model == "Focus"
    ]  # fmt: skip

    assert focus.document.attributes["campaign_short"] == "02V288"
    assert focus.document.attributes["model_years"] == ["2000", "2001"]
    assert focus.document.vehicle is not None
    assert (focus.document.vehicle.year_first, focus.document.vehicle.year_last) == (2000, 2001)
    [section] = focus.sections
    assert section.heading_path == ["Recall 02V288"]
    assert "ZETEC ENGINES" in section.text  # the defect
    assert "Remedy: DEALERS WILL INSPECT THE BATTERY CABLES" in section.text


def test_every_real_flat_tsbs_row_lands_as_an_internal_bulletin() -> None:
    path = shared_data("nhtsa/flatfile_samples_2014/service_bulletins.txt")
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    result = FlatServiceBulletinLoader().load(path, LoadContext(source=path.name))

    assert result.skipped_parts == []
    assert len(rows) == 100
    documents = [d.document for d in result.documents]
    assert len({d.id for d in documents}) == len(documents)
    assert {d.audience for d in documents} == {Audience.INTERNAL}
    assert {d.kind for d in documents} == {DocumentKind.SERVICE_BULLETIN}
    for row in rows:
        item, make, model = row[2].strip(), row[5].strip(), row[6].strip()
        assert any(
            d.attributes["nhtsa_item"] == item
            and d.vehicle is not None
            and same_name(d.vehicle.make, make)
            and same_name(d.vehicle.model, model)
            for d in documents
        ), f"bulletin {item} {make} {model} is missing"


def test_a_manifest_can_make_flat_bulletins_public(tmp_path: Path) -> None:
    path = tmp_path / "halvard.tsb.txt"
    path.write_text(bulletin_row() + "\n")
    result = FlatServiceBulletinLoader().load(
        path, LoadContext(source=path.name, manifest_fields={"audience": "public"})
    )

    assert result.documents[0].document.audience is Audience.PUBLIC


def test_the_real_samples_are_recognised_by_their_first_line() -> None:
    recalls = shared_data("nhtsa/flatfile_samples_2014/recalls.txt")
    bulletins = shared_data("nhtsa/flatfile_samples_2014/service_bulletins.txt")

    assert sniff_flat_file(recalls) == "FLAT_RCL"
    assert sniff_flat_file(bulletins) == "FLAT_TSBS"
    assert isinstance(loader_for(recalls), FlatRecallLoader)
    assert isinstance(loader_for(bulletins), FlatServiceBulletinLoader)


# -- synthetic files ----------------------------------------------------------------------


def test_model_years_of_one_campaign_share_one_document(tmp_path: Path) -> None:
    path = tmp_path / "halvard.rcl.txt"
    path.write_text(
        "\n".join([recall_row("901", "2022"), recall_row("902", "2023"), recall_row("903", "9999")])
        + "\n"
    )
    [parsed] = load_recalls(path)
    document = parsed.document

    assert document.attributes["model_years"] == ["2022", "2023"]
    assert document.attributes["nhtsa_record_ids"] == ["901", "902", "903"]
    assert document.vehicle is not None
    assert (document.vehicle.make, document.vehicle.model) == ("Halvard", "Tessel")
    assert (document.vehicle.year_first, document.vehicle.year_last) == (2022, 2023)
    assert document.provenance.line == 1


def test_a_row_with_the_wrong_number_of_fields_is_reported_and_the_rest_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "halvard.rcl.txt"
    broken = "\t".join(recall_row("902").split("\t")[:12])  # cut short: 12 fields
    other_campaign = recall_row("903", CAMPNO="23V555000", MODELTXT="KARST")
    path.write_text("\n".join([recall_row("901"), broken, other_campaign]) + "\n")

    result = FlatRecallLoader().load(path, LoadContext(source="halvard.rcl.txt"))

    assert sorted(d.document.attributes["campaign_number"] for d in result.documents) == [
        "23V555000",
        "24V210000",
    ]
    [problem] = result.skipped_parts
    assert problem.line == 2
    assert "12" in problem.problem and "fields" in problem.problem
    assert str(problem).startswith("halvard.rcl.txt:2:")


def test_a_row_with_a_malformed_campaign_number_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "halvard.rcl.txt"
    path.write_text(recall_row("901") + "\n" + recall_row("902", CAMPNO="RECALL-7") + "\n")

    result = FlatRecallLoader().load(path, LoadContext(source=path.name))

    assert len(result.documents) == 1
    [problem] = result.skipped_parts
    assert problem.line == 2
    assert "CAMPNO" in problem.problem


def test_a_file_where_no_row_fits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.rcl.txt"
    path.write_text("campaign\tmake\tmodel\n24V210000\tHALVARD\tTESSEL\n")

    with pytest.raises(InputError) as caught:
        FlatRecallLoader().load(path, LoadContext(source=path.name))

    assert "FLAT_RCL" in str(caught.value)
    assert "line 1" in str(caught.value)


def test_sniffing_recognises_each_layout(tmp_path: Path) -> None:
    recalls = tmp_path / "export-2024.txt"
    recalls.write_text(recall_row("901") + "\n")
    bulletins = tmp_path / "bulletins.txt"
    bulletins.write_text(bulletin_row() + "\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("# Charging notes\nUse a 32 A wallbox.\n")
    named = tmp_path / "FLAT_RCL_2025.txt"
    named.write_text("\n" + recall_row("901") + "\n")  # first line blank: the name decides

    assert sniff_flat_file(recalls) == "FLAT_RCL"
    assert sniff_flat_file(bulletins) == "FLAT_TSBS"
    assert sniff_flat_file(notes) is None
    assert sniff_flat_file(named) == "FLAT_RCL"


@pytest.mark.parametrize(
    ("do_not_drive", "park_outside"), [("Yes", "No"), ("No", "Yes"), ("Yes", "Yes"), ("No", "No")]
)
def test_do_not_drive_and_park_outside_become_flags_and_a_consumer_advisory(
    tmp_path: Path, do_not_drive: str, park_outside: str
) -> None:
    path = tmp_path / "halvard.rcl.txt"
    path.write_text(recall_row("901", DO_NOT_DRIVE=do_not_drive, PARK_OUTSIDE=park_outside) + "\n")
    [parsed] = load_recalls(path)
    attributes = parsed.document.attributes
    text = parsed.sections[0].text

    assert attributes["do_not_drive"] is (do_not_drive == "Yes")
    assert attributes["park_outside"] is (park_outside == "Yes")
    assert ("Consumer advisory: DO NOT DRIVE" in text) == (do_not_drive == "Yes")
    assert ("Consumer advisory: PARK OUTSIDE" in text) == (park_outside == "Yes")
    assert "Remedy: DEALERS WILL REPLACE THE COOLANT PUMP" in text
