"""The support checker's agreement with human faithfulness labels: metrics, loaders, a real run."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.records import Passage, SupportVerdict
from assistant.support import DeterministicSupportChecker
from evals.judge_validation import (
    TABLE_HEADER,
    ConfusionMatrix,
    JudgedSample,
    auroc,
    check_judge_data,
    context_windows,
    load_begin,
    load_faithbench,
    load_halueval_general,
    run_judge_validation,
    validate,
)
from knowledge.embedder import Embedder
from knowledge.errors import InputError
from tests.conftest import SHARED_DATA, shared_data


def test_auroc_is_one_when_every_faithful_claim_scores_higher() -> None:
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0


def test_auroc_is_zero_when_the_ranking_is_inverted() -> None:
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0


def test_auroc_counts_ties_as_half() -> None:
    assert auroc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5
    # One positive above one negative, one tie: (1 + 0.5 + 1 + 1) / 4 pairs.
    assert auroc([0.9, 0.0, 0.0, 0.1], [True, True, False, False]) == pytest.approx(0.625)


def test_auroc_is_undefined_with_one_class() -> None:
    assert math.isnan(auroc([0.1, 0.9], [True, True]))


def test_balanced_accuracy_and_f1_on_a_small_confusion_matrix() -> None:
    # 10 hallucinated: 8 caught, 2 missed; 30 faithful: 6 false alarms, 24 passed.
    matrix = ConfusionMatrix(caught=8, missed=2, false_alarms=6, passed=24)
    assert matrix.balanced_accuracy == pytest.approx((8 / 10 + 24 / 30) / 2)
    precision, recall = 8 / 14, 8 / 10
    assert matrix.f1_unsupported == pytest.approx(2 * precision * recall / (precision + recall))


def test_f1_is_zero_when_nothing_is_caught() -> None:
    assert ConfusionMatrix(caught=0, missed=5, false_alarms=0, passed=5).f1_unsupported == 0.0


class ScriptedChecker:
    """Supported when the claim is in the context; raises on a claim that says so."""

    def run(self, sentence: str, cited: list[Passage]) -> SupportVerdict:
        if sentence == "boom":
            raise RuntimeError("checker failed")
        supported = any(sentence in passage.text for passage in cited)
        return SupportVerdict(supported, 1.0 if supported else 0.0)


def test_validate_counts_failures_instead_of_hiding_them() -> None:
    samples = [
        JudgedSample("toy", "tires at 36 psi", "36 psi", True),
        JudgedSample("toy", "tires at 36 psi", "40 psi", False),
        JudgedSample("toy", "tires at 36 psi", "boom", False),
    ]
    result = validate(ScriptedChecker(), samples)
    assert (result.n, result.unscored, result.scored) == (3, 1, 2)
    assert result.errors == ["RuntimeError: checker failed"]
    assert result.auroc == 1.0 and result.balanced_accuracy == 1.0
    assert result.row().split() == ["toy", "3", "1", "1.000", "1.000", "1.000"]


def test_long_contexts_become_overlapping_windows() -> None:
    words = [f"w{number}" for number in range(450)]
    windows = context_windows(" ".join(words))
    assert [len(window.text.split()) for window in windows] == [200, 200, 150]
    assert windows[1].text.split()[0] == "w150"
    assert context_windows("short context")[0].text == "short context"


LOADERS: list[tuple[str, Callable[..., list[JudgedSample]]]] = [
    ("faithfulness/begin", load_begin),
    ("faithfulness/halueval/general_data.json", load_halueval_general),
    ("faithfulness/faithbench/FaithBench.csv", load_faithbench),
]


@pytest.mark.parametrize(("relative", "loader"), LOADERS)
def test_each_loader_reads_both_classes_from_the_real_file(
    relative: str, loader: Callable[..., list[JudgedSample]]
) -> None:
    samples = loader(shared_data(relative), limit=20, seed=0)
    assert len(samples) == 20
    assert {sample.faithful for sample in samples} == {True, False}
    assert all(sample.context and sample.claim for sample in samples)
    assert loader(shared_data(relative), limit=20, seed=0) == samples


@pytest.mark.parametrize(("relative", "loader"), LOADERS)
def test_a_missing_set_names_the_path_and_what_to_pass(
    tmp_path: Path, relative: str, loader: Callable[..., list[JudgedSample]]
) -> None:
    with pytest.raises(InputError, match="--judge-data DIR") as caught:
        loader(tmp_path / relative)
    assert str(tmp_path / relative) in str(caught.value)
    assert "--judge-samples 0" in str(caught.value)


def test_check_judge_data_names_the_first_missing_set(tmp_path: Path) -> None:
    begin = tmp_path / "faithfulness" / "begin"
    begin.mkdir(parents=True)
    (begin / "begin_dev.tsv").write_text("knowledge\tresponse\tbegin_label\n")
    with pytest.raises(InputError, match=r"general_data\.json: no such file"):
        check_judge_data(tmp_path)


def test_a_missing_column_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "FaithBench.csv"
    broken.write_text("source,summary\nA text.,A summary.\n")
    with pytest.raises(InputError, match=r"FaithBench\.csv.*worst-label"):
        load_faithbench(broken)


@pytest.mark.integration
def test_the_real_checker_on_thirty_samples_per_set(real_embedder: Embedder) -> None:
    shared_data("faithfulness")
    started = time.perf_counter()
    results = run_judge_validation(
        DeterministicSupportChecker(real_embedder), SHARED_DATA, limit=30, seed=0
    )
    print(f"\n{TABLE_HEADER}\n" + "\n".join(result.row() for result in results))
    print(f"{time.perf_counter() - started:.1f} s")
    assert [result.source for result in results] == ["begin", "halueval-general", "faithbench"]
    for result in results:
        assert result.n == 30
        assert result.scored + result.unscored == result.n
        assert result.faithful + result.hallucinated == result.n
        for metric in (result.balanced_accuracy, result.auroc, result.f1_unsupported):
            assert 0.0 <= metric <= 1.0
