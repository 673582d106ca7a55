"""Eval corpora: the shipped definitions, the e-manual question sets, splits and section gold."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evals.corpora import (
    CORPORA_FILE,
    corpus_cases,
    corpus_sources,
    emanual_cases,
    hashed_split,
    load_corpora,
    resolve_sections,
    same_section,
    select_corpora,
)
from evals.dataset import EvalCase, Expectation, load_dataset
from evals.runner import is_relevant
from knowledge.errors import InputError
from tests.conftest import PROJECT_ROOT, shared_data

VENZA_SET = PROJECT_ROOT / "evals" / "datasets" / "venza.jsonl"
VENZA_MANUAL = "manuals/toyota/toyota_venza_nav_multimedia_manual.md"


def test_the_shipped_corpora_cover_the_sample_three_real_manuals_and_nhtsa_recalls() -> None:
    corpora = load_corpora(CORPORA_FILE)
    assert list(corpora) == ["sample", "venza", "s10", "tv-remote", "nhtsa"]
    assert not corpora["sample"].needs_shared_data
    real = ("venza", "s10", "tv-remote", "nhtsa")
    assert all(corpora[name].needs_shared_data for name in real)
    assert corpora["venza"].knowledge_base == "eval-venza"
    assert corpora["sample"].profile_path is not None and corpora["sample"].profile_path.is_file()
    assert [c.name for c in select_corpora(corpora, ["all"])] == list(corpora)
    with pytest.raises(InputError, match="choose from sample, venza, s10, tv-remote, nhtsa or all"):
        select_corpora(corpora, ["sampel"])


def test_the_nhtsa_set_is_split_by_hash_and_asks_of_campaigns_in_the_data() -> None:
    corpora = load_corpora(CORPORA_FILE)
    cases = corpus_cases(corpora["nhtsa"], shared_data("nhtsa").parent)
    recent = shared_data("nhtsa/recent_recalls_2023_2026/nhtsa_recalls.csv").read_text()
    flat = shared_data("nhtsa/flatfile_samples_2014/recalls.txt").read_text()

    assert len(cases) >= 60
    assert {case.split for case in cases} == {"dev", "test"}
    assert all(case.split == hashed_split("nhtsa", case.id, 0.4) for case in cases)
    campaigns = {c for case in cases for c in case.expected_campaigns}
    assert campaigns and all(c in recent or c in flat for c in campaigns)
    kinds = {case.answer_kind for case in cases}
    assert {"recall", "no_recall_found", "no_information"} <= kinds


def test_a_bad_corpora_file_names_the_corpus_and_field(tmp_path: Path) -> None:
    path = tmp_path / "corpora.yaml"
    path.write_text("mine:\n  sources: [{project: a, shared: b}]\n  cases: {jsonl: x.jsonl}\n")
    with pytest.raises(InputError, match=r"corpus 'mine', sources\.0.*exactly one of project"):
        load_corpora(path)


def test_a_missing_shared_file_says_how_to_get_it(tmp_path: Path) -> None:
    venza = load_corpora(CORPORA_FILE)["venza"]
    with pytest.raises(InputError, match="--shared-data DIR") as raised:
        corpus_sources(venza, tmp_path / "nowhere", tmp_path / "scratch")
    assert "toyota_venza_nav_multimedia_manual.md" in str(raised.value)


def test_the_hashed_split_is_fixed_by_the_id_and_near_its_share() -> None:
    assert hashed_split("s10", "s10-266", 0.4) == hashed_split("s10", "s10-266", 0.4)
    splits = Counter(hashed_split("x", f"case-{n}", 0.4) for n in range(2000))
    assert 0.36 < splits["dev"] / 2000 < 0.44


def test_emanual_questions_become_answer_cases_with_their_section(tmp_path: Path) -> None:
    csv_path = tmp_path / "questions.csv"
    csv_path.write_text(
        "question_id,question,section_path,section_link,answer\n"
        '7,How do I turn on GPS?,Settings>Location,http://x,"From Settings, tap Location."\n',
        encoding="utf-8",
    )
    [case] = emanual_cases(csv_path, "phone", 0.4)
    assert case.id == "phone-7" and case.expect is Expectation.ANSWER
    assert case.expected_sections == ["Settings>Location"] and case.corpus == "phone"
    assert case.split in ("dev", "test") and case.reference_answer == "From Settings, tap Location."
    csv_path.write_text("id,question\n1,hi\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks question_id, section_path"):
        emanual_cases(csv_path, "phone", 0.4)


@pytest.mark.parametrize(
    ("passage", "expected", "same"),
    [
        ("Apps > Samsung apps > Camera", "Apps>Samsung apps> camera", True),
        ("Getting support", "Troubleshooting>Getting Support", True),  # a flat corpus
        ("a > b > c > e", "a>b>c>d>e", True),  # the S10 corpus folds a fifth level
        ("Updating the TV's software", "Quick Guides>Updating the TV’s Software", True),
        ("Apps > Camera", "Apps>Gallery", False),
        ("Settings", "Apps>Camera>Settings>Advanced", False),
        ("", "Apps", False),
    ],
)
def test_same_section(passage: str, expected: str, same: bool) -> None:
    assert same_section(passage, expected) is same


def test_gold_deeper_than_the_corpus_is_its_deepest_ancestor_the_corpus_has() -> None:
    case = EvalCase(
        id="tv-1",
        question="How does remote support work?",
        expect=Expectation.ANSWER,
        expected_sections=["Troubleshooting>Getting Support>Remote Management>How it works"],
    )
    known = {"Remote Management", "Getting Support", "Picture settings"}
    resolved = resolve_sections(case, known)
    assert resolved.expected_sections == ["troubleshooting>getting support>remote management"]
    assert is_relevant(resolved, "doc", "", "Remote Management")
    assert not is_relevant(resolved, "doc", "", "Getting Support")


def test_evidence_survives_line_wraps_hyphenation_and_markup() -> None:
    case = EvalCase(
        id="v", question="q", expect=Expectation.ANSWER, gold_evidence=["the multimedia system"]
    )
    assert is_relevant(case, "doc", "turn on **the multime-\ndia** system now")
    assert not is_relevant(case, "doc", "the media system")


def test_the_venza_set_is_written_for_drivers_split_and_tagged() -> None:
    cases = load_dataset(VENZA_SET)
    assert len(cases) >= 100
    assert sum(case.expect is Expectation.ANSWER for case in cases) >= 80
    assert {case.corpus for case in cases} == {"venza"}
    assert {case.split for case in cases} == {"dev", "test"}
    assert all(case.split == hashed_split("venza", case.id, 0.4) for case in cases)
    assert all("venza" in case.tags for case in cases)
    lower_case = sum(case.question == case.question.lower() for case in cases)
    assert lower_case / len(cases) > 0.5  # typed the way drivers type


def test_every_venza_evidence_string_is_in_the_manual_as_it_is() -> None:
    manual = shared_data(VENZA_MANUAL).read_text(encoding="utf-8")
    flat = re.sub(r"[^a-z0-9]", "", manual.lower())
    missing = [
        (case.id, evidence)
        for case in load_dataset(VENZA_SET)
        for evidence in case.gold_evidence
        if re.sub(r"[^a-z0-9]", "", evidence.lower()) not in flat
    ]
    assert missing == []


def test_corpus_cases_read_the_e_manual_sets_in_place() -> None:
    corpora = load_corpora(CORPORA_FILE)
    shared = shared_data("manuals/emanual_qa").parent.parent
    for name in ("s10", "tv-remote"):
        cases = corpus_cases(corpora[name], shared)
        assert len(cases) == 50 and {case.corpus for case in cases} == {name}
        assert {case.split for case in cases} == {"dev", "test"}
    assert json.dumps([c.model_dump() for c in cases])  # plain data, nothing copied to disk
