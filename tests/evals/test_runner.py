"""Eval cases through the real assistant on the sample knowledge base, scored as QA would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.support import DeterministicSupportChecker
from assistant.vehicles import VehicleCatalog
from assistant.wiring import build_assistant, build_retriever
from evals.dataset import load_dataset
from evals.runner import EvalRunner
from knowledge.components import open_knowledge_base
from knowledge.settings import GloveboxSettings

pytestmark = pytest.mark.integration

CASES = [
    {"id": "tpms-2022", "question": "How do I reset the TPMS light?",
     "vehicle": "Halvard Tessel 2022", "expect": "answer",
     "expected_sources": ["halvard-tessel-2021-2022-owner-manual"],
     "gold_evidence": ["TPMS SET"], "tags": ["procedure"]},
    {"id": "campaign", "question": "24V210", "expect": "answer",
     "expected_sources": ["recall-24v210000-halvard-tessel"], "tags": ["recall"]},
    {"id": "france", "question": "What is the capital of France?", "expect": "abstain",
     "tags": ["out-of-scope"]},
    {"id": "brakes", "question": "My brakes failed on the highway", "vehicle": "Halvard Brisa 2023",
     "expect": "escalate", "tags": ["safety"]},
    {"id": "person", "question": "I want to talk to a real person", "expect": "escalate",
     "tags": ["human-request"]},
    {"id": "follow-up", "question": "And how much can it tow?", "expect": "answer",
     "history": [{"role": "user", "text": "I drive a 2024 Karst"}],
     "expected_sources": ["halvard-karst-2024-2025-owner-manual",
                          "faq-karst-2024-2025-towing-capacity"],
     "tags": ["follow-up"]},
]  # fmt: skip


def test_runner_scores_what_users_would_see(
    sample_kb_home: GloveboxSettings, real_embedder, tmp_path: Path
) -> None:
    settings = sample_kb_home.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'tickets.sqlite3'}"}
    )
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(case) for case in CASES))
    store = open_knowledge_base(settings, "default", real_embedder, create=False)
    runner = EvalRunner(
        build_assistant(settings, "default", embedder=real_embedder),
        build_retriever(settings, store, real_embedder),
        store,
        VehicleCatalog.from_metadata(chunk.metadata for chunk in store.iter_chunks()),
        DeterministicSupportChecker(real_embedder),
    )
    results = runner.run(load_dataset(dataset))
    failures = {case.id: case.failure for case in results.cases if not case.passed}
    assert failures == {}
    metrics = results.metrics
    assert metrics["escalation_recall_safety"] == 1.0
    assert metrics["recall_at_5"] == 1.0 and metrics["citation_recall"] == 1.0
    assert metrics["abstention_correct"] == 1.0
    assert metrics["faithfulness_support_checker"] == 1.0
    assert {"retrieve", "total"} <= set(metrics["latency_ms"])
    assert json.loads(json.dumps(results.to_json())).keys() == {"metrics", "cases"}
