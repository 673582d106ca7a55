"""Retrieval quality on labelled questions: recall@k and MRR for dense, BM25 and the fusions.

dense, keyword = build_search(store, embedder)  # assistant.wiring: the one BM25 index
for name, retriever in fusion_variants(dense, keyword, dense_weight=0.7).items():
    print(score_retriever(name, retriever, load_cases(path), build_catalog(settings, store)).row())
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from assistant.protocols import Retriever
from assistant.records import Channel, RetrievalQuery
from assistant.retrieval import DenseRetriever, HybridRetriever, KeywordIndex
from assistant.vehicles import VehicleCatalog
from knowledge.errors import InputError

SAMPLE_RETRIEVAL_SET = Path(__file__).parent / "datasets" / "retrieval_sample.jsonl"


def fusion_variants(
    dense: DenseRetriever, keyword: KeywordIndex, *, dense_weight: float, fetch_k: int = 30
) -> dict[str, HybridRetriever]:
    """Dense only, BM25 only and the two fusions, over one knowledge base's two searches
    (`assistant.wiring.build_search`), each fetching `fetch_k` candidates; no reranking."""
    return {
        "dense": HybridRetriever(dense, None, fetch_k=fetch_k),
        "bm25": HybridRetriever(None, keyword, fetch_k=fetch_k),
        "rrf": HybridRetriever(dense, keyword, fusion="rrf", fetch_k=fetch_k),
        "weighted": HybridRetriever(
            dense, keyword, fusion="weighted", fetch_k=fetch_k, dense_weight=dense_weight
        ),
    }


class RetrievalCase(BaseModel):
    id: str
    question: str
    audience: str = "driver"
    vehicle: str | None = None
    expected_sources: list[str]


def load_cases(path: Path) -> list[RetrievalCase]:
    cases = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            cases.append(RetrievalCase.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as error:
            raise InputError(str(path), f"not a retrieval case: {error}", line=number) from error
    return cases


@dataclass(frozen=True)
class RetrievalScores:
    name: str
    recall_at: dict[int, float]
    mrr: float

    def row(self) -> str:
        recalls = "  ".join(f"{self.recall_at[k]:.2f}" for k in sorted(self.recall_at))
        return f"{self.name:<10} {recalls}  {self.mrr:.3f}"


def score_retriever(
    name: str,
    retriever: Retriever,
    cases: list[RetrievalCase],
    catalog: VehicleCatalog,
    cutoffs: tuple[int, ...] = (1, 3, 5, 10),
) -> RetrievalScores:
    """Rank of the first chunk from an expected document; recall@k counts it found within k."""
    hits = dict.fromkeys(cutoffs, 0)
    reciprocal_ranks = 0.0
    for case in cases:
        vehicle = catalog.find_in_text(case.vehicle) if case.vehicle else None
        query = RetrievalQuery(case.question, Channel(case.audience), vehicle, max(cutoffs))
        documents = [p.document_id for p in retriever.run(query).passages]
        rank = next((i for i, d in enumerate(documents, 1) if d in case.expected_sources), None)
        if rank is not None:
            reciprocal_ranks += 1 / rank
            for cutoff in cutoffs:
                hits[cutoff] += rank <= cutoff
    return RetrievalScores(
        name,
        {cutoff: hits[cutoff] / len(cases) for cutoff in cutoffs},
        reciprocal_ranks / len(cases),
    )
