"""Real public data (read in place from ../shared/data) through the normal ingest job and store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.pdf_text import split_pages
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

    # the manual is read as the PDF it was converted from: its sections carry the page they
    # start on as provenance, and the words of the manual are all in the store
    manual_chunks = [
        (chunk, text) for chunk, text in job._store.iter_chunks_with_text()
        if chunk.metadata["kind"] == "owner_manual"
    ]  # fmt: skip
    pages_stored = {int(chunk.metadata["page"]) for chunk, _ in manual_chunks}
    pages = [page for page in split_pages(manual.read_text()) if _words(page)]
    # (a section records the page it starts on; most pages start one)
    pages_in_file = len(split_pages(manual.read_text()))
    assert len(pages_stored) >= 0.8 * len(pages) and max(pages_stored) <= pages_in_file
    stored = " ".join(f"{chunk.metadata['section']} {text}" for chunk, text in manual_chunks)
    stored_words = _words(stored)
    manual_words = _words(manual.read_text())
    # a word cut at a line end ('infor' + 'mation') is kept whole, so its pieces are not lost
    lost = {word for word in manual_words - stored_words if word not in stored.lower()}
    assert len(lost) / len(manual_words) < 0.03, sorted(lost)[:20]
    assert all(m["make"] == "toyota" for m in by_kind["owner_manual"])
    assert find_inconsistencies(job._store) == []


def _words(text: str) -> set[str]:
    """Distinct words of four letters or more: what a reader would search the manual for."""
    return {word.lower() for word in re.findall(r"[A-Za-z]{4,}", text.replace("-\n", ""))}
