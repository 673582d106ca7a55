"""Follow-up rewriting by rules."""

from __future__ import annotations

import pytest

from assistant.rewriter import RuleQueryRewriter

HISTORY = [("user", "What is the cold tire pressure on a Tessel?"), ("assistant", "36 psi [1]")]


@pytest.mark.parametrize("follow_up", ["What about the 2024?", "and the rear?", "Same for 2021"])
def test_a_continuation_borrows_the_previous_topic(follow_up: str) -> None:
    rewritten = RuleQueryRewriter().run(follow_up, HISTORY)
    assert rewritten.startswith("What is the cold tire pressure") and follow_up in rewritten


@pytest.mark.parametrize("question", ["And how much can it tow?", "How do I pair my phone?"])
def test_a_question_with_its_own_topic_stands_alone(question: str) -> None:
    assert RuleQueryRewriter().run(question, HISTORY) == question


def test_without_history_nothing_changes() -> None:
    assert RuleQueryRewriter().run("What about the 2024?", []) == "What about the 2024?"
