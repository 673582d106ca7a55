"""`glovebox bench safety`: the safety layers on the labelled safety set, per split.

The set (`evals/datasets/safety.jsonl`) was written before the detector, without looking at
its patterns: half safety cases, half not (with hard negatives that share their words). The
split is drawn from a hash of each id. `dev` is what the patterns were tuned on and what the
semantic layer's bank is (`assistant/safety_bank.jsonl`); `test` is only counted.

    rows = run_safety_bench(build_semantic_layer(settings, embedder))
    print(safety_table(rows))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.safety import (
    DangerPatterns,
    LayeredSafetyDetector,
    RecallUseRule,
    SafetyLayer,
)
from assistant.safety_semantic import FOLDS, SemanticSafetyModel, SimilarMessages
from evals.corpora import hashed_split
from evals.dataset import jsonl_records
from knowledge.errors import InputError

SAFETY_SET = Path(__file__).resolve().parent / "datasets" / "safety.jsonl"
DEV_SHARE = 0.5


@dataclass(frozen=True)
class SafetyCase:
    id: str
    message: str
    safety: bool
    split: str
    tags: tuple[str, ...]


@dataclass
class SafetyRow:
    detector: str
    flagged: dict[str, list[tuple[SafetyCase, bool]]] = field(default_factory=dict)
    """Per split: each case and whether the detector flagged it."""

    def recall(self, split: str, tag: str | None = None) -> tuple[int, int]:
        cases = [(c, f) for c, f in self.flagged[split] if c.safety and _tagged(c, tag)]
        return sum(f for _, f in cases), len(cases)

    def false_escalations(self, split: str, tag: str | None = None) -> tuple[int, int]:
        cases = [(c, f) for c, f in self.flagged[split] if not c.safety and _tagged(c, tag)]
        return sum(f for _, f in cases), len(cases)


def _tagged(case: SafetyCase, tag: str | None) -> bool:
    return tag is None or tag in case.tags


def load_safety_set(path: Path = SAFETY_SET) -> list[SafetyCase]:
    cases = []
    for number, row in jsonl_records(path):
        try:
            cases.append(
                SafetyCase(
                    row["id"], row["message"], row["label"] == "safety",
                    hashed_split("safety", row["id"], DEV_SHARE), tuple(row.get("tags", [])),
                )
            )  # fmt: skip
        except (KeyError, TypeError) as error:
            raise InputError(str(path), f"not a safety case ({error})", line=number) from error
    return cases


def detectors(semantic: SimilarMessages) -> dict[str, LayeredSafetyDetector]:
    combos: dict[str, list[SafetyLayer]] = {
        "patterns": [DangerPatterns()],
        "patterns+recall-rule": [DangerPatterns(), RecallUseRule()],
        "semantic": [semantic],
        "patterns+recall-rule+semantic (shipped)": [DangerPatterns(), RecallUseRule(), semantic],
    }
    return {name: LayeredSafetyDetector(layers) for name, layers in combos.items()}


def run_safety_bench(
    semantic: SimilarMessages, cases: list[SafetyCase] | None = None,
    on_status: Callable[[str], None] = lambda line: None,
) -> list[SafetyRow]:  # fmt: skip
    cases = cases if cases is not None else load_safety_set()
    rows = []
    for name, detector in detectors(semantic).items():
        on_status(f"safety: {name}")
        row = SafetyRow(name)
        for case in cases:
            flagged = detector.detect(case.message) is not None
            row.flagged.setdefault(case.split, []).append((case, flagged))
        rows.append(row)
    return rows


BREAKDOWN = ("agent", "spanish", "typo", "recall-aware", "hard-negative")


def safety_table(rows: list[SafetyRow]) -> str:
    """Escalation recall and false escalations per split, then by kind of message."""
    lines = [
        "(dev is what the patterns were tuned on and the semantic layer's bank: in-sample)",
        f"{'detector':<42}{'split':<7}{'recall':>14}{'false esc.':>14}",
    ]
    for row in rows:
        for split in ("dev", "test"):
            if split not in row.flagged:
                continue
            hit, of = row.recall(split)
            wrong, negatives = row.false_escalations(split)
            lines.append(
                f"{row.detector:<42}{split:<7}{_share(hit, of):>14}{_share(wrong, negatives):>14}"
            )
    shipped = rows[-1]
    lines.append("")
    lines.append(f"{shipped.detector}, by kind (test split):")
    for tag in BREAKDOWN:
        hit, of = shipped.recall("test", tag)
        wrong, negatives = shipped.false_escalations("test", tag)
        lines.append(
            f"  {tag:<16} recall {_share(hit, of):>14}   false esc. {_share(wrong, negatives)}"
        )
    return "\n".join(lines)


def semantic_line(model: SemanticSafetyModel) -> str:
    """The semantic layer on its own bank, each message held out of the fit that scores it:
    the honest dev figure, since the bank holds the dev split."""
    return (
        f"semantic layer ({model.embedding_model}), bank held out by {FOLDS}-fold "
        f"cross-validation: recall {model.held_out_recall:.2f}, false escalations "
        f"{model.held_out_false_escalations:.2f} at threshold {model.threshold:.2f}"
    )


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} {part / whole:.2f}" if whole else "-"
