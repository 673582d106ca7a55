"""The semantic safety layer: messages that read like a labelled bank's safety messages.

A support-vector machine (RBF kernel) over the embeddings of the bank (`safety_bank.jsonl`
beside this module). Its threshold is chosen on the bank itself by cross-validation: the lowest
score whose false escalations on held-out non-safety messages stay at or under
`FALSE_ESCALATION_BUDGET`. The
fitted model for the shipped bank and embedder is shipped too (`safety_model.json`), so a
server does not embed the bank at start; any other bank or embedder is fitted on first use.

    layer = SimilarMessages(E5Embedder())
    layer.check("brakes r not wrking pedal goin to floor")  # 'reads like ... (score 0.93)'
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from knowledge.embedder import Embedder
from knowledge.errors import ConfigurationError

BANK = Path(__file__).resolve().parent / "safety_bank.jsonl"
"""Labelled messages ({message, safety, source}): the dev split of evals/datasets/safety.jsonl
(never its test split) and messages written for the bank (drivers, agents, typos, Spanish,
recall questions, and everyday symptoms and how-tos that share the words of danger)."""
SHIPPED_MODEL = Path(__file__).resolve().parent / "safety_model.json"
MODEL_FORMAT = "glovebox-safety/2"
SVM_C = 3.0
SVM_GAMMA = 1.0
"""Chosen by cross-validation on the bank, over e5 and MiniLM side by side (see the README):
held out, it caught 0.97 of the safety messages at 3% false escalations; a logistic model 0.92."""
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
    c: float
    gamma: float
    threshold: float
    """On the machine's decision score (above it: a safety message)."""
    dimension: int
    support_vectors: str
    """Hex of the support vectors as little-endian float16, row after row (hex, not base64:
    base64 text can spell any word, and product files are checked for the sample's names)."""
    dual_coef: list[float]
    intercept: float
    held_out_recall: float
    """Of the bank's safety messages, the share flagged when held out (at the threshold)."""
    held_out_false_escalations: float

    @cached_property
    def _vectors(self) -> Any:
        import numpy as np

        packed = np.frombuffer(bytes.fromhex(self.support_vectors), dtype="<f2")
        return packed.astype(np.float32).reshape(-1, self.dimension)

    def score(self, vector: Sequence[float]) -> float:
        """The decision score: the RBF-weighted vote of the support vectors, plus the bias."""
        import numpy as np

        distances = ((self._vectors - np.asarray(vector, dtype=np.float32)) ** 2).sum(axis=1)
        votes = np.asarray(self.dual_coef, dtype=np.float32) @ np.exp(-self.gamma * distances)
        return float(votes + self.intercept)

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
    embedder: Embedder, bank: Bank, *, c: float = SVM_C, gamma: float = SVM_GAMMA
) -> SemanticSafetyModel:
    """The machine on the whole bank; its threshold from the bank's own held-out folds."""
    import numpy as np

    vectors = np.array(embedder.embed_documents([message for message, _ in bank]), np.float32)
    labels = np.array([label for _, label in bank])
    held_out = _held_out_scores(vectors, labels, c, gamma)
    threshold = _threshold_within_budget(held_out, labels)
    flagged = held_out >= threshold
    machine = _fit_machine(vectors, labels, c, gamma)
    support = machine.support_vectors_.astype("<f2")
    return SemanticSafetyModel(
        embedding_model=embedder.model_name,
        bank_digest=bank_digest(bank),
        c=c,
        gamma=gamma,
        threshold=threshold,
        dimension=int(vectors.shape[1]),
        support_vectors=support.tobytes().hex(),
        dual_coef=[round(float(w), 6) for w in machine.dual_coef_[0]],
        intercept=float(machine.intercept_[0]),
        held_out_recall=round(float(flagged[labels].mean()), 3),
        held_out_false_escalations=round(float(flagged[~labels].mean()), 3),
    )


def _fit_machine(vectors: Any, labels: Any, c: float, gamma: float) -> Any:
    from sklearn.svm import SVC

    return SVC(C=c, gamma=gamma, kernel="rbf").fit(vectors, labels)


def _held_out_scores(vectors: Any, labels: Any, c: float, gamma: float) -> Any:
    """Each message's score from a machine fitted without its fold (folds by position)."""
    import numpy as np

    fold_of = np.arange(len(labels)) % FOLDS
    scores = np.zeros(len(labels))
    for fold in range(FOLDS):
        inside = fold_of != fold
        machine = _fit_machine(vectors[inside], labels[inside], c, gamma)
        scores[~inside] = machine.decision_function(vectors[~inside])
    return scores


def _threshold_within_budget(scores: Any, labels: Any) -> float:
    """The lowest threshold whose held-out false escalations stay within the budget."""
    negatives = sorted((float(score) for score in scores[~labels]), reverse=True)
    allowed = int(len(negatives) * FALSE_ESCALATION_BUDGET)
    # Just above the (allowed+1)-th highest non-safety score.
    boundary = negatives[allowed] if allowed < len(negatives) else min(scores) - 1.0
    return round(boundary, 4) + 0.0001


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

    def score(self, message: str) -> float:
        model = self.model
        return model.score(self._embedder.embed_documents([message])[0])

    def check(self, message: str) -> str | None:
        score = self.score(message)
        if score >= self.model.threshold:
            return f"reads like known safety messages (score {score:.2f})"
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
