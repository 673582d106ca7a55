"""What to do with a question, decided in one place from the facts the chain gathered.

Pure functions over plain values: no store, no database, no model. The chain gathers the
facts (triggers, the vehicle state, what retrieval and the support check found, the
calibrated confidence) and renders what is decided here.

    route(RoutingFacts(triggers=[], other_make="Toyota"))       # abstain: out_of_scope
    decide(AnswerFacts(triggers=[], supported=True, confidence=0.8, threshold=0.5))  # answer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from assistant.escalation import Trigger
from assistant.records import Severity

Action = Literal["answer", "ask_for_vehicle", "hand_to_person", "abstain", "acknowledge"]
PERSON_NEEDED = frozenset({"human_requested", "legal_threat"})
"""Reasons that are no question to answer: the asker wants, or needs, a person."""


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    show_answer: bool = False
    """The cited answer is shown: an answer, or a safety case's immediate advice."""
    escalation: Trigger | None = None
    """Set when a person takes the case (a ticket is opened)."""
    cannot_answer: bool = False
    """The asker is told the knowledge has no answer (a safety case is not: its advice shows)."""


@dataclass(frozen=True)
class RoutingFacts:
    """What is known before retrieval runs."""

    triggers: list[Trigger] = field(default_factory=list)
    other_make: str | None = None
    """Another maker's car is the asker's ('my 2020 Toyota')."""
    unknown_campaign: str | None = None
    unknown_model_year: bool = False
    recall_lookup_without_vehicle: bool = False
    asker_is_agent: bool = False
    """An agent asks: they are the person a hand-off would reach, so the question is answered
    (and the case flagged to them) instead."""


@dataclass(frozen=True)
class AnswerFacts:
    """What is known once an answer was drafted and checked."""

    triggers: list[Trigger] = field(default_factory=list)
    supported: bool = False
    """At least one sentence survived the support check."""
    dropped_unsupported: bool = False
    confidence: float = 0.0
    threshold: float = 0.5
    states_only_a_vehicle: bool = False
    needs_vehicle: bool = False
    """Top passages say different things for different vehicles and none is known."""
    no_recall_found: bool = False
    """A recall listing was asked for a known vehicle and it has none."""


def route(facts: RoutingFacts) -> Decision | None:
    """A reply that needs no retrieval, or None to go on and retrieve."""
    if facts.triggers and facts.triggers[0].reason in PERSON_NEEDED and not facts.asker_is_agent:
        trigger = facts.triggers[0]
        return Decision("hand_to_person", trigger.reason, escalation=trigger)
    if facts.other_make:
        return Decision("abstain", "out_of_scope")
    if facts.unknown_campaign:
        return Decision("abstain", "unknown_campaign")
    if facts.unknown_model_year:
        return Decision("ask_for_vehicle", "unknown_model_year")
    if facts.recall_lookup_without_vehicle:
        return Decision("ask_for_vehicle", "recall_needs_vehicle")
    return None


def decide(facts: AnswerFacts) -> Decision:
    """Answer, ask for the vehicle, hand to a person, or abstain, with the reason.

    A safety case always reaches a person, and the manual's immediate advice is shown first
    whenever any was found; other cases are answered only when the calibrated confidence
    reaches the threshold, and otherwise handed to a person as unanswered.
    """
    triggers = facts.triggers
    if facts.states_only_a_vehicle:
        return Decision("acknowledge", "vehicle_stated")
    if not triggers and facts.needs_vehicle:
        return Decision("ask_for_vehicle", "answer_differs_by_vehicle")
    if facts.no_recall_found and not triggers:
        return Decision("answer", "no_recall_found")
    confident = facts.supported and facts.confidence >= facts.threshold
    safety = any(trigger.reason == "safety" for trigger in triggers)
    if triggers:
        show = confident or (safety and facts.supported)
        action: Action = "answer" if confident else "hand_to_person"
        return Decision(
            action, triggers[0].reason, show_answer=show, escalation=triggers[0],
            cannot_answer=not confident and not safety,
        )  # fmt: skip
    if confident:
        return Decision("answer", "confident", show_answer=True)
    reason = "unsupported" if facts.dropped_unsupported else "low_confidence"
    return Decision(
        "abstain",
        reason,
        escalation=Trigger(reason, Severity.LOW, "no supported answer in the knowledge"),
        cannot_answer=True,
    )
