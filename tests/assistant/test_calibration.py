"""The confidence model: fitted, saved, loaded, refused when it does not fit, and checked."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.calibration import (
    FEATURES,
    SHIPPED_MODEL,
    AnswerEvidence,
    ConfidenceModel,
    expected_calibration_error,
    fit,
    reliability,
)
from knowledge.errors import ConfigurationError


def evidence(level: float) -> AnswerEvidence:
    return AnswerEvidence(*([level] * len(FEATURES)))


def samples(count: int, seed: int = 0) -> list[tuple[AnswerEvidence, bool]]:
    """Answers whose chance of being right is the level of their measurements."""
    rng = random.Random(seed)
    drawn = []
    for _ in range(count):
        level = rng.random()
        drawn.append((evidence(level), rng.random() < level))
    return drawn


def test_a_fitted_model_is_calibrated_on_cases_it_was_not_fitted_on() -> None:
    model = fit(samples(600, seed=1))
    assert model.probability(evidence(0.9)) > model.probability(evidence(0.5))
    assert model.probability(evidence(0.5)) > model.probability(evidence(0.1))
    held_out = [(model.probability(e), right) for e, right in samples(600, seed=2)]
    error = expected_calibration_error(held_out)
    assert error is not None and error < 0.08
    table = reliability(held_out)
    assert [row["bin"] for row in table] == ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"]
    assert sum(row["cases"] for row in table) == 600


def test_fitting_needs_right_and_wrong_answers() -> None:
    with pytest.raises(ConfigurationError, match="right and answers that were wrong"):
        fit([(evidence(0.5), True)] * 5)


def test_a_saved_model_loads_back_and_a_foreign_file_is_refused(tmp_path: Path) -> None:
    model = fit(samples(200))
    path = tmp_path / "confidence.json"
    model.save(path)
    loaded = ConfidenceModel.load(path)
    assert loaded.probability(evidence(0.7)) == model.probability(evidence(0.7))
    path.write_text(json.dumps({**json.loads(path.read_text()), "features": ["other"]}))
    with pytest.raises(ConfigurationError, match="refit it with `glovebox eval --calibrate"):
        ConfidenceModel.load(path)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        ConfidenceModel.load(path)
    with pytest.raises(ConfigurationError, match="GLOVEBOX_CONFIDENCE_MODEL_PATH"):
        ConfidenceModel.load(tmp_path / "missing.json")


def test_the_shipped_model_was_fitted_on_two_corpora_and_checked_on_another() -> None:
    model = ConfidenceModel.load(SHIPPED_MODEL)
    assert len(model.fitted_on["by_corpus"]) >= 2
    checked = {entry["cases_of"] for entry in model.reliability}
    assert checked - set(model.fitted_on["by_corpus"]) - {"test splits"}
    assert model.probability(evidence(1.0)) > model.probability(evidence(0.0))
