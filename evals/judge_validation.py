"""How well a support checker agrees with human faithfulness labels on public benchmarks.

The support checker is the judge that drops unsupported answer sentences; before trusting it,
we measure it against three human-labelled sets read in place from ../shared/data/faithfulness:

- BEGIN (knowledge-grounded dialogue responses, attribution to a knowledge snippet),
- HaluEval "general" (real user queries and ChatGPT answers, hallucination yes/no),
- FaithBench (LLM summaries of a source text, span-level hallucination annotations).

    results = run_judge_validation(DeterministicSupportChecker(embedder), Path("../shared/data"))
    print("\\n".join([TABLE_HEADER, *(result.row() for result in results)]))
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.protocols import SupportChecker
from assistant.records import Passage
from knowledge.errors import InputError

FAITHFULNESS_DIR = Path("faithfulness")
"""Where the three sets live, relative to the shared data folder."""
BEGIN_DIR = FAITHFULNESS_DIR / "begin"
HALUEVAL_FILE = FAITHFULNESS_DIR / "halueval" / "general_data.json"
FAITHBENCH_FILE = FAITHFULNESS_DIR / "faithbench" / "FaithBench.csv"
MISSING_DATA_HINT = (
    "pass the folder holding faithfulness/ with `glovebox eval --judge-data DIR` "
    "(or skip with --judge-samples 0), or `glovebox bench judges --shared-data DIR`"
)

WINDOW_WORDS = 200
WINDOW_OVERLAP_WORDS = 50
"""all-MiniLM-L6-v2 truncates at 256 word pieces (~200 English words); see `context_windows`."""

KEPT_ERRORS = 5

BEGIN_FAITHFUL_LABELS = frozenset({"fully attributable"})
BEGIN_KNOWN_LABELS = frozenset({"fully attributable", "not fully attributable", "generic"})
HALUEVAL_LABELS = {"no": True, "yes": False}
FAITHBENCH_FAITHFUL_LABELS = frozenset({"consistent", "benign"})
FAITHBENCH_KNOWN_LABELS = frozenset({"consistent", "benign", "questionable", "unwanted"})


@dataclass(frozen=True)
class JudgedSample:
    """One human-labelled (context, claim) pair; `faithful` is the human verdict."""

    source: str
    context: str
    claim: str
    faithful: bool


def _sampled(samples: list[JudgedSample], limit: int | None, seed: int) -> list[JudgedSample]:
    """A repeatable random subset: the same file, limit and seed give the same samples."""
    if limit is None or limit >= len(samples):
        return samples
    return random.Random(seed).sample(samples, limit)


def _require_columns(path: Path, found: Sequence[str] | None, needed: Sequence[str]) -> None:
    missing = [column for column in needed if column not in (found or [])]
    if missing:
        raise InputError(
            str(path),
            f"missing column(s) {', '.join(missing)}; found {', '.join(found or []) or 'none'}",
        )


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise InputError(str(path), f"no such file; {MISSING_DATA_HINT}")


def _begin_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("**/begin_*.tsv"))
    if not files:
        raise InputError(str(folder), f"no begin_*.tsv files here; {MISSING_DATA_HINT}")
    return files


def check_judge_data(shared_data_dir: Path) -> None:
    """Raises InputError naming the first missing set, so an eval fails before its cases run."""
    _begin_files(shared_data_dir / BEGIN_DIR)
    _require_file(shared_data_dir / HALUEVAL_FILE)
    _require_file(shared_data_dir / FAITHBENCH_FILE)


def load_begin(folder: Path, *, limit: int | None = None, seed: int = 0) -> list[JudgedSample]:
    """BEGIN's dev and test TSVs under `folder` (every `begin_*.tsv`, all three sub-benchmarks).

    context = `knowledge` (the snippet the response should be grounded in), claim = `response`.
    `begin_label` "Fully attributable" is faithful; "Not fully attributable" and "Generic" are
    not (a generic reply such as "I love that movie!" is not attributable to the knowledge).
    Labels are stripped: the files end lines with CR, which the csv module leaves in the value.
    """
    samples = []
    for path in _begin_files(folder):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            _require_columns(path, reader.fieldnames, ("knowledge", "response", "begin_label"))
            for row in reader:
                label = (row["begin_label"] or "").strip().lower()
                if label not in BEGIN_KNOWN_LABELS:
                    raise InputError(
                        str(path), f"unknown begin_label {label!r}", line=reader.line_num
                    )
                samples.append(
                    JudgedSample(
                        "begin",
                        (row["knowledge"] or "").strip(),
                        (row["response"] or "").strip(),
                        label in BEGIN_FAITHFUL_LABELS,
                    )
                )
    return _sampled(samples, limit, seed)


def load_halueval_general(
    path: Path, *, limit: int | None = None, seed: int = 0
) -> list[JudgedSample]:
    """HaluEval's general_data.json (JSON Lines despite the name).

    Fields: `user_query`, `chatgpt_response`, `hallucination` ("yes"/"no", human-annotated).
    context = `user_query`, claim = `chatgpt_response`; "no" is faithful, "yes" is not.
    This set has no grounding document: the query is the only context there is, so a support
    checker can only judge whether the answer stays on what was asked, not whether its facts
    are true. Read its figures as a stress test, not as grounding accuracy.
    """
    _require_file(path)
    needed = ("user_query", "chatgpt_response", "hallucination")
    samples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(str(path), f"not JSON: {error}", line=number) from error
            _require_columns(path, list(record), needed)
            label = str(record["hallucination"]).strip().lower()
            if label not in HALUEVAL_LABELS:
                raise InputError(str(path), f"unknown hallucination {label!r}", line=number)
            samples.append(
                JudgedSample(
                    "halueval-general",
                    str(record["user_query"]).strip(),
                    str(record["chatgpt_response"]).strip(),
                    HALUEVAL_LABELS[label],
                )
            )
    return _sampled(samples, limit, seed)


def load_faithbench(path: Path, *, limit: int | None = None, seed: int = 0) -> list[JudgedSample]:
    """FaithBench.csv: context = `source`, claim = `summary`, label = `worst-label`.

    Follows the authors' own binarisation (scripts/binarize.py in vectara/FaithBench: the
    "worst" annotation wins, Questionable and Unwanted are hallucinated): a summary is faithful
    when its worst label is Consistent or Benign, hallucinated when Questionable or Unwanted.
    """
    _require_file(path)
    csv.field_size_limit(sys.maxsize)
    samples = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        _require_columns(path, reader.fieldnames, ("source", "summary", "worst-label"))
        for row in reader:
            label = (row["worst-label"] or "").strip().lower()
            if label not in FAITHBENCH_KNOWN_LABELS:
                raise InputError(str(path), f"unknown worst-label {label!r}", line=reader.line_num)
            samples.append(
                JudgedSample(
                    "faithbench",
                    (row["source"] or "").strip(),
                    (row["summary"] or "").strip(),
                    label in FAITHBENCH_FAITHFUL_LABELS,
                )
            )
    return _sampled(samples, limit, seed)


def context_windows(
    context: str, words: int = WINDOW_WORDS, overlap: int = WINDOW_OVERLAP_WORDS
) -> list[Passage]:
    """The context as overlapping ~200-word passages, all cited together.

    The embedder truncates at 256 tokens, so one long passage would be judged on its opening
    only; windows let the checker's max-similarity find the part the claim paraphrases. Its
    fact check still sees every window (it joins the cited texts).
    """
    tokens = context.split()
    step = words - overlap
    starts = range(0, max(len(tokens) - overlap, 1), step)
    return [
        Passage(f"ctx-{number}", " ".join(tokens[start : start + words]), {})
        for number, start in enumerate(starts)
    ]


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the ROC curve, by the Mann–Whitney rank-sum with average ranks for ties.

    The chance a random positive scores above a random negative (ties count half);
    NaN when either class is absent.
    """
    positive_count = sum(positives)
    negative_count = len(positives) - positive_count
    if positive_count == 0 or negative_count == 0:
        return math.nan
    order = sorted(range(len(scores)), key=lambda index: scores[index])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    positive_rank_sum = sum(
        rank for rank, positive in zip(ranks, positives, strict=True) if positive
    )
    u_statistic = positive_rank_sum - positive_count * (positive_count + 1) / 2
    return u_statistic / (positive_count * negative_count)


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts with "unsupported/hallucinated" as the positive class: what the judge must catch."""

    caught: int
    """Hallucinated, judged unsupported (true positive)."""
    missed: int
    """Hallucinated, judged supported (false negative)."""
    false_alarms: int
    """Faithful, judged unsupported (false positive)."""
    passed: int
    """Faithful, judged supported (true negative)."""

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the recall on each class; NaN when a class is absent."""
        hallucinated = self.caught + self.missed
        faithful = self.false_alarms + self.passed
        if hallucinated == 0 or faithful == 0:
            return math.nan
        return (self.caught / hallucinated + self.passed / faithful) / 2

    @property
    def f1_unsupported(self) -> float:
        """F1 of the unsupported/hallucinated class; 0.0 when nothing was caught."""
        if self.caught == 0:
            return 0.0
        return 2 * self.caught / (2 * self.caught + self.missed + self.false_alarms)


