"""`glovebox bench scale`: latency, start-up, memory and re-ingest at about 10k and 100k chunks.

Each tier is a knowledge base of real recall-notice text (`evals.scale_corpus`) built by
Glovebox's own ingest under the bench's home and kept for the next run. At each tier, in one
process and on the same questions, interleaved: Glovebox's `HybridRetriever.run`, the full
extractive `Assistant.ask`, and a plain LangChain `EnsembleRetriever` (`BM25Retriever` over the
same chunks and `Chroma.as_retriever()` on the same collection, weights 0.5/0.5). Then, as a
user runs them: `glovebox serve` from start to ready and to its first answer, with its RSS, and
`glovebox ingest` of the unchanged sources against the full ingest.

    results = run_scale_bench(settings, parse_tiers("10k,100k"), shared_data, home)
    print(scale_table(results))
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, ValidationError

from assistant.records import Channel, RetrievalQuery
from evals.scale_corpus import (
    RECALL_INDEX,
    RecordedVectorEmbedder,
    ScaleTier,
    TierPlan,
    plan_tier,
    read_recall_groups,
    write_tier_sources,
)
from evals.scale_server import ReingestFigures, ServerFigures, measure_reingest, measure_server
from knowledge.embedder import Embedder
from knowledge.errors import InputError
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.retrievers import BaseRetriever

    from ingest.sync import IngestProgress

SCALE_QUESTIONS = Path(__file__).parent / "datasets" / "scale_questions.jsonl"
DEFAULT_DISTINCT_CHUNKS = 10_000
LANGCHAIN_WEIGHTS = (0.5, 0.5)


class ScaleQuestion(BaseModel):
    question: str
    channel: Channel
    vehicle: str | None = None


def load_scale_questions(path: Path = SCALE_QUESTIONS) -> list[ScaleQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            questions.append(ScaleQuestion.model_validate_json(line))
        except ValidationError as error:
            raise InputError(str(path), f"not a scale question: {error}", line=number) from error
    if not questions:
        raise InputError(str(path), "no questions in it; one JSON object a line")
    return questions


@dataclass
class BuildRecord:
    """The full ingest of a tier, kept beside its knowledge base so a later run can reuse it."""

    kb: str
    chunks: int
    seconds: float
    embedding_seconds: float
    vectors_computed: int
    vectors_reused: int
    skipped_inputs: int
    built_at: str
    built_this_run: bool = False

    @property
    def seconds_per_computed_vector(self) -> float | None:
        return self.embedding_seconds / self.vectors_computed if self.vectors_computed else None


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile `glovebox bench ask` uses (p50 is the median)."""
    ordered = sorted(values)
    if share == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class LatencyFigures:
    """Milliseconds per question, the three paired in one process."""

    retrieve_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    ensemble_ms: list[float] = field(default_factory=list)
    """The rounds after the first: each question asked again, its passages' lines embedded."""
    first_answer_ms: list[float] = field(default_factory=list)
    first_ensemble_ms: list[float] = field(default_factory=list)
    """The first round: each question asked for the first time (lines not yet embedded)."""
    first_retrieve_seconds: float = 0.0
    """Glovebox's first retrieval in the process, its keyword index opened or built."""
    ensemble_build_seconds: float = 0.0
    """Reading the chunks back and building LangChain's BM25 index."""


@dataclass
class TierResult:
    plan: TierPlan
    chunks: int
    build: BuildRecord
    latency: LatencyFigures
    server: ServerFigures
    reingest: ReingestFigures


def run_scale_bench(
    settings: GloveboxSettings,
    tiers: list[ScaleTier],
    shared_root: Path,
    home: Path,
    *,
    distinct_chunks: int = DEFAULT_DISTINCT_CHUNKS,
    rounds: int = 3,
    questions: list[ScaleQuestion] | None = None,
    on_status: Callable[[str], None] = lambda line: None,
    progress: IngestProgress | None = None,
) -> list[TierResult]:
    """Every tier built (or reused) and measured, smallest first."""
    from knowledge.components import build_embedder

    bench = settings.model_copy(
        update={"home": home, "chroma_url": None, "database_url": None, "llm_base_url": None}
    )
    questions = questions or load_scale_questions()
    plans = [plan_tier(tier, distinct_chunks) for tier in tiers]
    embedder = build_embedder(bench)
    recorder = RecordedVectorEmbedder(embedder, home / f"vectors-{embedder.model_name}.npz")
    on_status(f"reading {shared_root / RECALL_INDEX}")
    groups = read_recall_groups(shared_root / RECALL_INDEX)
    results = []
    for plan in plans:
        sources = write_tier_sources(groups, plan, home / "sources" / plan.kb)
        build = _built_tier(bench, plan, sources, recorder, on_status, progress)
        on_status(f"{plan.tier.label}: re-ingest of the unchanged sources (glovebox ingest)")
        reingest = measure_reingest(home, plan.kb, sources)
        first = questions[0]
        on_status(f"{plan.tier.label}: glovebox serve, start to ready and first answer")
        server = measure_server(home, plan.kb, first.question, first.vehicle)
        on_status(f"{plan.tier.label}: {len(questions)} questions x {rounds} rounds, paired")
        latency, chunks = _paired_latency(bench, plan.kb, embedder, questions, rounds)
        results.append(TierResult(plan, chunks, build, latency, server, reingest))
        gc.collect()
    return results


