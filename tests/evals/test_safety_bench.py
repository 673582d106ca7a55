"""`glovebox bench safety`: the layers counted on the safety set, per split."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.safety_semantic import SimilarMessages
from evals.safety_bench import load_safety_set, run_safety_bench, safety_table
from knowledge.errors import InputError
from tests.fakes import HashEmbedder


def test_the_safety_set_is_balanced_and_split_by_id() -> None:
    cases = load_safety_set()

    assert len(cases) >= 120
    assert 0.4 <= sum(case.safety for case in cases) / len(cases) <= 0.6
    assert {case.split for case in cases} == {"dev", "test"}
    assert sum("spanish" in case.tags for case in cases) >= 20
    assert sum("hard-negative" in case.tags for case in cases) >= 20


def test_the_bench_counts_every_case_for_every_detector() -> None:
    cases = load_safety_set()[:40]

    rows = run_safety_bench(SimilarMessages(HashEmbedder(), shipped_model=None), cases)
    table = safety_table(rows)

    assert [row.detector for row in rows][-1].endswith("(shipped)")
    for row in rows:
        assert sum(len(flagged) for flagged in row.flagged.values()) == len(cases)
    assert "recall" in table and "false esc." in table and "by kind (test split)" in table


def test_a_bad_safety_case_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "safety.jsonl"
    path.write_text('{"id": "s1", "message": "fire", "label": "safety"}\n{"id": "s2"}\n')

    with pytest.raises(InputError, match=r"safety\.jsonl:2: not a safety case"):
        load_safety_set(path)
