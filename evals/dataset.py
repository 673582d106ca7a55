"""The eval dataset format: one case per JSONL line (or a YAML list), validated with pydantic.

Documented in docs/eval-dataset.md. Errors name the file and the line of the bad case.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.yaml_errors import invalid_yaml
from knowledge.errors import InputError, validation_problems


class Expectation(StrEnum):
    ANSWER = "answer"
    ABSTAIN = "abstain"
    ESCALATE = "escalate"


Split = Literal["dev", "test"]
AnswerKind = Literal["recall", "no_recall_found", "no_information", "clarify"]


class HistoryTurn(BaseModel):
    """An earlier turn: {role, text}, or OpenAI's {role, content}."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    role: Literal["user", "assistant"]
    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "content"))


class EvalCase(BaseModel):
    """One question with what a correct assistant does with it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    audience: Literal["driver", "agent"] = "driver"
    vehicle: str | None = None
    """As a user would give it: 'Acme Roadster 2022', or a VIN."""
    history: list[HistoryTurn] = Field(default_factory=list)
    expect: Expectation
    reference_answer: str | None = None
    expected_sources: list[str] = Field(default_factory=list)
    """Document ids; a retrieved or cited chunk of any of them is the right source."""
    gold_evidence: list[str] = Field(default_factory=list)
    """Verbatim substrings; any of them in a retrieved or cited passage proves the passage.
    Compared on letters and digits only, so line wraps, hyphenation and markup don't matter."""
    expected_sections: list[str] = Field(default_factory=list)
    """Heading paths ('Apps > Camera > Camera settings'); a passage from one of them is right."""
    expected_campaigns: list[str] = Field(default_factory=list)
    """Recall campaigns ('24V210'); a notice of one of them is the right source, and a recall
    answer must cite one of them first."""
    answer_kind: AnswerKind | None = None
    """What kind of reply is right: the recall itself, 'no recall found in the data I have'
    (a known vehicle without one), 'no information' (a vehicle the data does not cover), or
    a question back."""
    tags: list[str] = Field(default_factory=list)
    corpus: str | None = None
    """The knowledge the case is asked of ('sample', 'venza'); results are reported per corpus."""
    split: Split | None = None
    """`dev` cases may be read and tuned on; `test` cases are only counted."""

    @model_validator(mode="after")
    def _answers_need_evidence(self) -> EvalCase:
        if self.expect is Expectation.ANSWER and not (
            self.expected_sources
            or self.gold_evidence
            or self.expected_sections
            or self.expected_campaigns
            or self.answer_kind == "no_recall_found"
        ):
            raise ValueError(
                "a case that expects an answer needs expected_sources, gold_evidence or "
                "expected_sections, or the right passage cannot be told from a wrong one"
            )
        return self


def load_dataset(path: Path) -> list[EvalCase]:
    """Cases from a .jsonl file (one JSON object a line) or a .yaml/.yml file (a list)."""
    if not path.is_file():
        raise InputError(str(path), "no such dataset file; pass --dataset PATH")
    records = _yaml_records(path) if path.suffix in {".yaml", ".yml"} else jsonl_records(path)
    cases: list[EvalCase] = []
    seen: dict[str, int | None] = {}
    for line, record in records:
        try:
            case = EvalCase.model_validate(record)
        except ValidationError as error:
            problems = validation_problems(error, "case")
            raise InputError(str(path), f"invalid case: {problems}", line=line) from error
        if case.id in seen:
            raise InputError(
                str(path), f"case id {case.id!r} is used twice (first at line {seen[case.id]})",
                line=line,
            )  # fmt: skip
        seen[case.id] = line
        cases.append(case)
    if not cases:
        raise InputError(str(path), "the dataset has no cases")
    return cases


def jsonl_records(path: Path) -> list[tuple[int | None, Any]]:
    """(line number, parsed object) of each JSON line; blank and '#' lines are skipped."""
    records: list[tuple[int | None, Any]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            records.append((number, json.loads(text)))
        except json.JSONDecodeError as error:
            raise InputError(str(path), f"not valid JSON ({error.msg})", line=number) from error
    return records


def _yaml_records(path: Path) -> list[tuple[int | None, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise invalid_yaml(path, error) from error
    if not isinstance(data, list):
        raise InputError(str(path), "a YAML dataset is a list of cases")
    lines = [item.start_mark.line + 1 for item in node.value] if node is not None else []
    return [(lines[i] if i < len(lines) else None, record) for i, record in enumerate(data)]
