"""The page around the tabs: its title, style sheet, theme and the signed-in agent's header."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from ui.console.edge import SESSION_EXPIRED
from ui.console.markup import escape

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.desk.agent_desk import AgentDesk

TITLE = "Glovebox · Agent console"
SIGNED_OUT_HTML = f'<span class="gbx-muted">{escape(SESSION_EXPIRED)}</span>'
"""What the header shows when the page loads without a session."""

CONSOLE_CSS = """
#gbx-header { align-items: center; padding: 4px 4px 0; }
#gbx-header h1 { font-size: 1.35rem; margin: 0; }
#gbx-agent { text-align: right; }
#gbx-agent form { display: inline; margin-left: .75rem; }
#gbx-agent button { background: none; border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: 2px 10px; cursor: pointer; color: var(--body-text-color); }
#gbx-agent button:hover { background: var(--background-fill-secondary); }
.gbx-muted { color: var(--body-text-color-subdued); font-size: .85em; }
.gbx-badge { display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: .75rem;
  font-weight: 600; line-height: 1.5; white-space: nowrap; border: 1px solid transparent; }
.gbx-public { background: #dcfce7; color: #166534; border-color: #86efac; }
.gbx-internal { background: #fef3c7; color: #92400e; border-color: #f59e0b; }
.gbx-high { background: #dcfce7; color: #166534; }
.gbx-medium { background: #fef9c3; color: #854d0e; }
.gbx-low { background: #fee2e2; color: #991b1b; }
.gbx-critical { background: #7f1d1d; color: #fff; }
.gbx-danger { background: #dc2626; color: #fff; }
.gbx-warn { background: #f97316; color: #fff; }
.gbx-state { background: #e0e7ff; color: #3730a3; }
.gbx-meta { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.gbx-escalation { margin-top: 6px; padding: 8px 10px; border-left: 4px solid #dc2626;
  background: #fef2f2; color: #7f1d1d; border-radius: 4px; font-size: .9em; }
.gbx-empty { color: var(--body-text-color-subdued); font-style: italic; padding: 8px 0; }
.gbx-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  margin: 0 0 8px; background: var(--background-fill-primary); }
.gbx-source summary { cursor: pointer; padding: 8px 10px; display: flex; gap: 8px;
  align-items: baseline; flex-wrap: wrap; }
.gbx-source[open] summary { border-bottom: 1px solid var(--border-color-primary); }
/* The chat's label sits above the messages, not floating over the ones scrolled under it. */
#answer > .wrapper { display: flex; flex-direction: column; }
#answer > .wrapper > label[data-testid="block-label"] { position: static; align-self: flex-start;
  margin: 0 0 6px; }
#answer > .wrapper > .bubble-wrap { flex: 1 1 auto; min-height: 0; }
#feedback-status { align-self: center; padding: 0 8px; background: transparent; }
.gbx-suggestion { border: 1px dashed var(--color-accent); border-radius: 8px; padding: 4px 12px;
  margin-top: 8px; }
.gbx-suggestion blockquote { white-space: pre-wrap; }
.gbx-source .gbx-n { font-weight: 700; color: var(--color-accent); }
.gbx-source .gbx-title { font-weight: 600; flex: 1 1 auto; }
.gbx-source .gbx-body { padding: 6px 12px 10px; font-size: .9em; }
.gbx-facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.gbx-facts dt { color: var(--body-text-color-subdued); }
.gbx-facts dd { margin: 0; }
.gbx-quote { margin: 8px 0 0; padding: 6px 10px; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); white-space: pre-wrap; }
.gbx-card h3, .gbx-ticket h3 { margin: 0 0 6px; }
.gbx-card table, .gbx-ticket table { width: 100%; border-collapse: collapse; font-size: .9em; }
.gbx-card th, .gbx-card td { text-align: left; border-bottom: 1px solid
  var(--border-color-primary); padding: 4px 6px; vertical-align: top; }
.gbx-ticket section { margin-top: 10px; }
.gbx-ticket h4 { margin: 0 0 4px; font-size: .8rem; text-transform: uppercase;
  letter-spacing: .04em; color: var(--body-text-color-subdued); }
.gbx-transcript { list-style: none; padding: 0; margin: 0; }
.gbx-transcript li { padding: 6px 10px; border-radius: 8px; margin-bottom: 6px;
  background: var(--background-fill-secondary); }
.gbx-transcript li.gbx-role-user { border-left: 3px solid #2563eb; }
.gbx-transcript li.gbx-role-assistant { border-left: 3px solid #64748b; }
.gbx-transcript li.gbx-role-agent { border-left: 3px solid #16a34a; }
.gbx-stat { font-size: 1.6rem; font-weight: 700; }
#feedback-status, #ticket-status { min-height: 1.5em; }
.gbx-bottom { align-items: flex-end; }
#queue-table td, #queue-table th, #insights-daily td, #insights-gaps td {
  font-family: var(--font); }
/* Headers break between words, never inside one ("Unanswered", not "Una/nsw/ered"). */
#insights-gaps th, #queue-table th, #insights-daily th { word-break: keep-all;
  overflow-wrap: normal; hyphens: none; }
"""


def console_theme() -> gr.themes.Base:
    """Compact and quiet: a working screen, read for hours."""
    return gr.themes.Soft(
        primary_hue="blue",
        neutral_hue="slate",
        text_size="sm",
        spacing_size="sm",
        radius_size="md",
        font=(gr.themes.LocalFont("IBM Plex Sans", weights=(400, 600)), "system-ui", "sans-serif"),
    )


def agent_html(agent: AgentAccount) -> str:
    """Who is signed in, with the sign-out button."""
    name = agent.display_name or agent.username
    return (
        f'<span class="gbx-muted">Signed in as</span> <strong>{escape(name)}</strong> '
        f'<span class="gbx-muted">({escape(agent.username)})</span>'
        '<form method="post" action="/logout"><button type="submit" id="sign-out">'
        "Sign out</button></form>"
    )


def show_agent(desk: AgentDesk, agent: AgentAccount) -> str:
    """The header's handler on page load."""
    del desk
    return agent_html(agent)


def build_header() -> gr.HTML:
    """The title and the (empty until the page loads) signed-in agent box."""
    with gr.Row(elem_id="gbx-header", equal_height=True):
        gr.HTML(f"<h1>{escape(TITLE)}</h1>", padding=False)
        return gr.HTML("", elem_id="gbx-agent", padding=False)
