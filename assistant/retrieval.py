"""Hybrid retrieval: dense search in Chroma and BM25 keyword search, filtered, fused, reranked."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from assistant.protocols import KeywordSearch, PassageSearch, Reranker, Retriever
from assistant.query_terms import SpellingCorrector, expansion_terms
from assistant.records import Channel, Passage, RetrievalQuery, RetrievalResult, Vehicle
from knowledge.embedder import Embedder
from knowledge.errors import ConfigurationError
from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf
from knowledge.keywords import IndexedChunk, KeywordIndexFiles, catch_up, keyword_tokens
from knowledge.records import normalise_vehicle_name
from knowledge.store import ChunkReader, KnowledgeStore

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

FUSION_METHODS = ("rrf", "weighted")
MAX_RERANKED_LINES = 24
EXPANSION_FEEDBACK = 3
"""Passages of the first ranking whose shared words expand the keyword query."""


def model_family(model: str) -> list[str]:
    """The model and the names it is a variant of ('Grand Cherokee 4xe' is a 'Grand Cherokee',
    'CR-V Hybrid' a 'CR-V'): documents for those apply to it too. Normalised names."""
    words = normalise_vehicle_name(model).split()
    family = [" ".join(words[:size]) for size in range(len(words), 0, -1)]
    return [name for name in family if len(name) >= 3 or name == family[0]]


@dataclass(frozen=True)
class AccessFilter:
    """Who may see what, for which vehicle: one filter for the store and for the keyword index.

    A chunk is for the channel's audiences, and, when a vehicle is known, either general or
    for that make, model (or the model it is a variant of, or any model) and year.
    """

    channel: Channel
    vehicle: Vehicle | None = None

    def chunk_filter(self) -> ChunkFilter:
        audience = OneOf("audience", tuple(self.channel.audiences))
        vehicle = self._vehicle_filter()
        if vehicle is None:
            return audience
        return AllOf((audience, AnyOf((Equals("vehicle_scope", "general"), vehicle))))

    def _vehicle_filter(self) -> ChunkFilter | None:
        vehicle = self.vehicle
        if vehicle is None or not (vehicle.make or vehicle.model or vehicle.year):
            return None
        parts: list[ChunkFilter] = []
        if vehicle.make:
            parts.append(Equals("make", normalise_vehicle_name(vehicle.make)))
        if vehicle.model:
            parts.append(OneOf("model", (*model_family(vehicle.model), "")))
        if vehicle.year:
            parts += [AtMost("year_first", vehicle.year), AtLeast("year_last", vehicle.year)]
        return AllOf(tuple(parts))


def _same_case(original: str, corrected: str) -> str:
    if corrected == original.lower():
        return original
    return corrected.capitalize() if original[:1].isupper() else corrected


class DenseRetriever:
    """Nearest chunks by embedding in Chroma, with the access filter inside the query.

    `admitted` lists the ids a filter admits (the keyword index's `admitted_ids`), so a
    selective filter is searched among them rather than by Chroma's pre-filter; `read` gives
    the hits' metadata and text (the keyword index's `metadata_and_text`), which Chroma reads
    slowly."""

    def __init__(
        self,
        store: KnowledgeStore,
        embedder: Embedder,
        admitted: Callable[[ChunkFilter], Sequence[str]] | None = None,
        read: ChunkReader | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._admitted = admitted
        self._read = read

    def run(self, query: RetrievalQuery, k: int) -> list[Passage]:
        embedding = self._embedder.embed_query(query.text)
        where = AccessFilter(query.channel, query.vehicle).chunk_filter()
        admitted = self._admitted
        hits = self._store.query(
            embedding,
            k=k,
            where=where,
            admitted=(lambda: admitted(where)) if admitted is not None else None,
            read=self._read,
        )
        passages = []
        for rank, (chunk, text, distance) in enumerate(hits, start=1):
            similarity = 1.0 - distance
            passages.append(
                Passage(chunk.id, text, chunk.metadata, similarity, rank, None, similarity)
            )
        return passages


class KeywordIndex:
    """BM25 keyword search over a knowledge base, through its persisted keyword index.

    It also knows the knowledge base's words: `corrected` mends a question's misspellings
    against them, and `run(extra_terms=...)` adds expansion terms at a lower weight. Without an
    index on disk (unit tests, evals) it keeps one in memory, filled from the store.
    """

    def __init__(self, store: KnowledgeStore, index: KeywordIndexFiles | None = None) -> None:
        self._store = store
        self._index = index or KeywordIndexFiles.in_memory()
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._view_generation: object = None
        self._frequency: Counter[str] = Counter()
        self._documents = 0
        self._corrector: SpellingCorrector | None = None

    def prepare(self) -> None:
        """Opens what the first question needs (a server calls it before it says ready)."""
        self._fresh()
        self._index.view().warm(AccessFilter(Channel.DRIVER).chunk_filter())

    def _fresh(self) -> None:
        revision = self._store.content_revision
        if revision == self._revision and self._index.view() is self._view_generation:
            return
        with self._lock:
            revision = self._store.content_revision  # another request may have caught up
            view = self._index.view()
            if revision == self._revision and view is self._view_generation:
                return
            if not self._index.reflects(revision):
                catch_up(self._index, self._store)
                view = self._index.view()
            self._frequency = view.document_frequencies()
            self._documents = view.documents
            self._corrector = SpellingCorrector(self._frequency)
            self._view_generation = view
            self._revision = revision

    def metadata_and_text(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str]]:
        """The metadata and text of those of these chunks the index holds (a `ChunkReader`)."""
        self._fresh()
        return {
            chunk_id: (chunk.metadata, chunk.text)
            for chunk_id, chunk in self._index.chunks_by_id(ids).items()
        }

    def find(self, where: ChunkFilter) -> list[IndexedChunk]:
        """Every chunk `where` admits, with its text, from the index alone."""
        self._fresh()
        return self._index.find(where)

    def admitted_ids(self, where: ChunkFilter) -> list[str]:
        """The ids of every chunk `where` admits, as the store holds them now."""
        self._fresh()
        return self._index.admitted_ids(where)

    def latest_value(self, field: str, where: ChunkFilter) -> Any:
        """The greatest value of a metadata field among the chunks `where` admits."""
        self._fresh()
        return self._index.latest_value(field, where)

    def corrected(self, text: str) -> str:
        """The text with words the knowledge base never uses replaced by its closest words."""
        self._fresh()
        corrector = self._corrector
        if corrector is None:
            return text
        return re.sub(
            r"[A-Za-z]{4,}",
            lambda word: _same_case(word.group(0), corrector.correct(word.group(0).lower())),
            text,
        )

    def rarity(self, term: str) -> float:
        """Inverse document frequency of a word in the knowledge base (rare words weigh more)."""
        self._fresh()
        documents = self._documents
        return math.log((documents + 1) / (self._frequency[term] + 0.5)) if documents else 1.0

    def expansion_for(self, query: str, feedback: list[Passage]) -> list[str]:
        """Words the feedback passages share that the query lacks (pseudo-relevance feedback)."""
        self._fresh()
        return expansion_terms(
            keyword_tokens(query),
            [keyword_tokens(passage.text) for passage in feedback],
            self._frequency,
            self._documents,
        )

    def run(
        self,
        query: RetrievalQuery,
        k: int,
        extra_terms: Sequence[str] = (),
        extra_weight: float = 0.3,
    ) -> list[Passage]:
        self._fresh()
        tokens = keyword_tokens(query.text)
        if not tokens:
            return []
        weights: dict[str, float] = {}
        for token in tokens:  # a repeated word counts again, as in rank_bm25
            weights[token] = weights.get(token, 0.0) + 1.0
        for term in extra_terms:
            weights[term] = weights.get(term, 0.0) + extra_weight
        access = AccessFilter(query.channel, query.vehicle).chunk_filter()
        hits = self._index.search(weights, where=access, k=k)
        return [
            Passage(hit.chunk.id, hit.chunk.text, hit.chunk.metadata, hit.score, None, rank)
            for rank, hit in enumerate(hits, start=1)
        ]


class CrossEncoderReranker:
    """Reorders passages with a local cross-encoder (none ships offline; off by default)."""

    def __init__(self, model_path: str) -> None:
        from pathlib import Path

        if not Path(model_path).is_dir():
            raise ConfigurationError(
                f"reranker model folder {model_path} does not exist; fix "
                "GLOVEBOX_RERANKER_MODEL_PATH or unset it to run without reranking"
            )
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(model_path, device="cpu", local_files_only=True)

    def run(self, question: str, passages: list[Passage]) -> list[Passage]:
        if not passages:
            return passages
        scores = self._model.predict([(question, passage.text) for passage in passages])
        order = sorted(range(len(passages)), key=lambda i: float(scores[i]), reverse=True)
        return [passages[i] for i in order]


class UnitReranker:
    """Reorders passages by their best-matching line or sentence, not their average meaning.

    A chunk's one embedding blurs a page of mixed content (two columns, a table, notes); the
    line that answers still stands out on its own. Each candidate's score gains `weight`
    times the best cosine between the question and any of its lines (cached by text).
    """

    def __init__(self, embedder: Embedder, *, weight: float = 0.5, depth: int = 20):
        self._embedder = embedder
        self._weight = weight
        self._depth = depth

    def run(self, question: str, passages: list[Passage]) -> list[Passage]:
        """The first `depth` passages reordered; the rest keep their places after them."""
        import numpy as np

        if not passages:
            return passages
        passages, rest = passages[: self._depth], passages[self._depth :]
        lines = [_lines(passage.text) for passage in passages]
        flat = [line for group in lines for line in group]
        vectors = np.asarray(self._embedder.embed_documents(flat))
        scores = vectors @ np.asarray(self._embedder.embed_query(question))
        start = 0
        for passage, group in zip(passages, lines, strict=True):
            best = float(scores[start : start + len(group)].max()) if group else 0.0
            start += len(group)
            passage.score += self._weight * max(0.0, best)
        return [*sorted(passages, key=lambda p: (-p.score, p.chunk_id)), *rest]


def _lines(text: str) -> list[str]:
    """A passage's lines and sentences, without markup, each long enough to mean something."""
    pieces = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+|\*\*|\|", " ", line).strip()
        pieces += [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line) if len(p.split()) >= 3]
    return pieces[:MAX_RERANKED_LINES] or [text[:400]]


