"""The whole eval run behind `glovebox eval`: cases, ragas, judge validation, gate, report.

    suite = EvalSuite(settings, EvalOptions(corpora=("sample", "venza"), out_dir=Path("out")))
    outcome = suite.run(progress=lambda: None)
    outcome.gate.passed  # False makes `glovebox eval` exit non-zero

Each corpus (evals/corpora.yaml) is ingested into a knowledge base of its own (`eval-NAME`,
incrementally: a second run embeds nothing) and its cases are asked of it. A dataset of the
user's own (`dataset=`) is asked of the knowledge base `kb` instead. Tickets opened by
escalating cases go to a database of their own in the output folder, so an eval never fills
the agents' real queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from evals.calibrate import CalibrationReport, calibrate
from evals.corpora import (
    CORPORA_FILE,
    DEFAULT_SHARED_DATA,
    corpus_cases,
    corpus_sources,
    load_corpora,
    resolve_sections,
    select_corpora,
)
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
from evals.runner import CaseOutcome, EvalRunner, score_outcomes
from knowledge.embedder import Embedder
from knowledge.settings import GloveboxSettings

HALUEVAL_NOTE = (
    "HaluEval-general has no grounding document (its context is the user's query), so a "
    "checker that demands every number appear in the context flags most answers there; "
    "read BEGIN and FaithBench first."
)
DETERMINISTIC_JUDGE = "support checker (embedding similarity + facts)"


@dataclass(frozen=True)
class EvalOptions:
    out_dir: Path
    corpora: tuple[str, ...] = ("sample",)
    """Names in evals/corpora.yaml, or `all`; ignored when `dataset` is given."""
    dataset: Path | None = None
    """The user's own cases, asked of the knowledge base `kb`."""
    kb: str = "default"
    shared_data: Path = DEFAULT_SHARED_DATA
    corpora_file: Path = CORPORA_FILE
    generator_kind: Literal["extractive", "llm"] | None = None
    repeats: int = 1
    baseline: Path | None = None
    thresholds: Path | None = DEFAULT_THRESHOLDS
    """None runs without a gate."""
    judge_data: Path | None = None
    """The shared data folder holding faithfulness/; None skips judge validation."""
    judge_samples: int = 100
    calibrate: Path | None = None
    """Fit the confidence model on the run's dev cases and write it here (the run answers
    every case it can, the answer threshold at 0)."""
    hold_out: tuple[str, ...] = ()
    """Corpora the calibration is checked on and never fitted on."""


@dataclass
class EvalOutcome:
    results: dict[str, Any]
    results_path: Path
    report_path: Path
    gate: GateResult | None = None
    deltas: dict[str, dict[str, float | None]] = field(default_factory=dict)
    calibration: CalibrationReport | None = None


@dataclass
class _Plan:
    """One knowledge base and the cases asked of it."""

    label: str
    kb: str
    cases: list[EvalCase]
    runner: EvalRunner | None = None
    profile_path: Path | None = None


