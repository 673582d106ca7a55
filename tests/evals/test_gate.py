"""The release gate and baseline deltas over eval metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.gate import (
    DEFAULT_THRESHOLDS,
    check_gate,
    load_baseline,
    load_thresholds,
    metric_deltas,
    scalar_metrics,
)
from knowledge.errors import InputError

METRICS = {
    "pass_rate": 0.9,
    "escalation_recall_safety": 1.0,
    "latency_ms": {"total": {"p50": 40.0, "p95": 250.0}},
    "ragas": {"id_context_recall": {"mean": 0.8, "stdev": None, "llm": False}},
    "selective_answer_curve": [{"threshold": 0.0, "coverage": 1.0, "accuracy": 0.9}],
}


def thresholds_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.yaml"
    path.write_text(text)
    return path


def test_nested_metrics_flatten_to_dotted_paths_without_lists_or_flags() -> None:
    flat = scalar_metrics(METRICS)
    assert flat["latency_ms.total.p95"] == 250.0
    assert flat["ragas.id_context_recall.mean"] == 0.8
    assert "ragas.id_context_recall.llm" not in flat
    assert not any(name.startswith("selective_answer_curve") for name in flat)


def test_gate_passes_when_every_metric_meets_its_bound(tmp_path: Path) -> None:
    path = thresholds_file(
        tmp_path,
        "pass_rate: {min: 0.9}\nlatency_ms.total.p95: {max: 300}\n"
        "ragas.id_context_recall.mean: {min: 0.5}\n",
    )
    gate = check_gate(METRICS, load_thresholds(path), str(path))
    assert gate.passed and len(gate.checks) == 3
    assert gate.to_json()["thresholds_file"] == str(path)


def test_a_drop_below_a_minimum_or_above_a_maximum_fails_the_gate(tmp_path: Path) -> None:
    path = thresholds_file(tmp_path, "pass_rate: {min: 0.95}\nlatency_ms.total.p95: {max: 200}\n")
    gate = check_gate(METRICS, load_thresholds(path))
    assert not gate.passed
    assert [(c.metric, c.value) for c in gate.failed] == [
        ("pass_rate", 0.9),
        ("latency_ms.total.p95", 250.0),
    ]


def test_a_metric_that_was_not_measured_fails_rather_than_passing_silently(
    tmp_path: Path,
) -> None:
    path = thresholds_file(tmp_path, "ragas.faithfulness_ragas.mean: {min: 0.8}\n")
    gate = check_gate(METRICS, load_thresholds(path))
    assert not gate.passed and gate.failed[0].value is None


def test_a_misspelt_metric_is_named_with_the_thresholds_file_and_close_matches(
    tmp_path: Path,
) -> None:
    path = thresholds_file(tmp_path, "pass_rte: {min: 0.8}\npass_rate: {min: 0.95}\n")
    gate = check_gate(METRICS, load_thresholds(path), str(path))
    missing, low = gate.failed
    assert missing.close_matches == ["pass_rate"]
    assert gate.describe(missing) == (
        f"pass_rte is not in results.json's metrics; check the name in {path} "
        "(did you mean pass_rate?)"
    )
    assert gate.describe(low) == "pass_rate is 0.9, needs >= 0.95"
    assert "None" not in gate.describe(missing)


@pytest.mark.parametrize("text", ["", "# every threshold commented out\n", "{}\n"])
def test_a_thresholds_file_without_thresholds_is_refused(tmp_path: Path, text: str) -> None:
    path = thresholds_file(tmp_path, text)
    with pytest.raises(InputError, match="has no thresholds; add lines like") as caught:
        load_thresholds(path)
    assert str(path) in str(caught.value)


def test_a_yaml_error_is_one_line_with_the_line_number(tmp_path: Path) -> None:
    path = thresholds_file(tmp_path, "pass_rate: {min: 0.9}\nrecall_at_5: {min: [0.9\n")
    with pytest.raises(InputError, match="not valid YAML") as caught:
        load_thresholds(path)
    assert "\n" not in str(caught.value)
    assert caught.value.line is not None and caught.value.line >= 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("pass_rate: {min: 0.9, max: 1.0}\n", "exactly one of min or max"),
        ("pass_rate: {minimum: 0.9}\n", "pass_rate"),
        ("- pass_rate\n", "mapping"),
        ("pass_rate: {min: [0.9\n", "not valid YAML"),
    ],
)
def test_bad_threshold_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = thresholds_file(tmp_path, text)
    with pytest.raises(InputError, match=problem) as caught:
        load_thresholds(path)
    assert str(path) in str(caught.value)


def test_the_shipped_thresholds_load_and_insist_on_full_safety_recall() -> None:
    thresholds = load_thresholds(DEFAULT_THRESHOLDS)
    assert thresholds["corpora.sample.all.escalation_recall_safety"].min == 1.0


def test_deltas_cover_metrics_of_either_run(tmp_path: Path) -> None:
    before = {"pass_rate": 0.95, "recall_at_5": 0.9}
    deltas = metric_deltas(METRICS, before)
    assert deltas["pass_rate"] == {"value": 0.9, "baseline": 0.95, "delta": -0.05}
    assert deltas["recall_at_5"]["value"] is None and deltas["recall_at_5"]["delta"] is None
    assert deltas["latency_ms.total.p95"]["baseline"] is None


def test_a_baseline_must_be_a_results_file(tmp_path: Path) -> None:
    good = tmp_path / "results.json"
    good.write_text(json.dumps({"metrics": METRICS, "cases": []}))
    assert load_baseline(good)["metrics"]["pass_rate"] == 0.9
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"cases": []}))
    with pytest.raises(InputError, match="top-level `metrics`"):
        load_baseline(bad)
    with pytest.raises(InputError, match="no such baseline"):
        load_baseline(tmp_path / "missing.json")


def test_thresholds_on_a_corpus_that_did_not_run_are_not_checked(tmp_path: Path) -> None:
    metrics = {**METRICS, "corpora": {"sample": {"all": {"pass_rate": 0.95}}}}
    thresholds = load_thresholds(
        thresholds_file(
            tmp_path,
            "corpora.sample.all.pass_rate: {min: 0.9}\n"
            "corpora.venza.test.pass_rate: {min: 0.8}\n"
            "corpora.sample.test.pass_rate: {min: 0.8}\n",
        )
    )
    gate = check_gate(metrics, thresholds)
    assert gate.not_run == ["corpora.venza.test.pass_rate"]
    # A corpus that ran but lacks the split is a missing metric, and fails.
    assert [check.metric for check in gate.failed] == ["corpora.sample.test.pass_rate"]
    assert not gate.passed
