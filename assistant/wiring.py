"""Building the assistant from settings: the one place its parts are created and connected."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from assistant.calibration import SHIPPED_MODEL, ConfidenceModel
from assistant.chain import Assistant, ChainPolicy
from assistant.desk.accounts import SqlAccountStore
from assistant.desk.database import Database
from assistant.desk.feedback import SqlFeedbackStore
from assistant.desk.sessions import SqlSessionStore
from assistant.desk.stores import DeskStores, open_desk
from assistant.desk.tickets import SqlTicketStore
from assistant.extractive import ExtractiveGenerator
from assistant.protocols import AnswerGenerator, QueryRewriter, Reranker, SupportChecker
from assistant.recalls import RecallLookup
from assistant.records import Channel, RetrievalQuery
from assistant.retrieval import (
    CrossEncoderReranker,
    DenseRetriever,
    HybridRetriever,
    KeywordIndex,
    UnitReranker,
)
from assistant.rewriter import RuleQueryRewriter
from assistant.safety import (
    DangerPatterns,
    LayeredSafetyDetector,
    RecallUseRule,
    SafetyDetector,
    SafetyLayer,
)
from assistant.safety_semantic import SHIPPED_MODEL as SHIPPED_SAFETY_MODEL
from assistant.safety_semantic import SimilarMessages, load_bank
from assistant.sections import SectionExpander
from assistant.sources import SourceLibrary
from assistant.starters import StarterQuestions
from assistant.support import DeterministicSupportChecker
from assistant.vehicles import CatalogOnFirstUse, VehicleCatalog, names_used_for_other_things
from knowledge.components import (
    build_embedder,
    build_safety_embedder,
    open_keyword_index,
    open_knowledge_base,
)
from knowledge.embedder import CachedEmbedder, Embedder
from knowledge.errors import ConfigurationError, GloveboxError
from knowledge.keywords import KeywordIndexFiles, catch_up, indexed_terms
from knowledge.profile import load_profile
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, KnowledgeStore


def build_search(
    store: KnowledgeStore, embedder: Embedder, keywords: KeywordIndexFiles | None = None
) -> tuple[DenseRetriever, KeywordIndex]:
    """A knowledge base's dense search and its BM25 index: one per knowledge base, which
    every retriever over it shares (the benches fuse them in several ways). Without the
    persisted `keywords` index, the BM25 index is built in memory from the store."""
    return DenseRetriever(store, embedder), KeywordIndex(store, keywords)


def build_keyword_index(settings: GloveboxSettings, store: KnowledgeStore) -> KeywordIndex:
    """The knowledge base's keyword index, opened from its files beside it: keyword search
    and metadata lookups (recall notices) read it."""
    return KeywordIndex(store, open_keyword_index(settings, store.kb))


def build_catalog(
    settings: GloveboxSettings, store: KnowledgeStore, keywords: KeywordIndexFiles | None = None
) -> VehicleCatalog:
    """The vehicles a knowledge base's documents cover, named as the carmaker's profile says:
    from the keyword index's distinct vehicle fields when there is one (brought up to the store
    first), else from every chunk's metadata."""
    rows: Iterable[Mapping[str, Any]]
    if keywords is not None:
        catch_up(keywords, store)
        combinations = keywords.distinct_metadata(VehicleCatalog.METADATA_FIELDS)
        rows = [row for row, _ in combinations]
        model_chunks: Counter[str | None] = Counter()
        for row, chunks in combinations:
            model_chunks[row["model"]] += chunks
        word_documents = keywords.document_frequencies()
    else:
        rows, model_chunks, word_documents = _catalogue_facts(store)
    return VehicleCatalog.from_metadata(
        rows,
        profile=load_profile(settings.profile_path),
        everyday_names=names_used_for_other_things(model_chunks, word_documents),
    )


def _catalogue_facts(
    store: KnowledgeStore,
) -> tuple[list[Mapping[str, Any]], Counter[str | None], Counter[str]]:
    """Without a keyword index, what it would tell the catalogue, from every chunk: each
    chunk's metadata, the chunks of each model, and the chunks each keyword token is in."""
    rows: list[Mapping[str, Any]] = []
    model_chunks: Counter[str | None] = Counter()
    word_documents: Counter[str] = Counter()
    for chunk, text in store.iter_chunks_with_text():
        rows.append(chunk.metadata)
        model_chunks[str(chunk.metadata.get("model") or "") or None] += 1
        word_documents.update(set(indexed_terms(chunk.metadata, text)))
    return rows, model_chunks, word_documents


