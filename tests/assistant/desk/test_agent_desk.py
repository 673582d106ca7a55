"""What an agent may paste to a customer, the sources panel's view of citations, and typing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

import pytest

from assistant.chain import AssistantReply, Citation
from assistant.desk.agent_desk import AGENT_TYPING_SECONDS, AgentDesk, SourceView, customer_copy
from assistant.desk.stores import open_desk
from assistant.records import Channel, Severity, TicketDraft
from knowledge.errors import InputError

if TYPE_CHECKING:
    from assistant.wiring import Services


def citation(n: int, audience: str, title: str) -> Citation:
    return Citation(
        n=n, source_id=f"chunk-{n}", document_id=f"doc-{n}", title=title, kind="owner_manual",
        audience=audience, section="Warning lights", page=None, anchor=None,
        vehicle="Halvard Brisa 2020", effective_date="2024-01-01", quote="quoted", score=0.8,
    )  # fmt: skip


def test_the_customer_copy_keeps_public_sentences_renumbered_with_footnotes() -> None:
    reply = AssistantReply(
        answer="Check the gas cap. [1] Reflash the ECM to calibration 4.2. [2] "
        "If the light flashes, slow down. [3]",
        session_id="s",
        citations=[
            citation(1, "public", "Brisa owner's manual"),
            citation(2, "agents", "TSB-HV-23-014"),
            citation(3, "public", "Brisa FAQ"),
        ],
    )
    copy = customer_copy(reply)
    assert copy.relied_on_internal is True
    assert "calibration" not in copy.text and "TSB" not in copy.text
    assert copy.text.startswith("Check the gas cap. [1] If the light flashes, slow down. [2]")
    assert copy.text.endswith(
        "Sources:\n[1] Brisa owner's manual, Warning lights\n[2] Brisa FAQ, Warning lights"
    )


def test_an_all_public_answer_is_copied_whole() -> None:
    reply = AssistantReply(
        answer="Hold SET for 3 seconds. [1]",
        session_id="s",
        citations=[citation(1, "public", "Tessel owner's manual")],
    )
    copy = customer_copy(reply)
    assert copy.relied_on_internal is False and copy.text.startswith("Hold SET for 3 seconds. [1]")


def test_a_source_view_marks_internal_documents() -> None:
    assert SourceView.of(citation(2, "agents", "TSB")).internal is True
    public = SourceView.of(citation(1, "public", "Manual"))
    assert public.internal is False and public.kind == "owner manual" and public.score == 0.8


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_agent_typing_a_reply_shows_for_a_few_seconds_and_ends_with_the_reply(
    database_url: str,
) -> None:
    stores = open_desk(database_url)
    agent = stores.accounts.add_agent("ana", "correct-horse-42")
    services = cast("Services", stores)
    clock = Clock()
    desk = AgentDesk(services, timedelta(hours=1), max_question_chars=1000, clock=clock)
    session_id = stores.sessions.create_session(Channel.DRIVER)
    ticket = stores.tickets.open_ticket(
        TicketDraft(
            session_id=session_id, channel=Channel.DRIVER, reason="human_requested",
            severity=Severity.LOW, summary="Wants a person.", assistant_said="",
        )
    )  # fmt: skip

    assert desk.agent_is_typing(ticket.id) is False
    desk.note_typing(agent, ticket.id)
    clock.now += AGENT_TYPING_SECONDS - 1
    assert desk.agent_is_typing(ticket.id) is True
    clock.now += 1
    assert desk.agent_is_typing(ticket.id) is False, "stale after AGENT_TYPING_SECONDS"
    desk.note_typing(agent, ticket.id)
    desk.reply(agent, ticket.id, "Hi, Ana here.")
    assert desk.agent_is_typing(ticket.id) is False, "the reply arrived"
    desk.note_typing(agent, ticket.id)
    desk.resolve(agent, ticket.id, "Sorted.")
    assert desk.agent_is_typing(ticket.id) is False
    with pytest.raises(InputError, match="is resolved; the customer has moved on"):
        desk.note_typing(agent, ticket.id)
    with pytest.raises(InputError, match="no ticket 999"):
        desk.note_typing(agent, 999)
