"""The S10 E-Manual eval: its loader, its gold sections, and the retrievers' scores on it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evals.s10 import load_s10_questions, normalise_section, s10_retrievers, s10_table, score_s10
from ingest.loaders import loader_for
from ingest.loaders.base import LoadContext
from ingest.loaders.emanual import EmanualJsonLoader
from ingest.sync import build_ingest_job
from knowledge.components import open_knowledge_base
from knowledge.errors import InputError
from knowledge.settings import GloveboxSettings
from tests.conftest import shared_data

S10_CORPUS = "manuals/emanual_qa/s10_manual_corpus.json"
S10_QUESTIONS = "manuals/emanual_qa/s10_50_questions.csv"


def write_corpus(path: Path) -> Path:
    corpus = {
        "section_0": {"title": "Apps", "text": ["Apps", "Everything you can open."],
                      "section_hierarchy": "section_0", "id": "section_0"},
        "section_1": {"title": "Camera", "text": ["Camera", "Take pictures."],
                      "section_hierarchy": "section_0>section_1", "id": "section_1"},
        "section_2": {"title": "Camera settings", "text": ["Camera settings", "", "Tap Settings."],
                      "section_hierarchy": "section_0>section_1>section_2", "id": "section_2"},
        "section_3": {"title": "Blank", "text": ["  "],
                      "section_hierarchy": "section_0>section_3", "id": "section_3"},
    }  # fmt: skip
    path.write_text(json.dumps(corpus, indent=2))
    return path


def test_loader_turns_each_corpus_section_into_a_section_with_its_full_path(
    tmp_path: Path,
) -> None:
    path = write_corpus(tmp_path / "phone_manual_corpus.json")

    result = EmanualJsonLoader().load(path, LoadContext(str(path)))

    assert result.skipped_parts == []
    [parsed] = result.documents
    assert parsed.document.id == "phone-manual-corpus"
    assert parsed.document.title == "phone manual"
    assert parsed.document.kind == "owner_manual" and parsed.document.audience == "public"
    assert parsed.document.vehicle is None
    assert [(s.heading_path, s.anchor) for s in parsed.sections] == [
        (["Apps"], "section_0"),
        (["Apps", "Camera"], "section_1"),
        (["Apps", "Camera", "Camera settings"], "section_2"),
    ]  # the blank section is left out
    assert parsed.sections[2].text == "Camera settings\n\nTap Settings."


def test_loader_takes_the_title_from_the_manifest_and_names_the_line_of_bad_json(
    tmp_path: Path,
) -> None:
    path = write_corpus(tmp_path / "phone_manual_corpus.json")
    titled = EmanualJsonLoader().load(
        path, LoadContext(str(path), {"title": "Galaxy S10 User Manual", "path": path.name})
    )
    assert titled.documents[0].document.title == "Galaxy S10 User Manual"

    broken = tmp_path / "broken_manual_corpus.json"
    broken.write_text('{\n  "section_0": {\n    "title": "Apps",\n    "text": [\n  }\n}\n')
    with pytest.raises(InputError) as raised:
        EmanualJsonLoader().load(broken, LoadContext(str(broken)))
    assert raised.value.line == 5


def test_every_gold_section_of_the_fifty_questions_is_a_section_of_the_real_corpus() -> None:
    corpus = shared_data(S10_CORPUS)
    questions = load_s10_questions(shared_data(S10_QUESTIONS))

    [parsed] = EmanualJsonLoader().load(corpus, LoadContext(str(corpus))).documents

    loaded = {normalise_section(" > ".join(s.heading_path)) for s in parsed.sections}
    assert len(questions) == 50
    assert [
        q.section_path for q in questions if normalise_section(q.section_path) not in loaded
    ] == []


@pytest.mark.integration
@pytest.mark.slow
def test_s10_retrieval_scores(settings: GloveboxSettings, real_embedder) -> None:
    corpus = shared_data(S10_CORPUS)
    questions = load_s10_questions(shared_data(S10_QUESTIONS))
    assert isinstance(loader_for(corpus), EmanualJsonLoader)  # the normal loaders read it
    started = time.perf_counter()

    report = build_ingest_job(settings, "s10", real_embedder).run([corpus])
    ingested = time.perf_counter()
    store = open_knowledge_base(settings, "s10", real_embedder, create=False)
    rows = score_s10(s10_retrievers(store, real_embedder), questions)
    scored = time.perf_counter()

    print(
        f"\n{report.chunks_total} chunks from {report.documents} document; ingest "
        f"{ingested - started:.1f}s, scoring {len(questions)} questions x {len(rows)} "
        f"retrievers {scored - ingested:.1f}s\n{s10_table(rows)}"
    )
    assert report.skipped == []
    scores = {row.name: row for row in rows}
    assert list(scores) == ["dense", "bm25", "rrf", "weighted"]
    for row in rows:
        assert all(0.0 <= value <= 1.0 for value in [*row.recall_at.values(), row.mrr])
    best_single = max(scores["dense"].recall_at[10], scores["bm25"].recall_at[10])
    for fusion in ("rrf", "weighted"):
        assert scores[fusion].recall_at[10] >= best_single - 0.1
