"""The guard in front of the driver API: exact-origin CORS, preflights, and bodies capped
before they are read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.middleware.base import BaseHTTPMiddleware

from knowledge.settings import GloveboxSettings
from ui.api.driver_guard import DriverGuard

SITE = "https://shop.example"


@pytest.fixture
def client(settings: GloveboxSettings) -> TestClient:
    guarded = settings.model_copy(
        update={"widget_keys": {"pk_test": [SITE + "/"]}, "max_request_bytes": 2048}
    )
    application = FastAPI()
    application.add_middleware(BaseHTTPMiddleware, dispatch=DriverGuard(guarded).dispatch)

    @application.post("/v1/chat")
    async def chat(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @application.post("/v1/agent/chat")
    async def agent_chat(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return TestClient(application)


def test_a_preflight_from_an_allowed_origin_gets_that_origin_back(client: TestClient) -> None:
    allowed = client.options("/v1/chat", headers={"Origin": SITE})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE  # exact, never "*"
    assert allowed.headers["vary"] == "Origin"
    refused = client.options("/v1/chat", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert refused.json() == {
        "error": {"message": "origin https://evil.example may not use this API"}
    }


def test_only_driver_paths_answer_an_allowed_origin_with_cors(client: TestClient) -> None:
    driver = client.post("/v1/chat", headers={"Origin": SITE}, json={})
    assert driver.headers["access-control-allow-origin"] == SITE
    agent = client.post("/v1/agent/chat", headers={"Origin": SITE}, json={})
    assert agent.status_code == 200 and "access-control-allow-origin" not in agent.headers


def test_a_body_over_the_cap_or_without_a_length_is_refused_unread(client: TestClient) -> None:
    assert client.post("/v1/chat", content=b"x" * 2048).json() == {"bytes": 2048}
    over = client.post("/v1/chat", content=b"x" * 2049)
    assert over.status_code == 413 and "over 2048 bytes" in over.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:
        yield b"x"

    unmeasured = client.post("/v1/chat", content=chunked())
    assert unmeasured.status_code == 411
    assert "Content-Length" in unmeasured.json()["error"]["message"]
