"""ragas metrics over eval cases: its non-LLM metrics always, its LLM metrics when a judge is set.

The judge is pinned (model name, temperature 0, a seed) and can be run `repeats` times; every
metric reports its mean, the spread across repeats, and how many samples could not be scored.

    scores = RagasScorer(judge=None).run(samples)
    scores.summary["id_context_recall"]["mean"]
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings, quiet_offline_environment

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass(frozen=True)
class RagasSample:
    """What ragas needs from one answered case."""

    case_id: str
    question: str
    answer: str
    cited_contexts: list[str]
    retrieved_ids: list[str]
    reference_ids: list[str]
    reference_answer: str | None


@dataclass(frozen=True)
class MetricSpec:
    name: str
    uses_llm: bool
    applies: Callable[[RagasSample], bool]
    build: Callable[[], Any]
    fields: Callable[[RagasSample], dict[str, Any]]


def _id_precision() -> Any:
    from ragas.metrics import IDBasedContextPrecision

    return IDBasedContextPrecision()


def _id_recall() -> Any:
    from ragas.metrics import IDBasedContextRecall

    return IDBasedContextRecall()


def _rouge() -> Any:
    from ragas.metrics import RougeScore

    return RougeScore(rouge_type="rougeL", mode="fmeasure")


def _string_similarity() -> Any:
    from ragas.metrics import NonLLMStringSimilarity

    return NonLLMStringSimilarity()


def _faithfulness() -> Any:
    from ragas.metrics import Faithfulness

    return Faithfulness()


def _retrieval_fields(sample: RagasSample) -> dict[str, Any]:
    return {
        "retrieved_context_ids": sample.retrieved_ids,
        "reference_context_ids": sample.reference_ids,
    }


def _reference_fields(sample: RagasSample) -> dict[str, Any]:
    return {"response": sample.answer, "reference": sample.reference_answer}


def _faithfulness_fields(sample: RagasSample) -> dict[str, Any]:
    return {
        "user_input": sample.question,
        "response": sample.answer,
        "retrieved_contexts": sample.cited_contexts,
    }


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "id_context_precision", False, lambda s: bool(s.reference_ids), _id_precision,
        _retrieval_fields,
    ),
    MetricSpec(
        "id_context_recall", False, lambda s: bool(s.reference_ids), _id_recall, _retrieval_fields
    ),
    MetricSpec(
        "rouge_l_vs_reference", False, lambda s: bool(s.reference_answer and s.answer), _rouge,
        _reference_fields,
    ),
    MetricSpec(
        "string_similarity_vs_reference", False,
        lambda s: bool(s.reference_answer and s.answer), _string_similarity, _reference_fields,
    ),
    MetricSpec(
        "faithfulness_ragas", True, lambda s: bool(s.cited_contexts and s.answer), _faithfulness,
        _faithfulness_fields,
    ),
)  # fmt: skip


@dataclass
class RagasScores:
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_case: dict[str, dict[str, float | None]] = field(default_factory=dict)


def build_judge(settings: GloveboxSettings) -> BaseChatModel | None:
    """The pinned judge chat model, or None when GLOVEBOX_JUDGE_BASE_URL is unset."""
    if not settings.judge_base_url:
        return None
    from assistant.llm import build_chat_model

    return build_chat_model(
        settings.judge_base_url,
        settings.judge_model,
        settings.judge_api_key,
        0.0,
        settings.judge_timeout_seconds,
        1024,
        seed=settings.judge_seed,
    )


class RagasScorer:
    """Scores samples with every ragas metric that applies; LLM metrics only with a judge."""

    def __init__(self, judge: BaseChatModel | None = None, *, repeats: int = 1) -> None:
        if repeats < 1:
            raise ConfigurationError("--repeats must be 1 or more")
        self._judge = judge
        self._repeats = repeats

    def run(self, samples: list[RagasSample]) -> RagasScores:
        scores = RagasScores()
        for spec in METRICS:
            if spec.uses_llm and self._judge is None:
                continue
            chosen = [s for s in samples if spec.applies(s)]
            repeats = self._repeats if spec.uses_llm else 1
            runs = [self._score(spec, chosen) for _ in range(repeats)] if chosen else []
            scores.summary[spec.name] = _summarise(runs, len(chosen), repeats, spec.uses_llm)
            for index, sample in enumerate(chosen):
                values = [value for run in runs if (value := run[index]) is not None]
                case_scores = scores.per_case.setdefault(sample.case_id, {})
                case_scores[spec.name] = round(statistics.fmean(values), 4) if values else None
        return scores

    def _score(self, spec: MetricSpec, samples: list[RagasSample]) -> list[float | None]:
        quiet_offline_environment()
        from ragas import EvaluationDataset, SingleTurnSample, evaluate
        from ragas.dataset_schema import EvaluationResult

        dataset = EvaluationDataset(
            samples=[SingleTurnSample(**spec.fields(sample)) for sample in samples]
        )
        options: dict[str, Any] = {}
        if spec.uses_llm:
            from ragas.llms import LangchainLLMWrapper

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                options["llm"] = LangchainLLMWrapper(self._judge)
        with warnings.catch_warnings():
            # ragas 0.4 warns that these metric classes move in 1.0; the pin keeps them here.
            warnings.simplefilter("ignore", DeprecationWarning)
            result = evaluate(dataset, metrics=[spec.build()], show_progress=False, **options)
        assert isinstance(result, EvaluationResult)
        # One metric per call, so each row holds one score (ragas may decorate its key).
        return [_finite(next(iter(row.values()), None)) for row in result.scores]


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not math.isnan(value):
        return float(value)
    return None


def _summarise(
    runs: list[list[float | None]], samples: int, repeats: int, uses_llm: bool
) -> dict[str, Any]:
    """`unscored` counts samples no repeat could score; `failed_scores` counts failed repeats."""
    run_means = [statistics.fmean(s) for run in runs if (s := [v for v in run if v is not None])]
    unscored = sum(all(run[i] is None for run in runs) for i in range(samples)) if runs else 0
    return {
        "mean": round(statistics.fmean(run_means), 4) if run_means else None,
        "stdev": round(statistics.stdev(run_means), 4) if len(run_means) > 1 else None,
        "repeats": repeats,
        "samples": samples,
        "scored": samples - unscored,
        "unscored": unscored,
        "failed_scores": sum(value is None for run in runs for value in run),
        "llm": uses_llm,
    }
