"""The Vehicle tab's handlers on the sample knowledge base: a card with recalls, handed to chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
import pytest

from assistant.desk.agent_desk import AgentDesk
from knowledge.errors import InputError
from ui.console.vehicle import look_up, use_in_chat

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount


def test_a_looked_up_vehicle_shows_its_open_recalls_and_can_go_to_chat(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    shown = look_up(desk, agent, "Karst 2022")

    assert isinstance(shown.vehicle_card, str) and isinstance(shown.card_vehicle, str)
    assert '<div class="gbx-card">' in shown.vehicle_card
    assert "22V174" in shown.vehicle_card  # the sample's air bag inflator recall
    assert "2022" in shown.card_vehicle and "karst" in shown.card_vehicle.lower()
    assert shown.use_vehicle == gr.update(interactive=True)


def test_a_vehicle_the_knowledge_does_not_have_is_refused_with_what_it_covers(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    with pytest.raises(InputError, match="covers model years"):
        look_up(desk, agent, "Karst 2021")
    with pytest.raises(InputError, match="enter a 17-character VIN"):
        look_up(desk, agent, "  ")


def test_using_the_vehicle_in_chat_fills_the_chat_box_and_shows_the_chat_tab(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    label, tabs = use_in_chat(desk, agent, "Karst 2022")
    assert label == "Karst 2022"
    assert isinstance(tabs, gr.Tabs) and tabs.selected == "chat"
