"""Readiness and what the knowledge base holds: for load balancers and operators, no sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ui.api.dependencies import StateDep

router = APIRouter()


@router.get("/healthz")
def healthz(state: StateDep) -> dict[str, Any]:
    store = state.services.store
    return {"status": "ok", "knowledge_base": state.knowledge_base, "chunks": store.count()}


@router.get("/api/knowledge-base")
def knowledge_base(state: StateDep) -> dict[str, Any]:
    store = state.services.store
    documents: dict[str, int] = {}
    for chunk in store.iter_chunks():
        kind = str(chunk.metadata.get("kind", "unknown"))
        documents.setdefault(kind, 0)
        if chunk.metadata.get("position") == 0:
            documents[kind] += 1
    return {
        "knowledge_base": state.knowledge_base,
        "embedding_model": store.embedding_model,
        "chunks": store.count(),
        "documents_by_kind": documents,
        "ready": store.count() > 0,
    }
