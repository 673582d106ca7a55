"""A seeded, bounded fuzz run over every operation the running app's /openapi.json lists: valid,
boundary and hostile values for each parameter and body field, sent to a real uvicorn server on
loopback. No answer may be a 5xx, and every 4xx is in the one error shape.

The generator is ours, walking the schema (schemathesis would bring nine packages, Hypothesis
among them, into the shared environment, and its budget is per operation, not per run)."""

from __future__ import annotations

import json
import math
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.ui.api.conftest import LiveApi, assert_one_error_shape

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 14
REQUESTS_PER_OPERATION = 40
MALFORMED_HTTP_REQUESTS = 40
MINIMUM_REQUESTS = 1000
"""The run may grow with the schema; it must not silently shrink."""
HTML_FORM_ROUTES = {("POST", "/login")}
"""The sign-in form answers a wrong password with the form again (HTML), as a browser needs."""
SIGNS_THE_AGENT_OUT = {("DELETE", "/v1/agent/sessions"), ("POST", "/logout")}
"""Sent without the run's token, which the rest of the run needs."""

HOSTILE_STRINGS = [
    "", " ", "\u0000", "\u0000" * 3, " \t\r\n", "\u200b\u200b", "\ufeff", "x" * 5000,
    "GBX-99999999999999999999", "9223372036854775808", "-1", "NaN", "../../etc/passwd",
    "<script>alert(1)</script>", "'; DROP TABLE tickets; --", "%00", "\ud7ff\ue000", "😀" * 40,
    "GBX-000001", "en", "Tessel 2024", "7HVTB2341P0123456",
]  # fmt: skip
HOSTILE_NUMBERS: list[Any] = [
    2**63, -(2**63) - 1, 2**64, 10**30, -1, 0, 1, 3, 2024, 99999, 1.5, math.nan, math.inf,
    -math.inf, True, "12", None,
]  # fmt: skip
WRONG_TYPES: list[Any] = [None, True, 12, 1.5, math.nan, [], [1, "a"], {}, {"a": 1}, "text"]


def deep_json(depth: int) -> Any:
    nested: Any = "deep"
    for _ in range(depth):
        nested = [nested]
    return nested


@dataclass
class Generator:
    """Values for a JSON schema: mostly valid or on a bound, often hostile."""

    random: random.Random
    components: dict[str, Any]
    known: dict[str, list[str]] = field(default_factory=dict)
    """Real values for named fields (a session, a ticket), so the deeper code is reached."""

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self.resolve(schema)
        roll = self.random.random()
        if roll < 0.12:
            return self.random.choice([*WRONG_TYPES, deep_json(50)])
        if "anyOf" in schema:
            return self.value(self.random.choice(schema["anyOf"]), name)
        if "enum" in schema:
            return self.random.choice([*schema["enum"], "nope", 1])
        if "const" in schema:
            return schema["const"]
        if name in self.known and roll < 0.55:
            return self.random.choice(self.known[name])
        kind = schema.get("type")
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return self.random.choice([0.5, *HOSTILE_NUMBERS])
        if kind == "boolean":
            return self.random.choice([True, False, True, "yes", "true", 1, 0, None])
        if kind == "array":
            return self.array(schema)
        if kind == "object" or "properties" in schema:
            return self.object(schema)
        return self.random.choice(WRONG_TYPES)

    def string(self, schema: dict[str, Any]) -> Any:
        low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
        choices: list[Any] = [
            "what is the tire pressure?", "a" * low, "b" * min(high, 20_000),
            "c" * (high + 1), self.random.choice(HOSTILE_STRINGS),
            self.random.choice(HOSTILE_STRINGS), self.random.choice(HOSTILE_NUMBERS),
        ]  # fmt: skip
        return self.random.choice(choices)

    def integer(self, schema: dict[str, Any]) -> Any:
        low, high = int(schema.get("minimum", -(2**31))), int(schema.get("maximum", 2**31))
        choices = [low, high, low - 1, high + 1, self.random.randint(low, high)]
        return self.random.choice([*choices, *choices, self.random.choice(HOSTILE_NUMBERS)])

    def array(self, schema: dict[str, Any]) -> Any:
        items = schema.get("items", {})
        low, high = schema.get("minItems", 0), schema.get("maxItems", 5)
        count = self.random.choice([low, min(high, 3), high + 1 if high < 200 else 3, 0, 1])
        return [self.value(items) for _ in range(count)]

    def object(self, schema: dict[str, Any]) -> Any:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        built: dict[str, Any] = {}
        for name, spec in properties.items():
            if self.random.random() < (0.93 if name in required else 0.5):
                built[name] = self.value(spec, name)
        if self.random.random() < 0.1:
            built["unexpected"] = self.random.choice(WRONG_TYPES)
        return built


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]


def operations(schema: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, methods in schema["paths"].items()
        for method, spec in methods.items()
    ]


