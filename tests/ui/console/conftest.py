"""A real desk for the console's handlers: the sample knowledge base, its own database, one agent.

The handlers are called as Gradio calls them, without a browser: `handler(desk, agent, *values)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pytest
from starlette.requests import Request

from assistant.desk.agent_desk import AgentDesk
from assistant.records import Channel, Severity, Ticket, TicketDraft, Vehicle
from knowledge.settings import GloveboxSettings
from tests.ui.conftest import AGENT
from ui.agent_auth import SESSION_COOKIE

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.wiring import Services

DriverTicket = Callable[..., Ticket]


@pytest.fixture(scope="session")
def console_services(
    sample_kb_home: GloveboxSettings, real_embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """The server's services on the sample knowledge base, with a database of these tests."""
    from assistant import wiring

    database = tmp_path_factory.mktemp("console") / "glovebox.sqlite3"
    settings = sample_kb_home.model_copy(update={"database_url": f"sqlite:///{database}"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wiring, "build_embedder", lambda settings: real_embedder)
        services = wiring.build_services(settings, "default")
    services.accounts.add_agent(*AGENT, display_name="Ana <Agent>")
    yield services


@pytest.fixture
def desk(console_services: Services) -> AgentDesk:
    return AgentDesk(console_services, timedelta(hours=1), max_question_chars=200)


@pytest.fixture
def token(desk: AgentDesk) -> str:
    token = desk.sign_in(*AGENT)
    assert token is not None
    return token


@pytest.fixture
def agent(desk: AgentDesk, token: str) -> AgentAccount:
    return desk.agent_for(token)


def page_request(token: str | None) -> gr.Request:
    """What Gradio hands an event from a page with (or without) the session cookie."""
    cookie = [(b"cookie", f"{SESSION_COOKIE}={token}".encode())] if token else []
    return gr.Request(request=Request({"type": "http", "headers": cookie}))


@pytest.fixture
def driver_ticket(console_services: Services) -> DriverTicket:
    """A driver's escalation with the customer's messages, as the driver channel opens one."""
    sessions, tickets = console_services.sessions, console_services.tickets

    def opened(*messages: str, summary: str = "Asked for a person") -> Ticket:
        session_id = sessions.create_session(Channel.DRIVER)
        for message in messages:
            sessions.add_turn(session_id, "user", message)
        return tickets.open_ticket(
            TicketDraft(
                session_id=session_id, channel=Channel.DRIVER, reason="human_requested",
                severity=Severity.MEDIUM, summary=summary, assistant_said="",
                vehicle=Vehicle(make="halvard", model="tessel", year=2022),
            )
        )  # fmt: skip

    return opened


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the Insights tab writes its CSV files under."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return tmp_path