def _built_tier(
    settings: GloveboxSettings,
    plan: TierPlan,
    sources: Path,
    recorder: RecordedVectorEmbedder,
    on_status: Callable[[str], None],
    progress: IngestProgress | None,
) -> BuildRecord:
    """The tier's knowledge base, built from empty unless a previous run's build is intact;
    then synced once more in this process, so a change of Glovebox's chunking since then is
    caught up here (with recorded vectors) and not inside the timed re-ingest."""
    from ingest.sync import build_ingest_job
    from knowledge.store import drop_knowledge_base, make_chroma_client

    record_path = settings.home / "builds" / f"{plan.kb}.json"
    job = build_ingest_job(settings, plan.kb, recorder)
    if record_path.is_file():
        record = BuildRecord(**json.loads(record_path.read_text()))
        if record.chunks == job.store.count():
            on_status(f"{plan.tier.label}: reusing {plan.kb} built {record.built_at}")
            report = job.run([sources], progress=progress)
            if report.chunks_embedded:
                on_status(f"{plan.tier.label}: {report.chunks_embedded} chunks changed since")
            recorder.save()
            return record
    if job.store.count():
        on_status(f"{plan.tier.label}: {plan.kb} has no build record (cut off?); building anew")
        drop_knowledge_base(make_chroma_client(settings), plan.kb)
        job = build_ingest_job(settings, plan.kb, recorder)
    on_status(
        f"{plan.tier.label}: building {plan.kb}: {plan.notices} notices x {plan.markets} markets"
    )
    computed, reused = recorder.computed, recorder.reused
    report = job.run([sources], progress=progress)
    recorder.save()
    record = BuildRecord(
        kb=plan.kb,
        chunks=job.store.count(),
        seconds=report.seconds,
        embedding_seconds=report.embedding_seconds,
        vectors_computed=recorder.computed - computed,
        vectors_reused=recorder.reused - reused,
        skipped_inputs=len(report.skipped),
        built_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps({**asdict(record), "built_this_run": False}, indent=1))
    record.built_this_run = True
    return record


def langchain_ensemble(store: ChromaKnowledgeStore, embedder: Embedder, k: int) -> BaseRetriever:
    """The plain LangChain hybrid: BM25 over the store's chunks and Chroma's retriever on its
    collection, fused by `EnsembleRetriever`; no audience or vehicle filter."""
    from langchain_chroma import Chroma
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.documents import Document

    documents = [
        Document(page_content=text, id=chunk.id, metadata={"document_id": chunk.document_id})
        for chunk, text in store.iter_chunks_with_text()
    ]
    keyword = BM25Retriever.from_documents(documents, k=k)
    vectors = Chroma(
        client=store.client,
        collection_name=store.collection.name,
        # Our embedder has the methods of LangChain's `Embeddings`, which Chroma calls.
        embedding_function=cast("Embeddings", embedder),
    ).as_retriever(search_kwargs={"k": k})
    return EnsembleRetriever(retrievers=[keyword, vectors], weights=list(LANGCHAIN_WEIGHTS))