TABLE_HEADER = (
    f"{'set':<18} {'n':>5} {'unscored':>8} {'bal.acc':>7} {'AUROC':>6} {'F1(unsup.)':>10}"
)


@dataclass(frozen=True)
class JudgeValidation:
    """A checker's agreement with human labels on one set.

    AUROC ranks by the verdict's `score` (higher = more supported) with faithful as the positive
    class; balanced accuracy and F1 use the verdict's `supported`, F1 for the unsupported class.
    Metrics cover the scored samples only; `unscored` counts the ones whose check raised.
    """

    source: str
    n: int
    unscored: int
    faithful: int
    hallucinated: int
    confusion: ConfusionMatrix
    auroc: float
    errors: list[str] = field(default_factory=list)
    """The first few exceptions, as `Type: message`, so an unscored count can be explained."""

    @property
    def scored(self) -> int:
        return self.n - self.unscored

    @property
    def balanced_accuracy(self) -> float:
        return self.confusion.balanced_accuracy

    @property
    def f1_unsupported(self) -> float:
        return self.confusion.f1_unsupported

    def to_json(self, judge: str) -> dict[str, Any]:
        return {
            "dataset": self.source,
            "judge": judge,
            "samples": self.n,
            "unscored": self.unscored,
            "balanced_accuracy": _rounded(self.balanced_accuracy),
            "auroc": _rounded(self.auroc),
            "f1_unsupported": _rounded(self.f1_unsupported),
        }

    def row(self) -> str:
        return (
            f"{self.source:<18} {self.n:>5} {self.unscored:>8} "
            f"{_figure(self.balanced_accuracy):>7} {_figure(self.auroc):>6} "
            f"{_figure(self.f1_unsupported):>10}"
        )


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _figure(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def validate(checker: SupportChecker, samples: Sequence[JudgedSample]) -> JudgeValidation:
    """Runs the checker on every sample (claim against its windowed context) and scores it."""
    scores: list[float] = []
    faithful_labels: list[bool] = []
    caught = missed = false_alarms = passed = 0
    errors: list[str] = []
    unscored = 0
    for sample in samples:
        try:
            verdict = checker.run(sample.claim, context_windows(sample.context))
        except Exception as error:  # counted and reported below, never dropped silently
            unscored += 1
            if len(errors) < KEPT_ERRORS:
                errors.append(f"{type(error).__name__}: {error}")
            continue
        scores.append(verdict.score)
        faithful_labels.append(sample.faithful)
        if sample.faithful:
            passed += verdict.supported
            false_alarms += not verdict.supported
        else:
            missed += verdict.supported
            caught += not verdict.supported
    return JudgeValidation(
        source=samples[0].source if samples else "",
        n=len(samples),
        unscored=unscored,
        faithful=sum(sample.faithful for sample in samples),
        hallucinated=sum(not sample.faithful for sample in samples),
        confusion=ConfusionMatrix(caught, missed, false_alarms, passed),
        auroc=auroc(scores, faithful_labels),
        errors=errors,
    )


def run_judge_validation(
    checker: SupportChecker, shared_data_dir: Path, limit: int = 200, seed: int = 0
) -> list[JudgeValidation]:
    """The checker on `limit` samples of each set; `shared_data_dir` is ../shared/data."""
    sets = [
        load_begin(shared_data_dir / BEGIN_DIR, limit=limit, seed=seed),
        load_halueval_general(shared_data_dir / HALUEVAL_FILE, limit=limit, seed=seed),
        load_faithbench(shared_data_dir / FAITHBENCH_FILE, limit=limit, seed=seed),
    ]
    return [validate(checker, samples) for samples in sets]
