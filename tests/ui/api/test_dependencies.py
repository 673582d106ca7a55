"""The dependencies routes ask for: the publishable key and its origins, the per-address rate,
the signed-in agent, and the app's state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from assistant.desk.accounts import AgentAccount
from assistant.desk.agent_desk import NotSignedIn
from assistant.desk.database import Database
from assistant.desk.migrations import upgrade_to_head
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from ui.agent_auth import SESSION_COOKIE
from ui.api.dependencies import (
    KEYED,
    SignedInAgent,
    agent_desk,
    api_settings,
    publishable_key,
    rate_limits,
)
from ui.api.errors import install_error_handlers
from ui.api.rate_limit import RateLimits

KEY = "pk_test"
SITE = "https://shop.example"
ANA = AgentAccount("ana", "Ana Agent", True, datetime(2025, 1, 1, tzinfo=UTC), None)


class OneSessionDesk:
    """Stands in for `AgentDesk.agent_for`: one live token, Ana's."""

    def agent_for(self, token: str | None) -> AgentAccount:
        if token != "live-token":
            raise NotSignedIn("sign in again: no session, or it has expired")
        return ANA


class Question(BaseModel):
    question: str


def app_with(settings: GloveboxSettings, per_address: int = 100) -> FastAPI:
    application = FastAPI()
    install_error_handlers(application, staff_paths=())
    database = Database("sqlite://", stage="tickets", create_tables=upgrade_to_head)
    limits = RateLimits.from_settings(
        settings.model_copy(update={"rate_limit_per_ip": per_address}), database
    )
    keyed = settings.model_copy(update={"widget_keys": {KEY: [SITE + "/"]}})
    application.dependency_overrides[api_settings] = lambda: keyed
    application.dependency_overrides[rate_limits] = lambda: limits
    application.dependency_overrides[agent_desk] = OneSessionDesk

    @application.get("/key")
    def key(named: str = Depends(publishable_key)) -> dict[str, str]:
        return {"key": named}

    @application.post("/guarded", dependencies=KEYED)
    def guarded(body: Question) -> dict[str, str]:
        return {"question": body.question}

    @application.get("/me")
    def me(agent: SignedInAgent) -> dict[str, str]:
        return {"username": agent.username}

    return application


@pytest.fixture
def client(settings: GloveboxSettings) -> TestClient:
    return TestClient(app_with(settings))


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ({}, 401, "no publishable key"),
        ({"X-Glovebox-Key": "pk_other"}, 401, "unknown publishable key"),
        ({"X-Glovebox-Key": KEY, "Origin": "https://evil.example"}, 403, "is not allowed"),
    ],
)
def test_a_missing_unknown_or_foreign_key_is_refused(
    client: TestClient, headers: dict[str, str], status: int, says: str
) -> None:
    response = client.get("/key", headers=headers)
    assert response.status_code == status and says in response.json()["error"]["message"]


def test_a_key_comes_as_a_header_or_an_openai_bearer_token(client: TestClient) -> None:
    assert client.get("/key", headers={"X-Glovebox-Key": f" {KEY} "}).json() == {"key": KEY}
    assert client.get("/key", headers={"Authorization": f"Bearer {KEY}"}).json() == {"key": KEY}
    from_site = client.get("/key", headers={"X-Glovebox-Key": KEY, "Origin": SITE})
    assert from_site.json() == {"key": KEY}  # the allowed origin's trailing slash is no matter


def test_the_key_is_checked_before_the_body_and_a_refused_key_costs_no_rate(
    settings: GloveboxSettings,
) -> None:
    client = TestClient(app_with(settings, per_address=2))
    for _ in range(3):
        stranger = client.post("/guarded", json={"not": "a question"})
        assert stranger.status_code == 401
    keyed = {"X-Glovebox-Key": KEY}
    allowed = [client.post("/guarded", headers=keyed, json={"question": "hi"}) for _ in range(2)]
    assert [response.status_code for response in allowed] == [200, 200]
    limited = client.post("/guarded", headers=keyed, json={"question": "hi"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 120  # two windows at most
    assert limited.json() == {
        "error": {"message": "too many requests from this address; wait a minute"}
    }


def test_the_agent_is_whoever_the_cookie_or_bearer_session_belongs_to(
    client: TestClient,
) -> None:
    assert client.get("/me", headers={"Authorization": "Bearer live-token"}).json() == {
        "username": "ana"
    }
    client.cookies.set(SESSION_COOKIE, "live-token")
    assert client.get("/me").json() == {"username": "ana"}
    # A bearer token wins over the cookie: an API client says who it is.
    refused = client.get("/me", headers={"Authorization": "Bearer expired"})
    assert refused.status_code == 401
    assert refused.json() == {"error": {"message": "sign in again: no session, or it has expired"}}


def test_an_app_without_the_api_state_says_how_to_build_it(settings: GloveboxSettings) -> None:
    application = app_with(settings)
    del application.dependency_overrides[api_settings]
    with pytest.raises(ConfigurationError, match=r"ui\.server\.create_app"):
        TestClient(application).get("/key", headers={"X-Glovebox-Key": KEY})
