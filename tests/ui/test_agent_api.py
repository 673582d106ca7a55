"""The agent side of a running `glovebox serve`: sign-in, cited answers, feedback, the queue.

Every request goes over HTTP to a real server process, as the console and scripts use it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.desk.accounts import SqlAccountStore
from assistant.desk.stores import DeskStores, open_desk
from assistant.records import Channel, Severity, TicketDraft, Vehicle, ticket_id_from_reference
from knowledge.settings import GloveboxSettings
from tests.ui.conftest import AGENT, WIDGET_KEY, RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(running_server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=running_server.url, timeout=60, follow_redirects=False)


@pytest.fixture(scope="module")
def token(client: httpx.Client, running_server: RunningServer) -> str:
    signed_in = client.post(
        "/v1/agent/sessions",
        json={"username": running_server.username, "password": running_server.password},
    )
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def agent_chat(client: httpx.Client, token: str, question: str, vehicle: str) -> dict[str, Any]:
    """An agent's chat answer, as JSON."""
    response = client.post(
        "/v1/agent/chat", headers=bearer(token), json={"question": question, "vehicle": vehicle}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_wrong_password_gets_no_session(client: httpx.Client) -> None:
    refused = client.post("/v1/agent/sessions", json={"username": "ana", "password": "guess-1234"})
    assert refused.status_code == 401
    assert "token" not in refused.json()
    form = client.post("/login", data={"username": "ana", "password": "guess-1234"})
    assert form.status_code == 401 and "Wrong username or password" in form.text
    assert "glovebox_agent" not in form.headers.get("set-cookie", "")


def test_wrong_guesses_from_an_address_lock_out_no_right_password(
    sample_kb_home: GloveboxSettings, tmp_path: Path
) -> None:
    """Issue 14's repro: 10 wrong passwords from an address, then right ones from it."""
    from fastapi.testclient import TestClient

    from ui.server import create_app

    database_url = f"sqlite:///{tmp_path / 'glovebox.sqlite3'}"
    accounts = SqlAccountStore(database_url)
    accounts.add_agent(*AGENT, display_name="Ana Agent")
    accounts.add_agent("bob", "battery-staple-7")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    SqlAccountStore(database_url, now=lambda: yesterday).open_session(AGENT[0], timedelta(hours=8))
    settings = sample_kb_home.model_copy(update={"database_url": database_url})
    client = TestClient(create_app(settings, "default", console=False))
    assert accounts.purge_expired() == 0  # the server purged the stale session as it started

    right = {"username": AGENT[0], "password": AGENT[1]}
    first = client.post("/v1/agent/sessions", json=right)
    assert first.status_code == 200
    device = first.json().get("device")
    client.cookies.clear()  # the guesser below is not on Ana's device
    guesses = [
        client.post("/v1/agent/sessions", json={**right, "password": f"guess-{n}"}).status_code
        for n in range(10)
    ]
    assert guesses == [401] * 10
    bob = {"username": "bob", "password": "battery-staple-7"}
    assert client.post("/v1/agent/sessions", json=bob).status_code == 200  # was 429
    client.cookies.clear()
    form = client.post("/login", data=bob, follow_redirects=False)
    assert form.status_code == 303  # was 429
    client.cookies.clear()
    refused = client.post("/v1/agent/sessions", json=right)
    assert refused.status_code == 429 and "token" not in refused.json()
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["field"] == "password"
    trusted = client.post("/v1/agent/sessions", json=right, headers={"X-Glovebox-Device": device})
    assert trusted.status_code == 200  # Ana's own device is never held up by the guesser


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/agent/tickets"),
        ("GET", "/v1/agent/feedback"),
        ("GET", "/v1/agent/insights"),
        ("POST", "/v1/agent/chat"),
        ("GET", "/v1/agent/sources/tsb-hv-23-014-brisa-p0420"),
        ("GET", "/console/config"),
        ("GET", "/console/gradio_api/info"),
    ],
)
def test_agent_data_needs_a_signed_in_agent(client: httpx.Client, method: str, path: str) -> None:
    driver_credentials = ({"X-Glovebox-Key": WIDGET_KEY}, bearer(WIDGET_KEY))
    strangers = ({}, bearer("not-a-session"), {"Cookie": "glovebox_agent=forged"})
    for headers in strangers + driver_credentials:
        response = client.request(method, path, headers=headers, json={"question": "hi"})
        assert response.status_code == 401, (path, headers, response.status_code)


