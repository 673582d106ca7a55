"""The HTTP app: health and knowledge-base status, and a clear refusal when nothing is ingested."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.sync import build_ingest_job
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from tests.ingest.corpus import write_corpus
from ui.server import create_app

pytestmark = pytest.mark.integration


def test_health_and_status_after_ingest(
    settings: GloveboxSettings, real_embedder, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    build_ingest_job(settings, "default", real_embedder).run([write_corpus(tmp_path / "kb")])
    client = TestClient(create_app(settings, "default"))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["chunks"] > 0
    status = client.get("/api/knowledge-base").json()
    assert status["ready"] is True
    assert status["documents_by_kind"] == {"owner_manual": 1, "faq": 2, "service_bulletin": 1}


def test_serving_an_empty_knowledge_base_says_to_ingest(settings: GloveboxSettings) -> None:
    with pytest.raises(ConfigurationError, match="glovebox ingest"):
        create_app(settings, "default")
