"""The Queue tab's handlers on a real desk: the filtered table, a ticket opened and acted on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
import pytest

from assistant.desk.agent_desk import AgentDesk
from assistant.records import EscalationState
from knowledge.errors import InputError
from tests.ui.console.conftest import DriverTicket, page_request
from ui.console.edge import KEEP
from ui.console.queue import (
    NOTHING_SELECTED,
    QueueFilters,
    TicketForm,
    add_note,
    claim,
    filtered,
    note_typing,
    open_ticket,
    refresh_queue,
    reply_to_customer,
    resolve,
    selected_ticket,
    tick_queue,
    ticket_action,
)

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.wiring import Services


def references(rows: object) -> list[str]:
    assert isinstance(rows, list)
    return [row[0] for row in rows]


def test_the_queue_shows_what_its_filters_and_search_ask_for(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("My wipers squeak like a heron", summary="Squeaky heron wipers")

    found = refresh_queue(desk, agent, QueueFilters(search="heron"))
    other_channel = refresh_queue(desk, agent, QueueFilters(channel="agent", search="heron"))

    assert references(found.queue_table) == [ticket.reference]
    assert found.queue_shown == found.queue_table
    assert references(other_channel.queue_table) == []


def test_the_filters_come_last_in_an_events_values_and_a_blank_search_is_none(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("Where is my key fob?")
    shown = filtered(refresh_queue)(desk, agent, "all", "driver", "medium", "newest", None)
    assert ticket.reference in references(shown.queue_table)


def test_the_timer_redraws_the_table_only_when_it_changed(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    driver_ticket("The horn honks by itself in the tundra")
    filters = QueueFilters(search="tundra")
    shown = refresh_queue(desk, agent, filters).queue_table
    assert isinstance(shown, list)

    unchanged = tick_queue(desk, agent, shown, filters)
    driver_ticket("Tundra again: it honks at night")
    changed = tick_queue(desk, agent, shown, filters)

    assert (unchanged.queue_table, unchanged.queue_shown) == (KEEP, KEEP)
    assert isinstance(changed.queue_table, list) and len(changed.queue_table) == len(shown) + 1


def test_an_opened_ticket_shows_its_case_and_a_drafted_public_reply(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("hello?", "How do I reset the TPMS light?")

    shown = open_ticket(desk, agent, f" {ticket.reference} ")

    assert (shown.ticket_ref, shown.ticket_id, shown.ticket_status) == (
        ticket.reference, ticket.id, ""
    )  # fmt: skip
    assert f'data-reference="{ticket.reference}"' in str(shown.ticket_detail)
    assert "How do I reset the TPMS light?" in str(shown.ticket_detail)
    assert "Suggested reply" in str(shown.suggestion_panel)
    assert shown.use_suggestion == gr.update(visible=True)
    assert "Sources:\n[1] " in str(shown.suggested_text)


def test_a_ticket_without_a_customer_message_offers_no_reply_and_a_wrong_one_is_refused(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    quiet = open_ticket(desk, agent, driver_ticket().reference)
    assert (quiet.suggestion_panel, quiet.suggested_text) == ("", "")
    assert quiet.use_suggestion == gr.update(visible=False)
    with pytest.raises(InputError, match="no ticket 999999"):
        open_ticket(desk, agent, "GBX-999999")


def test_a_click_on_a_row_opens_its_ticket_and_a_click_elsewhere_keeps_the_case(
    desk: AgentDesk, token: str, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("Is the recall done on my car?")
    select = selected_ticket(desk)

    on_row = select(
        gr.SelectData(
            None,
            {"index": [0, 0], "value": ticket.reference, "row_value": [ticket.reference, "medium"]},
        ),
        page_request(token),
    )
    off_row = select(
        gr.SelectData(None, {"index": [0, 0], "value": None, "row_value": None}), page_request(None)
    )

    assert on_row[:2] == (ticket.reference, ticket.id)
    assert off_row == NOTHING_SELECTED.values() and off_row[3] == ""  # the status line emptied


def test_claim_note_reply_and_resolve_change_the_ticket_and_refresh_the_queue(
    desk: AgentDesk,
    agent: AgentAccount,
    driver_ticket: DriverTicket,
    console_services: Services,
) -> None:
    ticket = driver_ticket("My seat heater burns", summary="Seat heater burns")
    filters = QueueFilters(search="heater burns")

    claimed = claim(desk, agent, TicketForm(ticket.id, filters=filters))
    noted = add_note(
        desk, agent, TicketForm(ticket.id, text=" Called the dealer ", filters=filters)
    )
    replied = reply_to_customer(
        desk, agent, TicketForm(ticket.id, text="A dealer will call.", filters=filters)
    )
    resolved = resolve(
        desk, agent, TicketForm(ticket.id, resolution_note="Fuse replaced", filters=filters)
    )

    assert claimed.ticket_status == f"**You took {ticket.reference}.**"
    assert (claimed.ticket_text, claimed.resolution_note) == (KEEP, KEEP)
    assert (noted.ticket_status, noted.ticket_text) == ("**Note added.**", "")
    assert "Called the dealer" in str(noted.ticket_detail)
    assert replied.ticket_status == "**Reply sent to the customer.**" and replied.ticket_text == ""
    assert (resolved.ticket_status, resolved.resolution_note) == (
        f"**{ticket.reference} resolved.**",
        "",
    )
    assert references(claimed.queue_table) == [ticket.reference]
    assert references(resolved.queue_table) == [] and resolved.queue_shown == []  # open only
    stored = console_services.tickets.get_ticket(ticket.id)
    assert stored.state is EscalationState.RESOLVED and stored.assignee == "ana"
    assert [note["text"] for note in stored.notes] == ["Called the dealer"]
    assert stored.resolution_note == "Fuse replaced (ana)"


def test_an_action_needs_an_open_ticket_and_its_text(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("Help")
    nothing = (gr.skip(),) * 6
    with pytest.warns(UserWarning, match="Select a ticket first"):
        assert (
            ticket_action(claim)(
                desk, agent, None, "", "", "open", "all", "all", "severity", ""
            ).values()
            == nothing
        )
    with pytest.warns(UserWarning, match="Write the note first"):
        assert add_note(desk, agent, TicketForm(ticket.id, text="  ")).values() == nothing
    with pytest.warns(UserWarning, match="Write a resolution note first"):
        assert resolve(desk, agent, TicketForm(ticket.id)).values() == nothing
    with pytest.raises(InputError, match="write what the customer should read"):
        reply_to_customer(desk, agent, TicketForm(ticket.id, text=" "))


def test_typing_a_reply_tells_the_driver_and_a_resolved_ticket_stays_quiet(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket
) -> None:
    ticket = driver_ticket("Anyone there?")
    note_typing(desk, agent, None)
    assert desk.agent_is_typing(ticket.id) is False
    note_typing(desk, agent, ticket.id)
    assert desk.agent_is_typing(ticket.id) is True
    desk.resolve(agent, ticket.id, "Answered by phone")
    note_typing(desk, agent, ticket.id)  # no error for a keystroke
    assert desk.agent_is_typing(ticket.id) is False
