"""`glovebox eval --calibrate`: fitted on dev cases only, checked on what it never saw."""

from __future__ import annotations

import random
from typing import Any

import pytest

from assistant.calibration import FEATURES
from evals.calibrate import calibrate
from evals.tables import corpus_table
from knowledge.errors import InputError


def case(
    corpus: str, split: str, level: float, right: bool, expect: str = "answer"
) -> dict[str, Any]:
    return {
        "corpus": corpus, "split": split, "expect": expect, "passed": right,
        "citations": [{"n": 1}], "abstained": False,
        "evidence": dict.fromkeys(FEATURES, level),
    }  # fmt: skip


def cases(seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    drawn = []
    for corpus, split in [("sample", "all"), ("venza", "dev"), ("venza", "test"), ("tv", "dev")]:
        for _ in range(150):
            level = rng.random()
            drawn.append(case(corpus, split, level, rng.random() < level))
    return drawn


def test_it_fits_on_dev_and_unsplit_cases_and_checks_on_the_rest() -> None:
    report = calibrate(cases(), hold_out={"tv"})
    assert report.model.fitted_on["by_corpus"] == {"sample": 150, "venza": 150}
    assert set(report.checks) == {"tv", "test splits"}
    assert all(error is not None and error < 0.1 for error in report.errors.values())
    assert "reliability on tv (not fitted on)" in report.describe()
    assert {entry["cases_of"] for entry in report.model.reliability} == {"tv", "test splits"}


def test_an_answer_to_a_question_that_should_be_abstained_on_counts_as_wrong() -> None:
    abstain = [case("sample", "all", 0.9, True, expect="abstain") for _ in range(20)]
    right = [case("sample", "all", 0.9, True) for _ in range(20)]
    report = calibrate(abstain + right + cases(), hold_out=set())
    assert report.model.fitted_on["right"] < report.model.fitted_on["samples"]


def test_without_dev_cases_there_is_nothing_to_fit() -> None:
    with pytest.raises(InputError, match="no answered dev cases"):
        calibrate([case("tv", "test", 0.5, True)], hold_out=set())


def test_the_corpus_table_has_a_row_per_corpus_and_split() -> None:
    table = corpus_table({"venza": {"all": {"cases": 3, "pass_rate": 0.5}, "dev": {"cases": 1}}})
    lines = table.split("\n")
    assert lines[0].split()[:4] == ["corpus", "split", "cases", "pass"]
    assert lines[1].split()[:4] == ["venza", "all", "3", "0.500"] and lines[2].split()[1] == "dev"
