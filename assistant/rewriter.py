"""Follow-up questions made standalone by rules (the LLM rewriter is used when configured)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.extractive import content_terms
from assistant.protocols import HistoryTurn

CONTINUATION = re.compile(
    r"^\s*(and\s+)?(what|how) about\b|^\s*(same|likewise|also)\b|"
    r"^\s*and\s+(for|the|on|with|in|if|what if)\b|^\s*what if\b"
    # 'they', 'those', 'one of them' point back at what was asked; 'it' is usually the car.
    r"|\b(they|them|those|these|theirs)\b|\b(delete|remove|change|add|rename) (one|it)\b",
    re.IGNORECASE,
)
YEAR_OR_NUMBER = re.compile(r"^\d+$")


class RuleQueryRewriter:
    """A follow-up that continues the last question ("what about the 2024?", "and the rear?")
    borrows its topic. One with a topic of its own stands alone: "it" in a car conversation is
    the car, which the session already keeps as the vehicle filter.

        RuleQueryRewriter().run("and on the 2024?", [("user", "tire pressure for a Roadster?")])
    """

    def run(self, question: str, history: Sequence[HistoryTurn]) -> str:
        previous = next((text for role, text in reversed(history) if role == "user"), None)
        if previous is None:
            return question
        own_topic = {term for term in content_terms(question) if not YEAR_OR_NUMBER.match(term)}
        # Sharing a word with the last question ('add a stop' -> 'the most stops') refines it.
        refines = bool(own_topic & content_terms(previous))
        if CONTINUATION.search(question) or not own_topic or refines:
            return f"{previous} {question}"
        return question
