"""`glovebox eval` end to end on the sample knowledge base: report, results and the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evals.suite import EvalOptions, EvalSuite
from knowledge.errors import InputError
from knowledge.settings import GloveboxSettings, get_settings
from knowledge.store import KnowledgeStore
from ui.cli import EXIT_GATE_FAILED, app

pytestmark = pytest.mark.integration

CASES = [
    {"id": "tpms-2022", "question": "How do I reset the TPMS light?",
     "vehicle": "Halvard Tessel 2022", "expect": "answer",
     "reference_answer": "Press and hold the TPMS SET button until the light blinks three times.",
     "expected_sources": ["halvard-tessel-2021-2022-owner-manual"],
     "gold_evidence": ["TPMS SET"], "tags": ["procedure"]},
    {"id": "pairing", "question": "How do I pair my phone over Bluetooth?",
     "vehicle": "Halvard Brisa 2024", "expect": "answer",
     "expected_sources": ["halvard-brisa-2023-2025-owner-manual"], "tags": ["procedure"]},
    {"id": "france", "question": "What is the capital of France?", "expect": "abstain",
     "tags": ["out-of-scope"]},
    {"id": "brakes", "question": "My brakes failed on the highway", "vehicle": "Halvard Brisa 2023",
     "expect": "escalate", "tags": ["safety"]},
]  # fmt: skip
THRESHOLDS = """\
escalation_recall_safety: {min: 1.0}
citation_recall: {min: 1.0}
recall_at_5: {min: 1.0}
"""


@pytest.fixture
def eval_files(
    tmp_path: Path, sample_kb_home: GloveboxSettings, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    monkeypatch.setenv("GLOVEBOX_HOME", str(sample_kb_home.home))
    get_settings.cache_clear()
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(case) for case in CASES))
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(THRESHOLDS)
    return dataset, thresholds


def run_eval(dataset: Path, thresholds: Path, out: Path, *extra: str) -> tuple[int, str]:
    options = ["--dataset", str(dataset), "--thresholds", str(thresholds), "--out", str(out)]
    result = CliRunner().invoke(app, ["eval", *options, "--judge-samples", "0", *extra])
    return result.exit_code, result.output


def test_eval_writes_report_and_results_and_passes_its_gate(
    eval_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, thresholds = eval_files
    code, output = run_eval(dataset, thresholds, tmp_path / "run")
    assert code == 0, output
    assert "gate: passed" in output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert {"metrics", "cases", "run", "gate"} <= results.keys()
    assert results["run"]["generator"] == "extractive"
    assert results["metrics"]["ragas"]["id_context_recall"]["mean"] == 1.0
    assert "faithfulness_ragas" not in results["metrics"]["ragas"]  # no judge configured
    assert [case["id"] for case in results["cases"]] == [case["id"] for case in CASES]
    report = (tmp_path / "run" / "report.html").read_text()
    assert "Gate PASSED" in report and "tpms-2022" in report
    # The eval's tickets (the brake escalation) stay out of the agents' real queue.
    assert (tmp_path / "run" / "tickets.sqlite3").is_file()
    assert not (get_settings().home / "glovebox.sqlite3").exists()


def test_the_gate_fails_when_a_metric_drops(
    eval_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset, thresholds = eval_files
    assert run_eval(dataset, thresholds, tmp_path / "before")[0] == 0
    # A regression: a confidence threshold nothing reaches, so the assistant stops answering.
    monkeypatch.setenv("GLOVEBOX_CONFIDENCE_ANSWER_THRESHOLD", "0.99")
    get_settings.cache_clear()
    code, output = run_eval(
        dataset, thresholds, tmp_path / "after", "--baseline", str(tmp_path / "before/results.json")
    )
    assert code == EXIT_GATE_FAILED, output
    assert "gate: citation_recall is 0.0, needs >= 1.0" in output
    assert "gate: FAILED" in output
    results = json.loads((tmp_path / "after" / "results.json").read_text())
    assert results["gate"]["passed"] is False
    assert results["baseline"]["deltas"]["citation_recall"]["delta"] == -1.0
    assert "Gate FAILED" in (tmp_path / "after" / "report.html").read_text()


def test_a_missing_dataset_is_a_clear_configuration_error(
    eval_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, thresholds = eval_files
    code, output = run_eval(tmp_path / "nope.jsonl", thresholds, tmp_path / "out")
    assert code == 2
    assert "nope.jsonl" in output and "--dataset" in output


def test_the_cases_are_asked_and_retrieval_scored_over_one_index_and_one_catalogue(
    eval_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.wiring as wiring
    from assistant.vehicles import VehicleCatalog

    built: list[str] = []

    class CountedIndex(wiring.KeywordIndex):
        def __init__(self, store: KnowledgeStore, *index: Any) -> None:
            built.append("bm25 index")
            super().__init__(store, *index)

    from_metadata = VehicleCatalog.from_metadata.__func__  # type: ignore[attr-defined]

    def counted_catalog(cls: type[VehicleCatalog], *args: Any, **kwargs: Any) -> VehicleCatalog:
        built.append("catalogue")
        return from_metadata(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(wiring, "KeywordIndex", CountedIndex)
    monkeypatch.setattr(VehicleCatalog, "from_metadata", classmethod(counted_catalog))
    dataset, thresholds = eval_files
    options = EvalOptions(
        dataset=dataset, out_dir=tmp_path / "out", thresholds=thresholds, judge_samples=0
    )
    outcome = EvalSuite(get_settings(), options).run()

    assert sorted(built) == ["bm25 index", "catalogue"]
    assert outcome.results["metrics"]["recall_at_5"] == 1.0


def test_judge_data_without_the_sets_fails_before_any_case_runs(
    eval_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, thresholds = eval_files
    shared = tmp_path / "shared"
    (shared / "faithfulness").mkdir(parents=True)
    options = EvalOptions(
        dataset=dataset,
        kb=get_settings().default_kb,
        out_dir=tmp_path / "out",
        thresholds=thresholds,
        judge_data=shared,
        judge_samples=5,
    )
    with pytest.raises(InputError, match="--judge-data DIR") as caught:
        EvalSuite(get_settings(), options)  # builds everything; runs no case
    assert str(shared / "faithfulness" / "begin") in str(caught.value)
    assert "--judge-samples 0" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_cli_reports_missing_judge_data_as_an_input_error(
    eval_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, thresholds = eval_files
    extra = ("--judge-data", str(tmp_path / "nowhere"), "--judge-samples", "5")
    code, output = run_eval(dataset, thresholds, tmp_path / "out", *extra)
    assert code == 2, output
    assert "nowhere" in output and "--judge-data" in output


TINY_MANUAL = {
    "section_0": {"title": "Connections", "text": ["Ways to connect the phone."]},
    "section_1": {
        "title": "Turning on Wi-Fi",
        "section_hierarchy": "section_0>section_1",
        "text": ["From Settings, tap Connections, then tap Wi-Fi to turn it on."],
    },
    "section_2": {
        "title": "Screen brightness",
        "text": ["From Settings, tap Display and drag the Brightness slider."],
    },
}
TINY_QUESTIONS = (
    "question_id,question,section_path,section_link,answer\n"
    "1,How can I turn on wifi?,Connections>Turning on Wi-Fi,x,tap Wi-Fi\n"
    "2,How do I make the screen brighter?,Screen brightness,x,drag the Brightness slider\n"
)


def test_a_corpus_is_ingested_into_its_own_knowledge_base_and_reported_per_split(
    tmp_path: Path, settings: GloveboxSettings
) -> None:
    shared = tmp_path / "shared"
    (shared / "phone").mkdir(parents=True)
    (shared / "phone" / "tiny_manual_corpus.json").write_text(json.dumps(TINY_MANUAL))
    (shared / "phone" / "questions.csv").write_text(TINY_QUESTIONS)
    corpora_file = tmp_path / "corpora.yaml"
    corpora_file.write_text(
        "phone:\n"
        "  sources:\n"
        "    - shared: phone/tiny_manual_corpus.json\n"
        "      document: {id: tiny-phone, kind: owner_manual, audience: public, title: Phone}\n"
        "  cases: {emanual_csv: phone/questions.csv, dev_share: 0.5}\n"
    )
    statuses: list[str] = []
    options = EvalOptions(
        out_dir=tmp_path / "out", corpora=("phone",), shared_data=shared,
        corpora_file=corpora_file, thresholds=None, judge_samples=0,
    )  # fmt: skip
    outcome = EvalSuite(settings, options, on_status=statuses.append).run()

    assert statuses == ["knowledge base eval-phone: ingesting phone"]
    corpora = outcome.results["metrics"]["corpora"]
    assert list(corpora) == ["phone"]
    assert corpora["phone"]["all"]["cases"] == 2
    assert corpora["phone"]["all"]["recall_at_5"] == 1.0
    splits = {case["split"] for case in outcome.results["cases"]}
    assert set(corpora["phone"]) == {"all", *splits}
    assert {case["corpus"] for case in outcome.results["cases"]} == {"phone"}
    # The knowledge base stays for the next run, which embeds nothing new.
    from ingest.sync import build_ingest_job

    report = build_ingest_job(settings, "eval-phone").run(
        [shared / "phone" / "tiny_manual_corpus.json"],
        manifests=[tmp_path / "out" / "manifests" / "phone.manifest.yaml"],
    )
    assert report.chunks_embedded == 0 and report.chunks_total >= 3