def build_retriever(
    settings: GloveboxSettings,
    store: KnowledgeStore,
    embedder: Embedder,
    line_embedder: Embedder | None = None,
    *,
    keyword: KeywordIndex | None = None,
) -> HybridRetriever:
    """`line_embedder` embeds the lines the reranker compares (share a `CachedEmbedder`);
    `keyword` is the knowledge base's keyword index when the caller keeps it (a server warms
    it up)."""
    keyword = keyword or build_keyword_index(settings, store)
    lines = line_embedder or CachedEmbedder(embedder)
    # The shared cache embeds the question once for the safety layer and the dense search.
    dense = DenseRetriever(store, lines, keyword.admitted_ids, keyword.metadata_and_text)
    reranker: Reranker | None = None
    if settings.reranker_model_path:
        reranker = CrossEncoderReranker(str(settings.reranker_model_path))
    elif settings.retrieval_line_rerank:
        reranker = UnitReranker(lines)
    return HybridRetriever(
        dense,
        keyword,
        fusion=settings.retrieval_fusion,
        fetch_k=settings.retrieval_fetch_k,
        dense_weight=settings.retrieval_dense_weight,
        reranker=reranker,
        spelling=settings.retrieval_spelling,
        expansion=settings.retrieval_expansion,
    )


@dataclass(frozen=True)
class Services:
    """Everything a server needs, opened once: one embedder, one store, one database.

    Opening them is quick; what the first question would wait for (the model, the indexes,
    the catalogue) is loaded on first use, once, or ahead of it by `WarmUp`.
    """

    assistant: Assistant
    sessions: SqlSessionStore
    tickets: SqlTicketStore
    feedback: SqlFeedbackStore
    accounts: SqlAccountStore
    recalls: RecallLookup
    store: ChromaKnowledgeStore
    embedder: Embedder
    keyword: KeywordIndex
    retriever: HybridRetriever
    sources: SourceLibrary
    starters: StarterQuestions
    database: Database
    """The desk's database, which the shared rate limits also count in."""

    @property
    def catalog(self) -> VehicleCatalog:
        return self.assistant.catalog


def open_settings_desk(settings: GloveboxSettings) -> DeskStores:
    """The desk's stores on the configured database, with the configured ticket cap."""
    return open_desk(
        settings.resolved_database_url,
        max_open_tickets_per_client=settings.max_open_tickets_per_address,
    )


def build_services(settings: GloveboxSettings, kb: str) -> Services:
    """A server's services, opened without loading the model or reading the knowledge base
    (a missing knowledge base is still refused here)."""
    embedder = build_embedder(settings)
    store = open_knowledge_base(settings, kb, embedder, create=False, load_model=False)
    desk = open_settings_desk(settings)
    lines = CachedEmbedder(embedder)
    keyword = build_keyword_index(settings, store)
    retriever = build_retriever(settings, store, embedder, lines, keyword=keyword)
    assistant = build_assistant(
        settings,
        kb,
        embedder=embedder,
        desk=desk,
        store=store,
        retriever=retriever,
        keyword=keyword,
        lines=lines,
    )
    return Services(
        assistant=assistant,
        sessions=desk.sessions,
        tickets=desk.tickets,
        feedback=desk.feedback,
        accounts=desk.accounts,
        recalls=assistant.recalls,
        store=store,
        embedder=embedder,
        keyword=keyword,
        retriever=retriever,
        sources=SourceLibrary(store),
        starters=StarterQuestions(store, load_profile(settings.profile_path)),
        database=desk.database,
    )


def build_safety_detector(settings: GloveboxSettings, embedder: Embedder) -> SafetyDetector:
    """The danger patterns and the recall-use rule, then the semantic layer when it is on."""
    layers: list[SafetyLayer] = [DangerPatterns(), RecallUseRule()]
    if settings.safety_semantic:
        layers.append(build_semantic_layer(settings, embedder))
    return LayeredSafetyDetector(layers)


def build_semantic_layer(settings: GloveboxSettings, embedder: Embedder) -> SimilarMessages:
    """The semantic safety layer as settings describe it (its embedder, bank and model)."""
    bank = load_bank(settings.safety_bank_path) if settings.safety_bank_path else None
    return SimilarMessages(
        build_safety_embedder(settings, embedder),
        bank,
        shipped_model=settings.safety_model_path or SHIPPED_SAFETY_MODEL,
    )


