"""Metadata given on the command line, for sources without front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.metadata import manifest_for_files, vehicle_fields
from knowledge.errors import InputError


def test_a_vehicle_is_read_as_make_model_and_years() -> None:
    assert vehicle_fields("Toyota Venza 2021-2024") == {
        "make": "Toyota", "model": "Venza", "year_first": 2021, "year_last": 2024,
    }  # fmt: skip
    assert vehicle_fields("Ford F-150 Lightning 2023") == {
        "make": "Ford", "model": "F-150 Lightning", "year_first": 2023, "year_last": 2023,
    }  # fmt: skip
    assert vehicle_fields("Rivian R1S") == {"make": "Rivian", "model": "R1S"}
    with pytest.raises(InputError, match="--vehicle"):
        vehicle_fields("Venza")
    with pytest.raises(InputError, match="backwards"):
        vehicle_fields("Toyota Venza 2024-2021")


def test_command_line_metadata_describes_each_file_given(tmp_path: Path) -> None:
    manual = tmp_path / "venza.md"
    manual.write_text("# Navigation\n\nPress MAP to see where you are.\n", encoding="utf-8")
    manifest = manifest_for_files([manual], {"kind": "owner_manual", "audience": "public"})

    found = discover([manual], [manifest])

    assert found.files[0].manifest_fields is not None
    assert found.files[0].manifest_fields["kind"] == "owner_manual"
    with pytest.raises(InputError, match="for files"):
        manifest_for_files([tmp_path], {"kind": "faq"})
