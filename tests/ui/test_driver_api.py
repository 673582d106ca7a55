"""The public driver API of a running `glovebox serve`: keys, origins, limits, streaming,
escalation, and nothing internal in any driver response or stream."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge.settings import GloveboxSettings
from tests.conftest import SAMPLE_KNOWLEDGE
from tests.ui.conftest import RunningServer, serving

pytestmark = pytest.mark.integration

KEY = {"X-Glovebox-Key": "pk_demo_local"}
ALLOWED = "http://127.0.0.1:8001"
P0420 = "My check engine light is on and the code reader says P0420. What should I do?"


@pytest.fixture(scope="module")
def client(running_server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=running_server.url, timeout=60, follow_redirects=False)


def internal_sentences() -> list[str]:
    """Distinctive lines of the sample's agent-only bulletins: none may reach a driver."""
    lines = []
    for path in sorted((SAMPLE_KNOWLEDGE / "bulletins").glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        lines += [line.strip() for line in body.splitlines() if len(line.strip()) > 60]
    assert len(lines) > 20
    return lines


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    parsed = []
    for block in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


def test_a_driver_gets_a_cited_public_answer_and_no_internals(client: httpx.Client) -> None:
    reply = client.post(
        "/v1/chat", headers=KEY,
        json={"question": "How do I reset the TPMS light?", "vehicle": "Halvard Tessel 2022"},
    ).json()  # fmt: skip
    assert "[1]" in reply["answer"] and reply["citations"][0]["title"]
    assert set(reply) == {
        "session_id", "turn_index", "answer", "citations", "confidence", "abstained",
        "asked_for_vehicle", "escalation",
    }  # fmt: skip
    assert set(reply["citations"][0]) == {
        "n", "title", "section", "kind", "page", "effective_date", "quote", "url",
    }  # fmt: skip
    stored = client.get(f"/v1/sessions/{reply['session_id']}", headers=KEY).json()
    assert stored["turns"][-1]["citations"] == reply["citations"]  # the same public fields


def test_a_citation_link_opens_its_public_document_at_the_cited_section(
    client: httpx.Client,
) -> None:
    reply = client.post(
        "/v1/chat", headers=KEY,
        json={"question": "How do I reset the TPMS light?", "vehicle": "Halvard Tessel 2022"},
    ).json()  # fmt: skip
    citation = reply["citations"][0]
    path, _, fragment = citation["url"].partition("#")
    assert path.startswith("/v1/sources/") and fragment
    page = client.get(path)  # no key: a public document is public
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<section id="{fragment}">' in page.text
    section = page.text.split(f'<section id="{fragment}">', 1)[1].split("</section>", 1)[0]
    quoted = " ".join(citation["quote"].split("…")[0].split()[:6])
    assert quoted in " ".join(html.unescape(section).split())
    assert "<script" not in page.text and "<link" not in page.text and " src=" not in page.text


def test_internal_and_unknown_sources_are_not_served_to_drivers(client: httpx.Client) -> None:
    bulletin = next((SAMPLE_KNOWLEDGE / "bulletins").glob("*.md")).stem
    for document_id in (bulletin, "no-such-document"):
        response = client.get(f"/v1/sources/{document_id}")
        assert response.status_code == 404
        assert response.json()["error"]["field"] == "document_id"


def test_the_stream_sends_typed_events_and_never_internal_text(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat/stream", headers={**KEY, "Origin": ALLOWED},
        json={"question": P0420, "vehicle": "Halvard Brisa 2020"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    stream = events(response)
    kinds = [kind for kind, _ in stream]
    assert kinds[-1] == "done" and "session" in kinds and "citations" in kinds
    answer = "".join(data["text"] for kind, data in stream if kind == "delta")
    assert all(line not in response.text for line in internal_sentences())
    assert all("tsb" not in json.dumps(data).lower() for _, data in stream)
    assert "standalone" not in response.text and "timings" not in response.text
    session_id = next(data["session_id"] for kind, data in stream if kind == "session")
    stored = client.get(f"/v1/sessions/{session_id}", headers=KEY).json()
    assert stored["turns"][-1]["text"] == answer


def test_an_origin_outside_the_allow_list_is_refused(client: httpx.Client) -> None:
    evil = "http://evil.example"
    preflight = client.options(
        "/v1/chat/stream",
        headers={"Origin": evil, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    direct = client.post("/v1/chat", headers={**KEY, "Origin": evil}, json={"question": "hi"})
    assert direct.status_code == 403 and "not allowed" in direct.json()["error"]["message"]
    allowed = client.options(
        "/v1/chat/stream",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED  # exact, never "*"


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        ({}, {"question": "hi"}, 401, "publishable key"),
        ({"X-Glovebox-Key": "pk_wrong"}, {"question": "hi"}, 401, "unknown publishable key"),
        (KEY, {"question": "x" * 1001}, 400, "limit is 1000"),
        (KEY, {"question": "   "}, 422, "has no words"),
        (KEY, {"questions": "hi"}, 422, "question"),
        (KEY, {"question": "hi", "session_id": "nope"}, 404, "no conversation"),
    ],
)
def test_bad_requests_get_a_clear_json_4xx(
    client: httpx.Client, headers: dict, body: dict, status: int, says: str
) -> None:
    response = client.post("/v1/chat", headers=headers, json=body)
    assert response.status_code == status
    assert says in response.json()["error"]["message"]


def test_a_body_that_is_not_json_names_the_body(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat", headers={**KEY, "Content-Type": "application/json"}, content=b"question=hi"
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "body" and "not valid JSON" in error["message"]


def test_an_oversized_body_is_refused_before_it_is_read(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat", headers={**KEY, "Content-Type": "application/json"},
        content=json.dumps({"question": "x" * 100_000}),
    )  # fmt: skip
    assert response.status_code == 413
    assert client.get("/healthz").status_code == 200


def test_a_chunked_body_without_a_length_is_refused(client: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"question": "'
        yield b"x" * 100_000
        yield b'"}'

    response = client.post(
        "/v1/chat", headers={**KEY, "Content-Type": "application/json"}, content=body()
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["error"]["message"]
    assert client.get("/healthz").status_code == 200


def test_an_agent_session_is_invisible_to_the_driver_api(
    client: httpx.Client, running_server: RunningServer
) -> None:
    token = client.post(
        "/v1/agent/sessions",
        json={"username": running_server.username, "password": running_server.password},
    ).json()["token"]
    agent_reply = client.post(
        "/v1/agent/chat", headers={"Authorization": f"Bearer {token}"},
        json={"question": "P0420 bulletin for a 2020 Brisa", "vehicle": "Brisa 2020"},
    ).json()  # fmt: skip
    session_id = agent_reply["session_id"]
    assert client.get(f"/v1/sessions/{session_id}", headers=KEY).status_code == 404
    follow_up = client.post(
        "/v1/chat", headers=KEY, json={"question": "and then?", "session_id": session_id}
    )
    assert follow_up.status_code == 404
    # The publishable key opens nothing on the agent side either.
    assert client.get("/v1/agent/tickets", headers=KEY).status_code == 401


def test_talk_to_a_person_opens_a_ticket_agents_see_and_their_reply_comes_back(
    client: httpx.Client, running_server: RunningServer
) -> None:
    reply = client.post(
        "/v1/chat", headers=KEY, json={"question": "How much can it tow?", "vehicle": "Karst 2024"}
    ).json()
    escalated = client.post(
        "/v1/escalations", headers=KEY,
        json={"session_id": reply["session_id"], "message": "I'd like to talk to someone"},
    ).json()  # fmt: skip
    assert escalated["ticket_id"].startswith("GBX-") and escalated["state"] == "waiting_for_human"
    token = client.post(
        "/v1/agent/sessions",
        json={"username": running_server.username, "password": running_server.password},
    ).json()["token"]
    agent = {"Authorization": f"Bearer {token}"}
    queue = client.get("/v1/agent/tickets", headers=agent).json()
    ticket = next(t for t in queue if t["id"] == escalated["ticket_id"])
    assert ticket["channel"] == "driver" and ticket["reason"] == "human_requested"
    client.post(
        f"/v1/agent/tickets/{ticket['id']}/replies", headers=agent,
        json={"text": "Hi, this is Ana. With the tow package it is 5,000 lb."},
    )  # fmt: skip
    status = client.get(f"/v1/sessions/{reply['session_id']}", headers=KEY).json()
    assert status["state"] == "human" and status["ticket_id"] == escalated["ticket_id"]
    assert status["turns"][-1]["role"] == "agent" and "Ana" in status["turns"][-1]["text"]


def test_once_a_person_has_the_conversation_the_bot_stays_silent(
    client: httpx.Client, running_server: RunningServer
) -> None:
    session_id = client.post(
        "/v1/chat", headers=KEY, json={"question": "How do I update the software?"}
    ).json()["session_id"]
    reference = client.post(
        "/v1/escalations", headers=KEY, json={"session_id": session_id, "message": "a person pls"}
    ).json()["ticket_id"]
    token = client.post(
        "/v1/agent/sessions",
        json={"username": running_server.username, "password": running_server.password},
    ).json()["token"]
    agent = {"Authorization": f"Bearer {token}"}
    client.post(f"/v1/agent/tickets/{reference}/claim", headers=agent)
    client.post(
        f"/v1/agent/tickets/{reference}/replies", headers=agent,
        json={"text": "Hi, Ana here. Which version does the screen show?"},
    )  # fmt: skip

    reply = client.post(
        "/v1/chat", headers=KEY, json={"question": "It says 4.2.1", "session_id": session_id}
    ).json()
    streamed = events(
        client.post(
            "/v1/chat/stream",
            headers=KEY,
            json={"question": "and the car is a 2022", "session_id": session_id},
        )
    )

    assert reply["answer"] == "" and reply["citations"] == []
    assert reply["escalation"] == {"state": "human", "reason": "human_requested",
                                   "ticket_id": reference}  # fmt: skip
    assert [name for name, _ in streamed] == ["session", "escalation", "done"]
    turns = client.get(f"/v1/sessions/{session_id}", headers=KEY).json()["turns"]
    assert [turn["role"] for turn in turns[-3:]] == ["agent", "user", "user"]
    ticket = client.get(f"/v1/agent/tickets/{reference}", headers=agent).json()
    assert ticket["asker_waiting_since"] is not None  # the queue shows a new message
    tickets = client.get("/v1/agent/tickets", headers=agent).json()
    assert sum(t["session_id"] == session_id for t in tickets) == 1  # no second ticket
    client.post(f"/v1/agent/tickets/{reference}/replies", headers=agent, json={"text": "Thanks!"})
    answered = client.get(f"/v1/agent/tickets/{reference}", headers=agent).json()
    assert answered["asker_waiting_since"] is None


@pytest.mark.parametrize(
    "body", [{}, {"message": "   "}, {"message": "\u0000\u0000"}, {"message": "?!"}]
)
def test_an_escalation_that_says_nothing_opens_no_ticket(
    client: httpx.Client, running_server: RunningServer, body: dict[str, str]
) -> None:
    agent = signed_in_agent(client, running_server)
    before = len(client.get("/v1/agent/tickets", headers=agent).json())
    refused = client.post("/v1/escalations", headers=KEY, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "message"
    assert len(client.get("/v1/agent/tickets", headers=agent).json()) == before


@pytest.mark.parametrize("question", ["\u0000", "\u0000\u0001 \t", "???", "..."])
def test_a_question_with_no_words_is_refused_before_anything_is_stored(
    client: httpx.Client, running_server: RunningServer, question: str
) -> None:
    agent = signed_in_agent(client, running_server)
    before = len(client.get("/v1/agent/tickets", headers=agent).json())
    refused = client.post("/v1/chat", headers=KEY, json={"question": question})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "question"
    assert len(client.get("/v1/agent/tickets", headers=agent).json()) == before


def signed_in_agent(client: httpx.Client, server: RunningServer) -> dict[str, str]:
    token = client.post(
        "/v1/agent/sessions", json={"username": server.username, "password": server.password}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def escalate(client: httpx.Client, message: str) -> tuple[str, str]:
    """A driver asks for a person: the new session and its ticket's reference."""
    escalated = client.post("/v1/escalations", headers=KEY, json={"message": message})
    assert escalated.status_code == 200, escalated.text
    return escalated.json()["session_id"], escalated.json()["ticket_id"]


def test_a_driver_rates_a_resolved_ticket_once_and_agents_see_the_rating(
    client: httpx.Client, running_server: RunningServer
) -> None:
    session_id, reference = escalate(client, "My key fob stopped working")
    stranger, _ = escalate(client, "Where is my order?")
    agent = signed_in_agent(client, running_server)
    rating = {"session_id": session_id, "ticket_id": reference, "rating": 4, "comment": "Quick!"}

    early = client.post("/v1/ratings", headers=KEY, json=rating)
    assert early.status_code == 409 and early.json()["error"]["field"] == "ticket_id"
    assert "not resolved yet" in early.json()["error"]["message"]
    assert client.get(f"/v1/sessions/{session_id}", headers=KEY).json()["csat"] is None
    client.post(
        f"/v1/agent/tickets/{reference}/resolve", headers=agent, json={"text": "New battery"}
    )
    status = client.get(f"/v1/sessions/{session_id}", headers=KEY).json()
    assert status["state"] == "resolved" and status["ticket_id"] is None
    assert status["csat"] == {"ticket_id": reference, "rated": False}

    refusals = [
        ({**rating, "rating": 6}, 422, "rating", "less than or equal to 5"),
        ({**rating, "rating": "4"}, 422, "rating", "valid integer"),
        ({**rating, "comment": "x" * 2001}, 422, "comment", "2000"),
        ({**rating, "ticket_id": "TICKET-1"}, 400, "ticket_id", "like GBX-000123"),
        ({**rating, "ticket_id": "GBX-999999"}, 404, "ticket_id", "has no ticket GBX-999999"),
        ({**rating, "session_id": stranger}, 404, "ticket_id", f"has no ticket {reference}"),
        ({**rating, "session_id": "nope"}, 404, "session_id", "no conversation nope"),
    ]
    for body, code, field, says in refusals:
        refused = client.post("/v1/ratings", headers=KEY, json=body)
        assert refused.status_code == code, (body, refused.text)
        assert refused.json()["error"].get("field") == field
        assert says in refused.json()["error"]["message"]
    assert client.post("/v1/ratings", json=rating).status_code == 401  # no publishable key

    saved = client.post("/v1/ratings", headers=KEY, json=rating)
    assert saved.json() == {"saved": True, "ticket_id": reference, "rating": 4}
    again = client.post("/v1/ratings", headers=KEY, json={**rating, "rating": 1})
    assert again.status_code == 409 and "already rated" in again.json()["error"]["message"]
    after = client.get(f"/v1/sessions/{session_id}", headers=KEY).json()
    assert after["csat"] == {"ticket_id": reference, "rated": True}
    ticket = client.get(f"/v1/agent/tickets/{reference}", headers=agent).json()
    assert (ticket["csat"]["rating"], ticket["csat"]["comment"]) == (4, "Quick!")
    insights = client.get("/v1/agent/insights", headers=agent, params={"days": 1}).json()
    assert insights["csat"]["ratings"] >= 1 and insights["csat"]["average"] is not None
    assert {"ticket": reference, "rating": 4, "comment": "Quick!"}.items() <= next(
        c for c in insights["csat"]["latest_comments"] if c["ticket"] == reference
    ).items()


def test_the_driver_sees_an_agent_typing_until_the_reply_arrives(
    client: httpx.Client, running_server: RunningServer
) -> None:
    session_id, reference = escalate(client, "Is my car still under warranty?")
    agent = signed_in_agent(client, running_server)

    def driver_sees_typing() -> bool:
        status = client.get(f"/v1/sessions/{session_id}", headers=KEY).json()
        return bool(status["agent_typing"])

    assert driver_sees_typing() is False
    typing = client.post(f"/v1/agent/tickets/{reference}/typing", headers=agent)
    assert typing.json() == {"id": reference, "agent_typing": True, "for_seconds": 6.0}
    assert driver_sees_typing() is True  # waiting for a person, and one is writing
    client.post(
        f"/v1/agent/tickets/{reference}/replies", headers=agent, json={"text": "Yes, it is."}
    )
    assert driver_sees_typing() is False
    client.post(f"/v1/agent/tickets/{reference}/typing", headers=agent)
    client.post(f"/v1/agent/tickets/{reference}/resolve", headers=agent, json={"text": "Done"})
    assert driver_sees_typing() is False
    refused = client.post(f"/v1/agent/tickets/{reference}/typing", headers=agent)
    assert refused.status_code == 400 and "is resolved" in refused.json()["error"]["message"]
    assert client.post(f"/v1/agent/tickets/{reference}/typing", headers=KEY).status_code == 401


def test_starters_are_the_carmakers_for_the_locale_behind_the_key(client: httpx.Client) -> None:
    from knowledge.profile import CarmakerProfile
    from tests.conftest import SAMPLE_PROFILE

    expected = CarmakerProfile.load(SAMPLE_PROFILE).surface_text("en").starters
    english = client.get("/v1/starters", headers={**KEY, "Origin": ALLOWED})
    assert english.json() == {"locale": "en", "starters": expected} and expected
    assert english.headers["access-control-allow-origin"] == ALLOWED
    assert client.get("/v1/starters", headers=KEY, params={"locale": "en-US"}).json() == {
        "locale": "en", "starters": expected,
    }  # fmt: skip
    spanish = client.get("/v1/starters", headers=KEY, params={"locale": "es"}).json()
    assert spanish == {"locale": "es", "starters": []}  # no Spanish ones, no Spanish FAQ
    refused = client.get("/v1/starters", headers=KEY, params={"locale": "<script>"})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "locale"
    assert "give one like en or es" in refused.json()["error"]["message"]
    assert client.get("/v1/starters").status_code == 401


def test_recalls_by_vin_and_by_model_and_year(client: httpx.Client) -> None:
    from tests.conftest import sample_vin

    by_model = client.get("/v1/recalls", headers=KEY, params={"model": "Tessel", "year": 2022})
    campaigns = {recall["campaign"] for recall in by_model.json()["recalls"]}
    assert campaigns == {"21V455", "21V871"}
    vin = sample_vin("T", 2022)
    by_vin = client.get("/v1/recalls", headers=KEY, params={"vin": vin}).json()
    assert {recall["campaign"] for recall in by_vin["recalls"]} == campaigns
    for recall in by_model.json()["recalls"]:  # each sample notice states both
        assert recall["consequence"] and recall["remedy"], recall["campaign"]
    assert client.get("/v1/recalls", headers=KEY, params={"model": "Corolla"}).status_code == 400


def test_the_openai_client_talks_to_chat_completions(running_server: RunningServer) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{running_server.url}/v1", api_key="pk_demo_local")
    messages = [
        {"role": "user", "content": "I drive a 2022 Halvard Tessel."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "How do I reset the TPMS light?"},
    ]
    completion = client.chat.completions.create(model="glovebox", messages=messages)  # type: ignore[arg-type]
    content = completion.choices[0].message.content or ""
    assert "[1]" in content and "Sources:" in content and "TPMS" in content
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 10 and usage.completion_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    streamed = client.chat.completions.create(
        model="glovebox",
        messages=messages,
        stream=True,  # type: ignore[arg-type]
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices]
    assert "".join(pieces) == content


@pytest.fixture(scope="module")
def strict_server(
    sample_kb_home: GloveboxSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    limits = {
        "GLOVEBOX_RATE_LIMIT_PER_IP": "20",
        "GLOVEBOX_RATE_LIMIT_PER_SESSION": "3",
        "GLOVEBOX_MAX_OPEN_TICKETS_PER_ADDRESS": "2",
    }
    folder: Path = tmp_path_factory.mktemp("strict-server")
    with serving(sample_kb_home.home, folder, limits) as server:
        yield server


def test_one_address_cannot_fill_the_queue_with_tickets(strict_server: RunningServer) -> None:
    """Runs before the flood test below, which spends this address's request budget."""
    client = httpx.Client(base_url=strict_server.url, timeout=60)
    asked = [
        client.post("/v1/escalations", headers=KEY, json={"message": f"help with case {n}"})
        for n in range(3)
    ]
    assert [response.status_code for response in asked] == [200, 200, 429]
    refused = asked[2]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["field"] == "session_id"
    open_references = [response.json()["ticket_id"] for response in asked[:2]]
    assert all(reference in refused.json()["error"]["message"] for reference in open_references)
    # A question that would escalate is answered without a third ticket, naming the open ones.
    reply = client.post("/v1/chat", headers=KEY, json={"question": "I want to talk to a human"})
    assert reply.status_code == 200 and reply.json()["escalation"] is None
    assert open_references[0] in reply.json()["answer"]


def test_a_flood_gets_429s_and_the_server_stays_up(strict_server: RunningServer) -> None:
    client = httpx.Client(base_url=strict_server.url, timeout=60)
    first = client.post("/v1/chat", headers=KEY, json={"question": "How do I pair my phone?"})
    session_id = first.json()["session_id"]
    in_session = [
        client.post(
            "/v1/chat", headers=KEY, json={"question": "and Android?", "session_id": session_id}
        )
        for _ in range(4)
    ]
    conversation_limited = [answer for answer in in_session if answer.status_code == 429]
    assert conversation_limited  # 3 questions a minute per conversation
    assert all(1 <= int(answer.headers["retry-after"]) <= 120 for answer in conversation_limited)
    assert "this conversation" in conversation_limited[0].json()["error"]["message"]
    statuses = [client.get("/v1/sessions/nope", headers=KEY).status_code for _ in range(30)]
    assert statuses.count(429) >= 10 and set(statuses) <= {404, 429}
    limited = client.get("/v1/sessions/nope", headers=KEY)
    assert limited.status_code == 429 and "wait a minute" in limited.json()["error"]["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 120  # two windows at most
    assert client.get("/healthz").status_code == 200


def test_a_failed_stage_tells_drivers_nothing_internal_and_agents_everything(
    sample_kb_home: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from assistant.chain import Assistant
    from assistant.desk.accounts import SqlAccountStore
    from knowledge.errors import StageError
    from tests.ui.conftest import AGENT
    from ui.api.errors import UNAVAILABLE
    from ui.server import create_app

    detail = "the LLM at http://10.1.2.3:8000/v1 refused; check GLOVEBOX_LLM_API_KEY"

    def fail(*_args: object, **_kwargs: object) -> Iterator[object]:
        raise StageError("generate", detail)
        yield  # a generator, like the real stream

    def fail_now(*_args: object, **_kwargs: object) -> object:
        raise StageError("generate", detail)

    monkeypatch.setattr(Assistant, "stream", fail)
    monkeypatch.setattr(Assistant, "ask", fail_now)
    database_url = f"sqlite:///{tmp_path / 'glovebox.sqlite3'}"
    SqlAccountStore(database_url).add_agent(*AGENT, display_name="Ana Agent")
    settings = sample_kb_home.model_copy(update={"database_url": database_url})
    client = TestClient(create_app(settings, "default", console=False))

    chat = client.post("/v1/chat", headers=KEY, json={"question": "How do I pair my phone?"})
    assert chat.status_code == 503 and chat.json() == {"error": {"message": UNAVAILABLE}}
    stream = client.post("/v1/chat/stream", headers=KEY, json={"question": "And Android?"})
    assert ("error", {"message": UNAVAILABLE}) in events(stream)
    for response in (chat, stream):
        assert "10.1.2.3" not in response.text and "GLOVEBOX_" not in response.text

    token = client.post(
        "/v1/agent/sessions", json={"username": AGENT[0], "password": AGENT[1]}
    ).json()["token"]
    agent = client.post(
        "/v1/agent/chat",
        headers={"Authorization": f"Bearer {token}"},
        json={"question": "How do I pair my phone?"},
    )
    assert agent.status_code == 503 and detail in agent.json()["error"]["message"]
