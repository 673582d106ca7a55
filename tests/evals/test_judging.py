"""How a case is judged: recall campaigns first, and 'no recall found' as its own answer."""

from __future__ import annotations

from dataclasses import replace

from evals.dataset import EvalCase, Expectation
from evals.runner import CaseOutcome, is_relevant, judge


def outcome(answer: str, first_document: str = "recall-24v210000-acme-roadster") -> CaseOutcome:
    return CaseOutcome(
        id="c", tags=[], expect="answer", question="q", answer=answer,
        citations=[{"document_id": first_document}], confidence=0.9, escalated=False,
        abstained=False, first_relevant_rank=1, ndcg_at_10=1.0, cited_relevant=1,
        supported_sentences=1, sentences=1, timings_ms={},
    )  # fmt: skip


def recall_case(**fields: object) -> EvalCase:
    return EvalCase.model_validate(
        {"id": "c", "question": "any recalls?", "expect": "answer", **fields}
    )


def test_a_notice_of_an_expected_campaign_is_relevant_whatever_its_text() -> None:
    case = recall_case(expected_campaigns=["24V210"])

    assert is_relevant(case, "recall-24v210000-acme-roadster", "")
    assert not is_relevant(case, "recall-23v100000-acme-roadster", "fire risk")


def test_the_recall_asked_about_must_come_first() -> None:
    case = recall_case(expected_campaigns=["24V210"])

    assert judge(case, outcome("NHTSA recall campaign 24V210. [1]")) == (True, "")
    passed, failure = judge(case, outcome("x [1]", "recall-23v100000-acme-roadster"))
    assert not passed and "other than the one asked about" in failure


def test_no_recall_found_is_its_own_answer() -> None:
    case = recall_case(answer_kind="no_recall_found")

    said = outcome("No recall found for the 2019 Acme Roadster in the recall data I have.")
    assert judge(case, replace(said, citations=[])) == (True, "")
    passed, _ = judge(case, outcome("I have no service information for the 2019 Roadster"))
    assert not passed
    assert case.expect is Expectation.ANSWER
