"""The HTTP app: health and knowledge-base status, a clear refusal when nothing is ingested, and
the API docs served from this machine."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.sync import build_ingest_job
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings, get_settings
from tests.ingest.corpus import write_corpus
from ui.api.driver_guard import DRIVER_PATHS
from ui.api_docs import ASSETS_PATH
from ui.server import create_app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from httpx import Response

pytestmark = pytest.mark.integration


@pytest.fixture
def ingested(settings: GloveboxSettings, real_embedder, tmp_path: Path) -> GloveboxSettings:  # type: ignore[no-untyped-def]
    """Settings whose default knowledge base holds a small corpus."""
    build_ingest_job(settings, "default", real_embedder).run([write_corpus(tmp_path / "kb")])
    return settings


@pytest.fixture
def client(ingested: GloveboxSettings) -> TestClient:
    """The app over a small ingested knowledge base."""
    from fastapi.testclient import TestClient

    return TestClient(create_app(ingested, "default"))


def wait_for_health(client: TestClient, timeout: float = 120) -> Response:
    """/healthz once the warm-up is over (ready or failed)."""
    deadline = time.monotonic() + timeout
    while (health := client.get("/healthz")).json()["status"] == "starting":
        assert time.monotonic() < deadline, "the warm-up did not end"
        time.sleep(0.1)
    return health


def test_health_is_ready_after_the_warm_up_and_the_status_counts_documents(
    ingested: GloveboxSettings,
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(ingested, "default")) as client:  # runs the app's startup
        health = wait_for_health(client)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ready" and health.json()["chunks"] > 0
    status = client.get("/api/knowledge-base").json()
    assert status["ready"] is True
    assert status["documents_by_kind"] == {"owner_manual": 1, "faq": 2, "service_bulletin": 1}


def test_health_says_starting_until_the_warm_up_has_loaded_everything(
    ingested: GloveboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server answers at once; a question asked meanwhile shares the warm-up's loads."""
    from fastapi.testclient import TestClient

    from assistant.retrieval import KeywordIndex

    loading = threading.Event()
    release = threading.Event()
    prepare = KeywordIndex.prepare

    def held_prepare(index: KeywordIndex) -> None:
        loading.set()
        assert release.wait(60)
        prepare(index)

    monkeypatch.setattr(KeywordIndex, "prepare", held_prepare)
    with TestClient(create_app(ingested, "default"), raise_server_exceptions=True) as client:
        assert loading.wait(120)
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json() == {
            "status": "starting", "knowledge_base": "default", "loading": "keyword index"
        }  # fmt: skip
        release.set()
        assert wait_for_health(client).json()["status"] == "ready"


def test_a_failed_warm_up_says_what_failed_and_what_to_do(
    ingested: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    damaged = tmp_path / "safety_model.json"
    damaged.write_text("{not json")
    monkeypatch.setenv("GLOVEBOX_SAFETY_SEMANTIC", "true")
    monkeypatch.setenv("GLOVEBOX_SAFETY_MODEL_PATH", str(damaged))
    get_settings.cache_clear()
    settings = get_settings()
    with TestClient(create_app(settings, "default")) as client:
        health = wait_for_health(client)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "failed"
    assert body["error"].startswith("loading the safety layer failed")
    assert str(damaged) in body["error"] and "--write-model" in body["error"]


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
