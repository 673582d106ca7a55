"""What a hostile client sends to a real server: absurd numbers, malformed HTTP and JSON, wrong
types and content-free text. Each gets a 4xx in the one error shape naming what was wrong, and
never a 500."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.ui.api.conftest import LiveApi, assert_one_error_shape

pytestmark = pytest.mark.integration

HUGE = 2**63
"""One past SQLite's largest integer: an OverflowError in the driver if it gets that far."""


def test_openapi_schema_is_built_and_every_operation_bounds_its_integers(
    live_api: LiveApi,
) -> None:
    with live_api.client() as client:
        schema = client.get("/openapi.json")
    assert schema.status_code == 200, schema.text
    document = schema.json()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if not bounded(parameter["schema"]):
                    unbounded.append(f"{method} {path} {parameter['name']}")
    for name, model in document["components"]["schemas"].items():
        for field, spec in model.get("properties", {}).items():
            if not bounded(spec):
                unbounded.append(f"{name}.{field}")
    unbounded = [entry for entry in unbounded if not entry.startswith(FASTAPI_OWN_SCHEMAS)]
    assert unbounded == []


FASTAPI_OWN_SCHEMAS = ("HTTPValidationError.", "ValidationError.")


def bounded(spec: dict[str, Any]) -> bool:
    """Every integer has a maximum and every free string a maximum length."""
    for option in spec.get("anyOf", [spec]):
        if "enum" in option or "const" in option:
            continue
        if option.get("type") == "integer" and "maximum" not in option:
            return False
        if option.get("type") == "string" and "maxLength" not in option:
            return False
    return True


@pytest.mark.parametrize(
    ("method", "path", "field", "request_args"),
    [
        ("GET", "/v1/agent/feedback", "query.limit", {"params": {"limit": HUGE}}),
        ("GET", "/v1/agent/feedback", "query.limit", {"params": {"limit": -1}}),
        ("POST", "/v1/agent/feedback", "turn_index",
         {"json": {"session_id": "s1", "turn_index": HUGE, "helpful": True}}),
        ("POST", "/v1/feedback", "turn_index",
         {"json": {"session_id": "s1", "turn_index": HUGE, "helpful": True}}),
        ("GET", "/v1/agent/tickets/GBX-99999999999999999999", "reference", {}),
        ("POST", "/v1/agent/tickets/9223372036854775808/claim", "reference", {}),
        ("GET", "/v1/agent/tickets/GBX-99999999999999999999/suggestion", "reference", {}),
        ("GET", "/v1/agent/insights", "query.days", {"params": {"days": HUGE}}),
        ("GET", "/v1/recalls", "query.year", {"params": {"model": "Tessel", "year": HUGE}}),
    ],
)  # fmt: skip
def test_absurd_numbers_are_refused_naming_their_field(
    live_api: LiveApi, method: str, path: str, field: str, request_args: dict[str, Any]
) -> None:
    headers = live_api.agent_headers if path.startswith("/v1/agent") else live_api.key_headers
    with live_api.client() as client:
        response = client.request(method, path, headers=headers, **request_args)
    assert 400 <= response.status_code < 500, response.text
    assert assert_one_error_shape(response).get("field") == field


def test_a_rating_for_an_absurd_ticket_number_is_refused_naming_it(live_api: LiveApi) -> None:
    with live_api.client() as client:
        escalated = client.post(
            "/v1/escalations", json={"message": "my wipers stopped"}, headers=live_api.key_headers
        )
        session_id = escalated.json()["session_id"]
        response = client.post(
            "/v1/ratings",
            json={"session_id": session_id, "ticket_id": "GBX-9223372036854775808", "rating": 3},
            headers=live_api.key_headers,
        )
    assert response.status_code == 400, response.text
    assert assert_one_error_shape(response)["field"] == "ticket_id"


def test_a_search_for_an_absurd_ticket_number_finds_nothing(live_api: LiveApi) -> None:
    with live_api.client() as client:
        response = client.get(
            "/v1/agent/tickets",
            params={"q": "GBX-9999999999999999999", "state": "all"},
            headers=live_api.agent_headers,
        )
    assert response.status_code == 200, response.text
    assert response.json() == []


@pytest.mark.parametrize("year", [99999, 0, -1, 1900, 1950, 2036])
def test_a_recall_year_outside_any_model_year_is_refused(live_api: LiveApi, year: int) -> None:
    with live_api.client() as client:
        response = client.get(
            "/v1/recalls", params={"model": "Tessel", "year": year}, headers=live_api.key_headers
        )
    assert response.status_code == 422, response.text
    assert assert_one_error_shape(response)["field"] == "query.year"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [("GET", "/no-such-page", "path"), ("PUT", "/healthz", "method"),
     ("DELETE", "/v1/chat", "method")],
)  # fmt: skip
def test_unknown_paths_and_methods_answer_in_the_one_shape(
    live_api: LiveApi, method: str, path: str, field: str
) -> None:
    with live_api.client() as client:
        response = client.request(method, path, headers=live_api.key_headers)
    assert response.status_code in (404, 405)
    assert assert_one_error_shape(response)["field"] == field


def test_json_nested_too_deep_is_refused_naming_the_body(live_api: LiveApi) -> None:
    nested = b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with live_api.client() as client:
        response = client.post(
            "/v1/agent/chat",
            content=nested,
            headers={**live_api.agent_headers, "Content-Type": "application/json"},
        )
    assert response.status_code in (400, 422)
    assert assert_one_error_shape(response)["field"] == "body"


