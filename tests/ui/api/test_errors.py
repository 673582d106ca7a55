"""Every refusal has one JSON shape, whichever error raised it, and a failed stage's detail
reaches only the signed-in agents' paths."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from assistant.desk.agent_desk import NotSignedIn
from knowledge.errors import InputError, StageError
from ui.api.errors import UNAVAILABLE, ApiError, install_error_handlers

DETAIL = "the LLM at http://10.1.2.3:8000/v1 refused; check GLOVEBOX_LLM_API_KEY"


class Note(BaseModel):
    text: str = Field(min_length=1)


def failing_app() -> FastAPI:
    application = FastAPI()
    install_error_handlers(application, staff_paths=("/staff/",))

    @application.get("/refused")
    def refused() -> None:
        raise ApiError(409, "GBX-000001 is already rated; a ticket is rated once", "ticket_id")

    @application.get("/unnamed")
    def unnamed() -> None:
        raise ApiError(429, "too many requests from this address; wait a minute")

    @application.get("/bad-input")
    def bad_input() -> None:
        raise InputError("vehicle", "enter a 17-character VIN, or a model and year")

    @application.get("/signed-out")
    def signed_out() -> None:
        raise NotSignedIn("sign in again: no session, or it has expired")

    @application.get("/staff/stage")
    @application.get("/public/stage")
    def stage() -> None:
        raise StageError("generate", DETAIL)

    @application.post("/notes")
    def notes(note: Note, days: int = Query(default=1, ge=1)) -> dict[str, str]:
        return {"text": note.text}

    return application


@pytest.fixture
def client() -> TestClient:
    return TestClient(failing_app())


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/refused", 409, {"message": "GBX-000001 is already rated; a ticket is rated once",
                           "field": "ticket_id"}),
        ("/unnamed", 429, {"message": "too many requests from this address; wait a minute"}),
        ("/bad-input", 400, {"message": "vehicle: enter a 17-character VIN, or a model and year",
                             "field": "vehicle"}),
        ("/signed-out", 401, {"message": "sign in again: no session, or it has expired"}),
    ],
)  # fmt: skip
def test_each_error_answers_its_status_in_the_one_shape(
    client: TestClient, path: str, status: int, error: dict[str, str]
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json() == {"error": error}


def test_a_failed_stage_shows_its_detail_to_agents_and_only_logs_it_elsewhere(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="ui.api.errors"):
        public = client.get("/public/stage")
    assert public.status_code == 503 and public.json() == {"error": {"message": UNAVAILABLE}}
    assert DETAIL in caplog.text and "/public/stage" in caplog.text
    staff = client.get("/staff/stage")
    assert staff.status_code == 503
    assert staff.json() == {"error": {"message": f"generate: {DETAIL}"}}


def test_a_refused_field_is_named_by_its_path(client: TestClient) -> None:
    body = client.post("/notes", json={"text": ""})
    assert body.status_code == 422
    assert body.json()["error"]["field"] == "text"
    assert body.json()["error"]["message"].startswith("text: String should have at least 1")
    query = client.post("/notes", params={"days": 0}, json={"text": "ok"})
    assert query.status_code == 422 and query.json()["error"]["field"] == "query.days"


def test_a_body_that_is_not_json_is_named_the_body(client: TestClient) -> None:
    response = client.post(
        "/notes", content=b"text=hi", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "body" and "not valid JSON" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "field"),
    [("GET", "/no-such-route", 404, "path"), ("DELETE", "/refused", 405, "method")],
)
def test_starlettes_own_refusals_answer_in_the_one_shape(
    client: TestClient, method: str, path: str, status: int, field: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert set(response.json()) == {"error"} and response.json()["error"]["field"] == field
    if status == 405:
        assert response.headers["allow"] == "GET"


def test_a_body_nested_too_deep_to_parse_is_named_the_body(client: TestClient) -> None:
    nested = b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = client.post("/notes", content=nested, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    assert "JSON" in response.json()["error"]["message"]


def test_the_assistants_session_is_named_by_the_request_field() -> None:
    application = failing_app()

    @application.get("/lost-session")
    def lost_session() -> None:
        raise InputError("session", "no session s9; leave it out to start a new conversation")

    response = TestClient(application).get("/lost-session")
    assert response.status_code == 400 and response.json()["error"]["field"] == "session_id"


def test_a_bug_is_a_500_in_the_one_shape_with_nothing_of_it_shown() -> None:
    application = failing_app()

    @application.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret internal detail")

    response = TestClient(application, raise_server_exceptions=False).get("/bug")
    assert response.status_code == 500
    assert response.json() == {"error": {"message": UNAVAILABLE}}