def _paired_latency(
    settings: GloveboxSettings,
    kb: str,
    embedder: Embedder,
    questions: list[ScaleQuestion],
    rounds: int,
) -> tuple[LatencyFigures, int]:
    from assistant.wiring import build_assistant
    from knowledge.components import open_knowledge_base

    store = open_knowledge_base(settings, kb, embedder, create=False)
    assistant = build_assistant(
        settings, kb, embedder=embedder, generator_kind="extractive", store=store
    )
    # The assistant's own retriever: its line reranker shares the generator's line cache, as
    # in a server, so neither measure embeds a line the other already did.
    retriever = assistant.retriever
    figures = LatencyFigures()
    started = time.perf_counter()
    ensemble = langchain_ensemble(store, embedder, settings.retrieval_fetch_k)
    figures.ensemble_build_seconds = time.perf_counter() - started

    # Spotted before the clock starts: the retriever is given the vehicle, as the chain gives it.
    vehicles = {
        q.question: assistant.catalog.find_in_text(q.vehicle or q.question) for q in questions
    }

    def retrieve(question: ScaleQuestion) -> None:
        vehicle = vehicles[question.question]
        retriever.run(
            RetrievalQuery(question.question, question.channel, vehicle, settings.retrieval_k)
        )

    def answer(question: ScaleQuestion) -> None:
        assistant.ask(question.question, channel=question.channel, vehicle_text=question.vehicle)

    def langchain(question: ScaleQuestion) -> None:
        ensemble.invoke(question.question)

    started = time.perf_counter()
    retrieve(questions[0])
    figures.first_retrieve_seconds = time.perf_counter() - started
    answer(questions[0])
    langchain(questions[0])
    # The first round has no retrieve: it would embed the lines the answer then finds cached.
    first_round: list[tuple[Callable[[ScaleQuestion], None], list[float]]] = [
        (answer, figures.first_answer_ms),
        (langchain, figures.first_ensemble_ms),
    ]
    later_rounds: list[tuple[Callable[[ScaleQuestion], None], list[float]]] = [
        (retrieve, figures.retrieve_ms),
        (answer, figures.answer_ms),
        (langchain, figures.ensemble_ms),
    ]
    for round_number in range(rounds):
        timed = first_round if round_number == 0 and rounds > 1 else later_rounds
        for index, question in enumerate(questions):
            turn = (index + round_number) % len(timed)  # no system always goes first
            for run, samples in timed[turn:] + timed[:turn]:
                started = time.perf_counter()
                run(question)
                samples.append((time.perf_counter() - started) * 1000)
        if timed is first_round:  # the repeated rounds' retrieves are repeats too
            for question in questions:
                retrieve(question)
    return figures, store.count()


@dataclass(frozen=True)
class Measure:
    """One row of the table: a figure of each tier, and how it grows per chunk."""

    name: str
    figure: Callable[[TierResult], float | str]
    growth_unit: str | None = None
    """'us' (the figure in ms), 'us_s' (in s) or 'kb' (in MB) per chunk; None: no growth."""
    digits: int = 1


def _p50_or_none(samples: list[float]) -> float | str:
    return percentile(samples, 0.5) if samples else "n/a"


def _p95_or_none(samples: list[float]) -> float | str:
    return percentile(samples, 0.95) if samples else "n/a"


def _first_ask_ratio(result: TierResult) -> float | str:
    answer, ensemble = result.latency.first_answer_ms, result.latency.first_ensemble_ms
    return percentile(answer, 0.95) / percentile(ensemble, 0.95) if answer and ensemble else "n/a"


def _model_loaded(result: TierResult) -> str:
    loaded = result.reingest.model_loaded
    return "n/a" if loaded is None else ("yes" if loaded else "no")


MEASURES: tuple[Measure, ...] = (
    Measure("chunks", lambda r: r.chunks, digits=0),
    Measure("retrieve p50 ms", lambda r: percentile(r.latency.retrieve_ms, 0.5), "us"),
    Measure("retrieve p95 ms", lambda r: percentile(r.latency.retrieve_ms, 0.95), "us"),
    Measure("answer p50 ms", lambda r: percentile(r.latency.answer_ms, 0.5), "us"),
    Measure("answer p95 ms", lambda r: percentile(r.latency.answer_ms, 0.95), "us"),
    Measure("LC ensemble p50 ms", lambda r: percentile(r.latency.ensemble_ms, 0.5), "us"),
    Measure("LC ensemble p95 ms", lambda r: percentile(r.latency.ensemble_ms, 0.95), "us"),
    Measure(
        "answer/LC p95",
        lambda r: percentile(r.latency.answer_ms, 0.95) / percentile(r.latency.ensemble_ms, 0.95),
        digits=2,
    ),
    Measure("first-ask answer p50", lambda r: _p50_or_none(r.latency.first_answer_ms), "us"),
    Measure("first-ask answer p95", lambda r: _p95_or_none(r.latency.first_answer_ms), "us"),
    Measure("first-ask LC p50", lambda r: _p50_or_none(r.latency.first_ensemble_ms), "us"),
    Measure("first-ask LC p95", lambda r: _p95_or_none(r.latency.first_ensemble_ms), "us"),
    Measure("first-ask ans/LC p95", _first_ask_ratio, digits=2),
    Measure("first retrieve s", lambda r: r.latency.first_retrieve_seconds, "us_s", 2),
    Measure("LC build s", lambda r: r.latency.ensemble_build_seconds, "us_s", 2),
    Measure("/healthz said", lambda r: r.server.ready_status),
    Measure("serve start->ready s", lambda r: r.server.start_to_ready_seconds, "us_s", 2),
    Measure("first answer s", lambda r: r.server.first_answer_seconds, "us_s", 2),
    Measure("server RSS MB", lambda r: r.server.rss_mb, "kb", 0),
    Measure("full ingest s", lambda r: r.build.seconds, "us_s"),
    Measure("re-ingest s", lambda r: r.reingest.process_seconds, "us_s"),
    Measure("re-ingest job s", lambda r: r.reingest.job_seconds, "us_s"),
    Measure("re-ingest/full", lambda r: r.reingest.process_seconds / r.build.seconds, digits=3),
    Measure("re-ingest model", _model_loaded),
)
GROWTH_SCALE = {
    "us": (1_000.0, "µs/chunk"),
    "us_s": (1_000_000.0, "µs/chunk"),
    "kb": (1024.0, "KB/chunk"),
}