class HybridRetriever:
    """Dense and keyword results fused into one ranking (RRF or a weighted mix), then reranked.

    retriever = HybridRetriever(dense, keyword, fusion="rrf")
    result = retriever.run(RetrievalQuery("reset TPMS", Channel.DRIVER, Vehicle(...)))
    """

    def __init__(
        self,
        dense: PassageSearch | None,
        keyword: KeywordSearch | None,
        *,
        fusion: str = "weighted",
        fetch_k: int = 30,
        rrf_k: int = 60,
        dense_weight: float = 0.7,
        reranker: Reranker | None = None,
        spelling: bool = False,
        expansion: bool = False,
    ) -> None:
        if fusion not in FUSION_METHODS:
            raise ConfigurationError(
                f"GLOVEBOX_RETRIEVAL_FUSION={fusion!r} is not one of {', '.join(FUSION_METHODS)}"
            )
        if dense is None and keyword is None:
            raise ConfigurationError("retrieval needs dense search, keyword search or both")
        self._dense = dense
        self._keyword = keyword
        self._fusion = fusion
        self._fetch_k = fetch_k
        self._rrf_k = rrf_k
        self._dense_weight = dense_weight
        self._reranker = reranker
        self._spelling = spelling and keyword is not None
        self._expansion = expansion and keyword is not None

    def rarity(self, term: str) -> float:
        """How rare a word is in the knowledge base (1.0 for every word without keyword search)."""
        return self._keyword.rarity(term) if self._keyword is not None else 1.0

    def run(self, query: RetrievalQuery) -> RetrievalResult:
        if self._spelling:
            assert self._keyword is not None
            query = replace(query, text=self._keyword.corrected(query.text))
        dense = self._dense.run(query, self._fetch_k) if self._dense else []
        keyword = self._keyword.run(query, self._fetch_k) if self._keyword else []
        fused = self._fuse(dense, keyword)
        if self._expansion and fused:
            assert self._keyword is not None
            extra = self._keyword.expansion_for(query.text, fused[:EXPANSION_FEEDBACK])
            if extra:
                keyword = self._keyword.run(query, self._fetch_k, extra_terms=extra)
                fused = self._fuse([replace(p, keyword_rank=None) for p in dense], keyword)
        if self._reranker is not None:
            fused = self._reranker.run(query.text, fused[: self._fetch_k])
        top_dense = {p.chunk_id for p in dense[:5]}
        top_keyword = {p.chunk_id for p in keyword[:10]}
        return RetrievalResult(
            passages=fused[: query.k],
            dense_top_similarity=dense[0].dense_similarity or 0.0 if dense else 0.0,
            keyword_top_score=keyword[0].score if keyword else 0.0,
            retriever_agreement=(
                len(top_dense & top_keyword) / len(top_dense) if top_dense and keyword else 0.0
            ),
        )

    def _fuse(self, dense: list[Passage], keyword: list[Passage]) -> list[Passage]:
        merged: dict[str, Passage] = {}
        for passage in dense:
            merged[passage.chunk_id] = passage
        for passage in keyword:
            if passage.chunk_id in merged:
                merged[passage.chunk_id].keyword_rank = passage.keyword_rank
            else:
                merged[passage.chunk_id] = passage
        score: Callable[[Passage], float]
        if self._fusion == "rrf":
            k = self._rrf_k

            def score(p: Passage) -> float:
                return sum(1.0 / (k + rank) for rank in (p.dense_rank, p.keyword_rank) if rank)
        else:
            top_keyword = max((p.score for p in keyword), default=0.0) or 1.0
            keyword_scores = {p.chunk_id: p.score / top_keyword for p in keyword}

            def score(p: Passage) -> float:
                dense_part = max(0.0, p.dense_similarity or 0.0)
                keyword_part = keyword_scores.get(p.chunk_id, 0.0)
                return self._dense_weight * dense_part + (1 - self._dense_weight) * keyword_part

        for passage in merged.values():
            passage.score = score(passage)
        return sorted(merged.values(), key=lambda p: (-p.score, p.chunk_id))


def as_langchain_retriever(
    retriever: Retriever, channel: Channel, vehicle: Vehicle | None = None, k: int = 8
) -> BaseRetriever:
    """The hybrid retriever behind LangChain's `BaseRetriever` seam (for chains and tools)."""
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    class GloveboxRetriever(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            result = retriever.run(RetrievalQuery(query, channel, vehicle, k))
            return [
                Document(
                    page_content=p.text,
                    id=p.chunk_id,
                    metadata={**p.metadata, "score": p.score},
                )
                for p in result.passages
            ]

    return GloveboxRetriever()
