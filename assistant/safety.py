"""Is this message a safety case? Layers behind one interface, the first that fires wins.

- `DangerPatterns`: a danger happening now (fire, a fuel or exhaust smell, brakes or steering
  going, a red warning light, power lost while driving, a wheel coming loose, a crash, a child
  or pet locked in), in English and Spanish, as drivers and agents ('caller says ...') type.
- `RecallUseRule`: asking whether it is safe to drive, park, charge or tow a vehicle with an
  open recall. The assistant never reassures: a person answers.
- `SimilarMessages` (in `assistant.safety_semantic`): similarity to a labelled bank of safety
  and non-safety messages, for the phrasings no pattern foresaw; its threshold is chosen on
  the bank by cross-validation.

    detector = LayeredSafetyDetector([DangerPatterns(), RecallUseRule(), SimilarMessages(embedder)])
    detector.detect("the brakes barely grab since the flood")  # SafetyFinding("brakes", ...)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.safety_patterns import (
    DANGER_PATTERNS,
    NOT_HAPPENING_NOW,
    RECALL_WORD,
    SAFE_FRAMING,
    USE_NOW,
)


@dataclass(frozen=True)
class SafetyFinding:
    concern: str
    """What the danger is ('brakes', 'asks to use a vehicle with an open recall')."""
    layer: str


class SafetyLayer(Protocol):
    name: str

    def check(self, message: str) -> str | None:
        """The concern this message raises, or None."""
        ...


class DangerPatterns:
    name = "patterns"

    def check(self, message: str) -> str | None:
        if NOT_HAPPENING_NOW.search(message):
            return None  # the semantic layer still reads it
        for concern, pattern, unless in DANGER_PATTERNS:
            match = pattern.search(message)
            if match and not (unless and unless.search(message)):
                return concern
        return None


class RecallUseRule:
    """'My Carnival has the fuel leak recall, ok to keep driving it?': a person answers."""

    name = "recall_use"

    def check(self, message: str) -> str | None:
        if RECALL_WORD.search(message) and USE_NOW.search(message):
            return "asks to use a vehicle with an open recall"
        return None


SEVERE_CONSEQUENCE = re.compile(
    r"\b(fire|burn|crash|injur|death|loss of (vehicle )?control|los(s|e|es|ing) (of )?(brak|steer)"
    r"|brak\w* (performance|ability|failure)|steering (failure|loss)|stall)",
    re.IGNORECASE,
)
"""A recall notice's consequence that makes using the car a person's question."""


def asks_whether_safe_to_use(message: str) -> bool:
    """'Is it safe to drive it?', 'ok to keep charging?': the risk of using the car asked
    about, not a how-to ('can I charge from a wall outlet?'). With an open recall whose
    consequence is dangerous, the chain hands such a question to a person."""
    return bool(USE_NOW.search(message) and SAFE_FRAMING.search(message))


class SafetyDetector(Protocol):
    def detect(self, message: str) -> SafetyFinding | None: ...


class LayeredSafetyDetector:
    """The layers in order; a message some layer flags is a safety case."""

    def __init__(self, layers: Sequence[SafetyLayer]) -> None:
        self._layers = list(layers)

    def detect(self, message: str) -> SafetyFinding | None:
        text = _plain(message)
        for layer in self._layers:
            concern = layer.check(text)
            if concern:
                return SafetyFinding(concern, layer.name)
        return None


CHAT_SHORTHAND = {
    "r": "are", "u": "you", "ur": "your", "im": "i'm", "lite": "light", "hwy": "highway",
    "fwy": "freeway", "pls": "please", "plz": "please", "thru": "through", "b4": "before",
}  # fmt: skip
"""Chat spellings drivers type, read as the words the patterns know."""
_SHORTHAND = re.compile(r"\b(" + "|".join(CHAT_SHORTHAND) + r")\b", re.IGNORECASE)


def _plain(message: str) -> str:
    """Curly quotes straightened, chat shorthand spelled out and whitespace folded, so the
    patterns see one spelling."""
    text = message.replace("’", "'").replace("‘", "'")
    text = _SHORTHAND.sub(lambda match: CHAT_SHORTHAND[match.group(1).lower()], text)
    return re.sub(r"\s+", " ", text).strip()
