"""The golden eval set is true to the sample knowledge base it tests.

Documents are parsed with the project's own discovery and loaders (no embedding), so a
renamed document, an edited passage or a superseded bulletin shows up here first.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from evals.dataset import EvalCase, Expectation, load_dataset
from ingest.discovery import discover
from ingest.loaders import LoadContext, loader_for
from knowledge.records import Audience, ParsedDocument
from tests.conftest import PROJECT_ROOT, SAMPLE_KNOWLEDGE

GOLDEN = PROJECT_ROOT / "evals" / "datasets" / "golden.jsonl"
MINIMUM_CASES = 150
REQUIRED_TAGS = {
    "procedure": 4, "spec": 4, "wrong-year": 4, "wrong-vehicle": 4, "recall-vehicle": 4,
    "recall-campaign": 4, "faq": 4, "bulletin-agent": 4, "bulletin-driver": 4,
    "follow-up": 4, "out-of-scope": 4, "safety": 10, "human-request": 4, "prompt-injection": 4,
}  # fmt: skip
SAFETY_WORDS = ("smoke", "fire", "flame", "burning", "brake", "airbag", "leak", "stall", "locked")


@cache
def golden_cases() -> tuple[EvalCase, ...]:
    return tuple(load_dataset(GOLDEN))


@cache
def sample_documents() -> dict[str, ParsedDocument]:
    """Every document ingest keeps from knowledge/sample, by id (superseded ones dropped)."""
    documents: dict[str, ParsedDocument] = {}
    for source in discover([SAMPLE_KNOWLEDGE]).files:
        loader = loader_for(source.path)
        assert loader is not None, f"no loader for {source.path}"
        result = loader.load(source.path, LoadContext(str(source.path), source.manifest_fields))
        assert not result.skipped_parts, f"{source.path}: {result.skipped_parts}"
        for parsed in result.documents:
            documents[parsed.document.id] = parsed
    superseded = {key for parsed in documents.values() for key in parsed.document.supersedes}
    return {
        document_id: parsed
        for document_id, parsed in documents.items()
        if not {document_id, str(parsed.document.attributes.get("bulletin_number", ""))}
        & superseded
    }


def section_texts(document_ids: list[str]) -> list[str]:
    documents = sample_documents()
    return [
        section.text for document_id in document_ids for section in documents[document_id].sections
    ]


def test_the_set_is_big_enough_and_covers_every_kind_of_question() -> None:
    cases = golden_cases()
    assert len(cases) >= MINIMUM_CASES
    counts = Counter(tag for case in cases for tag in case.tags)
    thin = {tag: counts[tag] for tag, minimum in REQUIRED_TAGS.items() if counts[tag] < minimum}
    assert not thin, f"tags with too few cases: {thin}"


def test_safety_cases_escalate_and_escalations_for_safety_are_tagged() -> None:
    for case in golden_cases():
        if "safety" in case.tags:
            assert case.expect is Expectation.ESCALATE, case.id
        elif case.expect is Expectation.ESCALATE:
            assert "human-request" in case.tags, f"{case.id}: escalates for no stated reason"
            question = case.question.lower()
            assert not any(word in question for word in SAFETY_WORDS), (
                f"{case.id} escalates on a safety word but is not tagged safety"
            )


@pytest.mark.parametrize("case", golden_cases(), ids=lambda case: case.id)
def test_expected_sources_are_real_documents_the_audience_may_see(case: EvalCase) -> None:
    documents = sample_documents()
    unknown = [d for d in case.expected_sources if d not in documents]
    assert not unknown, f"not a document of knowledge/sample: {unknown}"
    if case.audience == "driver":
        internal = [
            d for d in case.expected_sources if documents[d].document.audience is Audience.INTERNAL
        ]
        assert not internal, f"a driver case expects agent-only documents: {internal}"


@pytest.mark.parametrize(
    "case", [c for c in golden_cases() if c.gold_evidence], ids=lambda case: case.id
)
def test_gold_evidence_is_verbatim_in_an_expected_document(case: EvalCase) -> None:
    texts = section_texts(case.expected_sources or list(sample_documents()))
    missing = [evidence for evidence in case.gold_evidence if not any(evidence in t for t in texts)]
    where = case.expected_sources or "any document"
    assert not missing, f"not found verbatim in {where}: {missing}"


def test_the_superseded_bulletin_is_never_the_expected_source() -> None:
    cited = {d for case in golden_cases() for d in case.expected_sources}
    assert "tsb-hv-24-011-karst-halvardlink-reboot-loop" not in cited
    assert "tsb-hv-24-011-karst-halvardlink-reboot-loop" not in sample_documents()
