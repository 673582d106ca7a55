"""Real public data (read in place from ../shared/data) through the normal ingest job and store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.loaders.markdown import clean_heading
from ingest.sync import build_ingest_job, find_inconsistencies
from knowledge.settings import GloveboxSettings
from tests.conftest import shared_data

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_nhtsa_flat_files_and_a_real_manual_land_completely(
    settings: GloveboxSettings, real_embedder, tmp_path: Path
) -> None:
    recalls = shared_data("nhtsa/flatfile_samples_2014/recalls.txt")
    bulletins = shared_data("nhtsa/flatfile_samples_2014/service_bulletins.txt")
    manual = shared_data("manuals/toyota/toyota_venza_nav_multimedia_manual.md")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "documents:\n"
        f"  - path: {manual}\n"
        "    id: toyota-venza-nav-multimedia\n"
        "    kind: owner_manual\n"
        "    audience: public\n"
        "    title: Toyota Venza Navigation and Multimedia System Owner's Manual\n"
        "    vehicle: {make: Toyota, model: Venza}\n"
    )
    job = build_ingest_job(settings, "real", real_embedder)
    report = job.run([recalls, bulletins, manual], manifests=[manifest])
    assert report.skipped == []

    stored = list(job._store.iter_chunks())
    by_kind: dict[str, list[dict]] = {}
    for chunk in stored:
        by_kind.setdefault(str(chunk.metadata["kind"]), []).append(chunk.metadata)

    # every FLAT_RCL record: its campaign, make, model and year are in the store's metadata
    recall_rows = [line.split("\t") for line in recalls.read_text().splitlines() if line.strip()]
    recalls_stored = by_kind["recall_notice"]
    for row in recall_rows:
        record_id, campaign, make, model, year = (field.strip() for field in row[:5])
        matches = [
            m for m in recalls_stored
            if m["campaign_number"] == campaign and m["make"] == make.lower()
            and m["model"] == model.lower() and record_id in m["nhtsa_record_ids"]
        ]  # fmt: skip
        assert matches, f"recall record {record_id} ({campaign} {make} {model}) is missing"
        if year != "9999":
            assert year in matches[0]["model_years"]
            assert matches[0]["year_first"] <= int(year) <= matches[0]["year_last"]

    # every FLAT_TSBS record, agents only
    bulletin_rows = [line.split("\t") for line in bulletins.read_text().splitlines() if line]
    bulletins_stored = by_kind["service_bulletin"]
    assert {m["audience"] for m in bulletins_stored} == {"internal"}
    for row in bulletin_rows:
        item, make, model = row[2].strip(), row[5].strip().lower(), row[6].strip().lower()
        assert any(
            m["nhtsa_item"] == item and m["make"] == make and m["model"] == model
            for m in bulletins_stored
        ), f"bulletin {item} {make} {model} is missing"

    # every section of the manual that has text lands under its heading
    sections_stored = {m["section"].split(" > ")[-1] for m in by_kind["owner_manual"]}
    headings_with_text = _headings_with_text(manual.read_text())
    missing = [heading for heading in headings_with_text if heading not in sections_stored]
    assert not missing, f"{len(missing)} manual sections missing, e.g. {missing[:3]}"
    assert all(m["make"] == "toyota" for m in by_kind["owner_manual"])
    assert find_inconsistencies(job._store) == []


def _headings_with_text(markdown: str) -> list[str]:
    headings: list[str] = []
    current: str | None = None
    has_text = False
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.+?)[ \t#]*$", line)
        if match and clean_heading(match.group(1)):
            if current and has_text:
                headings.append(current)
            current, has_text = clean_heading(match.group(1)), False
        elif line.strip():
            has_text = True
    if current and has_text:
        headings.append(current)
    return headings
