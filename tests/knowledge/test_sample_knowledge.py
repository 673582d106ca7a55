"""The sample knowledge base that ships with Glovebox: complete, valid, overlapping on purpose."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.loaders import LoadContext, loader_for
from knowledge.records import ParsedDocument
from tests.conftest import SAMPLE_KNOWLEDGE


@pytest.fixture(scope="module")
def sample_documents() -> list[ParsedDocument]:
    documents: list[ParsedDocument] = []
    discovery = discover([SAMPLE_KNOWLEDGE])
    assert discovery.manifest_errors == []
    for source in discovery.files:
        loader = loader_for(source.path)
        assert loader is not None, source.path
        result = loader.load(source.path, LoadContext(str(source.path), source.manifest_fields))
        assert result.skipped_parts == [], result.skipped_parts
        documents.extend(result.documents)
    return documents


def test_every_kind_is_there_in_the_promised_amounts(
    sample_documents: list[ParsedDocument],
) -> None:
    kinds = Counter(item.document.kind.value for item in sample_documents)
    campaigns = {
        item.document.attributes["campaign_number"]
        for item in sample_documents
        if item.document.kind.value == "recall_notice"
    }
    assert len(campaigns) >= 10
    assert kinds["faq"] >= 40
    assert kinds["service_bulletin"] >= 10
    assert kinds["owner_manual"] >= 6 and kinds["service_manual"] >= 1
    ids = [item.document.id for item in sample_documents]
    assert len(ids) == len(set(ids))


def test_bulletins_are_for_agents_only(sample_documents: list[ParsedDocument]) -> None:
    audiences = {
        item.document.audience.value
        for item in sample_documents
        if item.document.kind.value == "service_bulletin"
    }
    assert audiences == {"internal"}


def test_three_models_over_several_model_years(sample_documents: list[ParsedDocument]) -> None:
    years_by_model: dict[str, set[int]] = {}
    for item in sample_documents:
        vehicle = item.document.vehicle
        if item.document.kind.value == "owner_manual" and vehicle and vehicle.model:
            first, last = vehicle.year_first or 0, vehicle.year_last or 0
            years_by_model.setdefault(vehicle.model, set()).update(range(first, last + 1))
    assert len(years_by_model) >= 3
    assert all(len(years) >= 4 for years in years_by_model.values()), years_by_model


def test_recalls_that_tell_owners_not_to_drive_or_to_park_outside(
    sample_documents: list[ParsedDocument],
) -> None:
    recalls = [item for item in sample_documents if item.document.kind.value == "recall_notice"]
    do_not_drive = [r for r in recalls if r.document.attributes["do_not_drive"]]
    park_outside = [r for r in recalls if r.document.attributes["park_outside"]]
    assert do_not_drive and park_outside
    assert all("DO NOT DRIVE" in r.sections[0].text for r in do_not_drive)
    assert "24V210000" in {r.document.attributes["campaign_number"] for r in recalls}


def _section_text(items: list[ParsedDocument], model: str, year: int, heading: str) -> str:
    for item in items:
        vehicle = item.document.vehicle
        if (
            item.document.kind.value == "owner_manual"
            and vehicle is not None
            and vehicle.model == model
            and (vehicle.year_first or 0) <= year <= (vehicle.year_last or 9999)
        ):
            return "\n".join(
                s.text for s in item.sections if any(heading in h for h in s.heading_path)
            )
    raise AssertionError(f"no {model} {year} manual")


def test_same_question_differs_by_model_year(sample_documents: list[ParsedDocument]) -> None:
    """Retrieval has to use the vehicle: the generations of a model disagree on purpose."""
    old = _section_text(sample_documents, "Tessel", 2022, "TPMS")
    new = _section_text(sample_documents, "Tessel", 2024, "TPMS")
    assert "TPMS SET" in old and "Reset TPMS" in new
    assert "36 psi" in old and "38 psi" in new
    faq_questions = Counter(
        item.document.title for item in sample_documents if item.document.kind.value == "faq"
    )
    assert any(count >= 2 for count in faq_questions.values())


def test_sample_is_written_for_glovebox(sample_documents: list[ParsedDocument]) -> None:
    """A fictional carmaker only: no real brand names and no real phone numbers."""
    real_brands = ("Toyota", "Ford", "Honda", "Tesla", "Hyundai", "Kia", "Nissan", "Chevrolet")
    text = "\n".join(
        section.text for item in sample_documents for section in item.sections
    ) + "\n".join(path.read_text(errors="ignore") for path in Path(SAMPLE_KNOWLEDGE).rglob("*.*"))
    for brand in real_brands:
        assert brand not in text, brand


def test_the_demo_page_says_what_the_sample_manuals_say() -> None:
    import re

    page = (SAMPLE_KNOWLEDGE / "profile" / "demo.html").read_text(encoding="utf-8")
    cards = re.findall(
        r'<span class="tag">([^<]+)</span>\s*<h3>([^<]+)</h3>\s*<p>(.*?)</p>', page, re.S
    )
    assert len(cards) == 3
    for kind, model, text in cards:
        manuals = " ".join(
            path.read_text(encoding="utf-8")
            for path in (SAMPLE_KNOWLEDGE / "manuals").glob(f"{model.lower()}-*-owner-manual.md")
        )
        said = manuals.lower()
        assert f"{model} {kind}".lower() in said or f"{model} hybrid {kind}".lower() in said
        for interval in re.findall(r"every ([\d,]+ (?:miles|km))", text):
            assert f"every {interval}" in manuals, (model, interval)
