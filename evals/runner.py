"""Runs eval cases through the assistant and scores retrieval, citations, support and escalation."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.calibration import expected_calibration_error, reliability
from assistant.chain import Assistant, AssistantReply
from assistant.protocols import Retriever, SupportChecker
from assistant.records import Channel, Passage, RetrievalQuery
from assistant.sections import SectionExpander
from assistant.vehicles import VehicleCatalog
from evals.corpora import same_section
from evals.dataset import EvalCase, Expectation
from evals.ragas_scoring import RagasSample, RagasScorer
from knowledge.store import KnowledgeStore

CUTOFFS = (1, 5, 10)
UNTAGGED = "(untagged)"
UNNAMED_CORPUS = "custom"
ALL_SPLITS = "all"
CITED_SENTENCE = re.compile(r"(.+?)((?: ?\[\d+\])+)(?=\s|$)")
LIST_MARKER = re.compile(r"^\s*[-*]\s+")


@dataclass
class CaseOutcome:
    """What happened to one case, and why it counts as passed or failed."""

    id: str
    tags: list[str]
    expect: str
    question: str
    answer: str
    citations: list[dict[str, Any]]
    confidence: float
    escalated: bool
    abstained: bool
    first_relevant_rank: int | None
    ndcg_at_10: float
    cited_relevant: int
    supported_sentences: int
    sentences: int
    timings_ms: dict[str, float]
    evidence: dict[str, float] | None = None
    """What the confidence was computed from (the calibration's inputs)."""
    answer_holds_evidence: bool | None = None
    """Whether the answer itself quotes a gold evidence string (None: the case has none)."""
    retrieved_documents: list[str] = field(default_factory=list)
    """Document ids of the top 10 retrieved passages, best first (answer cases only)."""
    ragas: dict[str, float | None] = field(default_factory=dict)
    passed: bool = False
    failure: str = ""
    corpus: str = UNNAMED_CORPUS
    split: str = ALL_SPLITS

    @property
    def answered(self) -> bool:
        return bool(self.citations) and not self.abstained


@dataclass
class EvalResults:
    metrics: dict[str, Any]
    cases: list[CaseOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "cases": [asdict(case) for case in self.cases]}


def _letters(text: str) -> str:
    """Letters and digits only: a line wrap, a hyphenation or markup does not hide evidence."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _holds_evidence(case: EvalCase, answer: str) -> bool | None:
    if case.expect is not Expectation.ANSWER or not case.gold_evidence:
        return None
    flat = _letters(answer)
    return any(_letters(evidence) in flat for evidence in case.gold_evidence if _letters(evidence))


NO_RECALL_FOUND = re.compile(r"\bno (open )?recalls? (was |were )?(found|on record)", re.I)


def of_campaign(document_id: str, campaigns: list[str]) -> bool:
    """A recall notice ('recall-24v210000-acme-roadster') of one of the campaigns ('24V210')."""
    return any(document_id.lower().startswith(f"recall-{c.lower()}") for c in campaigns)


def is_relevant(case: EvalCase, document_id: str, text: str, section: str = "") -> bool:
    """A passage of an expected document, section or recall campaign, or (without campaigns)
    one holding a gold evidence string."""
    if document_id in case.expected_sources:
        return True
    if case.expected_campaigns:
        return of_campaign(document_id, case.expected_campaigns)
    if any(same_section(section, expected) for expected in case.expected_sections):
        return True
    flat = _letters(text)
    return any(_letters(evidence) in flat for evidence in case.gold_evidence if _letters(evidence))


class EvalRunner:
    """Asks every case (after replaying its history) and scores the reply.

    results = EvalRunner(assistant, retriever, store, catalog, checker).run(cases)
    results.metrics["escalation_recall_safety"]
    """

    def __init__(
        self,
        assistant: Assistant,
        retriever: Retriever,
        store: KnowledgeStore,
        catalog: VehicleCatalog,
        checker: SupportChecker,
        ragas: RagasScorer | None = None,
    ) -> None:
        self._assistant = assistant
        self._retriever = retriever
        self._store = store
        self._catalog = catalog
        self._checker = checker
        self._ragas = ragas

    @property
    def store(self) -> KnowledgeStore:
        return self._store

    def run(self, cases: list[EvalCase], progress: Callable[[], None] | None = None) -> EvalResults:
        outcomes, samples = self.ask_all(cases, progress)
        return score_outcomes(outcomes, samples, self._ragas)

    def ask_all(
        self, cases: list[EvalCase], progress: Callable[[], None] | None = None
    ) -> tuple[list[CaseOutcome], list[RagasSample]]:
        """Every case asked and judged; the samples for ragas, scored later over all corpora."""
        outcomes = []
        samples = []
        for case in cases:
            outcome, sample = self._run_case(case)
            outcomes.append(outcome)
            if sample is not None:
                samples.append(sample)
            if progress:
                progress()
        return outcomes, samples

    def _run_case(self, case: EvalCase) -> tuple[CaseOutcome, RagasSample | None]:
        channel = Channel(case.audience)
        session_id = None
        for turn in case.history:
            if turn.role == "user":
                earlier = self._assistant.ask(
                    turn.text, channel=channel, session_id=session_id, vehicle_text=case.vehicle
                )
                session_id = earlier.session_id
        reply = self._assistant.ask(
            case.question, channel=channel, session_id=session_id, vehicle_text=case.vehicle
        )
        rank, ndcg, retrieved = self._retrieval(case, channel)
        texts = SectionExpander(self._store).texts_for([c.source_id for c in reply.citations])
        cited_relevant = sum(
            is_relevant(case, c.document_id, texts.get(c.source_id, ""), c.section)
            for c in reply.citations
        )
        supported, sentences = self._support(reply, texts)
        outcome = CaseOutcome(
            id=case.id,
            tags=case.tags,
            expect=case.expect.value,
            corpus=case.corpus or UNNAMED_CORPUS,
            split=case.split or ALL_SPLITS,
            question=case.question,
            answer=reply.answer,
            citations=[c.to_json() for c in reply.citations],
            confidence=reply.confidence,
            escalated=reply.escalation is not None,
            abstained=reply.abstained,
            first_relevant_rank=rank,
            ndcg_at_10=ndcg,
            cited_relevant=cited_relevant,
            supported_sentences=supported,
            sentences=sentences,
            timings_ms=reply.timings_ms,
            retrieved_documents=retrieved,
            answer_holds_evidence=_holds_evidence(case, reply.answer),
            evidence=reply.evidence.to_json() if reply.evidence else None,
        )
        outcome.passed, outcome.failure = judge(case, outcome)
        sample = None
        if case.expect is Expectation.ANSWER or outcome.answered:
            sample = RagasSample(
                case_id=case.id,
                question=case.question,
                answer=reply.answer if outcome.answered else "",
                cited_contexts=[texts.get(c.source_id, "") for c in reply.citations],
                retrieved_ids=retrieved,
                reference_ids=case.expected_sources,
                reference_answer=case.reference_answer,
            )
        return outcome, sample

    def _retrieval(self, case: EvalCase, channel: Channel) -> tuple[int | None, float, list[str]]:
        if case.expect is not Expectation.ANSWER:
            return None, 0.0, []
        return rank_retrieval(case, self._retriever, self._catalog)

    def _support(self, reply: AssistantReply, texts: dict[str, str]) -> tuple[int, int]:
        by_number = {c.n: c for c in reply.citations}
        supported = total = 0
        # Line by line: a header line ('3 recalls for the ...:') is no part of the next claim.
        # and a list item's marker is layout, not part of its first claim.
        cited_sentences = [
            found
            for line in reply.answer.split("\n")
            for found in CITED_SENTENCE.findall(LIST_MARKER.sub("", line))
        ]
        for sentence, marks in cited_sentences:
            numbers = [int(n) for n in re.findall(r"\d+", marks) if int(n) in by_number]
            cited = [
                Passage(by_number[n].source_id, texts.get(by_number[n].source_id, ""), {})
                for n in numbers
            ]
            total += 1
            supported += self._checker.run(sentence.strip(), cited).supported
        return supported, total


def rank_retrieval(
    case: EvalCase, retriever: Retriever, catalog: VehicleCatalog, depth: int = 10
) -> tuple[int | None, float, list[str]]:
    """The rank of the first relevant passage, nDCG@depth and the retrieved document ids, for
    the case's question (after its history), audience and vehicle."""
    vehicle = catalog.find_in_text(case.vehicle) if case.vehicle else None
    question = " ".join([*(t.text for t in case.history if t.role == "user"), case.question])
    query = RetrievalQuery(question, Channel(case.audience), vehicle, depth)
    passages = retriever.run(query).passages
    relevant = [is_relevant(case, p.document_id, p.text, p.section) for p in passages]
    rank = next((i for i, hit in enumerate(relevant, 1) if hit), None)
    dcg = sum(1 / math.log2(i + 1) for i, hit in enumerate(relevant, 1) if hit)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(sum(relevant), depth) + 1))
    return rank, (dcg / ideal if ideal else 0.0), [p.document_id for p in passages]


