"""The HTTP app `glovebox serve` runs. For now: readiness and knowledge-base status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from knowledge.settings import GloveboxSettings

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(settings: GloveboxSettings, kb: str) -> FastAPI:
    """Opens the knowledge base once (refusing a missing or mismatched one); serves its status."""
    from fastapi import FastAPI

    from knowledge.components import build_embedder, open_knowledge_base

    embedder = build_embedder(settings)
    store = open_knowledge_base(settings, kb, embedder, create=False)
    application = FastAPI(title="Glovebox", version="0.1.0")

    @application.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "knowledge_base": kb, "chunks": store.count()}

    @application.get("/api/knowledge-base")
    def knowledge_base() -> dict[str, Any]:
        documents: dict[str, int] = {}
        for chunk in store.iter_chunks():
            kind = str(chunk.metadata.get("kind", "unknown"))
            documents.setdefault(kind, 0)
            if chunk.metadata.get("position") == 0:
                documents[kind] += 1
        return {
            "knowledge_base": kb,
            "embedding_model": store.embedding_model,
            "chunks": store.count(),
            "documents_by_kind": documents,
            "ready": store.count() > 0,
        }

    return application
