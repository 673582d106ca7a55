"""The default generator answers in the passages' own words, cited, and invents nothing."""

from __future__ import annotations

import re

from assistant.extractive import ExtractiveGenerator
from assistant.records import DraftAnswer, Passage

PAIRING = Passage(
    "pairing",
    "Pair a phone over Bluetooth:\n\n"
    "1. Open **Settings** on the touchscreen.\n"
    "2. Choose Bluetooth and then Add device.\n"
    "3. Confirm the code on the phone.",
    {"section": "Infotainment > Pairing a phone"},
)
TPMS_RESET = Passage(
    "tpms-reset",
    "Reset the TPMS after you adjust the tire pressures or rotate the tires.\n\n"
    "1. Inflate all four tires to the pressure on the door jamb label.\n"
    "2. Turn the ignition on without starting the engine.\n"
    "3. Press and hold the **TPMS reset** button until the indicator blinks three times.\n"
    "4. Drive above 20 mph for at least 10 minutes so the system relearns the sensors.",
    {"section": "Tires > Resetting the tire pressure monitoring system"},
)
TIRE_PRESSURES = Passage(
    "tire-pressures",
    "## Tire pressure\n\n"
    "The recommended cold tire pressures are:\n\n"
    "| Tire | Pressure |\n"
    "|---|---|\n"
    "| Front | 36 psi |\n"
    "| Rear | 33 psi |\n\n"
    "Check the pressures once a month when the tires are cold. "
    "Underinflated tires wear faster and waste fuel.",
    {"section": "Tires > Tire pressure"},
)
ENGINE_OIL = Passage(
    "engine-oil",
    "Change the engine oil every 10,000 miles or 12 months, whichever comes first. "
    "Use **0W-20** synthetic oil that meets the API SP standard. "
    "The oil filter is replaced at every oil change. "
    "Towing or many short trips call for fresh oil every 5,000 miles. "
    "Check the oil level at every second fuel stop.",
    {"section": "Maintenance > Engine oil"},
)
TRIP_CHECKS = Passage(
    "trip-checks",
    "Before a long trip, check these items:\n"
    "- tire pressures and tread depth\n"
    "- coolant and washer fluid levels\n"
    "- all exterior lights\n\n"
    "Plan a rest stop every two hours of driving.",
    {"section": "Driving > Long trips"},
)
# As the FAQ loader stores YAML answers: hard line breaks, steps wrapped onto indented lines.
APP_SETUP_FAQ = Passage(
    "faq-connected-app-setup",
    "1. Download the Halvard Connect app and create a Halvard account with your email\n"
    "   address.\n"
    "2. Tap Add vehicle and enter your 17-character VIN (on the windshield label, the\n"
    "   driver-door jamb sticker or your registration).\n"
    "3. Sit in the vehicle with it switched on; a six-digit code appears on the center\n"
    "   screen or instrument cluster. Enter it in the app within 10 minutes.\n"
    "4. Accept the HalvardLink terms and choose your privacy settings.\n"
    "Only the primary account holder can add drivers. If the code does not appear, call\n"
    "Customer Care at 1-800-555-0142.",
    {"section": "Connected Services > How do I connect my car to the Halvard Connect app?"},
)
WARRANTY_FAQ = Passage(
    "faq-warranty-new-vehicle",
    "The Halvard New Vehicle Limited Warranty covers repairs needed to correct defects in\n"
    "factory-supplied materials or workmanship for 3 years or 36,000 miles, whichever comes\n"
    "first, starting on the date the vehicle was first delivered to a retail customer or put\n"
    "into service. Covered repairs are done at no charge for parts or labor by any authorized\n"
    "Halvard dealer in the US.",
    {"section": "Warranty > What does the new-vehicle limited warranty cover?"},
)


def plain(text: str) -> str:
    """What a reader sees of a passage: no markdown emphasis, no hard line breaks."""
    return re.sub(r"\s+", " ", re.sub(r"\*\*|__|`", "", text)).strip()


def assert_quoted_and_cited(draft: DraftAnswer) -> None:
    for sentence in draft.sentences:
        assert len(sentence.citations) == 1, sentence
        cited = draft.passages[sentence.citations[0] - 1]
        assert sentence.text in plain(cited.text), f"{sentence.text!r} is not in {cited.chunk_id}"


def test_a_procedure_is_answered_with_its_steps_in_order() -> None:
    draft = ExtractiveGenerator().run(
        "How do I reset the TPMS light?", [PAIRING, TPMS_RESET, TIRE_PRESSURES]
    )
    steps = [s.text for s in draft.sentences if re.match(r"\d+\. ", s.text)]
    assert steps == [
        "1. Inflate all four tires to the pressure on the door jamb label.",
        "2. Turn the ignition on without starting the engine.",
        "3. Press and hold the TPMS reset button until the indicator blinks three times.",
        "4. Drive above 20 mph for at least 10 minutes so the system relearns the sensors.",
    ]
    assert all(s.citations == [2] for s in draft.sentences)
    assert "Bluetooth" not in draft.text
    assert_quoted_and_cited(draft)


