"""A real uvicorn server on loopback, in this process, over a small knowledge base: a signed-in
agent and a publishable key reach every route, and uvicorn's own refusals are seen too."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from knowledge.settings import GloveboxSettings
from tests.conftest import SAMPLE_PROFILE
from tests.ingest.corpus import write_corpus

AGENT = ("ana", "correct-horse-42")
WIDGET_KEY = "pk_hostile_test"


@dataclass(frozen=True)
class LiveApi:
    url: str
    port: int
    agent_token: str
    widget_key: str

    @property
    def agent_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agent_token}"}

    @property
    def key_headers(self) -> dict[str, str]:
        return {"X-Glovebox-Key": self.widget_key}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[LiveApi]:  # type: ignore[no-untyped-def]
    """`ui.server.create_app` served as `glovebox serve` serves it (`ui.cli.serve`'s config)."""
    import uvicorn

    from assistant.desk.accounts import SqlAccountStore
    from ingest.sync import build_ingest_job
    from ui.server import create_app, uvicorn_config

    folder = tmp_path_factory.mktemp("live-api")
    database_url = f"sqlite:///{folder / 'glovebox.sqlite3'}"
    settings = GloveboxSettings(
        home=folder / "home",
        profile_path=SAMPLE_PROFILE,
        database_url=database_url,
        widget_keys={WIDGET_KEY: ["http://127.0.0.1:9"]},
        rate_limit_per_ip=1_000_000,
        rate_limit_per_session=1_000_000,
        max_open_tickets_per_address=10_000,
    )
    build_ingest_job(settings, "default", real_embedder).run([write_corpus(folder / "kb")])
    accounts = SqlAccountStore(database_url)
    accounts.add_agent(*AGENT, display_name="Ana Agent")
    accounts.close()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = uvicorn_config(create_app(settings, "default"), settings, host="127.0.0.1", port=port)
    config.log_level = "critical"  # hostile requests are expected; their warnings are noise
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            signed_in = client.post(
                "/v1/agent/sessions", json={"username": AGENT[0], "password": AGENT[1]}
            )
        assert signed_in.status_code == 200, signed_in.text
        yield LiveApi(url, port, str(signed_in.json()["token"]), WIDGET_KEY)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()


def assert_one_error_shape(response: httpx.Response) -> dict[str, str]:
    """The documented `{"error": {"message", "field"?}}`, and nothing else; its error."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.status_code,
        response.headers.get("content-type"),
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, response.text[:300]
    error = body["error"]
    assert isinstance(error, dict) and set(error) <= {"message", "field"}, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error.get("field", ""), str), error
    return dict(error)
