"""Handlers become events: the agent found from the page's cookie, errors shown as messages."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import gradio as gr
import pytest

from assistant.desk.agent_desk import AgentDesk
from knowledge.errors import InputError
from tests.ui.console.conftest import page_request
from ui.console.edge import (
    KEEP,
    SESSION_EXPIRED,
    Keep,
    View,
    agent_event,
    agent_stream,
    quiet_agent_event,
)

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount


@dataclass(frozen=True)
class Shown(View):
    greeting: str | Keep = KEEP
    name: str | Keep = KEEP


def greet(desk: AgentDesk, agent: AgentAccount, greeting: str) -> Shown:
    return Shown(greeting=f"{greeting}, {agent.username}")


def refuse(desk: AgentDesk, agent: AgentAccount) -> Shown:
    raise InputError("vehicle", "names no model I have information on")


def test_an_event_hands_the_signed_in_agent_to_its_handler_and_keeps_what_it_leaves(
    desk: AgentDesk, token: str
) -> None:
    shown = agent_event(desk, greet)(page_request(token), "Hello")
    assert shown == ("Hello, ana", gr.skip())
    tab = SimpleNamespace(greeting="the greeting's box", name="the name's box", other="-")
    assert Shown.outputs(tab) == ["the greeting's box", "the name's box"]


def test_a_signed_out_page_is_told_to_sign_in_again(desk: AgentDesk) -> None:
    for token in (None, "not-a-session"):
        with pytest.raises(gr.Error, match=SESSION_EXPIRED):
            agent_event(desk, greet)(page_request(token), "Hello")


def test_our_errors_are_a_message_not_a_traceback(desk: AgentDesk, token: str) -> None:
    with pytest.raises(gr.Error, match="names no model I have information on") as raised:
        agent_event(desk, refuse)(page_request(token))
    assert raised.value.title == "Could not do that" and raised.value.print_exception is False


def test_what_runs_unasked_shows_its_signed_out_value_instead_of_a_message(
    desk: AgentDesk, token: str
) -> None:
    quiet = quiet_agent_event(desk, greet, signed_out=Shown(name="nobody"))
    assert quiet(page_request(None), "Hello") == (gr.skip(), "nobody")
    assert quiet(page_request(token), "Hi") == ("Hi, ana", gr.skip())
    with pytest.raises(gr.Error, match="names no model"):  # signed in, errors still show
        quiet_agent_event(desk, refuse, signed_out=None)(page_request(token))


def test_a_stream_yields_each_view_as_the_outputs(desk: AgentDesk, token: str) -> None:
    def count(desk: AgentDesk, agent: AgentAccount, upto: int):  # type: ignore[no-untyped-def]
        for n in range(upto):
            yield Shown(greeting=str(n))

    stream = agent_stream(desk, count)(page_request(token), 2)
    assert list(stream) == [("0", gr.skip()), ("1", gr.skip())]
    with pytest.raises(gr.Error, match=SESSION_EXPIRED):
        next(agent_stream(desk, count)(page_request(None), 2))