def test_an_expired_session_is_refused(client: httpx.Client, running_server: RunningServer) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    accounts = SqlAccountStore(running_server.database_url, now=lambda: yesterday)
    stale = accounts.open_session(running_server.username, timedelta(hours=8))
    assert client.get("/v1/agent/tickets", headers=bearer(stale)).status_code == 401


def sign_in_form(client: httpx.Client, server: RunningServer, next_page: str) -> httpx.Response:
    """The sign-in page's form posted with the right password."""
    form = {"username": server.username, "password": server.password, "next": next_page}
    return client.post("/login", data=form)


def test_the_console_page_sends_strangers_to_sign_in_and_lets_the_agent_in(
    client: httpx.Client, running_server: RunningServer
) -> None:
    page = {"Accept": "text/html"}
    assert client.get("/console/", headers=page).headers["location"].startswith("/login")
    signed_in = sign_in_form(client, running_server, next_page="/console/")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    session = signed_in.cookies["glovebox_agent"]
    console = client.get("/console/", headers={**page, "Cookie": f"glovebox_agent={session}"})
    assert console.status_code == 200 and "gradio" in console.text.lower()
    off_site = sign_in_form(client, running_server, next_page="//evil.example/")
    assert off_site.headers["location"] == "/console/"  # never an open redirect


def test_a_cited_answer_on_the_agent_channel(client: httpx.Client, token: str) -> None:
    answer = agent_chat(client, token, "How do I reset the TPMS light?", "Halvard Tessel 2022")
    assert "[1]" in answer["answer"] and "TPMS SET" in answer["answer"]
    first = answer["sources"][0]
    assert first["document_id"] == "halvard-tessel-2021-2022-owner-manual"
    assert first["internal"] is False and first["score"] > 0 and first["quote"]
    assert answer["customer_copy"]["relied_on_internal"] is False
    assert "Sources:" in answer["customer_copy"]["text"]


def test_an_internal_bulletin_is_marked_and_kept_out_of_the_customer_copy(
    client: httpx.Client, token: str
) -> None:
    answer = agent_chat(client, token, "P0420 on a 2020 Brisa, is there a bulletin?", "Brisa 2020")
    internal = [s for s in answer["sources"] if s["internal"]]
    assert any(s["document_id"].startswith("tsb-hv-23-014") for s in internal)
    copy = answer["customer_copy"]
    assert copy["relied_on_internal"] is True
    assert all(s["title"] not in copy["text"] for s in internal)


