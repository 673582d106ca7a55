"""The console's edge: which agent sent an event, errors as messages, handlers as events.

Every tab's handlers are plain functions `handler(desk, agent, *values)` that return what the
event shows. The wrappers here make them Gradio event functions: they find the signed-in agent
from the page's cookie first, and turn our errors into a message on screen.

    button.click(agent_event(desk, look_up), inputs=[query], outputs=VehicleView.outputs(tab))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Final

import gradio as gr

from assistant.desk.agent_desk import AgentDesk, NotSignedIn
from knowledge.errors import GloveboxError
from ui.agent_auth import token_from

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount

SESSION_EXPIRED = "Your session has expired: sign in again"


class Keep:
    """The value of a view's field that leaves its component as it is on screen."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()


class View:
    """What one event shows: a dataclass with one field per output component, named as the
    tab's component, in the order of the event's outputs. A field left at KEEP is not redrawn.
    """

    def values(self) -> tuple[Any, ...]:
        """The outputs as Gradio takes them, KEEP as `gr.skip()`."""
        shown = (getattr(self, field.name) for field in fields(self))  # type: ignore[arg-type]
        return tuple(gr.skip() if value is KEEP else value for value in shown)

    @classmethod
    def outputs(cls, tab: object) -> list[Any]:
        """The tab's components this view fills, in the order of its fields."""
        return [getattr(tab, field.name) for field in fields(cls)]  # type: ignore[arg-type]


def request_token(request: gr.Request) -> str | None:
    """The session cookie (or bearer token) of the page that sent the event."""
    inner = request.request
    if inner is None:
        return None
    return token_from(dict(inner.cookies), inner.headers)


def signed_in(desk: AgentDesk, request: gr.Request) -> AgentAccount:
    """The agent behind this browser session; a "sign in again" message when there is none."""
    try:
        return desk.agent_for(request_token(request))
    except NotSignedIn:
        raise gr.Error(SESSION_EXPIRED, title="Signed out", print_exception=False) from None


@contextmanager
def shown_as_message() -> Iterator[None]:
    """Our errors become a message on screen; the event's outputs stay as they were."""
    try:
        yield
    except NotSignedIn:
        raise gr.Error(SESSION_EXPIRED, title="Signed out", print_exception=False) from None
    except GloveboxError as error:
        raise gr.Error(str(error), title="Could not do that", print_exception=False) from None


def _shown(result: Any) -> Any:
    return result.values() if isinstance(result, View) else result


def agent_event(desk: AgentDesk, handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler(desk, agent, *values)` as an event: signed out is a "sign in again" message."""

    # Gradio fills a leading parameter annotated gr.Request; the inputs' values follow it.
    def event(request: gr.Request, *values: Any) -> Any:
        agent = signed_in(desk, request)
        with shown_as_message():
            return _shown(handler(desk, agent, *values))

    return event


def quiet_agent_event(
    desk: AgentDesk, handler: Callable[..., Any], signed_out: Any
) -> Callable[..., Any]:
    """`agent_event` for what runs unasked (a page load, a timer, a keystroke): signed out, it
    shows `signed_out` instead of a message."""

    def event(request: gr.Request, *values: Any) -> Any:
        try:
            agent = desk.agent_for(request_token(request))
        except NotSignedIn:
            return _shown(signed_out)
        with shown_as_message():
            return _shown(handler(desk, agent, *values))

    return event


def agent_stream(
    desk: AgentDesk, handler: Callable[..., Iterator[Any]]
) -> Callable[..., Iterator[Any]]:
    """`agent_event` for a handler that yields what to show as it goes (a streamed answer)."""

    def event(request: gr.Request, *values: Any) -> Iterator[Any]:
        agent = signed_in(desk, request)
        with shown_as_message():
            for shown in handler(desk, agent, *values):
                yield _shown(shown)

    return event
