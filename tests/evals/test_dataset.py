"""The eval dataset format: valid files load, bad cases are named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.dataset import Expectation, load_dataset
from knowledge.errors import InputError

GOOD = {
    "id": "tpms-2022",
    "question": "How do I reset the TPMS light?",
    "audience": "driver",
    "vehicle": "Halvard Tessel 2022",
    "expect": "answer",
    "expected_sources": ["halvard-tessel-2021-2022-owner-manual"],
    "gold_evidence": ["TPMS SET"],
    "tags": ["procedure", "model-year"],
}


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    return path


def test_jsonl_and_yaml_load_the_same_cases(tmp_path: Path) -> None:
    follow_up = {**GOOD, "id": "follow-up", "history": [{"role": "user", "text": "Hi"}]}
    jsonl = load_dataset(write_jsonl(tmp_path / "cases.jsonl", [GOOD, follow_up]))
    (tmp_path / "cases.yaml").write_text(
        "- " + json.dumps(GOOD) + "\n- " + json.dumps(follow_up) + "\n"
    )
    assert load_dataset(tmp_path / "cases.yaml") == jsonl
    assert jsonl[0].expect is Expectation.ANSWER and jsonl[1].history[0].role == "user"


def test_a_bad_case_is_named_by_line_and_field(tmp_path: Path) -> None:
    bad = {**GOOD, "id": "bad", "audience": "customer"}
    with pytest.raises(InputError) as raised:
        load_dataset(write_jsonl(tmp_path / "cases.jsonl", [GOOD, bad]))
    assert raised.value.line == 2 and "audience" in str(raised.value)


def test_an_answer_case_needs_evidence(tmp_path: Path) -> None:
    bare = {
        key: value
        for key, value in GOOD.items()
        if key not in ("expected_sources", "gold_evidence")
    }
    with pytest.raises(InputError, match="expected_sources, gold_evidence or expected_sections"):
        load_dataset(write_jsonl(tmp_path / "cases.jsonl", [bare]))
    abstain = {**bare, "expect": "abstain"}
    assert load_dataset(write_jsonl(tmp_path / "ok.jsonl", [abstain]))[0].expect.value == "abstain"


def test_duplicate_ids_and_broken_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="used twice"):
        load_dataset(write_jsonl(tmp_path / "dup.jsonl", [GOOD, GOOD]))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(InputError) as raised:
        load_dataset(broken)
    assert raised.value.line == 2


def test_yaml_errors_give_the_case_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("- " + json.dumps(GOOD) + "\n- id: x\n  question: q\n  expect: maybe\n")
    with pytest.raises(InputError) as raised:
        load_dataset(path)
    assert raised.value.line == 2 and "expect" in str(raised.value)


def test_history_takes_openai_style_content_beside_text(tmp_path: Path) -> None:
    turns = [{"role": "user", "content": "I drive a Tessel"}, {"role": "assistant", "text": "Ok."}]
    case = load_dataset(write_jsonl(tmp_path / "cases.jsonl", [{**GOOD, "history": turns}]))[0]

    assert [(turn.role, turn.text) for turn in case.history] == [
        ("user", "I drive a Tessel"),
        ("assistant", "Ok."),
    ]
