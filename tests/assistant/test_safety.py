"""The safety layers: each flags a danger or says nothing, whatever the message."""

from __future__ import annotations

import pytest

from assistant.safety import (
    DangerPatterns,
    LayeredSafetyDetector,
    RecallUseRule,
    SafetyLayer,
    asks_whether_safe_to_use,
)
from assistant.safety_semantic import SimilarMessages
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
    return [
        DangerPatterns(),
        RecallUseRule(),
        SimilarMessages(HashEmbedder(), TOY_BANK, shipped_model=None),
    ]


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
        "rear passenger door popped open while i was driving with my kid in the back",
        "seat belt in the back wont latch and im about to drive 3 hours with my kids",
        "temp gauge is all the way in the red and steam is pouring out the front",
        "the 12v battery under the hood is hissing and looks swollen",
        "caller reports the hood latch failed and the hood opened at 60 mph",
        "cx reports pet left in vehicle, remote unlock not working, outside temp 95F",
        "cruise control wont disengage and the brakes barely slow it down",
        "el auto acelera solo aunque no piso el pedal",
        "The car seat won't latch into the anchors and I need to leave with the baby now",
        "EV says battery overheating please stop, what do i do",
        "se me bloqueó el volante mientras manejaba",
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
        "do you sell fire blankets as an accessory",
        "does the car have automatic crash notification",
        "is it true lithium batteries can catch fire? thinking about buying an EV",
        "previous owner smoked, how do I get the smoke smell out of the seats",
        "¿la garantía cubre la pintura si el coche tuvo un accidente el año pasado?",
        "¿me llama el concesionario cuando esté listo?",
        "Are electric cars actually more likely to catch fire than gas cars?",
        "Will the previous owner's accident history show up when I trade it in?",
        "was the used Civic I'm about to buy ever in a flood or a fire?",
        "the shop overcharged me for the brake job after my brakes failed last year",
        "do they sell a smoke detector for campervans?",
        "does lane assist steer for me if it detects I'm drifting into a crash?",
    ],
)
def test_the_same_words_used_for_something_else_are_no_danger(message: str) -> None:
    assert DangerPatterns().check(message) is None


def test_asking_to_use_a_car_with_an_open_recall_is_a_safety_case() -> None:
    rule = RecallUseRule()

    assert rule.check("My Carnival has the fuel leak recall, ok to keep driving it to school?")
    assert rule.check("¿Es seguro cargarlo esta noche? Tiene el recall de la batería")
    assert rule.check("the recall letter says the steering could lose assist, should I stop")
    assert rule.check("there's a brake recall on it, is the car safe until my appointment")
    assert rule.check("the recall letter says to park outside but I only have underground parking")
    assert rule.check("What is recall 24V210 about?") is None
    assert rule.check("How long does the recall repair take?") is None


def test_the_risk_of_using_the_car_is_told_from_a_how_to() -> None:
    assert asks_whether_safe_to_use("is it safe to drive it?")
    assert asks_whether_safe_to_use("ok to keep charging it in the garage?")
    assert not asks_whether_safe_to_use("can I charge from a wall outlet?")
    assert not asks_whether_safe_to_use("how do I pair my phone?")


def test_chat_shorthand_is_read_as_the_words_it_stands_for() -> None:
    message = "oil pressure lite came on, r we ok to keep going"
    detector = LayeredSafetyDetector([DangerPatterns()])

    assert DangerPatterns().check(message) is None
    finding = detector.detect(message)
    assert finding is not None and finding.concern == "red warning light or overheating"


def test_the_first_layer_that_fires_names_the_concern() -> None:
    detector = LayeredSafetyDetector([DangerPatterns(), RecallUseRule()])

    finding = detector.detect("there’s smoke coming from the dash")  # a curly apostrophe

    assert finding is not None and (finding.concern, finding.layer) == ("fire or smoke", "patterns")
    assert detector.detect("how do i pair my phone") is None