class EvalSuite:
    """Builds everything up front (so bad options fail before any case runs), then runs."""

    def __init__(
        self,
        settings: GloveboxSettings,
        options: EvalOptions,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        from assistant.support import DeterministicSupportChecker
        from knowledge.components import build_embedder

        self._options = options
        self._on_status = on_status or (lambda message: None)
        plans = self._plans(options)
        self.cases: list[EvalCase] = [case for plan in plans for case in plan.cases]
        self._thresholds = load_thresholds(options.thresholds) if options.thresholds else None
        self._baseline = load_baseline(options.baseline) if options.baseline else None
        if self._judge_data is not None:
            from evals.judge_validation import check_judge_data

            check_judge_data(self._judge_data)
        options.out_dir.mkdir(parents=True, exist_ok=True)
        tickets = options.out_dir / "tickets.sqlite3"
        tickets.unlink(missing_ok=True)
        update: dict[str, Any] = {"database_url": f"sqlite:///{tickets}"}
        if options.calibrate is not None:
            update["confidence_answer_threshold"] = 0.0  # every answer shown, so all are judged
        self._settings = settings.model_copy(update=update)
        embedder = build_embedder(settings)
        self._checker = DeterministicSupportChecker(
            embedder, min_similarity=settings.support_min_similarity
        )
        self._judge = build_judge(settings)
        self._generator = options.generator_kind or (
            "llm" if settings.llm_base_url else "extractive"
        )
        if options.dataset is None:
            self._ingest(plans, embedder)
        for plan in plans:
            plan.runner = self._runner(plan, embedder)
            plan.cases = self._at_corpus_depth(plan)
        self._plans_to_run = plans
        self._ragas = RagasScorer(self._judge, repeats=options.repeats)

    @staticmethod
    def _plans(options: EvalOptions) -> list[_Plan]:
        if options.dataset is not None:
            return [_Plan(str(options.dataset), options.kb, load_dataset(options.dataset))]
        chosen = select_corpora(load_corpora(options.corpora_file), list(options.corpora))
        return [
            _Plan(
                corpus.name,
                corpus.knowledge_base,
                corpus_cases(corpus, options.shared_data),
                profile_path=corpus.profile_path,
            )
            for corpus in chosen
        ]

    def _ingest(self, plans: list[_Plan], embedder: Embedder) -> None:
        """Each corpus into its own knowledge base; unchanged sources embed nothing."""
        from ingest.sync import build_ingest_job

        corpora = load_corpora(self._options.corpora_file)
        for plan in plans:
            corpus = corpora[plan.label]
            paths, manifest = corpus_sources(
                corpus, self._options.shared_data, self._options.out_dir / "manifests"
            )
            self._on_status(f"knowledge base {plan.kb}: ingesting {corpus.name}")
            report = build_ingest_job(self._settings, plan.kb, embedder).run(
                paths, manifests=[manifest]
            )
            for skipped in report.skipped:
                self._on_status(f"warning: {corpus.name}: {skipped.path}: {skipped.reason}")

    @staticmethod
    def _at_corpus_depth(plan: _Plan) -> list[EvalCase]:
        if not any(case.expected_sections for case in plan.cases):
            return plan.cases
        assert plan.runner is not None
        chunks = plan.runner.store.iter_chunks()
        known = {str(chunk.metadata.get("section", "")) for chunk in chunks}
        return [resolve_sections(case, known) for case in plan.cases]

    def _runner(self, plan: _Plan, embedder: Embedder) -> EvalRunner:
        """The assistant for the plan's knowledge base; retrieval is scored with its retriever
        and vehicles found with its catalogue (one BM25 index per knowledge base)."""
        from assistant.wiring import build_assistant, build_keyword_index, build_retriever
        from knowledge.components import open_knowledge_base

        settings = self._settings
        if plan.profile_path is not None:
            settings = settings.model_copy(update={"profile_path": plan.profile_path})
        store = open_knowledge_base(settings, plan.kb, embedder, create=False)
        keyword = build_keyword_index(settings, store)
        retriever = build_retriever(settings, store, embedder, keyword=keyword)
        assistant = build_assistant(
            settings,
            plan.kb,
            embedder=embedder,
            generator_kind=self._generator,
            store=store,
            retriever=retriever,
            keyword=keyword,
        )
        return EvalRunner(assistant, retriever, store, assistant.catalog, self._checker)

    def run(self, progress: Callable[[], None] | None = None) -> EvalOutcome:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        outcomes: list[CaseOutcome] = []
        samples = []
        for plan in self._plans_to_run:
            assert plan.runner is not None
            asked, sampled = plan.runner.ask_all(plan.cases, progress=progress)
            outcomes += asked
            samples += sampled
        results = score_outcomes(outcomes, samples, self._ragas).to_json()
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
        if self._options.calibrate is not None:
            outcome.calibration = calibrate(results["cases"], hold_out=set(self._options.hold_out))
            outcome.calibration.model.save(self._options.calibrate)
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
            "dataset": ", ".join(plan.label for plan in self._plans_to_run),
            "knowledge_base": ", ".join(plan.kb for plan in self._plans_to_run),
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
