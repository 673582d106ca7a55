"""The records every package shares."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from knowledge.records import (
    Provenance,
    SourceDocument,
    VehicleApplicability,
    document_revision,
)


def make_document(**overrides: object) -> SourceDocument:
    fields: dict[str, object] = {
        "id": "halvard-tessel-2021-2022-owner-manual",
        "kind": "owner_manual",
        "audience": "public",
        "title": "Halvard Tessel 2021–2022 Owner's Manual",
        "vehicle": {"make": "Halvard", "model": "Tessel", "year_first": 2021, "year_last": 2022},
        "effective_date": "2020-08-01",
        "version": "1.0",
        "provenance": Provenance(source_file="manuals/tessel.md"),
    }
    fields.update(overrides)
    return SourceDocument.model_validate(fields)


def test_flat_metadata_is_filterable_scalars() -> None:
    metadata = make_document(attributes={"fault_codes": ["P0420"], "empty": []}).flat_metadata()
    assert metadata["make"] == "halvard" and metadata["model"] == "tessel"
    assert (metadata["year_first"], metadata["year_last"]) == (2021, 2022)
    assert metadata["vehicle"] == "Halvard Tessel 2021–2022"
    assert metadata["vehicle_scope"] == "specific"
    assert metadata["effective_date"] == "2020-08-01"
    assert metadata["fault_codes"] == ["P0420"]
    assert "empty" not in metadata  # Chroma refuses empty lists
    assert all(value is not None for value in metadata.values())


def test_document_without_vehicle_is_general() -> None:
    metadata = make_document(vehicle=None).flat_metadata()
    assert metadata["vehicle_scope"] == "general"
    assert "make" not in metadata


def test_years_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="swap them"):
        VehicleApplicability(make="Halvard", year_first=2025, year_last=2021)


@pytest.mark.parametrize("field", ["kind", "audience"])
def test_unknown_kind_or_audience_is_refused(field: str) -> None:
    with pytest.raises(ValidationError):
        make_document(**{field: "brochure"})


def test_revision_changes_with_metadata_or_chunks() -> None:
    metadata = make_document().flat_metadata()
    base = document_revision(metadata, ["a", "b"])
    assert document_revision(metadata, ["a", "b"]) == base
    assert document_revision(metadata, ["a", "c"]) != base
    assert document_revision({**metadata, "version": "1.1"}, ["a", "b"]) != base