def build_assistant(
    settings: GloveboxSettings,
    kb: str,
    *,
    embedder: Embedder | None = None,
    generator_kind: Literal["extractive", "llm"] | None = None,
    desk: DeskStores | None = None,
    store: KnowledgeStore | None = None,
    retriever: HybridRetriever | None = None,
    keyword: KeywordIndex | None = None,
    lines: CachedEmbedder | None = None,
) -> Assistant:
    """The assistant for one knowledge base: extractive by default, an LLM when one is set.

    `generator_kind` overrides that choice (the eval suite compares the two); `store` is the
    knowledge base already opened with `embedder`, when the caller has one, and `retriever`
    its `build_retriever`, when the caller also retrieves (the eval scores retrieval with it);
    `keyword` the keyword index it searches (recall lookups read it too); `lines` the line
    cache that retriever's reranker shares. The vehicle catalogue is read from the knowledge
    base when first needed.
    """
    if generator_kind == "llm" and not settings.llm_base_url:
        raise ConfigurationError(
            "the llm generator needs GLOVEBOX_LLM_BASE_URL (an OpenAI-compatible endpoint); "
            "set it or use --generator extractive"
        )
    use_llm = bool(settings.llm_base_url) and generator_kind != "extractive"
    embedder = embedder or build_embedder(settings)
    store = store or open_knowledge_base(settings, kb, embedder, create=False)
    desk = desk or open_settings_desk(settings)
    lines = lines or CachedEmbedder(embedder)  # the reranker and generator embed the same lines
    generator: AnswerGenerator = ExtractiveGenerator(embedder=lines)
    support: SupportChecker = DeterministicSupportChecker(
        embedder, min_similarity=settings.support_min_similarity
    )
    rewriter: QueryRewriter = RuleQueryRewriter()
    if use_llm:
        assert settings.llm_base_url is not None
        from assistant.llm import (
            LlmAnswerGenerator,
            LlmQueryRewriter,
            LlmSupportJudge,
            build_chat_model,
        )

        chat_model = build_chat_model(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_temperature,
            settings.llm_timeout_seconds,
            settings.llm_max_tokens,
        )
        generator = LlmAnswerGenerator(chat_model)
        support = LlmSupportJudge(chat_model)
        rewriter = LlmQueryRewriter(chat_model)
    keyword = keyword or build_keyword_index(settings, store)
    if retriever is None:
        retriever = build_retriever(settings, store, embedder, lines, keyword=keyword)
    return Assistant(
        retriever=retriever,
        generator=generator,
        support_checker=support,
        rewriter=rewriter,
        sessions=desk.sessions,
        tickets=desk.tickets,
        catalog=CatalogOnFirstUse(
            lambda: build_catalog(settings, store, open_keyword_index(settings, store.kb))
        ),
        recalls=RecallLookup(keyword),
        sections=SectionExpander(store, keyword.metadata_and_text),
        confidence=ConfidenceModel.load(settings.confidence_model_path or SHIPPED_MODEL),
        safety=build_safety_detector(settings, lines),
        policy=ChainPolicy(
            k=settings.retrieval_k,
            answer_threshold=settings.confidence_answer_threshold,
            max_failed_answers=settings.max_failed_answers,
            handoff_message=settings.handoff_message,
        ),
    )


WARM_UP_QUESTION = "How do I reset the warning light?"
"""Asked of each part once by the warm-up (no conversation is made): any words do."""
WarmUpState = Literal["starting", "ready", "failed"]


class WarmUp:
    """Loads, once and in a background thread, what a server's first question would wait
    for: the desk's tables, the embedding model, the keyword and vector indexes, the vehicle
    catalogue and the safety layer's embedder. Requests that come first wait for the same
    loads (each part loads once, under its own lock), so nothing is built twice.

        warm_up = WarmUp(services)
        warm_up.start()
        warm_up.state  # "starting", then "ready"; or "failed", and warm_up.error says why
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.state: WarmUpState = "starting"
        self.step = ""
        """The part being loaded now."""
        self.error: str | None = None
        self.seconds: float | None = None
        """How long the warm-up took, once it is over."""

    def start(self) -> None:
        """Starts the warm-up thread (once, however often it is called)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self.run, name="glovebox-warm-up")
                self._thread.daemon = True  # a server stopped while warming up just stops
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the warm-up is over (ready or failed) within `timeout` seconds."""
        return self._done.wait(timeout)

    def run(self) -> None:
        started = time.perf_counter()
        try:
            for step, load in self._steps():
                self.step = step
                load()
        except Exception as error:  # any failure: /healthz says it, the log has the rest
            self.error = warm_up_failure(self.step, error)
            self.state = "failed"
            logging.getLogger("glovebox").exception("warm-up failed: %s", self.error)
        else:
            self.state = "ready"
        finally:
            self.seconds = time.perf_counter() - started
            self._done.set()

    def _steps(self) -> list[tuple[str, Callable[[], object]]]:
        services = self._services
        query = RetrievalQuery(WARM_UP_QUESTION, Channel.AGENT, None, 1)
        return [
            ("desk database", services.database.prepare),
            ("embedding model", self._load_model),
            ("keyword index", services.keyword.prepare),
            ("vector index", lambda: services.retriever.run(query)),
            ("vehicle catalogue", lambda: services.assistant.catalog),
            ("recall notices", services.recalls.data_through),
            ("safety layer", lambda: services.assistant.safety.detect(WARM_UP_QUESTION)),
        ]

    def _load_model(self) -> None:
        embedder = self._services.embedder
        embedder.embed_query(WARM_UP_QUESTION)
        self._services.store.check_embedder(embedder.model_name, embedder.dimension)


def warm_up_failure(step: str, error: Exception) -> str:
    """What /healthz says when the warm-up failed: the part, the error, and what to do."""
    if isinstance(error, GloveboxError):  # its message already says what to do
        return f"loading the {step} failed: {error}"
    return (
        f"loading the {step} failed ({type(error).__name__}: {error}); the server log has "
        "the traceback: fix the cause and restart `glovebox serve`"
    )
