"""The one decision: answer, ask for the vehicle, hand to a person, or abstain."""

from __future__ import annotations

from assistant.decision import AnswerFacts, RoutingFacts, decide, route
from assistant.escalation import Trigger
from assistant.records import Severity

SAFETY = Trigger("safety", Severity.CRITICAL, "fire or smoke")
PERSON = Trigger("human_requested", Severity.MEDIUM, "asked for a person")
FRUSTRATION = Trigger("frustration", Severity.MEDIUM, "strong frustration")


def test_routing_before_retrieval() -> None:
    assert route(RoutingFacts()) is None
    handed = route(RoutingFacts(triggers=[PERSON], other_make="Toyota"))
    assert handed is not None and handed.action == "hand_to_person" and handed.escalation == PERSON
    assert route(RoutingFacts(other_make="Toyota")).reason == "out_of_scope"  # type: ignore[union-attr]
    assert route(RoutingFacts(unknown_campaign="99V999")).action == "abstain"  # type: ignore[union-attr]
    unknown_year = route(RoutingFacts(unknown_model_year=True))
    assert unknown_year is not None and unknown_year.action == "ask_for_vehicle"


def test_an_agent_asking_for_a_person_is_answered_not_handed_to_themselves() -> None:
    assert route(RoutingFacts(triggers=[PERSON], asker_is_agent=True)) is None


def test_a_confident_supported_answer_is_given() -> None:
    decision = decide(AnswerFacts(supported=True, confidence=0.8, threshold=0.45))
    assert (decision.action, decision.show_answer, decision.escalation) == ("answer", True, None)


def test_below_the_threshold_it_abstains_and_hands_over() -> None:
    decision = decide(AnswerFacts(supported=True, confidence=0.3, threshold=0.45))
    assert decision.action == "abstain" and decision.cannot_answer and not decision.show_answer
    assert decision.escalation is not None and decision.escalation.reason == "low_confidence"
    dropped = decide(AnswerFacts(supported=False, dropped_unsupported=True, threshold=0.45))
    assert dropped.reason == "unsupported"


def test_safety_always_reaches_a_person_with_the_manuals_advice_first() -> None:
    unsure = decide(AnswerFacts(triggers=[SAFETY], supported=True, confidence=0.2, threshold=0.45))
    assert unsure.escalation == SAFETY and unsure.show_answer and not unsure.cannot_answer
    sure = decide(AnswerFacts(triggers=[SAFETY], supported=True, confidence=0.9, threshold=0.45))
    assert sure.action == "answer" and sure.escalation == SAFETY
    nothing = decide(AnswerFacts(triggers=[SAFETY], supported=False))
    assert nothing.action == "hand_to_person" and not nothing.cannot_answer


def test_other_triggers_hand_over_without_a_guess() -> None:
    decision = decide(AnswerFacts(triggers=[FRUSTRATION], supported=True, confidence=0.2))
    assert decision.action == "hand_to_person" and decision.cannot_answer


def test_vehicle_questions_come_before_answers() -> None:
    assert decide(AnswerFacts(states_only_a_vehicle=True)).action == "acknowledge"
    assert decide(AnswerFacts(needs_vehicle=True)).action == "ask_for_vehicle"
    # A safety message is never held up by asking which car it is.
    assert decide(AnswerFacts(triggers=[SAFETY], needs_vehicle=True)).escalation == SAFETY
    assert decide(AnswerFacts(no_recall_found=True)).reason == "no_recall_found"
