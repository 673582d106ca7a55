"""`glovebox eval --calibrate OUT.json`: fit the confidence model on labelled cases, and check
it on cases it was not fitted on.

The eval runs with the answer threshold at 0, so every case the pipeline can answer is
answered and judged; each answer's measurements (`AnswerEvidence`) and whether it was right
are the samples. Cases of `test` splits and of held-out corpora are never fitted on: the
reliability table (predicted vs observed accuracy by bin) is drawn from them.

    report = calibrate(results["cases"], hold_out={"tv-remote"})
    report.model.save(Path("confidence.json")); print(report.describe())
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from assistant.calibration import (
    AnswerEvidence,
    ConfidenceModel,
    expected_calibration_error,
    fit,
    reliability,
)
from knowledge.errors import InputError

FITTED_SPLITS = ("dev", "all")
"""`all` is a corpus without a split (the golden set, which steered the code anyway)."""


@dataclass
class CalibrationReport:
    model: ConfidenceModel
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Reliability tables of the cases not fitted on: per held-out corpus, and test splits."""
    errors: dict[str, float | None] = field(default_factory=dict)

    def describe(self) -> str:
        fitted = self.model.fitted_on
        lines = [
            f"fitted on {fitted.get('samples')} answers "
            f"({', '.join(f'{k} {v}' for k, v in fitted.get('by_corpus', {}).items())}); "
            f"{fitted.get('right')} right",
        ]
        for name, table in self.checks.items():
            lines.append(f"\nreliability on {name} (not fitted on), ECE {self.errors[name]}:")
            lines.append(f"{'bin':<10}{'cases':>6}{'predicted':>11}{'observed':>10}")
            for row in table:
                predicted = "-" if row["predicted"] is None else f"{row['predicted']:.3f}"
                observed = "-" if row["observed"] is None else f"{row['observed']:.3f}"
                lines.append(f"{row['bin']:<10}{row['cases']:>6}{predicted:>11}{observed:>10}")
        return "\n".join(lines)


def _samples(cases: list[dict[str, Any]]) -> list[tuple[dict[str, Any], AnswerEvidence, bool]]:
    samples = []
    for case in cases:
        answered = bool(case["citations"]) and not case["abstained"]
        if not answered or case["expect"] not in ("answer", "abstain") or not case["evidence"]:
            continue
        right = bool(case["passed"]) and case["expect"] == "answer"
        samples.append((case, AnswerEvidence(**case["evidence"]), right))
    return samples


def calibrate(cases: list[dict[str, Any]], *, hold_out: set[str]) -> CalibrationReport:
    samples = _samples(cases)
    chosen = [
        (case, evidence, right)
        for case, evidence, right in samples
        if case["corpus"] not in hold_out and case["split"] in FITTED_SPLITS
    ]
    fitted = [(evidence, right) for _, evidence, right in chosen]
    if not fitted:
        raise InputError(
            "--calibrate",
            "no answered dev cases to fit on; run it with corpora whose cases have a dev split "
            "or none (--corpus sample --corpus venza ...), not only held-out ones",
        )
    by_corpus = Counter(case["corpus"] for case, _, _ in chosen)
    # Each corpus weighs the same: the golden set's many cases must not decide alone.
    balance = [len(chosen) / (len(by_corpus) * by_corpus[case["corpus"]]) for case, _, _ in chosen]
    model = fit(fitted, sample_weights=balance)
    model.fitted_on = {
        "samples": len(fitted),
        "right": sum(right for _, right in fitted),
        "by_corpus": dict(by_corpus),
        "splits": list(FITTED_SPLITS),
    }
    report = CalibrationReport(model)
    groups: dict[str, list[tuple[float, bool]]] = {}
    for case, evidence, right in samples:
        if case["corpus"] in hold_out:
            groups.setdefault(case["corpus"], []).append((model.probability(evidence), right))
        elif case["split"] == "test":
            groups.setdefault("test splits", []).append((model.probability(evidence), right))
    for name, predictions in groups.items():
        report.checks[name] = reliability(predictions)
        report.errors[name] = expected_calibration_error(predictions)
    model.reliability = [
        {"cases_of": name, "ece": report.errors[name], "bins": table}
        for name, table in report.checks.items()
    ]
    return report