def test_a_factual_answer_is_a_few_cited_sentences_from_the_passages() -> None:
    draft = ExtractiveGenerator().run("What engine oil should I use?", [TIRE_PRESSURES, ENGINE_OIL])
    assert 1 <= len(draft.sentences) <= 3
    assert any("0W-20" in s.text for s in draft.sentences)
    assert all(s.citations == [2] for s in draft.sentences)
    assert_quoted_and_cited(draft)


def test_many_matching_sentences_still_give_at_most_three() -> None:
    draft = ExtractiveGenerator().run("engine oil", [ENGINE_OIL])
    assert len(draft.sentences) == 3
    assert_quoted_and_cited(draft)
    # Shown in the passage's own order, so the answer reads as it was written.
    positions = [plain(ENGINE_OIL.text).index(s.text) for s in draft.sentences]
    assert positions == sorted(positions)


def test_a_sentence_ending_in_a_colon_brings_its_table_rows() -> None:
    draft = ExtractiveGenerator().run(
        "What are the recommended cold tire pressures?", [TPMS_RESET, TIRE_PRESSURES]
    )
    answer = [(s.text, s.citations) for s in draft.sentences]
    lead = answer.index(("The recommended cold tire pressures are:", [2]))
    rows = answer[lead + 1 : lead + 4]
    # Each row is read with its header, so it says what its numbers are.
    front, rear = ("Tire: Front; Pressure: 36 psi", [2]), ("Tire: Rear; Pressure: 33 psi", [2])
    assert front in rows and rear in rows
    assert rows.index(front) < rows.index(rear)


def test_a_sentence_ending_in_a_colon_brings_its_bullets() -> None:
    draft = ExtractiveGenerator().run("What should I check before a long trip?", [TRIP_CHECKS])
    texts = [s.text for s in draft.sentences]
    lead = texts.index("Before a long trip, check these items:")
    assert texts[lead : lead + 4] == [
        "Before a long trip, check these items:",
        "tire pressures and tread depth",
        "coolant and washer fluid levels",
        "all exterior lights",
    ]
    assert_quoted_and_cited(draft)


def test_no_overlap_gives_no_answer() -> None:
    draft = ExtractiveGenerator().run(
        "What is the capital of France?", [ENGINE_OIL, TIRE_PRESSURES, TPMS_RESET]
    )
    assert draft.sentences == [] and draft.text == ""


def test_wrapped_faq_steps_come_back_whole() -> None:
    draft = ExtractiveGenerator().run(
        "How do I connect my car to the Halvard Connect app?", [APP_SETUP_FAQ]
    )
    assert [s.text for s in draft.sentences] == [
        "1. Download the Halvard Connect app and create a Halvard account with your email address.",
        "2. Tap Add vehicle and enter your 17-character VIN (on the windshield label, the "
        "driver-door jamb sticker or your registration).",
        "3. Sit in the vehicle with it switched on; a six-digit code appears on the center "
        "screen or instrument cluster. Enter it in the app within 10 minutes.",
        "4. Accept the HalvardLink terms and choose your privacy settings.",
    ]
    assert_quoted_and_cited(draft)


def test_wrapped_faq_sentences_are_not_cut_at_line_breaks() -> None:
    draft = ExtractiveGenerator().run(
        "How many miles does the new vehicle warranty cover?", [WARRANTY_FAQ]
    )
    assert draft.sentences
    assert_quoted_and_cited(draft)
    for sentence in draft.sentences:
        assert sentence.text[0].isupper() and sentence.text.endswith("."), sentence.text
    assert any("3 years or 36,000 miles, whichever comes first" in s.text for s in draft.sentences)


def test_a_note_after_the_last_step_is_not_glued_onto_it() -> None:
    draft = ExtractiveGenerator().run("Who can add drivers to the app account?", [APP_SETUP_FAQ])
    texts = [s.text for s in draft.sentences]
    assert "Only the primary account holder can add drivers." in texts
    assert not any(text.startswith("4.") and "primary" in text for text in texts)
    assert_quoted_and_cited(draft)


def test_streaming_yields_the_same_answer_it_returns() -> None:
    generator = ExtractiveGenerator()
    pieces = list(generator.stream("How do I reset the TPMS light?", [TPMS_RESET]))
    draft = pieces[-1]
    assert isinstance(draft, DraftAnswer)
    streamed = "".join(piece for piece in pieces[:-1] if isinstance(piece, str))
    assert streamed.strip() == draft.text
