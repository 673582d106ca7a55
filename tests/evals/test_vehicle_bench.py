"""`glovebox bench vehicles`: the index read as a catalogue, and the mentions scored."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from evals.vehicle_bench import INDEX, index_catalog, load_questions, run_vehicle_bench
from knowledge.errors import InputError
from tests.conftest import shared_data


def write_index(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["NHTSA ID", "DOCUMENT NAME", "MAKE", "MODEL", "MODEL YEAR", "SUMMARY"])
    for make, model, year in rows:
        writer.writerow(["24V001", "RCMN-24V001.pdf", make, model, year, "a notice"])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("RCL.csv", text.getvalue())
    return path


def test_the_index_becomes_makes_models_and_year_spans(tmp_path: Path) -> None:
    path = write_index(
        tmp_path / "index.zip",
        [("FORD", "F-150", "2021"), ("FORD", "F-150", "2023"), ("ACME", "BENCH SEAT", "9999")],
    )

    entries, rows = index_catalog(path)

    assert rows == 3
    assert ("Ford", "F-150", 2021, 2023) in entries
    assert ("Acme", "Bench Seat", None, None) in entries


def test_a_damaged_index_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "index.zip"
    path.write_bytes(b"not a zip")

    with pytest.raises(InputError, match=r"index\.zip"):
        index_catalog(path)


def test_the_questions_are_split_and_labelled() -> None:
    cases = load_questions()

    assert len(cases) == 100
    assert {case.split for case in cases} == {"dev", "test"}
    assert sum(case.model is None for case in cases) >= 10


def test_the_real_index_is_found_at_its_precision_and_recall() -> None:
    shared = shared_data(INDEX).parents[2]

    report = run_vehicle_bench(shared, passes=1)

    assert report.models > 1000
    for score in report.scores.values():
        assert score.precision >= 0.9 and score.recall >= 0.85


def test_a_bad_vehicle_question_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mentions.jsonl"
    path.write_text('{"id": "v1", "question": "my crv"}\nnot json\n')

    with pytest.raises(InputError, match=r"mentions\.jsonl:2: not valid JSON"):
        load_questions(path)
