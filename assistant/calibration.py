"""A calibrated probability that an answer is right, from what the chain measured making it.

The model is a logistic regression over a few measurements (`AnswerEvidence`), fitted on
labelled eval cases and shipped as data (`confidence_model.json` beside this module). A
carmaker refits it on its own labelled cases with `glovebox eval --calibrate OUT.json` and
points `GLOVEBOX_CONFIDENCE_MODEL_PATH` at the file.

    model = ConfidenceModel.load(path)
    model.probability(evidence)  # 0.83: of answers like this, about 83% were right
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from knowledge.errors import ConfigurationError

MODEL_FORMAT = "glovebox-confidence/1"
SHIPPED_MODEL = Path(__file__).resolve().parent / "confidence_model.json"
RELIABILITY_BINS = 5


@dataclass(frozen=True)
class AnswerEvidence:
    """What the chain knows about an answer it is about to give, each roughly in 0..1."""

    dense_top: float
    """Cosine similarity of the best dense match."""
    agreement: float
    """Share of the top dense passages that keyword search also ranks high."""
    support: float
    """Share of the drafted sentences the support check kept."""
    coverage: float
    """Share of the question's terms found in the cited passages."""
    answer_terms: float
    """Share of the question's terms found in the answer itself."""
    rare_answer_terms: float
    """The same, each term weighted by its rarity in the knowledge base: an answer that
    misses the question's rarest word ('timing' belt, 'freezing') is likely about another
    thing."""
    match: float
    """How well the quoted unit matched the question (the generator's own score)."""
    cited_rank: float
    """1 / retrieval rank of the first cited passage."""

    def vector(self) -> list[float]:
        return [float(getattr(self, f.name)) for f in fields(self)]

    def to_json(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


FEATURES = [f.name for f in fields(AnswerEvidence)]


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


@dataclass
class ConfidenceModel:
    """Weights over `FEATURES` and a bias; `probability` is the fitted chance of being right."""

    weights: list[float]
    bias: float
    fitted_on: dict[str, Any] = field(default_factory=dict)
    reliability: list[dict[str, Any]] = field(default_factory=list)
    """Predicted vs observed accuracy on cases it was not fitted on, by bin."""

    def probability(self, evidence: AnswerEvidence) -> float:
        score = self.bias + sum(w * x for w, x in zip(self.weights, evidence.vector(), strict=True))
        return round(_sigmoid(score), 3)

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        where = f"the confidence model {path}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConfigurationError(
                f"{where} does not exist; fix GLOVEBOX_CONFIDENCE_MODEL_PATH, or unset it to use "
                "the shipped model"
            ) from error
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(
                f"{where} cannot be read ({error}); write it again with "
                "`glovebox eval --calibrate PATH`"
            ) from error
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ConfigurationError(
                f"{where} is not a {MODEL_FORMAT} file; write one with "
                "`glovebox eval --calibrate PATH`"
            )
        if data.get("features") != FEATURES or len(data.get("weights", [])) != len(FEATURES):
            raise ConfigurationError(
                f"{where} was fitted on features {data.get('features')}, this Glovebox measures "
                f"{FEATURES}; refit it with `glovebox eval --calibrate PATH`"
            )
        return cls(
            [float(w) for w in data["weights"]],
            float(data["bias"]),
            dict(data.get("fitted_on") or {}),
            list(data.get("reliability") or []),
        )

    def save(self, path: Path) -> None:
        payload = {
            "format": MODEL_FORMAT,
            "features": FEATURES,
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "fitted_on": self.fitted_on,
            "reliability": self.reliability,
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def fit(
    samples: list[tuple[AnswerEvidence, bool]],
    *,
    sample_weights: list[float] | None = None,
    l2: float = 1.0,
    iterations: int = 50,
) -> ConfidenceModel:
    """Logistic regression over the evidence; `sample_weights` let each corpus count the same
    however many cases it has."""
    if len({right for _, right in samples}) < 2:
        raise ConfigurationError(
            "calibration needs answers that were right and answers that were wrong; add cases"
        )
    beta = fit_logistic(
        [evidence.vector() for evidence, _ in samples],
        [right for _, right in samples],
        l2=l2,
        sample_weights=sample_weights,
        iterations=iterations,
    )
    return ConfidenceModel([float(b) for b in beta[1:]], float(beta[0]))


def fit_logistic(
    vectors: Sequence[Sequence[float]],
    labels: Sequence[bool],
    *,
    l2: float,
    sample_weights: Sequence[float] | None = None,
    iterations: int = 100,
) -> Any:
    """Weights, bias first, by Newton's method; the weights (not the bias) L2-penalised.
    Shared by the confidence model and the semantic safety layer."""
    import numpy as np

    x = np.c_[np.ones(len(vectors)), np.array(vectors, dtype=float)]
    y = np.array([1.0 if label else 0.0 for label in labels])
    w = np.array(sample_weights if sample_weights is not None else [1.0] * len(labels))
    penalty = np.eye(x.shape[1]) * l2
    penalty[0, 0] = 0.0
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (w * (p - y)) + penalty @ beta
        hessian = (x.T * (w * p * (1 - p))) @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return beta


def reliability(
    predictions: list[tuple[float, bool]], bins: int = RELIABILITY_BINS
) -> list[dict[str, Any]]:
    """Predicted against observed accuracy in equal-width bins of predicted probability."""
    table = []
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        inside = [
            (p, right)
            for p, right in predictions
            if low <= p < high or (index == bins - 1 and p == 1.0)
        ]
        table.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "cases": len(inside),
                "predicted": round(sum(p for p, _ in inside) / len(inside), 3) if inside else None,
                "observed": round(sum(r for _, r in inside) / len(inside), 3) if inside else None,
            }
        )
    return table


def expected_calibration_error(predictions: list[tuple[float, bool]]) -> float | None:
    """Case-weighted mean gap between predicted and observed accuracy over the bins."""
    rows = [row for row in reliability(predictions) if row["cases"]]
    total = sum(row["cases"] for row in rows)
    if not total:
        return None
    gap = sum(row["cases"] * abs(row["predicted"] - row["observed"]) for row in rows)
    return round(gap / total, 3)
