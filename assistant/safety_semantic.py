"""The semantic safety layer: messages that read like a labelled bank's safety messages.

A logistic model over the embeddings of the bank (`safety_bank.jsonl` beside this module). Its
threshold is chosen on the bank itself by cross-validation: the lowest probability whose false
escalations on held-out non-safety messages stay at or under `FALSE_ESCALATION_BUDGET`. The
fitted model for the shipped bank and embedder is shipped too (`safety_model.json`), so a
server does not embed the bank at start; any other bank or embedder is fitted on first use.

    layer = SimilarMessages(E5Embedder())
    layer.check("brakes r not wrking pedal goin to floor")  # 'reads like ... (p=0.93)'
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.calibration import fit_logistic
from knowledge.embedder import Embedder
from knowledge.errors import ConfigurationError

BANK = Path(__file__).resolve().parent / "safety_bank.jsonl"
"""Labelled messages ({message, safety, source}): the dev split of evals/datasets/safety.jsonl
(never its test split) and messages written for the bank (drivers, agents, typos, Spanish,
recall questions, and everyday symptoms and how-tos that share the words of danger)."""
SHIPPED_MODEL = Path(__file__).resolve().parent / "safety_model.json"
MODEL_FORMAT = "glovebox-safety/1"
SEMANTIC_L2 = 0.03
"""Chosen by cross-validation on the bank, with multilingual-e5-small (see the README)."""
FALSE_ESCALATION_BUDGET = 0.03
FOLDS = 5

Bank = list[tuple[str, bool]]


def load_bank(path: Path = BANK) -> Bank:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"the safety bank {path} cannot be read ({error}); fix GLOVEBOX_SAFETY_BANK_PATH"
        ) from error
    bank: Bank = []
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


def bank_digest(bank: Bank) -> str:
    """Names a bank's content, so a shipped model is only used for the bank it was fitted on."""
    text = json.dumps(bank, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SemanticSafetyModel:
    embedding_model: str
    bank_digest: str
    l2: float
    threshold: float
    weights: list[float]
    """Bias first, then one weight per embedding dimension."""
    held_out_recall: float
    """Of the bank's safety messages, the share flagged when held out (at the threshold)."""
    held_out_false_escalations: float

    def probability(self, vector: Sequence[float]) -> float:
        score = self.weights[0] + sum(w * v for w, v in zip(self.weights[1:], vector, strict=True))
        return 1.0 / (1.0 + math.exp(-score)) if score > -30 else 0.0

    def fits(self, embedder: Embedder, bank: Bank) -> bool:
        return self.embedding_model == embedder.model_name and self.bank_digest == bank_digest(bank)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"format": MODEL_FORMAT, **asdict(self)}) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> SemanticSafetyModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format", None) != MODEL_FORMAT:
                raise ValueError(f"not a {MODEL_FORMAT} file")
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise ConfigurationError(
                f"the safety model {path} cannot be read ({error}); write it again with "
                "`glovebox bench safety --write-model PATH`"
            ) from error


def fit_semantic_model(
    embedder: Embedder, bank: Bank, *, l2: float = SEMANTIC_L2
) -> SemanticSafetyModel:
    """The model on the whole bank; its threshold from the bank's own held-out folds."""
    import numpy as np

    vectors = np.array(embedder.embed_documents([message for message, _ in bank]))
    labels = [label for _, label in bank]
    held_out = _held_out_probabilities(vectors, labels, l2)
    threshold = _threshold_within_budget(held_out, labels)
    flagged = held_out >= threshold
    safety = np.array(labels)
    return SemanticSafetyModel(
        embedding_model=embedder.model_name,
        bank_digest=bank_digest(bank),
        l2=l2,
        threshold=threshold,
        weights=[float(w) for w in fit_logistic(vectors.tolist(), labels, l2=l2)],
        held_out_recall=round(float(flagged[safety].mean()), 3),
        held_out_false_escalations=round(float(flagged[~safety].mean()), 3),
    )


def _held_out_probabilities(vectors: Any, labels: list[bool], l2: float) -> Any:
    """Each message's probability from a model fitted without its fold (folds by position)."""
    import numpy as np

    fold_of = np.arange(len(labels)) % FOLDS
    probabilities = np.zeros(len(labels))
    for fold in range(FOLDS):
        inside = fold_of != fold
        kept = [label for label, keep in zip(labels, inside, strict=True) if keep]
        weights = fit_logistic(vectors[inside], kept, l2=l2)
        scores = weights[0] + vectors[~inside] @ weights[1:]
        probabilities[~inside] = 1.0 / (1.0 + np.exp(-np.clip(scores, -30, 30)))
    return probabilities


def _threshold_within_budget(probabilities: Any, labels: list[bool]) -> float:
    """The lowest threshold whose held-out false escalations stay within the budget."""
    pairs = zip(probabilities, labels, strict=True)
    negatives = sorted((float(p) for p, label in pairs if not label), reverse=True)
    allowed = int(len(negatives) * FALSE_ESCALATION_BUDGET)
    # Just above the (allowed+1)-th highest non-safety probability.
    boundary = negatives[allowed] if allowed < len(negatives) else 0.0
    return round(min(max(boundary + 0.01, 0.05), 0.99), 4)


class SimilarMessages:
    """Messages like the bank's safety messages, and unlike its non-safety ones, are safety
    cases. The shipped model is used when it was fitted on this bank with this embedder;
    otherwise the bank is embedded and fitted on first use."""

    name = "semantic"

    def __init__(
        self,
        embedder: Embedder,
        bank: Bank | None = None,
        *,
        model: SemanticSafetyModel | None = None,
        shipped_model: Path | None = SHIPPED_MODEL,
    ) -> None:
        self._embedder = embedder
        self._bank = bank
        self._model = model
        self._shipped_model = shipped_model
        self._lock = threading.Lock()

    @property
    def model(self) -> SemanticSafetyModel:
        with self._lock:
            if self._model is None:
                self._model = self._shipped_or_fitted()
            return self._model

    def refit(self) -> SemanticSafetyModel:
        """Fits the model on the bank now (whatever was shipped) and uses it from here on."""
        model = fit_semantic_model(self._embedder, self._bank_or_shipped())
        with self._lock:
            self._model = model
        return model

    def probability(self, message: str) -> float:
        model = self.model
        return model.probability(self._embedder.embed_documents([message])[0])

    def check(self, message: str) -> str | None:
        probability = self.probability(message)
        if probability >= self.model.threshold:
            return f"reads like known safety messages (p={probability:.2f})"
        return None

    def _bank_or_shipped(self) -> Bank:
        return self._bank if self._bank is not None else load_bank()

    def _shipped_or_fitted(self) -> SemanticSafetyModel:
        bank = self._bank_or_shipped()
        if self._shipped_model is not None:  # a missing or damaged file says how to rewrite it
            shipped = SemanticSafetyModel.load(self._shipped_model)
            if shipped.fits(self._embedder, bank):
                return shipped
        return fit_semantic_model(self._embedder, bank)
