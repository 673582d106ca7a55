"""The safety layers: each flags a danger or says nothing, whatever the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.safety import (
    BANK,
    DangerPatterns,
    LayeredSafetyDetector,
    RecallUseRule,
    SafetyLayer,
    SimilarMessages,
    asks_whether_safe_to_use,
    load_bank,
)
from knowledge.errors import ConfigurationError
from tests.fakes import HashEmbedder

TOY_BANK = [
    ("smoke pouring out of the engine bay right now", True),
    ("the brakes went soft and the pedal sinks", True),
    ("flames under the car on the highway", True),
    ("how do i pair my phone with bluetooth", False),
    ("what oil does the engine take", False),
    ("how do i set the clock on the screen", False),
]


def layers() -> list[SafetyLayer]:
    return [DangerPatterns(), RecallUseRule(), SimilarMessages(HashEmbedder(), TOY_BANK)]


@pytest.mark.parametrize("layer", layers(), ids=lambda layer: layer.name)
@pytest.mark.parametrize("message", ["", "   ", "\u0000", "¿qué?", "x" * 5000, "ok"])
def test_every_layer_answers_any_message_with_a_concern_or_none(
    layer: SafetyLayer, message: str
) -> None:
    concern = layer.check(message)
    assert concern is None or (isinstance(concern, str) and concern)


@pytest.mark.parametrize(
    "message",
    [
        "Brake pedal just went soft and sinks almost to the floor",
        "the steering got really heavy halfway through a turn, like the power steering quit",
        "Red oil can light popped up and won't go off",
        "two lug nuts on the rear wheel turn by hand",
        "caller says the car rolled forward in park and bumped the car in front",
        "Huele a quemado dentro del carro y sale humo por las rejillas",
        "Los frenos no responden, el pedal se va hasta el fondo",
        "Dejé a mi perro en la camioneta y se cerró con la llave adentro",
    ],
)
def test_dangers_happening_now_are_found_in_english_and_spanish(message: str) -> None:
    assert DangerPatterns().check(message)


@pytest.mark.parametrize(
    "message",
    [
        "How does the airbag system decide whether to deploy in a crash?",
        "Is there a spot to mount a fire extinguisher in the cargo area?",
        "Is the smoke grey paint available on the hybrid?",
        "How do I get rid of the cigarette smoke smell from the last owner?",
        "What's the difference between the red brake warning light and the yellow one?",
        "My steering wheel heater doesn't work",
        "Why does the engine shut off at stop lights?",
    ],
)
def test_the_same_words_used_for_something_else_are_no_danger(message: str) -> None:
    assert DangerPatterns().check(message) is None


def test_asking_to_use_a_car_with_an_open_recall_is_a_safety_case() -> None:
    rule = RecallUseRule()

    assert rule.check("My Carnival has the fuel leak recall, ok to keep driving it to school?")
    assert rule.check("¿Es seguro cargarlo esta noche? Tiene el recall de la batería")
    assert rule.check("What is recall 24V210 about?") is None
    assert rule.check("How long does the recall repair take?") is None


def test_the_risk_of_using_the_car_is_told_from_a_how_to() -> None:
    assert asks_whether_safe_to_use("is it safe to drive it?")
    assert asks_whether_safe_to_use("ok to keep charging it in the garage?")
    assert not asks_whether_safe_to_use("can I charge from a wall outlet?")
    assert not asks_whether_safe_to_use("how do I pair my phone?")


def test_the_semantic_layer_flags_messages_like_the_banks_safety_ones() -> None:
    layer = SimilarMessages(HashEmbedder(), TOY_BANK, threshold=0.5)

    assert layer.probability("smoke and flames pouring out of the engine") > 0.5
    assert layer.probability("how do i pair my phone") < 0.5


def test_the_first_layer_that_fires_names_the_concern() -> None:
    detector = LayeredSafetyDetector([DangerPatterns(), RecallUseRule()])

    finding = detector.detect("there’s smoke coming from the dash")  # a curly apostrophe

    assert finding is not None and (finding.concern, finding.layer) == ("fire or smoke", "patterns")
    assert detector.detect("how do i pair my phone") is None


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
