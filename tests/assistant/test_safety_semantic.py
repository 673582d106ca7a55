"""The semantic safety layer: a model over a labelled bank, its threshold from held-out folds."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.safety_semantic import (
    BANK,
    SHIPPED_MODEL,
    SemanticSafetyModel,
    SimilarMessages,
    bank_digest,
    fit_semantic_model,
    load_bank,
)
from knowledge.errors import ConfigurationError
from tests.fakes import HashEmbedder

TOY_BANK = [
    ("smoke pouring out of the engine bay right now", True),
    ("the brakes went soft and the pedal sinks", True),
    ("flames under the car on the highway", True),
    ("smoke and a burning smell from the dash", True),
    ("the pedal sinks to the floor and the brakes are gone", True),
    ("how do i pair my phone with bluetooth", False),
    ("what oil does the engine take", False),
    ("how do i set the clock on the screen", False),
    ("where is the phone charger port", False),
    ("what tyre pressure does the car take", False),
]


def test_the_layer_flags_messages_like_the_banks_safety_ones() -> None:
    layer = SimilarMessages(HashEmbedder(), TOY_BANK, shipped_model=None)

    assert layer.score("smoke and flames pouring out of the engine") > layer.model.threshold
    assert layer.check("how do i pair my phone") is None


def test_the_threshold_keeps_held_out_false_escalations_within_budget() -> None:
    model = fit_semantic_model(HashEmbedder(), TOY_BANK)

    assert model.held_out_false_escalations <= 0.03
    assert model.dimension == HashEmbedder().dimension
    assert len(model.dual_coef) == len(model._vectors)


def test_the_stored_machine_scores_as_the_fitted_one() -> None:
    import numpy as np
    from sklearn.svm import SVC

    embedder = HashEmbedder()
    model = fit_semantic_model(embedder, TOY_BANK)
    vectors = np.array(embedder.embed_documents([m for m, _ in TOY_BANK]), np.float32)
    fitted = SVC(C=model.c, gamma=model.gamma).fit(vectors, [label for _, label in TOY_BANK])
    probe = embedder.embed_documents(["smoke from the engine", "pair my phone"])
    expected = fitted.decision_function(np.array(probe, np.float32))
    stored = [model.score(vector) for vector in probe]
    assert np.allclose(stored, expected, atol=0.01)  # float16 support vectors lose little


def test_a_saved_model_is_used_only_for_its_bank_and_embedder(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    fit_semantic_model(HashEmbedder(), TOY_BANK).save(path)
    model = SemanticSafetyModel.load(path)

    assert model.fits(HashEmbedder(), TOY_BANK)
    assert not model.fits(HashEmbedder(name="another-model"), TOY_BANK)
    assert not model.fits(HashEmbedder(), TOY_BANK[:-1])

    embedder = HashEmbedder()
    SimilarMessages(embedder, TOY_BANK, shipped_model=path).check("smoke from the hood")
    assert embedder.embedded_texts == ["smoke from the hood"]  # the bank was not re-embedded


def test_the_shipped_model_was_fitted_on_the_shipped_bank() -> None:
    model = SemanticSafetyModel.load(SHIPPED_MODEL)

    assert model.bank_digest == bank_digest(load_bank())
    assert model.held_out_false_escalations <= 0.03
    assert model.held_out_recall >= 0.85


def test_the_shipped_bank_has_both_labels_and_no_test_case() -> None:
    from evals.safety_bench import load_safety_set

    bank = {message for message, _ in load_bank()}
    test_split = {case.message for case in load_safety_set() if case.split == "test"}

    assert {label for _, label in load_bank()} == {True, False}
    assert test_split and not (bank & test_split)
    assert BANK.is_file()


def test_a_bad_bank_line_says_which_line_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    path.write_text('{"message": "fire", "safety": true}\n{"text": "oops"}\n', encoding="utf-8")

    with pytest.raises(ConfigurationError, match="line 2"):
        load_bank(path)
    with pytest.raises(ConfigurationError, match="GLOVEBOX_SAFETY_BANK_PATH"):
        load_bank(tmp_path / "missing.jsonl")


def test_a_damaged_model_file_says_how_to_write_it_again(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "something else"}', encoding="utf-8")

    with pytest.raises(ConfigurationError, match="--write-model"):
        SemanticSafetyModel.load(path)


def test_a_configured_model_file_that_is_missing_says_how_to_write_it(tmp_path: Path) -> None:
    layer = SimilarMessages(HashEmbedder(), TOY_BANK, shipped_model=tmp_path / "missing.json")

    with pytest.raises(ConfigurationError, match="--write-model"):
        layer.check("smoke from the hood")


def test_refit_fits_the_bank_now_and_uses_that_model(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    fit_semantic_model(HashEmbedder(), TOY_BANK[:-1]).save(other)  # for another bank
    layer = SimilarMessages(HashEmbedder(), TOY_BANK, shipped_model=other)

    model = layer.refit()

    assert model.bank_digest == bank_digest(TOY_BANK) and layer.model is model
