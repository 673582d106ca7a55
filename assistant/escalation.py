"""When a human must take over: the triggers that bypass the calibrated confidence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.records import Severity

SAFETY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in [
        (
            "fire or smoke",
            r"\b(fire|flames?|smok(e|ing)|burning (\w+ )?smell|smells? (of )?burning)\b",
        ),
        (
            "fuel smell or leak",
            r"\b(smell(s|ing)? (of )?(fuel|gas|gasoline|petrol)|(fuel|gas|petrol) (smell|leak)"
            r"|leaking (fuel|gas))",
        ),
        (
            "brakes",
            r"\b(brakes? (failed|fail(ing)?|not working|don'?t work|went to the floor|gone"
            r"|feels? (soft|spongy)|stopped working)|no brakes"
            r"|(can'?t|cannot|couldn'?t) (stop|brake)"
            r"|brake pedal (just )?(sank|sinks|went|goes|dropped|drops) to the floor"
            r"|barely (stops|brakes))",
        ),
        (
            "red warning light or overheating",
            # A red warning light that is on now (not "what does the red light mean?").
            r"\b(red (\w+ ){0,3}(light|lamp|indicator|warning)s? (is |are |just |has )*"
            r"(on|lit|came on|come on|flashing|blinking|stays on)"
            # Overheating now ("it's overheating", "the engine overheated"), not "does the
            # battery overheat when fast charging?".
            r"|((is|it'?s|keeps|kept|started|starts|just|has) |(my|the|our) (\w+ )?)"
            r"overheat(ing|ed)|overheating (now|again|while)"
            r"|(drive system|engine|battery|motor) (is )?(too |very )?hot\b"
            r"|temperature (gauge|warning) (is )?(in the red|on))",
        ),
        (
            "steering",
            r"\b(steering (suddenly )?(failed|locked|locks|lock(ed)? up|stiff|heavy|went|gone"
            r"|not working)|lost (the )?steering|can'?t steer|cannot steer|lost control)",
        ),
        (
            "stalled while driving",
            r"\b((engine|car|vehicle|it) (just )?(stalled|died|cut out|shut (off|down))"
            r" (on|in|while|when|at) (the )?(freeway|highway|motorway|road|traffic|intersection"
            r"|driving|speed))",
        ),
        (
            "airbags",
            r"\b(air ?bags? (deployed|went off|exploded|didn'?t deploy|did not deploy)"
            r"|air ?bag (warning )?light (is )?(on|flashing|stays on))",
        ),
        (
            "crash or injury",
            # Not the names of features and ratings ("forward collision warning", "crash test
            # rating") nor "will fast charging hurt the battery": those are questions, not
            # emergencies.
            r"\b(crash(ed)?(?![- ](test|rating))"
            r"|(?<!pre-)collision(?![- ](warning|alert|avoidance|mitigation))"
            r"|accident|hit (a|another|the) (car|tree|wall|pedestrian)"
            r"|injur(y|ed|ies)"
            r"|hurt(?! (the |my |its |your )?(battery|engine|motor|car|vehicle|paint|tires?|range))"
            r"|bleeding|ambulance|unconscious)\b",
        ),
    ]
]
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


def message_triggers(
    message: str, *, failed_answers: int, max_failed_answers: int
) -> list[Trigger]:
    """The triggers one user message sets off, most severe first."""
    triggers: list[Trigger] = []
    for name, pattern in SAFETY_PATTERNS:
        if pattern.search(message):
            triggers.append(Trigger("safety", Severity.CRITICAL, name))
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
