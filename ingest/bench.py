"""`glovebox bench ingest`: ingest throughput next to the raw encoder's, on the same chunks."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.sync import IngestReport, build_ingest_job
from knowledge.components import build_embedder
from knowledge.settings import GloveboxSettings


def sample_knowledge_path() -> Path:
    return Path(__file__).resolve().parent.parent / "knowledge" / "sample"


@dataclass(frozen=True)
class IngestBenchmark:
    documents: int
    chunks: int
    ingest_seconds: float
    ingest_embedding_seconds: float
    encoder_seconds: float
    model_name: str
    batch_size: int
    rounds: int

    @property
    def ingest_chunks_per_second(self) -> float:
        return self.chunks / self.ingest_seconds

    @property
    def encoder_chunks_per_second(self) -> float:
        return self.chunks / self.encoder_seconds

    def describe(self) -> str:
        share = self.ingest_chunks_per_second / self.encoder_chunks_per_second
        return "\n".join(
            [
                f"model {self.model_name}, batch {self.batch_size}, "
                f"{self.documents} documents, {self.chunks} chunks, median of {self.rounds} rounds",
                f"ingest (parse, chunk, diff, embed, write): {self.ingest_seconds:6.1f} s  "
                f"{self.ingest_chunks_per_second:7.1f} chunks/s",
                f"raw encoder on the same chunk texts:        {self.encoder_seconds:6.1f} s  "
                f"{self.encoder_chunks_per_second:7.1f} chunks/s",
                f"ingest / encoder: {share:.0%}  (embedding inside ingest: "
                f"{self.ingest_embedding_seconds:.1f} s)",
            ]
        )


def run_ingest_benchmark(
    paths: list[Path], settings: GloveboxSettings, *, repeats: int = 3
) -> IngestBenchmark:
    """Alternating rounds of a fresh ingest and the bare encoder; the median of each is kept.

    The model is loaded before any clock starts; each ingest goes into a new temporary home.
    """
    embedder = build_embedder(settings)
    embedder.embed_documents(["warm up the encoder"] * 8)
    ingest_rounds: list[IngestReport] = []
    encoder_rounds: list[float] = []
    for _ in range(max(1, repeats)):
        with tempfile.TemporaryDirectory(prefix="glovebox-bench-") as home:
            isolated = settings.model_copy(update={"home": Path(home), "chroma_url": None})
            report = build_ingest_job(isolated, "bench", embedder).run(paths)
        ingest_rounds.append(report)
        texts = [text for plan in report.plan for text in plan.embedding_texts.values()]
        started = time.perf_counter()
        embedder.embed_documents(texts)
        encoder_rounds.append(time.perf_counter() - started)
    middle = sorted(ingest_rounds, key=lambda round_: round_.seconds)[len(ingest_rounds) // 2]
    return IngestBenchmark(
        documents=middle.documents,
        chunks=middle.chunks_embedded,
        ingest_seconds=middle.seconds,
        ingest_embedding_seconds=middle.embedding_seconds,
        encoder_seconds=statistics.median(encoder_rounds),
        model_name=embedder.model_name,
        batch_size=settings.embedding_batch_size,
        rounds=len(ingest_rounds),
    )
