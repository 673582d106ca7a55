"""Building the knowledge components from settings: the one place they are wired together."""

from __future__ import annotations

from knowledge.embedder import Embedder, SentenceTransformerEmbedder
from knowledge.settings import GloveboxSettings
from knowledge.store import KnowledgeStore, make_chroma_client


def build_embedder(settings: GloveboxSettings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model_path, batch_size=settings.embedding_batch_size
    )


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
