"""Readiness and what the knowledge base holds: for load balancers and operators, no sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ui.api.dependencies import StateDep

router = APIRouter()


@router.get("/healthz", responses={503: {"description": "Starting, or the warm-up failed"}})
def healthz(state: StateDep) -> JSONResponse:
    """200 "ready" once the first question will be fast (the model loaded, the indexes open,
    the catalogue read); 503 "starting" before that, or "failed" with what to do. A load
    balancer sends traffic only on 200."""
    warm_up = state.warm_up
    body: dict[str, Any] = {"status": warm_up.state, "knowledge_base": state.knowledge_base}
    if warm_up.state == "ready":
        body["chunks"] = state.services.store.count()
        body["warm_up_seconds"] = round(warm_up.seconds or 0.0, 2)
    elif warm_up.state == "starting":
        body["loading"] = warm_up.step
    else:
        body["error"] = warm_up.error
    return JSONResponse(body, status_code=200 if warm_up.state == "ready" else 503)


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
