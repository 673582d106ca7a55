"""The whole eval run behind `glovebox eval`: cases, ragas, judge validation, gate, report.

    suite = EvalSuite(settings, EvalOptions(dataset=path, kb="default", out_dir=Path("out")))
    outcome = suite.run(progress=lambda: None)
    outcome.gate.passed  # False makes `glovebox eval` exit non-zero

Tickets opened by escalating cases go to a database of their own in the output folder, so an
eval never fills the agents' real queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from evals.dataset import EvalCase, load_dataset
from evals.gate import (
    DEFAULT_THRESHOLDS,
    GateResult,
    check_gate,
    load_baseline,
    load_thresholds,
    metric_deltas,
)
from evals.ragas_scoring import RagasScorer, build_judge
from evals.runner import EvalRunner
from knowledge.settings import GloveboxSettings

HALUEVAL_NOTE = (
    "HaluEval-general has no grounding document (its context is the user's query), so a "
    "checker that demands every number appear in the context flags most answers there; "
    "read BEGIN and FaithBench first."
)
DETERMINISTIC_JUDGE = "support checker (embedding similarity + facts)"


@dataclass(frozen=True)
class EvalOptions:
    dataset: Path
    kb: str
    out_dir: Path
    generator_kind: Literal["extractive", "llm"] | None = None
    repeats: int = 1
    baseline: Path | None = None
    thresholds: Path | None = DEFAULT_THRESHOLDS
    """None runs without a gate."""
    judge_data: Path | None = None
    """The shared data folder holding faithfulness/; None skips judge validation."""
    judge_samples: int = 100


@dataclass
class EvalOutcome:
    results: dict[str, Any]
    results_path: Path
    report_path: Path
    gate: GateResult | None = None
    deltas: dict[str, dict[str, float | None]] = field(default_factory=dict)


class EvalSuite:
    """Builds everything up front (so bad options fail before any case runs), then runs."""

    def __init__(self, settings: GloveboxSettings, options: EvalOptions) -> None:
        from assistant.support import DeterministicSupportChecker
        from assistant.vehicles import VehicleCatalog
        from assistant.wiring import build_assistant, build_retriever
        from knowledge.components import build_embedder, open_knowledge_base

        self._options = options
        self.cases: list[EvalCase] = load_dataset(options.dataset)
        self._thresholds = load_thresholds(options.thresholds) if options.thresholds else None
        self._baseline = load_baseline(options.baseline) if options.baseline else None
        if self._judge_data is not None:
            from evals.judge_validation import check_judge_data

            check_judge_data(self._judge_data)
        options.out_dir.mkdir(parents=True, exist_ok=True)
        tickets = options.out_dir / "tickets.sqlite3"
        tickets.unlink(missing_ok=True)
        self._settings = settings.model_copy(update={"database_url": f"sqlite:///{tickets}"})
        embedder = build_embedder(settings)
        store = open_knowledge_base(settings, options.kb, embedder, create=False)
        self._checker = DeterministicSupportChecker(
            embedder, min_similarity=settings.support_min_similarity
        )
        self._judge = build_judge(settings)
        self._generator = options.generator_kind or (
            "llm" if settings.llm_base_url else "extractive"
        )
        self._runner = EvalRunner(
            build_assistant(
                self._settings, options.kb, embedder=embedder, generator_kind=self._generator
            ),
            build_retriever(settings, store, embedder),
            store,
            VehicleCatalog.from_metadata(chunk.metadata for chunk in store.iter_chunks()),
            self._checker,
            RagasScorer(self._judge, repeats=options.repeats),
        )

    def run(self, progress: Callable[[], None] | None = None) -> EvalOutcome:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        evaluated = self._runner.run(self.cases, progress=progress)
        results = evaluated.to_json()
        results["run"] = self._run_info(started_at)
        outcome = EvalOutcome(
            results,
            self._options.out_dir / "results.json",
            self._options.out_dir / "report.html",
        )
        if self._thresholds is not None:
            assert self._options.thresholds is not None
            outcome.gate = check_gate(
                results["metrics"], self._thresholds, str(self._options.thresholds)
            )
            results["gate"] = outcome.gate.to_json()
        if self._baseline is not None:
            outcome.deltas = metric_deltas(results["metrics"], self._baseline["metrics"])
            results["baseline"] = {"file": str(self._options.baseline), "deltas": outcome.deltas}
        # Written before judge validation as well, so a bad judge-data file cannot lose the cases.
        self._write(outcome)
        judge_rows = self._judge_validation()
        if judge_rows:
            results["judge_validation"] = judge_rows
            results["judge_validation_note"] = HALUEVAL_NOTE
            self._write(outcome)
        return outcome

    @property
    def _judge_data(self) -> Path | None:
        """The shared data folder for judge validation; None when it is skipped."""
        if self._options.judge_samples <= 0:
            return None
        return self._options.judge_data

    def _run_info(self, started_at: str) -> dict[str, Any]:
        judge = None
        if self._judge is not None:
            judge = (
                f"{self._settings.judge_model} at {self._settings.judge_base_url} "
                f"(temperature 0, seed {self._settings.judge_seed})"
            )
        try:
            glovebox_version = version("glovebox")
        except PackageNotFoundError:
            glovebox_version = "unknown"
        return {
            "dataset": str(self._options.dataset),
            "knowledge_base": self._options.kb,
            "generator": self._generator,
            "repeats": self._options.repeats,
            "started_at": started_at,
            "judge_model": judge,
            "glovebox_version": glovebox_version,
        }

    def _judge_validation(self) -> list[dict[str, Any]]:
        folder = self._judge_data
        if folder is None:
            return []
        from evals.judge_validation import run_judge_validation

        limit = self._options.judge_samples
        rows = [
            result.to_json(DETERMINISTIC_JUDGE)
            for result in run_judge_validation(self._checker, folder, limit=limit)
        ]
        if self._judge is not None:
            from assistant.llm import LlmSupportJudge

            rows += [
                result.to_json(f"LLM judge: {self._settings.judge_model}")
                for result in run_judge_validation(
                    LlmSupportJudge(self._judge), folder, limit=limit
                )
            ]
        return rows

    def _write(self, outcome: EvalOutcome) -> None:
        from evals.report import write_report

        outcome.results_path.write_text(json.dumps(outcome.results, indent=2), encoding="utf-8")
        write_report(outcome.results, self._options.out_dir, baseline=self._baseline)
