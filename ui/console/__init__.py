"""The agent console: the Gradio screen a call-centre agent works in, mounted at /console.

Four tabs over one `AgentDesk`, a module each: Chat (the agent channel, with sources,
confidence, the customer copy and feedback), Vehicle (VIN or model lookup with open recalls),
Queue (escalations to claim, answer and resolve) and Insights (volume, escalations, CSAT and
the knowledge-gap backlog). Each tab's handlers are plain functions of the desk, the signed-in
agent and the inputs' values, tested without a browser; `ui.console.edge` makes them events.

Every handler checks the agent's session first and shows errors as messages, never tracebacks.
This package imports Gradio at the top: only `ui.server` imports it, and only when it mounts the
console, so `glovebox --help` stays instant.

    app = FastAPI()
    gr.mount_gradio_app(app, build_console(desk), path="/console", theme=console_theme(),
                        css=CONSOLE_CSS, auth_dependency=console_user)
"""

from __future__ import annotations

import gradio as gr

from assistant.desk.agent_desk import AgentDesk
from ui.console.chat import build_chat_tab, linked_citations
from ui.console.edge import agent_event, quiet_agent_event
from ui.console.insights import build_insights_tab, insights_summary_html
from ui.console.page import (
    CONSOLE_CSS,
    SIGNED_OUT_HTML,
    TITLE,
    build_header,
    console_theme,
    show_agent,
)
from ui.console.queue import build_queue_tab, queue_rows, suggestion_html, ticket_html
from ui.console.vehicle import build_vehicle_tab, use_in_chat

__all__ = [
    "CONSOLE_CSS",
    "build_console",
    "console_theme",
    "insights_summary_html",
    "linked_citations",
    "queue_rows",
    "suggestion_html",
    "ticket_html",
]


def build_console(desk: AgentDesk) -> gr.Blocks:
    """The console's Blocks; `ui.server` mounts it behind the sign-in check."""
    with gr.Blocks(title=TITLE, fill_width=True, analytics_enabled=False) as console:
        agent_box = build_header()
        console.load(
            quiet_agent_event(desk, show_agent, signed_out=SIGNED_OUT_HTML),
            outputs=[agent_box],
            api_visibility="private",
        )
        with gr.Tabs() as tabs:
            chat = build_chat_tab(desk)
            vehicle = build_vehicle_tab(desk)
            build_queue_tab(desk, console)
            build_insights_tab(desk)
        vehicle.use_vehicle.click(
            agent_event(desk, use_in_chat),
            inputs=[vehicle.card_vehicle],
            outputs=[chat.vehicle_box, tabs],
            api_visibility="private",
        )
    console.queue(default_concurrency_limit=8)
    return console
