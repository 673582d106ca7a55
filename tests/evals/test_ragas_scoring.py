"""ragas metrics: the non-LLM ones always; the LLM ones with a pinned judge, repeated."""

from __future__ import annotations

import json

import pytest

from evals.ragas_scoring import RagasSample, RagasScorer, build_judge
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from tests.fakes import ScriptedChatModel

TPMS = RagasSample(
    case_id="tpms",
    question="How do I reset the TPMS light?",
    answer="Press and hold the TPMS SET button for 3 seconds [1].",
    cited_contexts=["Press and hold the TPMS SET button for 3 seconds until the light blinks."],
    retrieved_ids=["tessel-manual", "brisa-manual"],
    reference_ids=["tessel-manual"],
    reference_answer="Hold the TPMS SET button for three seconds.",
)
WRONG = RagasSample(
    case_id="wrong",
    question="How much can it tow?",
    answer="",
    cited_contexts=[],
    retrieved_ids=["faq-charging"],
    reference_ids=["karst-manual"],
    reference_answer=None,
)


def statements(*items: str) -> str:
    return json.dumps({"statements": list(items)})


def verdicts(*pairs: tuple[str, int]) -> str:
    return json.dumps(
        {"statements": [{"statement": s, "reason": "r", "verdict": v} for s, v in pairs]}
    )


def test_non_llm_metrics_score_retrieval_ids_and_reference_overlap() -> None:
    scores = RagasScorer().run([TPMS, WRONG])
    assert scores.per_case["tpms"]["id_context_recall"] == 1.0
    assert scores.per_case["tpms"]["id_context_precision"] == 0.5
    assert scores.per_case["wrong"]["id_context_recall"] == 0.0
    assert 0.3 < scores.per_case["tpms"]["rouge_l_vs_reference"] < 1.0  # type: ignore[operator]
    assert "rouge_l_vs_reference" not in scores.per_case["wrong"]  # nothing to compare
    recall = scores.summary["id_context_recall"]
    assert recall["mean"] == 0.5 and recall["samples"] == 2 and recall["unscored"] == 0
    assert recall["scored"] == 2 and recall["failed_scores"] == 0
    assert "faithfulness_ragas" not in scores.summary  # no judge, no LLM metric


def test_llm_faithfulness_is_repeated_with_mean_spread_and_unscored_count() -> None:
    judge = ScriptedChatModel(
        replies=[
            statements("Hold the TPMS SET button.", "It takes 3 seconds."),
            verdicts(("Hold the TPMS SET button.", 1), ("It takes 3 seconds.", 1)),
            statements("Hold the TPMS SET button.", "It takes 3 seconds."),
            verdicts(("Hold the TPMS SET button.", 1), ("It takes 3 seconds.", 0)),
        ]
        + ["not json at all"] * 12  # the third repeat cannot be parsed
    )
    scores = RagasScorer(judge, repeats=3).run([TPMS, WRONG])
    faithfulness = scores.summary["faithfulness_ragas"]
    assert faithfulness["llm"] is True and faithfulness["repeats"] == 3
    assert faithfulness["samples"] == 1  # WRONG cited nothing: not a faithfulness sample
    assert faithfulness["mean"] == 0.75 and faithfulness["stdev"] == pytest.approx(0.3536, 1e-3)
    # Two of three repeats scored it, so the sample counts as scored; the failed repeat is kept.
    assert faithfulness["unscored"] == 0 and faithfulness["scored"] == 1
    assert faithfulness["failed_scores"] == 1
    assert scores.per_case["tpms"]["faithfulness_ragas"] == 0.75


def test_repeats_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="--repeats"):
        RagasScorer(repeats=0)


def test_the_judge_is_pinned_to_temperature_zero_and_a_seed() -> None:
    assert build_judge(GloveboxSettings()) is None
    judge = build_judge(
        GloveboxSettings(judge_base_url="http://127.0.0.1:9/v1", judge_model="m", judge_seed=7)
    )
    assert judge is not None
    assert judge.temperature == 0.0 and judge.seed == 7 and judge.model_name == "m"  # type: ignore[attr-defined]
