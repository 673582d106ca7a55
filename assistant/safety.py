"""Is this message a safety case? Layers behind one interface, the first that fires wins.

- `DangerPatterns`: a danger happening now (fire, a fuel or exhaust smell, brakes or steering
  going, a red warning light, power lost while driving, a wheel coming loose, a crash, a child
  or pet locked in), in English and Spanish, as drivers and agents ('caller says ...') type.
- `RecallUseRule`: asking whether it is safe to drive, park, charge or tow a vehicle with an
  open recall. The assistant never reassures: a person answers.
- `SimilarMessages`: similarity to a labelled bank of safety and non-safety messages, for the
  phrasings no pattern foresaw; its thresholds are chosen on a dev split.

    detector = LayeredSafetyDetector([DangerPatterns(), RecallUseRule(), SimilarMessages(embedder)])
    detector.detect("the brakes barely grab since the flood")  # SafetyFinding("brakes", ...)
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.calibration import fit_logistic
from assistant.safety_patterns import DANGER_PATTERNS, RECALL_WORD, SAFE_FRAMING, USE_NOW
from knowledge.embedder import Embedder
from knowledge.errors import ConfigurationError


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


def _plain(message: str) -> str:
    """Curly quotes straightened and whitespace folded, so the patterns see one spelling."""
    return re.sub(r"\s+", " ", message.replace("’", "'").replace("‘", "'")).strip()


BANK = Path(__file__).resolve().parent / "safety_bank.jsonl"
"""Labelled messages ({message, safety, source}) the semantic layer learns from: the dev split
of evals/datasets/safety.jsonl (never its test split) and everyday symptoms and how-tos written
for the bank, so a squeal or a rattle does not read as an emergency."""
SEMANTIC_L2 = 0.03
SEMANTIC_THRESHOLD = 0.39
"""Chosen on the bank by 5-fold cross-validation (with the L2 weight): the lowest probability
whose false escalations on held-out non-safety messages stay at or under 3%."""


def load_bank(path: Path = BANK) -> list[tuple[str, bool]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"the safety bank {path} cannot be read ({error}); fix GLOVEBOX_SAFETY_BANK_PATH"
        ) from error
    bank: list[tuple[str, bool]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            bank.append((str(row["message"]), bool(row["safety"])))
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f'{path} line {number}: a bank line is {{"message": ..., "safety": true|false}}'
                f" ({error}); fix the line"
            ) from error
    if len({label for _, label in bank}) < 2:
        raise ConfigurationError(f"{path} needs safety and non-safety messages; add both")
    return bank


class SimilarMessages:
    """A logistic model over the embeddings of a labelled bank: messages like the bank's
    safety messages, and unlike its non-safety ones, are safety cases. Fitted on first use
    (a bank of a hundred messages embeds in about a second)."""

    name = "semantic"

    def __init__(
        self,
        embedder: Embedder,
        bank: list[tuple[str, bool]] | None = None,
        *,
        threshold: float = SEMANTIC_THRESHOLD,
        l2: float = SEMANTIC_L2,
    ) -> None:
        self._embedder = embedder
        self._bank = bank
        self._threshold = threshold
        self._l2 = l2
        self._weights: Any = None
        self._lock = threading.Lock()

    def probability(self, message: str) -> float:
        import numpy as np

        weights = self._fitted()
        vector = np.array(self._embedder.embed_documents([message])[0])
        score = float(weights[0] + vector @ weights[1:])
        return 1.0 / (1.0 + math.exp(-score)) if score > -30 else 0.0

    def check(self, message: str) -> str | None:
        probability = self.probability(message)
        if probability >= self._threshold:
            return f"reads like known safety messages (p={probability:.2f})"
        return None

    def _fitted(self) -> Any:
        with self._lock:
            if self._weights is None:
                bank = self._bank if self._bank is not None else load_bank()
                vectors = self._embedder.embed_documents([message for message, _ in bank])
                self._weights = fit_logistic(vectors, [label for _, label in bank], l2=self._l2)
            return self._weights