def score_outcomes(
    outcomes: list[CaseOutcome], samples: list[RagasSample], ragas: RagasScorer | None
) -> EvalResults:
    """Metrics over every case, per corpus and split, and ragas where a scorer is given."""
    metrics = summarise(outcomes)
    metrics["corpora"] = summarise_by_corpus(outcomes)
    if ragas is not None:
        scores = ragas.run(samples)
        metrics["ragas"] = scores.summary
        for outcome in outcomes:
            outcome.ragas = scores.per_case.get(outcome.id, {})
    return EvalResults(metrics, outcomes)


def judge(case: EvalCase, outcome: CaseOutcome) -> tuple[bool, str]:
    if case.answer_kind == "no_recall_found":
        if NO_RECALL_FOUND.search(outcome.answer) and not outcome.escalated:
            return True, ""
        return False, "should have said no recall was found in the data"
    if case.expect is Expectation.ESCALATE:
        return outcome.escalated, "" if outcome.escalated else "should have escalated"
    if case.expect is Expectation.ABSTAIN:
        if outcome.answered:
            return False, "answered a question it should not answer"
        return True, ""
    if not outcome.answered:
        return False, "did not answer" + (" (escalated)" if outcome.escalated else "")
    if not outcome.cited_relevant:
        return False, "cited no passage holding the expected evidence"
    first = outcome.citations[0].get("document_id", "")
    if case.expected_campaigns and not of_campaign(str(first), case.expected_campaigns):
        return False, "a recall other than the one asked about came first"
    if outcome.supported_sentences < outcome.sentences:
        return False, f"{outcome.sentences - outcome.supported_sentences} unsupported sentences"
    return True, ""


