"""Retrieval quality on the Samsung S10 E-Manual questions, scored by the gold section.

Each question of `s10_50_questions.csv` names the manual section that answers it
("Apps>Samsung apps>Camera>Camera settings"). A retrieved passage is a hit when its `section`
metadata is that path; recall@k and MRR use the rank of the first hit.

    retrievers = s10_retrievers(store, embedder)
    print(s10_table(score_s10(retrievers, load_s10_questions(csv_path))))
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.records import Channel, RetrievalQuery
from assistant.retrieval import HybridRetriever
from assistant.wiring import build_search
from evals.retrieval import RetrievalScores, fusion_variants
from knowledge.embedder import Embedder
from knowledge.errors import InputError
from knowledge.store import KnowledgeStore

S10_K_VALUES = (1, 5, 10)
S10_FETCH_K = 50
CORPUS_MAX_DEPTH = 4
"""The corpus's `section_hierarchy` stops at four levels: a fifth-level heading hangs from its
third-level ancestor, while a gold path may list all five. `normalise_section` folds a deeper
path the same way, so both sides compare in the corpus's shape."""


@dataclass(frozen=True)
class S10Question:
    id: str
    question: str
    section_path: str
    """The gold section, as the CSV writes it: 'Settings>Display>Blue light filter'."""


def normalise_section(path: str) -> str:
    """'Apps>Samsung apps> Camera' and 'apps > samsung apps > camera' are the same section."""
    parts = [re.sub(r"\s+", " ", part).strip().casefold() for part in path.split(">")]
    parts = [part for part in parts if part]
    if len(parts) > CORPUS_MAX_DEPTH:
        parts = [*parts[: CORPUS_MAX_DEPTH - 1], parts[-1]]
    return " > ".join(parts)


def load_s10_questions(csv_path: Path) -> list[S10Question]:
    """The questions with their gold section; a row without either is an `InputError`."""
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"question", "section_path"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                str(csv_path), f"the header lacks {', '.join(sorted(missing))}; add the column"
            )
        questions: list[S10Question] = []
        for row in reader:
            question = (row.get("question") or "").strip()
            section_path = (row.get("section_path") or "").strip()
            if not question or not section_path:
                raise InputError(
                    str(csv_path),
                    "a row needs both a question and a section_path",
                    line=reader.line_num,
                )
            questions.append(
                S10Question(
                    row.get("question_id") or str(len(questions) + 1), question, section_path
                )
            )
    return questions


def s10_retrievers(
    store: KnowledgeStore, embedder: Embedder, dense_weight: float = 0.7
) -> dict[str, HybridRetriever]:
    """Dense only, BM25 only and both fusions, each fetching `S10_FETCH_K` candidates."""
    dense, keyword = build_search(store, embedder)
    return fusion_variants(dense, keyword, dense_weight=dense_weight, fetch_k=S10_FETCH_K)


def first_hit_rank(retriever: HybridRetriever, question: S10Question, k: int) -> int | None:
    """The rank (from 1) of the first passage from the gold section within k, or None."""
    gold = normalise_section(question.section_path)
    passages = retriever.run(RetrievalQuery(question.question, Channel.DRIVER, None, k)).passages
    sections = [normalise_section(str(p.metadata.get("section", ""))) for p in passages]
    return next((rank for rank, section in enumerate(sections, 1) if section == gold), None)


def score_s10(
    retrievers: dict[str, HybridRetriever],
    questions: list[S10Question],
    k_values: tuple[int, ...] = S10_K_VALUES,
) -> list[RetrievalScores]:
    """Recall@k and MRR (over the top max(k_values)) per retriever, in the dict's order."""
    if not questions:
        raise InputError("s10 questions", "there are no questions to score; check the CSV")
    depth = max(k_values)
    rows = []
    for name, retriever in retrievers.items():
        ranks = [first_hit_rank(retriever, question, depth) for question in questions]
        found = [rank for rank in ranks if rank is not None]
        rows.append(
            RetrievalScores(
                name,
                {k: sum(rank <= k for rank in found) / len(questions) for k in k_values},
                sum(1 / rank for rank in found) / len(questions),
            )
        )
    return rows


def s10_table(rows: list[RetrievalScores]) -> str:
    """The rows under a header, as `glovebox bench retrieval` prints them."""
    k_values = sorted(rows[0].recall_at) if rows else list(S10_K_VALUES)
    header = f"{'retriever':<10} " + "  ".join(f"{f'R@{k}':<4}" for k in k_values) + "  MRR"
    return "\n".join([header, *(row.row() for row in rows)])