def test_an_agent_opens_an_internal_source_at_the_cited_section(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    answer = agent_chat(client, token, "P0420 on a 2020 Brisa, is there a bulletin?", "Brisa 2020")
    bulletin = next(s for s in answer["sources"] if s["internal"])
    path, _, fragment = bulletin["url"].partition("#")
    assert path == f"/v1/agent/sources/{bulletin['document_id']}"
    page = client.get(path, headers=bearer(token))
    assert page.status_code == 200 and "Internal" in page.text
    assert f'<section id="{fragment}">' in page.text
    with httpx.Client(base_url=running_server.url) as stranger:  # no cookie, no token
        assert stranger.get(path).status_code == 401
    missing = client.get("/v1/agent/sources/no-such-document", headers=bearer(token))
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "document_id"


def test_feedback_is_stored_with_question_answer_and_citations(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    answer = agent_chat(client, token, "How much can it tow?", "Halvard Karst 2024")
    sent = client.post(
        "/v1/agent/feedback",
        headers=bearer(token),
        json={
            "session_id": answer["session_id"],
            "turn_index": answer["turn_index"],
            "helpful": False,
            "comment": "missing the tow package figure",
            "suggestion": "Say 5,000 lb with the tow package.",
        },
    )
    assert sent.status_code == 200, sent.text
    stored = open_desk(running_server.database_url).feedback.list_feedback()
    mine = next(item for item in stored if item.session_id == answer["session_id"])
    assert mine.helpful is False and "missing the tow package figure" in (mine.comment or "")
    assert mine.question == "How much can it tow?"
    assert mine.reply_text == answer["answer"]
    assert [c["document_id"] for c in mine.citations] == [
        c["document_id"] for c in answer["citations"]
    ]
    assert mine.suggestion == "Say 5,000 lb with the tow package."
    exported = client.get("/v1/agent/feedback", headers=bearer(token)).json()
    assert any(item["session_id"] == answer["session_id"] for item in exported)


def test_feedback_on_a_missing_turn_is_a_clear_400(client: httpx.Client, token: str) -> None:
    response = client.post(
        "/v1/agent/feedback",
        headers=bearer(token),
        json={"session_id": "nope", "turn_index": 1, "helpful": True},
    )
    assert response.status_code == 400
    assert "no session nope" in response.json()["error"]["message"]


def test_the_queue_claims_notes_and_resolves_a_driver_escalation(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    store = open_desk(running_server.database_url)
    session_id = store.sessions.create_session(Channel.DRIVER)
    store.sessions.add_turn(session_id, "user", "There is smoke coming from under the hood")
    opened = store.tickets.open_ticket(
        TicketDraft(
            session_id=session_id,
            channel=Channel.DRIVER,
            reason="safety",
            severity=Severity.CRITICAL,
            summary="Smoke from under the hood",
            assistant_said="Stop and get everyone out. A person will contact you.",
            transcript=store.sessions.get_session(session_id).transcript(),  # type: ignore[union-attr]
        )
    )
    queue = client.get("/v1/agent/tickets", headers=bearer(token)).json()
    assert queue[0]["id"] == opened.reference  # critical first
    path = f"/v1/agent/tickets/{opened.reference}"
    claimed = client.post(f"{path}/claim", headers=bearer(token)).json()
    assert (claimed["state"], claimed["assignee"]) == ("human", "ana")
    client.post(f"{path}/notes", headers=bearer(token), json={"text": "Tow booked"})
    client.post(f"{path}/replies", headers=bearer(token), json={"text": "A tow is on its way."})
    blank = client.post(f"{path}/resolve", headers=bearer(token), json={"text": "   "})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "text"
    assert "has no words in it" in blank.json()["error"]["message"]
    resolved = client.post(f"{path}/resolve", headers=bearer(token), json={"text": "Towed"})
    assert resolved.json()["state"] == "resolved"
    ticket = store.tickets.get_ticket(opened.id)
    assert ticket is not None and ticket.state.value == "resolved" and ticket.assignee == "ana"
    assert [note["text"] for note in ticket.notes] == ["Tow booked"]
    transcript = client.get(path, headers=bearer(token)).json()["transcript"]
    assert transcript[-1] == {**transcript[-1], "role": "agent", "text": "A tow is on its way."}
    gone = client.get("/v1/agent/tickets", headers=bearer(token)).json()
    assert opened.reference not in [item["id"] for item in gone]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/agent/insights", {"days": 1_000_000}, "query.days"),
        ("/v1/agent/insights", {"days": 0}, "query.days"),
        ("/v1/agent/tickets", {"state": "opne"}, "query.state"),
        ("/v1/agent/tickets", {"sort": "loudest"}, "query.sort"),
    ],
)
def test_a_bad_query_parameter_is_a_clear_422(
    client: httpx.Client, token: str, path: str, params: dict[str, object], field: str
) -> None:
    response = client.get(path, headers=bearer(token), params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field and error["message"].startswith(f"{field}: ")


def test_the_vehicle_card_refuses_a_model_year_the_knowledge_does_not_have(
    client: httpx.Client, token: str
) -> None:
    known = client.get("/v1/agent/vehicle", params={"q": "Karst 2024"}, headers=bearer(token))
    unknown = client.get("/v1/agent/vehicle", params={"q": "Karst 2021"}, headers=bearer(token))

    assert known.status_code == 200 and known.json()["vehicle"]["year"] == 2024
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["field"] == "vehicle" and "covers model years" in error["message"]


def _driver_ticket(store: DeskStores, *messages: str) -> str:
    session_id = store.sessions.create_session(Channel.DRIVER)
    for message in messages:
        store.sessions.add_turn(session_id, "user", message)
    opened = store.tickets.open_ticket(
        TicketDraft(
            session_id=session_id, channel=Channel.DRIVER, reason="human_requested",
            severity=Severity.MEDIUM, summary="Asked for a person", assistant_said="",
            vehicle=Vehicle(make="halvard", model="tessel", year=2022),
        )
    )  # fmt: skip
    return opened.reference


def test_a_ticket_offers_a_cited_public_reply_to_the_customers_last_message(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    store = open_desk(running_server.database_url)
    reference = _driver_ticket(store, "hello?", "How do I reset the TPMS light?")
    before = store.tickets.get_ticket(ticket_id_from_reference(reference))
    assert before is not None
    turns_before = len(store.sessions.get_session(before.session_id).turns)  # type: ignore[union-attr]

    drafted = client.get(f"/v1/agent/tickets/{reference}/suggestion", headers=bearer(token))

    suggestion = drafted.json()["suggestion"]
    assert drafted.status_code == 200 and suggestion is not None
    assert suggestion["for_message"] == "How do I reset the TPMS light?"
    assert "[1]" in suggestion["answer"] and "TPMS" in suggestion["answer"]
    assert suggestion["sources"] and not any(s["internal"] for s in suggestion["sources"])
    assert "Sources:\n[1] " in suggestion["text"]
    after = store.sessions.get_session(before.session_id)
    assert after is not None and len(after.turns) == turns_before  # nothing recorded
    assert after.open_ticket_id == before.id  # and nothing escalated


def test_a_ticket_without_a_customer_message_has_no_suggestion(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    reference = _driver_ticket(open_desk(running_server.database_url))
    drafted = client.get(f"/v1/agent/tickets/{reference}/suggestion", headers=bearer(token))
    assert drafted.status_code == 200 and drafted.json()["suggestion"] is None
    with httpx.Client(base_url=running_server.url) as stranger:  # no cookie, no token
        assert stranger.get(f"/v1/agent/tickets/{reference}/suggestion").status_code == 401


def test_tickets_are_searched_by_words_and_show_their_earlier_cases(
    client: httpx.Client, token: str, running_server: RunningServer
) -> None:
    store = open_desk(running_server.database_url)
    first = _driver_ticket(store, "My phone keeps unpairing from the zebra-striped dash")
    first_id = ticket_id_from_reference(first)
    client.post(f"/v1/agent/tickets/{first}/claim", headers=bearer(token))
    client.post(f"/v1/agent/tickets/{first}/resolve", headers=bearer(token),
                json={"text": "Updated the head unit"})  # fmt: skip
    ticket = store.tickets.get_ticket(first_id)
    assert ticket is not None
    again = store.tickets.open_ticket(
        TicketDraft(
            session_id=ticket.session_id, channel=Channel.DRIVER, reason="human_requested",
            severity=Severity.MEDIUM, summary="It unpairs again", assistant_said="",
        )
    )  # fmt: skip

    found = client.get(
        "/v1/agent/tickets", headers=bearer(token), params={"q": "zebra-striped", "state": "all"}
    ).json()
    assert {t["id"] for t in found} == {first, again.reference}  # one conversation, two cases
    opened = client.get(f"/v1/agent/tickets/{again.reference}", headers=bearer(token)).json()
    assert [(c["id"], c["resolution_note"]) for c in opened["earlier_cases"]] == [
        (first, "Updated the head unit (ana)")  # the desk signs a resolution
    ]
    too_long = client.get("/v1/agent/tickets", headers=bearer(token), params={"q": "x" * 201})
    assert too_long.status_code == 422
