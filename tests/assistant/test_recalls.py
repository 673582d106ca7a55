"""Which recall questions list a vehicle's recalls and which are answered from the passages."""

from __future__ import annotations

import pytest

from assistant.recalls import (
    asks_what_campaign_is,
    campaign_named,
    is_recall_lookup,
    names_a_campaign,
)


@pytest.mark.parametrize(
    "question",
    [
        "Is there a recall on my car?",
        "any open recalls for a 2023 karst?",
        "Has my Brisa ever been recalled?",
        "Which recalls affect VIN 7HVT1A2EXRA204117?",
        "Are there any recalls for my Tessel? Which parts?",
    ],
)
def test_asking_which_recalls_a_car_has_is_a_lookup(question: str) -> None:
    assert is_recall_lookup(question)


@pytest.mark.parametrize(
    "question",
    [
        "Do I have to pay to get a recall fixed?",
        "How do I find out if a recall applies to me?",
        "Why was my car recalled twice?",
        "What does 'remedy not yet available' mean for a recall?",
        "What does recall 21V455 fix?",
        "Tell me about 24V-210",
        "How do I change a tire?",
    ],
)
def test_questions_about_recalls_in_general_or_one_campaign_are_not_lookups(
    question: str,
) -> None:
    assert not is_recall_lookup(question)


def test_a_campaign_number_is_spotted_with_or_without_its_dash() -> None:
    assert names_a_campaign("is 21V455 done on mine?") and names_a_campaign("24v-210")
    assert not names_a_campaign("P0420 on a 2020 Brisa")


def test_a_campaign_number_is_read_in_its_short_form() -> None:
    assert campaign_named("what about 24v-210000?") == "24V210"
    assert campaign_named("Is there a recall on my car?") is None


@pytest.mark.parametrize(
    ("question", "what_it_is"),
    [
        ("What is recall 22V174 about?", True),
        ("24V210", True),
        ("What’s 22V174?", True),
        ("explain campaign 21V455 please", True),
        ("Do I have to pay for 23V289?", False),
        ("What should I do until 24V210 is fixed?", False),
    ],
)
def test_asking_what_a_campaign_is_differs_from_asking_about_it(
    question: str, what_it_is: bool
) -> None:
    assert asks_what_campaign_is(question) is what_it_is