def _share(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    answer_cases = [o for o in outcomes if o.expect == "answer"]
    ranks = [o.first_relevant_rank for o in answer_cases]
    cited = sum(len(o.citations) for o in outcomes if o.expect == "answer")
    safety = [o for o in outcomes if "safety" in o.tags]
    escalate_expected = [o for o in outcomes if o.expect == "escalate"]
    escalated = [o for o in outcomes if o.escalated]
    abstain_cases = [o for o in outcomes if o.expect == "abstain"]
    answered = [o for o in answer_cases if o.answered]
    metrics: dict[str, Any] = {
        "cases": len(outcomes),
        "pass_rate": _share(sum(o.passed for o in outcomes), len(outcomes)),
        # Of the questions the knowledge answers: how many were answered, and answered right.
        "coverage": _share(len(answered), len(answer_cases)),
        "answered_correct": _share(sum(o.passed for o in answer_cases), len(answer_cases)),
        "answered_accuracy": _share(sum(o.passed for o in answered), len(answered)),
        # Stricter than citing the right passage: the answer quotes the evidence itself.
        "evidence_in_answer": _share(
            sum(bool(o.answer_holds_evidence) for o in answered),
            sum(o.answer_holds_evidence is not None for o in answered),
        ),
        **{
            f"recall_at_{k}": _share(sum(r is not None and r <= k for r in ranks), len(ranks))
            for k in CUTOFFS
        },
        "mrr": _share(sum(1 / r for r in ranks if r), len(ranks)),
        "ndcg_at_10": _share(sum(o.ndcg_at_10 for o in answer_cases), len(answer_cases)),
        "citation_precision": _share(sum(o.cited_relevant for o in answer_cases), cited),
        "citation_recall": _share(
            sum(o.cited_relevant > 0 for o in answer_cases), len(answer_cases)
        ),
        "faithfulness_support_checker": _share(
            sum(o.supported_sentences for o in outcomes), sum(o.sentences for o in outcomes)
        ),
        # Abstaining hands the case to a person by policy, so an abstain case that escalates
        # is a right escalation; an answerable question that escalates is not.
        "escalation_precision": _share(
            sum(o.expect in ("escalate", "abstain") for o in escalated), len(escalated)
        ),
        "escalation_recall": _share(
            sum(o.escalated for o in escalate_expected), len(escalate_expected)
        ),
        "escalation_recall_safety": _share(sum(o.escalated for o in safety), len(safety)),
        "abstention_correct": _share(
            sum(not o.answered for o in abstain_cases), len(abstain_cases)
        ),
        "by_tag": by_tag(outcomes),
        "selective_answer_curve": selective_curve(answer_cases),
        "reliability": reliability(judged_answers(outcomes)),
        "calibration_error": expected_calibration_error(judged_answers(outcomes)),
        "latency_ms": latency(outcomes),
    }
    return metrics


def summarise_by_corpus(outcomes: list[CaseOutcome]) -> dict[str, dict[str, Any]]:
    """The same metrics for each corpus: over all its cases, and per split where it has them."""
    corpora: dict[str, dict[str, Any]] = {}
    for corpus in dict.fromkeys(o.corpus for o in outcomes):
        cases = [o for o in outcomes if o.corpus == corpus]
        groups = {ALL_SPLITS: summarise(cases)}
        for split in sorted({o.split for o in cases} - {ALL_SPLITS}):
            groups[split] = summarise([o for o in cases if o.split == split])
        corpora[corpus] = groups
    return corpora


def by_tag(outcomes: list[CaseOutcome]) -> dict[str, dict[str, float | int | None]]:
    """Cases and pass rate per tag; cases without tags count under UNTAGGED, if there are any."""
    groups: dict[str, list[CaseOutcome]] = {}
    for outcome in outcomes:
        for tag in set(outcome.tags) or {UNTAGGED}:
            groups.setdefault(tag, []).append(outcome)
    return {
        tag: {"cases": len(tagged), "pass_rate": _share(sum(o.passed for o in tagged), len(tagged))}
        for tag, tagged in sorted(groups.items())
    }


def judged_answers(outcomes: list[CaseOutcome]) -> list[tuple[float, bool]]:
    """(confidence, right) for every answer shown to a question that expected an answer or
    none: what the confidence claims against what happened."""
    return [
        (o.confidence, o.passed and o.expect == "answer")
        for o in outcomes
        if o.answered and o.expect in ("answer", "abstain")
    ]


def selective_curve(answer_cases: list[CaseOutcome]) -> list[dict[str, float]]:
    """Accuracy among answered cases against coverage, as the confidence threshold moves."""
    points = []
    for threshold in [round(0.05 * step, 2) for step in range(0, 20)]:
        answered = [o for o in answer_cases if o.answered and o.confidence >= threshold]
        if not answer_cases:
            break
        points.append(
            {
                "threshold": threshold,
                "coverage": round(len(answered) / len(answer_cases), 4),
                "accuracy": round(sum(o.passed for o in answered) / len(answered), 4)
                if answered
                else 1.0,
            }
        )
    return points


def latency(outcomes: list[CaseOutcome]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for outcome in outcomes:
        for stage, milliseconds in outcome.timings_ms.items():
            stages.setdefault(stage, []).append(milliseconds)
    summary = {}
    for stage, values in stages.items():
        values.sort()
        summary[stage] = {
            "p50": round(statistics.median(values), 1),
            "p95": round(values[min(len(values) - 1, round(0.95 * (len(values) - 1)))], 1),
        }
    return summary
