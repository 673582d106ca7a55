"""Every answer sentence must be backed by the passage it cites: numbers, codes and meaning."""

from __future__ import annotations

import pytest

from assistant.records import AnswerSentence, DraftAnswer, Passage
from assistant.support import DeterministicSupportChecker, enforce_support, facts
from tests.fakes import HashEmbedder

TIRES = Passage(
    "tires-1",
    "## Tire pressure\n\nInflate the tires to **36 psi** when they are cold. "
    "Check the pressure once a month with a gauge.",
    {"document_id": "karst-manual", "title": "Karst owner's manual"},
)
CATALYST = Passage(
    "tsb-1",
    "Bulletin TSB-HV-23-014 covers code P0420 on 2023 models. "
    "Replace the converter with part HV-45022-KR2-A00 and clear the code.",
    {"document_id": "tsb-hv-23-014", "title": "Catalyst efficiency below threshold"},
)


@pytest.fixture
def checker() -> DeterministicSupportChecker:
    return DeterministicSupportChecker(HashEmbedder(), min_similarity=0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The battery is rated for 1,200 charge cycles.", {"1200"}),
        ("Code P0420 means the catalyst is below threshold.", {"P0420"}),
        ("Recall campaign 24V210 covers it.", {"24V210"}),
        ("See bulletin TSB-HV-23-014 first.", {"TSB-HV-23-014"}),
        ("Order part HV-45022-KR2-A00.", {"HV-45022-KR2-A00"}),
        ("Torque the wheel nuts to 103 lb-ft, then 9.5 Nm.", {"103", "9.5"}),
        ("Check the pressure once a month.", set()),
    ],
)
def test_facts_are_the_numbers_and_codes_of_a_sentence(text: str, expected: set[str]) -> None:
    assert facts(text) == expected


def test_facts_compare_equal_with_or_without_thousands_separators() -> None:
    assert facts("1,200 miles") == facts("1200 miles")
    assert facts("code p0420") != facts("code P0421")


def test_a_sentence_quoted_from_the_passage_is_supported(
    checker: DeterministicSupportChecker,
) -> None:
    verdict = checker.run("Inflate the tires to 36 psi when they are cold.", [TIRES])
    assert verdict.supported and verdict.score == 1.0


def test_a_step_number_is_the_answers_numbering_not_a_fact(
    checker: DeterministicSupportChecker,
) -> None:
    step = "4. Replace the converter with part HV-45022-KR2-A00 and clear the code."
    assert "4" not in facts(CATALYST.text)
    assert checker.run(step, [CATALYST]).supported
    wrong_part = "4. Replace the converter with part HV-45022-KR2-A01 and clear the code."
    assert "HV-45022-KR2-A01" in checker.run(wrong_part, [CATALYST]).reason


def test_a_number_the_passage_does_not_have_is_unsupported(
    checker: DeterministicSupportChecker,
) -> None:
    verdict = checker.run("Inflate the tires to 42 psi when they are cold.", [TIRES])
    assert not verdict.supported
    assert "42" in verdict.reason


def test_a_code_from_another_passage_is_unsupported(checker: DeterministicSupportChecker) -> None:
    verdict = checker.run("Bulletin TSB-HV-23-014 covers code P0420 on 2023 models.", [TIRES])
    assert not verdict.supported
    assert "P0420" in verdict.reason and "TSB-HV-23-014" in verdict.reason


def test_a_sentence_citing_nothing_is_unsupported(checker: DeterministicSupportChecker) -> None:
    verdict = checker.run("Inflate the tires to 36 psi when they are cold.", [])
    assert not verdict.supported
    assert verdict.reason == "cites no passage"


def test_a_sentence_about_something_else_is_unsupported(
    checker: DeterministicSupportChecker,
) -> None:
    verdict = checker.run("Pair your phone over Bluetooth from the infotainment menu.", [TIRES])
    assert not verdict.supported
    assert "similarity" in verdict.reason


def test_enforce_support_recites_and_drops(checker: DeterministicSupportChecker) -> None:
    draft = DraftAnswer(
        [
            AnswerSentence("Inflate the tires to 36 psi when they are cold.", [1]),
            AnswerSentence("Bulletin TSB-HV-23-014 covers code P0420 on 2023 models.", [1]),
            AnswerSentence("The converter is covered for 150,000 miles.", [2]),
        ],
        [TIRES, CATALYST],
    )
    result = enforce_support(draft, checker)
    assert [(s.text, s.citations) for s in result.draft.sentences] == [
        ("Inflate the tires to 36 psi when they are cold.", [1]),
        ("Bulletin TSB-HV-23-014 covers code P0420 on 2023 models.", [2]),
    ]
    assert result.dropped == ["The converter is covered for 150,000 miles."]
    assert (result.checked, result.supported) == (3, 2)
    assert "150,000" not in result.draft.text
    assert result.draft.text.endswith("on 2023 models. [2]")


def test_enforce_support_gives_an_uncited_sentence_the_passage_that_backs_it(
    checker: DeterministicSupportChecker,
) -> None:
    draft = DraftAnswer(
        [AnswerSentence("Check the pressure once a month with a gauge.", [])], [CATALYST, TIRES]
    )
    result = enforce_support(draft, checker)
    assert [s.citations for s in result.draft.sentences] == [[2]]