def request_for(operation: Operation, generator: Generator, live_api: LiveApi) -> dict[str, Any]:
    """httpx.request's arguments: the path filled in, query, headers and body."""
    rng = generator.random
    path, params = operation.path, {}
    for parameter in operation.spec.get("parameters", []):
        value = generator.value(parameter["schema"], parameter["name"])
        if parameter["in"] == "path":
            text = value if isinstance(value, str) else json.dumps(value)
            path = path.replace("{" + parameter["name"] + "}", quote(text, safe="") or "%20")
        elif parameter["in"] == "query" and (parameter.get("required") or rng.random() < 0.7):
            params[parameter["name"]] = value if isinstance(value, str) else json.dumps(value)
    headers = credentials(operation, rng, live_api)
    arguments: dict[str, Any] = {"params": params, "headers": headers}
    body = operation.spec.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        payload = generator.value(body["application/json"]["schema"])
        if rng.random() < 0.08:  # not JSON, cut short, or nested past any parser's depth
            too_deep = b'{"question": ' + b"[" * 3000 + b"]" * 3000 + b"}"
            content = rng.choice([b"{1", b'{"question": ', b"\xff\xfe", too_deep, b"null"])
        else:
            content = json.dumps(payload, allow_nan=True).encode()
        arguments["content"] = content
        headers["Content-Type"] = rng.choice(["application/json"] * 9 + ["text/plain"])
    elif "application/x-www-form-urlencoded" in body or operation.path == "/login":
        arguments["data"] = {"username": rng.choice(HOSTILE_STRINGS), "password": "x"}
    return {"method": operation.method, "url": path, **arguments}


def credentials(operation: Operation, rng: random.Random, live_api: LiveApi) -> dict[str, str]:
    """Mostly the right ones, so the routes are reached; sometimes none or wrong ones."""
    roll = rng.random()
    if roll < 0.08:
        return {}
    if roll < 0.14:
        return {"Authorization": "Bearer not-a-token", "X-Glovebox-Key": "pk_unknown"}
    if (operation.method, operation.path) in SIGNS_THE_AGENT_OUT:
        return {"Authorization": "Bearer signed-out-already"}
    return {**live_api.agent_headers, **live_api.key_headers}


def known_values(client: httpx.Client, live_api: LiveApi) -> dict[str, list[str]]:
    """A real driver session and ticket, so requests naming them reach past the lookup."""
    opened = client.post(
        "/v1/escalations", json={"message": "my tailgate will not open"},
        headers=live_api.key_headers,
    )  # fmt: skip
    assert opened.status_code == 200, opened.text
    session_id, reference = opened.json()["session_id"], opened.json()["ticket_id"]
    return {
        "session_id": [session_id],
        "ticket_id": [reference],
        "reference": [reference, reference.lower(), reference.removeprefix("GBX-")],
        "document_id": ["test-tessel-manual", "tsb-hv-22-003", "nope"],
    }


MALFORMED_HTTP = [
    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
]


def malformed_exchange(port: int, request: bytes) -> tuple[int, bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, head, body


def test_fuzzing_every_operation_finds_no_5xx_and_one_error_shape(live_api: LiveApi) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    with live_api.client() as client:
        schema = client.get("/openapi.json")
        assert schema.status_code == 200, schema.text
        document = schema.json()
        generator = Generator(rng, document["components"]["schemas"])
        generator.known = known_values(client, live_api)
        listed = operations(document)
        assert len(listed) >= 25, [f"{o.method} {o.path}" for o in listed]
        for operation in listed:
            for _ in range(REQUESTS_PER_OPERATION):
                request = request_for(operation, generator, live_api)
                try:
                    response = client.request(**request)
                except httpx.HTTPError as error:
                    problems.append(f"{request['method']} {request['url']}: {error!r}")
                    statuses[0] += 1
                    continue
                statuses[response.status_code] += 1
                problems.extend(judged(operation, request, response))
    for index in range(MALFORMED_HTTP_REQUESTS):
        raw = MALFORMED_HTTP[index % len(MALFORMED_HTTP)]
        status, head, body = malformed_exchange(live_api.port, raw)
        statuses[status] += 1
        if status >= 500 or status == 0:
            problems.append(f"raw {raw[:40]!r}: {head[:60]!r}")
        elif status >= 400 and (
            b"application/json" not in head.lower() or set(json.loads(body)) != {"error"}
        ):
            problems.append(f"raw {raw[:40]!r}: not the one shape: {head[:200]!r} {body[:80]!r}")
    sent = sum(statuses.values())
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz: {sent} requests over {len(listed)} operations (seed {SEED}) in {elapsed:.1f} s;"
        f" statuses {dict(sorted(statuses.items()))}"
    )
    assert sent >= MINIMUM_REQUESTS
    assert problems == []
    assert not any(status >= 500 for status in statuses)


def judged(operation: Operation, request: dict[str, Any], response: httpx.Response) -> list[str]:
    label = f"{request['method']} {request['url']} {str(request.get('content', ''))[:80]}"
    if response.status_code >= 500:
        return [f"{label}: {response.status_code} {response.text[:200]}"]
    if response.status_code >= 400 and (operation.method, operation.path) not in HTML_FORM_ROUTES:
        try:
            assert_one_error_shape(response)
        except (AssertionError, ValueError) as error:
            return [f"{label}: {response.status_code} not the one shape: {error}"]
    return []
