"""When a human must take over: the triggers that bypass the calibrated confidence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.records import Severity
from assistant.safety import DangerPatterns, LayeredSafetyDetector, RecallUseRule, SafetyFinding

HUMAN_REQUEST = re.compile(
    r"\b((speak|talk|chat) (to|with) (a |an |the )?(human|person|agent|representative|someone"
    r"|somebody|manager|supervisor|real person)|real person|human (agent|being)"
    r"|customer (service|care) (rep|representative|agent)|transfer me|operator"
    r"|(have|get) (someone|somebody|a person|an agent) (to )?call me|call me back"
    r"|(connect|put) me (through )?(to|with) (a |an |the )?(human|person|agent|someone|somebody"
    r"|customer (service|care)|representative|call cent(er|re)))\b",
    re.IGNORECASE,
)
LEGAL_THREAT = re.compile(
    r"\b(lawyer|attorney|solicitor|sue|suing|lawsuit|legal action|take you to court"
    r"|small claims|lemon law|class action)\b",
    re.IGNORECASE,
)
FRUSTRATION = re.compile(
    r"\b(useless|ridiculous|unacceptable|furious|fed up|sick of|worst|pathetic"
    r"|waste of (my )?time|angry|disgusted|scam|joke)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Trigger:
    """Why a case goes to a human regardless of how good the answer looks."""

    reason: str
    severity: Severity
    detail: str


PATTERN_SAFETY = LayeredSafetyDetector([DangerPatterns(), RecallUseRule()])
"""The safety layers that need no model (the chain adds the semantic one)."""


def message_triggers(
    message: str,
    finding: SafetyFinding | None,
    *,
    failed_answers: int,
    max_failed_answers: int,
) -> list[Trigger]:
    """The triggers one user message sets off, most severe first; `finding` is what the safety
    detector found in it."""
    triggers: list[Trigger] = []
    if finding is not None:
        triggers.append(Trigger("safety", Severity.CRITICAL, finding.concern))
    if LEGAL_THREAT.search(message):
        triggers.append(Trigger("legal_threat", Severity.HIGH, "mentions legal action"))
    if HUMAN_REQUEST.search(message):
        triggers.append(Trigger("human_requested", Severity.MEDIUM, "asked for a person"))
    letters = [c for c in message if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7
    if FRUSTRATION.search(message) or shouting or "!!!" in message:
        triggers.append(Trigger("frustration", Severity.MEDIUM, "strong frustration"))
    if failed_answers >= max_failed_answers:
        triggers.append(
            Trigger(
                "repeated_failures", Severity.MEDIUM, f"{failed_answers} answers in a row failed"
            )
        )
    order = list(Severity)
    return sorted(triggers, key=lambda t: -order.index(t.severity))