def _cell(value: float | str, digits: int) -> str:
    return value if isinstance(value, str) else f"{value:.{digits}f}"


def scale_table(results: list[TierResult]) -> str:
    """One row per measure, one column per tier, then the growth between neighbouring tiers."""
    pairs = list(pairwise(results))
    header = f"{'measure':<22}" + "".join(f"{r.plan.tier.label:>11}" for r in results)
    header += "".join(f"{f'{a.plan.tier.label}->{b.plan.tier.label}':>22}" for a, b in pairs)
    lines = [header]
    for measure in MEASURES:
        values = [measure.figure(result) for result in results]
        row = f"{measure.name:<22}" + "".join(f"{_cell(v, measure.digits):>11}" for v in values)
        for (a, b), (before, after) in zip(pairs, pairwise(values), strict=True):
            if measure.growth_unit is None or isinstance(before, str) or isinstance(after, str):
                row += f"{'':>22}"
                continue
            scale, unit = GROWTH_SCALE[measure.growth_unit]
            per_chunk = (after - before) * scale / max(1, b.chunks - a.chunks)
            row += f"{f'{per_chunk:.2f} {unit}':>22}"
        lines.append(row.rstrip())
    return "\n".join(lines)


def scale_preamble(results: list[TierResult], questions: int, rounds: int) -> str:
    """What was measured on what: the corpus, each tier's vectors, the pairing, the machine."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"real text: NHTSA recall-document index ({RECALL_INDEX.name}), one notice per "
        "(campaign, make, model), through Glovebox's own ingest",
        f"paired in one process: {questions} questions x {rounds} rounds, Glovebox retrieve, "
        "Glovebox answer (extractive) and the LangChain ensemble interleaved; p50/p95 are the "
        "rounds after the first (questions asked again: Glovebox finds the question's "
        "embeddings and its passages' lines cached, LangChain embeds the query each time), "
        "first-ask rows the first round (answer and LangChain only, the answer first)",
        "LC ensemble: BM25Retriever over the same chunks + Chroma.as_retriever on the same "
        f"collection, EnsembleRetriever weights {LANGCHAIN_WEIGHTS[0]}/{LANGCHAIN_WEIGHTS[1]}, "
        "no filter",
        f"machine: {os.cpu_count()} cores, load average {load} (shared: absolutes are noisy)",
    ]
    rates = [r.build.seconds_per_computed_vector for r in results]
    rate = next((value for value in rates if value), None)
    for result in results:
        build = result.build
        when = "this run" if build.built_this_run else f"at {build.built_at}, reused"
        line = (
            f"{result.plan.tier.label}: {result.plan.notices} notices x {result.plan.markets} "
            f"market(s), {result.chunks} chunks, built {when}; vectors: "
            f"{build.vectors_computed} computed by the model, {build.vectors_reused} reused"
        )
        if result.plan.markets > 1:
            line += (
                " (market copies of identical text: latency is real, quality figures would "
                "mean nothing)"
            )
        lines.append(line)
        if build.vectors_reused and rate:
            lines.append(
                f"  its full ingest did not embed {build.vectors_reused} reused vectors; the "
                f"model would add about {build.vectors_reused * rate:.0f} s "
                f"({rate * 1000:.0f} ms a vector as measured here)"
            )
    return "\n".join(lines)
