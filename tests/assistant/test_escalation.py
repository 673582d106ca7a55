"""When a message must reach a human at once, and how confident an answer is allowed to look."""

from __future__ import annotations

import pytest

from assistant.escalation import PATTERN_SAFETY, message_triggers
from assistant.records import Severity


def reasons(message: str, *, failed_answers: int = 0, max_failed_answers: int = 3) -> list[str]:
    return [
        trigger.reason
        for trigger in message_triggers(
            message,
            PATTERN_SAFETY.detect(message),
            failed_answers=failed_answers,
            max_failed_answers=max_failed_answers,
        )
    ]


@pytest.mark.parametrize(
    "message",
    [
        "My brake pedal just went to the floor and the car barely stops!",
        "The red BRAKE light just came on while I'm on the highway",
        "Red battery thermometer light is on and it says Drive system hot",
        "The engine is overheating",
        "my Karst overheated twice on the way up the mountain",
        "The steering suddenly went loose and the car wanders, I almost lost control",
        "My car is in the garage and there's a burning plastic smell near the battery",
        "My engine stalled on the freeway and won't restart",
        "My brakes failed on the highway",
        "The brake pedal went to the floor and I can't stop",
        "There is smoke coming from under the hood",
        "I can smell gas inside the cabin",
        "My airbag deployed while I was parked",
        "I crashed into a pole this morning",
        "The steering locked up while I was turning",
        "Someone got hurt, we need an ambulance",
    ],
)
def test_emergencies_go_to_a_human_as_critical_safety_cases(message: str) -> None:
    triggers = message_triggers(
        message, PATTERN_SAFETY.detect(message), failed_answers=0, max_failed_answers=3
    )
    assert triggers, f"{message!r} set off no trigger"
    assert (triggers[0].reason, triggers[0].severity) == ("safety", Severity.CRITICAL)


@pytest.mark.parametrize(
    "question",
    [
        "What does the red battery light mean?",
        "What does the green AWD Lock light mean?",
        "Why does the engine shut off at stop lights?",
        "How often should I change the brake fluid?",
        "What does the airbag off indicator mean?",
        "How do I turn off the passenger airbag for a child seat?",
        "Does the warranty cover brake pads?",
        "Which gas should I put in my Karst?",
        "How do I turn off the forward collision warning?",
        "What does the Pre-Collision System warning light mean?",
        "Will DC fast charging hurt the battery?",
        "What is the crash test rating of the 2024 Karst?",
        "Does the battery overheat when fast charging?",
        "How do I keep the engine from overheating when towing in summer?",
    ],
)
def test_everyday_questions_about_safety_features_are_not_emergencies(question: str) -> None:
    assert reasons(question) == []


@pytest.mark.parametrize(
    ("message", "reason", "severity"),
    [
        ("I want to talk to a real person", "human_requested", Severity.MEDIUM),
        ("stop. connect me to customer service now", "human_requested", Severity.MEDIUM),
        ("Please have someone call me back about my repair", "human_requested", Severity.MEDIUM),
        ("Can I speak with a human agent please?", "human_requested", Severity.MEDIUM),
        ("Fix this or I'll call my lawyer", "legal_threat", Severity.HIGH),
        ("This is a lemon law case now", "legal_threat", Severity.HIGH),
        ("this is USELESS!!!", "frustration", Severity.MEDIUM),
        ("WHY DOES NOTHING IN THIS CAR EVER WORK", "frustration", Severity.MEDIUM),
    ],
)
def test_requests_threats_and_frustration(message: str, reason: str, severity: Severity) -> None:
    triggers = message_triggers(
        message, PATTERN_SAFETY.detect(message), failed_answers=0, max_failed_answers=3
    )
    assert [(t.reason, t.severity) for t in triggers] == [(reason, severity)]


def test_the_most_severe_trigger_comes_first() -> None:
    message = "My brakes failed and I want to talk to a real person, my lawyer will hear of this"
    assert reasons(message) == ["safety", "legal_threat", "human_requested"]


def test_repeated_failed_answers_hand_over_at_the_limit() -> None:
    question = "How do I pair my phone?"
    assert reasons(question, failed_answers=1, max_failed_answers=2) == []
    triggers = message_triggers(
        question, PATTERN_SAFETY.detect(question), failed_answers=2, max_failed_answers=2
    )
    assert [t.reason for t in triggers] == ["repeated_failures"]
    assert "2 answers in a row failed" in triggers[0].detail
    assert reasons(question, failed_answers=5, max_failed_answers=2) == ["repeated_failures"]
