"""The page around the tabs: the header's agent, and the whole console built without a browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.desk.agent_desk import AgentDesk
from tests.ui.console.conftest import page_request
from ui.console import build_console
from ui.console.edge import quiet_agent_event
from ui.console.page import SIGNED_OUT_HTML, show_agent

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount


def test_the_header_names_the_agent_escaped_with_a_sign_out_button(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    shown = show_agent(desk, agent)
    assert "Ana &lt;Agent&gt;" in shown and "(ana)" in shown
    assert '<form method="post" action="/logout">' in shown and 'id="sign-out"' in shown
    signed_out = quiet_agent_event(desk, show_agent, signed_out=SIGNED_OUT_HTML)
    assert signed_out(page_request(None)) == SIGNED_OUT_HTML
    assert "sign in again" in SIGNED_OUT_HTML


def test_the_console_has_every_tab_and_control_the_browser_tests_use(desk: AgentDesk) -> None:
    console = build_console(desk)
    elem_ids = {block.elem_id for block in console.blocks.values() if block.elem_id}
    assert {
        "gbx-agent", "tab-chat", "chat-vehicle", "answer", "question", "ask", "retry", "clear",
        "copy-answer", "thumbs-up", "thumbs-down", "send-feedback", "feedback-status",
        "feedback-comment", "feedback-suggestion", "answer-meta", "sources", "customer-copy",
        "copy-note", "tab-vehicle", "vehicle-query", "vehicle-lookup", "vehicle-card",
        "use-vehicle", "tab-queue", "queue-state", "queue-search", "queue-refresh", "queue-table",
        "ticket-ref", "open-ticket", "ticket-detail", "suggested-reply", "use-suggestion", "claim",
        "ticket-text", "add-note", "reply-customer", "resolution-note", "resolve", "ticket-status",
        "tab-insights", "insights-days", "insights-refresh", "insights-csv", "insights-daily-csv",
        "insights-summary", "insights-daily", "insights-gaps",
    } <= elem_ids  # fmt: skip
    # Every event is the console's own: none is published as an API endpoint.
    assert console.fns and all(fn.api_visibility == "private" for fn in console.fns.values())
