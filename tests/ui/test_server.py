"""The HTTP app: health and knowledge-base status, a clear refusal when nothing is ingested, and
the API docs served from this machine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.sync import build_ingest_job
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from tests.ingest.corpus import write_corpus
from ui.api.driver_guard import DRIVER_PATHS
from ui.api_docs import ASSETS_PATH
from ui.server import create_app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: GloveboxSettings, real_embedder, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    """The app over a small ingested knowledge base."""
    from fastapi.testclient import TestClient

    build_ingest_job(settings, "default", real_embedder).run([write_corpus(tmp_path / "kb")])
    return TestClient(create_app(settings, "default"))


def test_health_and_status_after_ingest(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["chunks"] > 0
    status = client.get("/api/knowledge-base").json()
    assert status["ready"] is True
    assert status["documents_by_kind"] == {"owner_manual": 1, "faq": 2, "service_bulletin": 1}


def test_serving_an_empty_knowledge_base_says_to_ingest(settings: GloveboxSettings) -> None:
    with pytest.raises(ConfigurationError, match="glovebox ingest"):
        create_app(settings, "default")


def test_the_api_docs_describe_both_apis_from_files_served_here(client: TestClient) -> None:
    schema = client.get("/openapi.json")
    assert schema.status_code == 200, schema.text
    paths = schema.json()["paths"]
    for path in (*DRIVER_PATHS, "/v1/chat/completions", "/v1/agent/chat", "/v1/agent/tickets"):
        assert any(listed.startswith(path) for listed in paths), f"{path} is not in the schema"
    assert "/login" in paths
    page = client.get("/docs")
    assert page.status_code == 200 and "'/openapi.json'" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3 and all(url.startswith(ASSETS_PATH + "/") for url in assets), assets
    assert "://" not in page.text  # nothing from a CDN
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404  # ReDoc fetches its logo from a CDN