@pytest.mark.parametrize("body", [b"{1", b'{"question": ', b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_named_the_body(live_api: LiveApi, body: bytes) -> None:
    with live_api.client() as client:
        response = client.post(
            "/v1/chat",
            content=body,
            headers={**live_api.key_headers, "Content-Type": "application/json"},
        )
    assert response.status_code == 422
    error = assert_one_error_shape(response)
    assert error["field"] == "body" and "JSON" in error["message"]


def raw_exchange(live_api: LiveApi, request: bytes) -> tuple[bytes, bytes]:
    """The status line and headers, and the body, uvicorn answers to `request`."""
    with socket.create_connection(("127.0.0.1", live_api.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    ("request_bytes", "field"),
    [
        (b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "Content-Length"),
        (b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
         b"\r\nab", "Content-Length"),
        (b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", "headers"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "request"),
    ],
)  # fmt: skip
def test_malformed_http_gets_a_json_400(
    live_api: LiveApi, request_bytes: bytes, field: str
) -> None:
    import json

    head, body = raw_exchange(live_api, request_bytes)
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)["error"]
    assert error["field"] == field and "HTTP" in error["message"], error


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/agent/chat", {"question": "\u0000"}, "question"),
        ("/v1/agent/chat", {"question": " \t\u0000\u200b\n"}, "question"),
        ("/v1/chat", {"question": "\u0000\u0000"}, "question"),
        ("/v1/chat", {"question": float("nan")}, "question"),
        ("/v1/chat", {"question": 12}, "question"),
        ("/v1/chat", {"question": ["tire pressure"]}, "question"),
        ("/v1/escalations", {"message": "\u0000"}, "message"),
        ("/v1/escalations", {"message": 3.5}, "message"),
        ("/v1/feedback", {"session_id": "s1", "turn_index": 0, "helpful": "yes"}, "helpful"),
        ("/v1/feedback", {"session_id": "s1", "turn_index": "0", "helpful": True}, "turn_index"),
        ("/v1/chat/completions",
         {"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
        ("/v1/chat/completions",
         {"messages": [{"role": "user", "content": "\u0000"}]}, "messages"),
    ],
)  # fmt: skip
def test_lax_and_content_free_bodies_are_refused_naming_the_field(
    live_api: LiveApi, path: str, body: dict[str, Any], field: str
) -> None:
    import json

    headers = live_api.agent_headers if path.startswith("/v1/agent") else live_api.key_headers
    with live_api.client() as client:
        response = client.post(
            path,
            content=json.dumps(body).encode(),  # NaN as JSON's NaN, as a hostile client sends
            headers={**headers, "Content-Type": "application/json"},
        )
    assert response.status_code in (400, 422), response.text
    assert assert_one_error_shape(response)["field"].startswith(field)


@pytest.mark.parametrize("action", ["notes", "replies", "resolve"])
@pytest.mark.parametrize("text", ["\u0000", "   ", "\u0000\r\n\t\u200b"])
def test_an_agent_text_with_no_content_is_refused(
    live_api: LiveApi, action: str, text: str
) -> None:
    with live_api.client() as client:
        escalated = client.post(
            "/v1/escalations",
            json={"message": "my charging flap is stuck"},
            headers=live_api.key_headers,
        )
        assert escalated.status_code == 200, escalated.text
        reference = escalated.json()["ticket_id"]
        response = client.post(
            f"/v1/agent/tickets/{reference}/{action}",
            json={"text": text},
            headers=live_api.agent_headers,
        )
        assert response.status_code == 422, response.text
        assert assert_one_error_shape(response)["field"] == "text"
        ticket = client.get(f"/v1/agent/tickets/{reference}", headers=live_api.agent_headers)
    assert ticket.json()["state"] != "resolved" and ticket.json()["resolution_note"] is None


def test_an_unknown_session_is_named_without_cli_wording(live_api: LiveApi) -> None:
    with live_api.client() as client:
        response = client.post(
            "/v1/agent/chat",
            json={"question": "what tire pressure?", "session_id": "no-such-session"},
            headers=live_api.agent_headers,
        )
    assert response.status_code in (400, 404)
    error = assert_one_error_shape(response)
    assert error["field"] == "session_id"
    assert "--" not in error["message"] and "glovebox " not in error["message"]


@pytest.mark.parametrize(
    "body",
    [{"data": []}, {"data": [], "fn_index": 999}, {"data": [], "fn_index": -1},
     {"data": [1, 2, 3], "fn_index": 1, "session_hash": "abc"}],
)  # fmt: skip
@pytest.mark.parametrize("route", ["run/predict", "api/predict", "run/anything"])
def test_the_consoles_direct_function_calls_are_a_clean_refusal(
    live_api: LiveApi, route: str, body: dict[str, Any]
) -> None:
    """The console calls its functions through Gradio's queue; the direct routes would run any
    of them, private ones too, and 500 on an unknown one."""
    with live_api.client() as client:
        response = client.post(
            f"/console/gradio_api/{route}", json=body, headers=live_api.agent_headers
        )
    assert response.status_code == 404, response.text
    assert assert_one_error_shape(response)["field"] == "path"
