"""The agent console: the Gradio screen a call-centre agent works in, mounted at /console.

Four tabs over one `AgentDesk`: Chat (the agent channel, with sources, confidence, the customer
copy and feedback), Vehicle (VIN or model lookup with open recalls), Queue (escalations to claim,
answer and resolve) and Insights (volume, escalations, CSAT and the knowledge-gap backlog).

Every handler checks the agent's session first and shows errors as messages, never tracebacks.
This module imports Gradio at the top: only `ui.server` imports it, and only when it mounts the
console, so `glovebox --help` stays instant.

    app = FastAPI()
    gr.mount_gradio_app(app, build_console(desk), path="/console", theme=console_theme(),
                        css=CONSOLE_CSS, auth_dependency=console_user)
"""

from __future__ import annotations

import html
import re
import tempfile
from base64 import b64encode
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import gradio as gr

from assistant.desk.agent_desk import (
    STAGE_LABELS,
    AgentDesk,
    NotSignedIn,
    QueueChannel,
    QueueSeverity,
    QueueSort,
    QueueState,
    SourceView,
    SuggestedReply,
)
from assistant.desk.insights import daily_csv, insights_csv
from assistant.records import EscalationState, ticket_id_from_reference
from knowledge.errors import GloveboxError, InputError
from ui.agent_auth import token_from

if TYPE_CHECKING:
    from assistant.chain import AssistantReply
    from assistant.desk.accounts import AgentAccount
    from assistant.desk.agent_desk import CustomerCopy, VehicleCard
    from assistant.desk.insights import CsatSummary, Insights
    from assistant.records import Ticket

TITLE = "Glovebox · Agent console"
SESSION_EXPIRED = "Your session has expired: sign in again"
INTERNAL_LEFT_OUT = (
    "Parts citing internal bulletins were left out; do not read those to the customer."
)
QUEUE_HEADERS = [
    "Reference",
    "Severity",
    "Age",
    "Channel",
    "Vehicle",
    "Reason",
    "State",
    "Assignee",
]
STATE_LABELS = {
    EscalationState.AI: "With the assistant",
    EscalationState.WAITING_FOR_HUMAN: "Waiting for a person",
    EscalationState.HUMAN: "With an agent",
    EscalationState.RESOLVED: "Resolved",
}
SPEAKERS = {"user": "Customer", "assistant": "Assistant", "agent": "Agent"}
QUEUE_REFRESH_SECONDS = 5
_VIN = re.compile(r"^(?=[A-Z]*\d)[A-HJ-NPR-Z0-9]{17}$")
CITATION_MARK = re.compile(r"\[(\d{1,2})\]")

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


def _svg_icon(name: str, path: str) -> dict[str, str]:
    """A Feather icon (MIT) inline, so the buttons look right without an emoji font."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        'stroke="#475569" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        f'<path d="{path}"/></svg>'
    )
    return {
        "path": f"{name}.svg",
        "url": "data:image/svg+xml;base64," + b64encode(svg.encode()).decode(),
    }


THUMBS_UP = (
    "thumbs-up",
    "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 "
    "2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
)
THUMBS_DOWN = (
    "thumbs-down",
    "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 "
    "2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17",
)


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


@dataclass(frozen=True)
class LastAnswer:
    """What the Chat tab keeps of the latest answer: for Retry, feedback and the copy button."""

    session_id: str
    turn_index: int
    question: str
    customer_copy: CustomerCopy


# --- The edge: sign-in check and errors as messages -------------------------------------------


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


# --- HTML the console renders itself (every value escaped) ------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def agent_html(agent: AgentAccount) -> str:
    name = agent.display_name or agent.username
    return (
        f'<span class="gbx-muted">Signed in as</span> <strong>{_e(name)}</strong> '
        f'<span class="gbx-muted">({_e(agent.username)})</span>'
        '<form method="post" action="/logout"><button type="submit" id="sign-out">'
        "Sign out</button></form>"
    )


def confidence_badge(confidence: float) -> str:
    level = "high" if confidence >= 0.75 else "medium" if confidence >= 0.5 else "low"
    return (
        f'<span class="gbx-badge gbx-{level}" id="confidence">'
        f"{level.title()} confidence · {confidence:.2f}</span>"
    )


def answer_meta_html(reply: AssistantReply) -> str:
    badges = [confidence_badge(reply.confidence)]
    if reply.vehicle is not None and (reply.vehicle.model or reply.vehicle.vin):
        badges.append(f'<span class="gbx-badge gbx-state">{_e(reply.vehicle.label())}</span>')
    if reply.abstained:
        badges.append('<span class="gbx-badge gbx-low">Not answered from the sources</span>')
    parts = [f'<div class="gbx-meta">{"".join(badges)}</div>']
    escalation = reply.escalation
    if escalation is not None:
        reference = f" · ticket <strong>{_e(escalation.ticket_id)}</strong>"
        # On the agent channel a case is flagged to the agent, not queued for another person.
        title = "Escalated to a person" if escalation.ticket_id else "Flagged for you"
        parts.append(
            f'<div class="gbx-escalation" id="escalation"><strong>{title}</strong>'
            f" · reason: {_e(escalation.reason.replace('_', ' '))}"
            f" · severity: {_e(escalation.severity.value)}"
            f"{reference if escalation.ticket_id else ''}</div>"
        )
    return "".join(parts)


def linked_citations(answer: str, sources: list[SourceView]) -> str:
    """The answer with each `[n]` a link that opens its source document at the cited section."""
    urls = {source.n: source.url for source in sources}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return rf"[\[{n}\]]({urls[n]})" if n in urls else match.group(0)

    return CITATION_MARK.sub(link, answer)


def suggestion_html(suggested: SuggestedReply | None) -> str:
    """The drafted reply to the customer's last message, labelled as a suggestion to the agent."""
    if suggested is None:
        return ""
    items = "".join(
        f'<li><a href="{_e(source.url)}" target="_blank" rel="noopener">[{source.n}] '
        f"{_e(source.title)}</a> <span class='gbx-muted'>{_e(source.section)}</span></li>"
        for source in suggested.sources
    )
    return (
        '<section class="gbx-suggestion"><h4>Suggested reply '
        '<span class="gbx-muted">(for you only: edit it, then send it)</span></h4>'
        f'<p class="gbx-muted">To: “{_e(suggested.for_message)}” · confidence '
        f"{suggested.confidence:.2f}</p>"
        f'<blockquote class="gbx-quote">{_e(suggested.answer)}</blockquote>'
        f"<ol class='gbx-suggestion-sources'>{items}</ol></section>"
    )


def sources_html(sources: list[SourceView]) -> str:
    if not sources:
        return '<div class="gbx-empty">Sources of the answer appear here.</div>'
    return "".join(_source_html(source) for source in sources)


def _source_html(source: SourceView) -> str:
    audience = (
        '<span class="gbx-badge gbx-internal">Internal</span>'
        if source.internal
        else '<span class="gbx-badge gbx-public">Public</span>'
    )
    facts = [
        ("Kind", source.kind),
        ("Section", source.section or "—"),
        ("Page", source.page if source.page is not None else "—"),
        ("Vehicle", source.vehicle or "All vehicles"),
        ("Effective", source.effective_date or "—"),
        ("Relevance", f"{source.score:.2f}"),
    ]
    rows = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in facts)
    return (
        f'<details class="gbx-source" id="source-{source.n}">'
        f'<summary><span class="gbx-n">[{source.n}]</span>'
        f'<span class="gbx-title">{_e(source.title)}</span>{audience}'
        f'<span class="gbx-muted">relevance {source.score:.2f}</span></summary>'
        f'<div class="gbx-body"><dl class="gbx-facts">{rows}</dl>'
        f'<blockquote class="gbx-quote">{_e(source.quote)}</blockquote>'
        f'<a class="gbx-open-source" href="{_e(source.url)}" target="_blank" rel="noopener">'
        "Open the document at this section</a></div></details>"
    )


def vehicle_card_html(card: VehicleCard) -> str:
    vin = f" · VIN {_e(card.vehicle.vin)}" if card.vehicle.vin else ""
    if card.recalls:
        rows = "".join(
            "<tr>"
            f"<td><strong>{_e(recall.campaign)}</strong><br>"
            f'<span class="gbx-muted">{_e(recall.effective_date or "")}</span></td>'
            f"<td>{_e(recall.component)}<br>{_e(recall.title)}</td>"
            f"<td>{_e(recall.consequence)}</td><td>{_e(recall.remedy)}</td>"
            f"<td>{_recall_flags(recall.do_not_drive, recall.park_outside)}</td></tr>"
            for recall in card.recalls
        )
        recalls = (
            "<table><thead><tr><th>Campaign</th><th>Component</th><th>Consequence</th>"
            f"<th>Remedy</th><th>Flags</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        recalls = '<div class="gbx-empty">No open recalls for this vehicle.</div>'
    return (
        f'<div class="gbx-card"><h3>{_e(card.description)}</h3>'
        f'<div class="gbx-muted">Decoded: {_e(card.vehicle.label())}{vin}</div>'
        f"<h4>Open recalls ({len(card.recalls)})</h4>{recalls}"
        f'<p class="gbx-muted">{_e(card.filter_text)}</p></div>'
    )


def _recall_flags(do_not_drive: bool, park_outside: bool) -> str:
    flags = []
    if do_not_drive:
        flags.append('<span class="gbx-badge gbx-danger">DO NOT DRIVE</span>')
    if park_outside:
        flags.append('<span class="gbx-badge gbx-warn">PARK OUTSIDE</span>')
    return " ".join(flags) or '<span class="gbx-muted">—</span>'


def age(moment: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _ago(moment: datetime) -> str:
    elapsed = age(moment)
    return elapsed if elapsed == "just now" else f"{elapsed} ago"


def queue_rows(tickets: list[Ticket]) -> list[list[str]]:
    return [
        [
            ticket.reference,
            ticket.severity.value,
            age(ticket.created_at),
            ticket.channel.value,
            ticket.vehicle.label() if ticket.vehicle else "—",
            ticket.reason.replace("_", " "),
            STATE_LABELS.get(ticket.state, ticket.state.value)
            + (" · new message" if ticket.asker_waiting_since else ""),
            ticket.assignee or "—",
        ]
        for ticket in tickets
    ]


def _assistant_said(ticket: Ticket, transcript: list[dict[str, Any]]) -> str:
    """What the asker was told, unless the transcript already shows it word for word."""
    said = ticket.assistant_said.strip()
    shown = {
        str(turn.get("text", "")).strip() for turn in transcript if turn.get("role") == "assistant"
    }
    if not said or said in shown:
        return ""
    return (
        f'<section><h4>What the assistant said</h4><blockquote class="gbx-quote">'
        f"{_e(said)}</blockquote></section>"
    )


COPY_TO_CLIPBOARD = """
async () => {
  const box = document.querySelector("#customer-copy textarea");
  if (!box || !box.value) return;
  try {
    await navigator.clipboard.writeText(box.value);
  } catch (error) {
    box.select();  // an http page off loopback has no clipboard API: the old way
    document.execCommand("copy");
  }
  const note = document.querySelector("#copy-note");
  if (note && !note.textContent.trim()) note.textContent = "Copied to the clipboard.";
}
"""
"""Runs in the browser after the customer copy is filled: the button's name is what it does."""


def _passage_item(passage: dict[str, Any]) -> str:
    """One retrieved passage, with the [n] the answer cited it by when it was cited."""
    mark = f"[{passage['n']}] " if passage.get("n") else ""
    return (
        f"<li>{_e(mark)}<strong>{_e(passage.get('title', ''))}</strong>"
        f' <span class="gbx-muted">{_e(passage.get("section", ""))} · score '
        f"{float(passage.get('score') or 0):.2f}</span>"
        f'<blockquote class="gbx-quote">{_e(passage.get("quote", ""))}</blockquote></li>'
    )


def ticket_html(
    ticket: Ticket, transcript: list[dict[str, Any]], earlier: Sequence[Ticket] = ()
) -> str:
    state = STATE_LABELS.get(ticket.state, ticket.state.value)
    head = (
        f"<h3>{_e(ticket.reference)}</h3><div class='gbx-meta'>"
        f'<span class="gbx-badge {_severity_class(ticket.severity.value)}">'
        f"{_e(ticket.severity.value.upper())}</span>"
        f'<span class="gbx-badge gbx-state" id="ticket-state">{_e(state)}</span>'
        f'<span class="gbx-muted">{_e(ticket.channel.value)} · '
        f"{_e(ticket.reason.replace('_', ' '))} · "
        f"{_e(ticket.vehicle.label() if ticket.vehicle else 'vehicle unknown')} · "
        f"opened {_e(_ago(ticket.created_at))} · "
        f"assignee: {_e(ticket.assignee or 'nobody yet')}</span></div>"
    )
    turns = "".join(
        f'<li class="gbx-role-{_e(turn.get("role", ""))}">'
        f"<strong>{_e(SPEAKERS.get(str(turn.get('role')), turn.get('role', '')))}</strong> "
        f'<span class="gbx-muted">{_e(_clock(turn.get("created_at")))}</span>'
        f"<div>{_e(turn.get('text', ''))}</div></li>"
        for turn in transcript
    )
    passages = "".join(_passage_item(passage) for passage in ticket.passages)
    notes = "".join(
        f"<li><strong>{_e(note.get('author', ''))}</strong> "
        f'<span class="gbx-muted">{_e(_clock(note.get("created_at")))}</span>: '
        f"{_e(note.get('text', ''))}</li>"
        for note in ticket.notes
    )
    resolution = (
        f"<section><h4>Resolution</h4><p>{_e(ticket.resolution_note)}</p></section>"
        if ticket.resolution_note
        else ""
    )
    return (
        f'<div class="gbx-ticket" data-reference="{_e(ticket.reference)}">{head}'
        f"<section><h4>Summary</h4><p>{_e(ticket.summary)}</p></section>"
        f"{_assistant_said(ticket, transcript)}"
        f'<section><h4>Transcript</h4><ol class="gbx-transcript">{turns}</ol></section>'
        "<section><h4>Retrieved passages</h4>"
        f"{f'<ul>{passages}</ul>' if passages else _empty('No passages were retrieved.')}"
        "</section>"
        f"<section><h4>Notes</h4>{f'<ul>{notes}</ul>' if notes else _empty('No notes yet.')}"
        f"</section>{resolution}{_earlier_cases_html(earlier)}</div>"
    )


def _earlier_cases_html(earlier: Sequence[Ticket]) -> str:
    """The case history: what was asked before in this conversation or for this VIN."""
    if not earlier:
        return ""
    items = "".join(
        f"<li><strong>{_e(case.reference)}</strong> "
        f'<span class="gbx-muted">{_e(STATE_LABELS.get(case.state, case.state.value))} · '
        f"opened {_e(_ago(case.created_at))}</span>: {_e(case.summary)}"
        + (f"<br><em>Resolved: {_e(case.resolution_note)}</em>" if case.resolution_note else "")
        + "</li>"
        for case in earlier
    )
    return f'<section id="earlier-cases"><h4>Earlier cases</h4><ul>{items}</ul></section>'


def _severity_class(severity: str) -> str:
    return {"critical": "gbx-critical", "high": "gbx-danger", "medium": "gbx-medium"}.get(
        severity, "gbx-state"
    )


def _clock(value: object) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%d %b %H:%M")


def _empty(text: str) -> str:
    return f'<div class="gbx-empty">{_e(text)}</div>'


def insights_summary_html(insights: Insights) -> str:
    rate = f"{insights.escalation_rate:.0%}" if insights.escalation_rate is not None else "—"
    reasons = (
        ", ".join(
            f"{_e(reason.replace('_', ' '))} ({count})"
            for reason, count in insights.escalation_reasons.items()
        )
        or "none"
    )
    return (
        '<div class="gbx-meta" style="gap:32px">'
        f'<div><div class="gbx-stat">{insights.questions}</div>'
        '<div class="gbx-muted">questions</div></div>'
        f'<div><div class="gbx-stat">{insights.escalations}</div>'
        '<div class="gbx-muted">escalations</div></div>'
        f'<div><div class="gbx-stat">{_e(rate)}</div>'
        '<div class="gbx-muted">of conversations escalated</div></div>'
        f'<div><div class="gbx-stat">{len(insights.gaps)}</div>'
        '<div class="gbx-muted">knowledge gaps</div></div>'
        f"{_csat_stats(insights.csat)}</div>"
        f"<p><strong>Escalation reasons:</strong> {reasons}</p>"
        f"{_csat_comments(insights.csat)}"
    )


def _csat_stats(csat: CsatSummary) -> str:
    average = f"{csat.average:.1f} / 5" if csat.average is not None else "—"
    return (
        f'<div id="insights-csat"><div class="gbx-stat">{_e(average)}</div>'
        f'<div class="gbx-muted">average CSAT · {csat.ratings} '
        f"rating{'' if csat.ratings == 1 else 's'}</div></div>"
    )


def _csat_comments(csat: CsatSummary) -> str:
    if not csat.latest_comments:
        return ""
    items = "".join(
        f"<li><strong>{comment.rating}/5</strong> {_e(comment.comment)} "
        f'<span class="gbx-muted">{_e(comment.ticket)} · {_e(_ago(comment.created_at))}</span></li>'
        for comment in csat.latest_comments
    )
    return (
        f'<p><strong>Latest CSAT comments:</strong></p><ul id="insights-csat-comments">{items}</ul>'
    )


# --- Chat helpers --------------------------------------------------------------------------


def vehicle_arguments(vehicle_box: str) -> dict[str, str | None]:
    """A 17-character VIN goes to the decoder; anything else is read as model and year."""
    text = vehicle_box.strip()
    # One 17-character token: a make, model and year can be 17 characters without spaces too.
    if _VIN.match(text.upper()):
        return {"vin": text.upper(), "vehicle_text": None}
    return {"vin": None, "vehicle_text": text or None}


def _status_message(stage: str) -> str:
    return f"_{STAGE_LABELS.get(stage, stage.replace('_', ' ').capitalize())}…_"


# --- The screen ----------------------------------------------------------------------------


def build_console(desk: AgentDesk) -> gr.Blocks:
    """The console's Blocks; `ui.server` mounts it behind the sign-in check."""
    with gr.Blocks(title=TITLE, fill_width=True, analytics_enabled=False) as console:
        last_answer = gr.State(None)
        session_id = gr.State(None)
        rating = gr.State(None)
        card_vehicle = gr.State("")
        ticket_id = gr.State(None)
        queue_shown = gr.State(None)

        with gr.Row(elem_id="gbx-header", equal_height=True):
            gr.HTML(f"<h1>{_e(TITLE)}</h1>", padding=False)
            agent_box = gr.HTML("", elem_id="gbx-agent", padding=False)

        with gr.Tabs() as tabs:
            # --- Chat ---------------------------------------------------------------------
            with gr.Tab("Chat", id="chat", elem_id="tab-chat"), gr.Row():
                with gr.Column(scale=3):
                    vehicle_box = gr.Textbox(
                        label="Vehicle for this conversation",
                        placeholder="make, model and year, or a 17-character VIN",
                        elem_id="chat-vehicle",
                        max_lines=1,
                    )
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="answer",
                        height=360,
                        buttons=["copy"],
                        feedback_options=None,
                        placeholder="Ask about a procedure, a warning light, a recall…",
                    )
                    with gr.Row(equal_height=True):
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Type the customer's question and press Enter",
                            elem_id="question",
                            scale=5,
                            max_lines=4,
                        )
                        ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                    with gr.Row():
                        retry_button = gr.Button("Retry", size="sm", elem_id="retry")
                        clear_button = gr.Button("Clear", size="sm", elem_id="clear")
                        copy_button = gr.Button(
                            "Copy answer with footnotes", size="sm", elem_id="copy-answer"
                        )
                    with gr.Group(elem_id="feedback"):
                        with gr.Row(equal_height=True):
                            thumbs_up = gr.Button(
                                "Helpful",
                                icon=_svg_icon(*THUMBS_UP),  # type: ignore[arg-type]
                                size="sm",
                                elem_id="thumbs-up",
                                min_width=80,
                            )
                            thumbs_down = gr.Button(
                                "Not helpful",
                                icon=_svg_icon(*THUMBS_DOWN),  # type: ignore[arg-type]
                                size="sm",
                                elem_id="thumbs-down",
                                min_width=80,
                            )
                            send_feedback = gr.Button(
                                "Send feedback",
                                size="sm",
                                variant="secondary",
                                elem_id="send-feedback",
                                min_width=80,
                            )
                            # In the buttons' row: at 1280x800 a line below the fields is
                            # off screen.
                            feedback_status = gr.Markdown("", elem_id="feedback-status")
                        with gr.Row():
                            feedback_comment = gr.Textbox(
                                label="Comment",
                                placeholder="What was wrong or missing?",
                                elem_id="feedback-comment",
                                lines=1,
                                max_lines=4,
                            )
                            feedback_suggestion = gr.Textbox(
                                label="Suggest a better answer",
                                elem_id="feedback-suggestion",
                                lines=1,
                                max_lines=6,
                            )
                with gr.Column(scale=2):
                    answer_meta = gr.HTML("", elem_id="answer-meta")
                    gr.Markdown("**Sources**")
                    sources = gr.HTML(sources_html([]), elem_id="sources")
                    customer_copy = gr.Textbox(
                        label="Answer for the customer (public sources only)",
                        elem_id="customer-copy",
                        buttons=["copy"],
                        lines=4,
                        max_lines=14,
                        interactive=False,
                        visible=False,
                    )
                    copy_note = gr.HTML("", elem_id="copy-note", padding=False)

            # --- Vehicle ------------------------------------------------------------------
            with gr.Tab("Vehicle", id="vehicle", elem_id="tab-vehicle"):
                with gr.Row(equal_height=True):
                    vehicle_query = gr.Textbox(
                        label="VIN or model and year",
                        placeholder="e.g. a model and year, or a VIN",
                        elem_id="vehicle-query",
                        scale=4,
                        max_lines=1,
                    )
                    lookup_button = gr.Button(
                        "Look up", variant="primary", elem_id="vehicle-lookup", scale=1
                    )
                vehicle_card = gr.HTML(
                    _empty("Look up a vehicle to see its open recalls."), elem_id="vehicle-card"
                )
                use_vehicle = gr.Button(
                    "Use this vehicle in chat", elem_id="use-vehicle", interactive=False
                )

            # --- Queue --------------------------------------------------------------------
            with gr.Tab("Queue", id="queue", elem_id="tab-queue"):
                with gr.Row(elem_classes="gbx-bottom"):
                    state_filter = gr.Dropdown(
                        list(get_args(QueueState)),
                        value="open",
                        label="State",
                        elem_id="queue-state",
                    )
                    channel_filter = gr.Dropdown(
                        list(get_args(QueueChannel)), value="all", label="Channel"
                    )
                    severity_filter = gr.Dropdown(
                        list(get_args(QueueSeverity)),
                        value="all",
                        label="Severity",
                    )
                    sort_order = gr.Dropdown(
                        list(get_args(QueueSort)), value="severity", label="Sort"
                    )
                    queue_search = gr.Textbox(
                        label="Search",
                        placeholder="GBX-000123, a VIN or words",
                        elem_id="queue-search",
                        value="",
                        max_lines=1,
                        max_length=200,
                    )
                    refresh_button = gr.Button(
                        "Refresh", size="sm", elem_id="queue-refresh", scale=0, min_width=90
                    )
                queue_table = gr.Dataframe(
                    headers=QUEUE_HEADERS,
                    value=[],
                    interactive=False,
                    wrap=True,
                    elem_id="queue-table",
                    max_height=260,
                    column_widths=["12%", "9%", "7%", "8%", "16%", "14%", "20%", "14%"],
                )
                queue_timer = gr.Timer(QUEUE_REFRESH_SECONDS)
                with gr.Row():
                    with gr.Column(scale=3):
                        with gr.Row(elem_classes="gbx-bottom"):
                            ticket_ref = gr.Textbox(
                                label="Ticket",
                                placeholder="GBX-000123, or select a row",
                                elem_id="ticket-ref",
                                max_lines=1,
                                scale=3,
                            )
                            open_button = gr.Button(
                                "Open", size="sm", elem_id="open-ticket", scale=0, min_width=90
                            )
                        ticket_detail = gr.HTML(
                            _empty("Select a ticket to see the case."), elem_id="ticket-detail"
                        )
                        suggestion_panel = gr.HTML("", elem_id="suggested-reply")
                        use_suggestion = gr.Button(
                            "Use this answer", size="sm", elem_id="use-suggestion", visible=False
                        )
                        suggested_text = gr.State("")
                    with gr.Column(scale=2):
                        claim_button = gr.Button("Claim", variant="primary", elem_id="claim")
                        ticket_text = gr.Textbox(
                            label="Note or reply", lines=3, elem_id="ticket-text"
                        )
                        with gr.Row():
                            note_button = gr.Button("Add note", size="sm", elem_id="add-note")
                            reply_button = gr.Button(
                                "Reply to customer", size="sm", elem_id="reply-customer"
                            )
                        resolution_note = gr.Textbox(
                            label="Resolution note", lines=2, elem_id="resolution-note"
                        )
                        resolve_button = gr.Button("Resolve", variant="stop", elem_id="resolve")
                        ticket_status = gr.Markdown("", elem_id="ticket-status")

            # --- Insights -----------------------------------------------------------------
            with gr.Tab("Insights", id="insights", elem_id="tab-insights") as insights_tab:
                with gr.Row(elem_classes="gbx-bottom"):
                    days = gr.Radio(
                        [7, 30, 90], value=30, label="Last days", elem_id="insights-days"
                    )
                    insights_button = gr.Button(
                        "Refresh", size="sm", elem_id="insights-refresh", scale=0, min_width=90
                    )
                    gaps_download = gr.DownloadButton(
                        "Download CSV",
                        elem_id="insights-csv",
                        interactive=False,
                        size="sm",
                        scale=0,
                        min_width=150,
                    )
                    daily_download = gr.DownloadButton(
                        "Download daily CSV",
                        elem_id="insights-daily-csv",
                        interactive=False,
                        size="sm",
                        scale=0,
                        min_width=150,
                    )
                insights_summary = gr.HTML(
                    _empty("Open this tab or press Refresh to compute the insights."),
                    elem_id="insights-summary",
                )
                with gr.Row():
                    questions_plot = gr.BarPlot(
                        x="day",
                        y="questions",
                        title="Questions per day",
                        height=240,
                        x_label_angle=-45,
                    )
                    daily_table = gr.Dataframe(
                        headers=["Day", "Questions", "Answered", "Escalated"],
                        value=[],
                        interactive=False,
                        max_height=240,
                        elem_id="insights-daily",
                    )
                gr.Markdown("**Knowledge-gap backlog** (biggest first)")
                gaps_table = gr.Dataframe(
                    headers=[
                        "Question",
                        "Times",
                        "Unanswered",
                        "Rated down",
                        "Last asked",
                        "Comments",
                    ],
                    value=[],
                    interactive=False,
                    wrap=True,
                    max_height=300,
                    elem_id="insights-gaps",
                    column_widths=["30%", "8%", "11%", "11%", "13%", "27%"],
                )

        # --- Handlers ---------------------------------------------------------------------

        def show_agent(request: gr.Request) -> str:
            try:
                return agent_html(signed_in(desk, request))
            except gr.Error:
                return f'<span class="gbx-muted">{_e(SESSION_EXPIRED)}</span>'

        chat_outputs = [
            chatbot,
            sources,
            answer_meta,
            session_id,
            last_answer,
            question,
            vehicle_box,
            customer_copy,
            copy_note,
            feedback_status,
            rating,
        ]

        def run_question(
            text: str,
            vehicle_text: str,
            history: list[dict[str, Any]],
            current_session: str | None,
            request: gr.Request,
        ) -> Iterator[dict[Any, Any]]:
            agent = signed_in(desk, request)
            text = text.strip()
            if not text:
                gr.Warning("Type a question first.")
                return
            if len(text) > desk.max_question_chars:
                gr.Warning(
                    f"The question is too long: keep it to {desk.max_question_chars} characters."
                )
                return
            history = [*history, {"role": "user", "content": text}]
            working = {"role": "assistant", "content": _status_message("session")}
            yield {
                chatbot: [*history, working],
                question: "",
                sources: sources_html([]),
                answer_meta: "",
                customer_copy: gr.update(value="", visible=False),
                copy_note: "",
                feedback_status: "",
                rating: None,
            }
            answer = ""
            reply: AssistantReply | None = None
            try:
                events = desk.ask(
                    agent, text, session_id=current_session, **vehicle_arguments(vehicle_text)
                )
                for event in events:
                    if event.kind == "status" and not answer:
                        working = {"role": "assistant", "content": _status_message(event.text)}
                        yield {chatbot: [*history, working]}
                    elif event.kind == "delta":
                        answer += event.text
                        yield {chatbot: [*history, {"role": "assistant", "content": answer}]}
                    elif event.kind == "reply":
                        reply = event.reply
            except GloveboxError as error:
                failed = {
                    "role": "assistant",
                    "content": f"_The assistant could not answer: {error}_",
                }
                gr.Warning(str(error))
                yield {chatbot: [*history, failed]}
                return
            if reply is None:
                return
            turn = desk.finish(reply)
            update: dict[Any, Any] = {
                chatbot: [
                    *history,
                    {"role": "assistant", "content": linked_citations(reply.answer, turn.sources)},
                ],
                sources: sources_html(turn.sources),
                answer_meta: answer_meta_html(reply),
                session_id: reply.session_id,
                last_answer: LastAnswer(
                    reply.session_id, turn.turn_index, text, turn.customer_copy
                ),
            }
            if not vehicle_text.strip() and reply.vehicle is not None and reply.vehicle.model:
                update[vehicle_box] = reply.vehicle.label()
            yield update

        ask_event = dict(
            fn=run_question,
            inputs=[question, vehicle_box, chatbot, session_id],
            outputs=chat_outputs,
            concurrency_limit=4,
            api_visibility="private",
        )
        ask_button.click(**ask_event)  # type: ignore[arg-type]
        question.submit(**ask_event)  # type: ignore[arg-type]

        def retry(
            vehicle_text: str,
            history: list[dict[str, Any]],
            current_session: str | None,
            previous: LastAnswer | None,
            request: gr.Request,
        ) -> Iterator[dict[Any, Any]]:
            signed_in(desk, request)
            if previous is None:
                gr.Warning("Nothing to retry yet: ask a question first.")
                return
            yield from run_question(
                previous.question, vehicle_text, history, current_session, request
            )

        retry_button.click(
            retry,
            inputs=[vehicle_box, chatbot, session_id, last_answer],
            outputs=chat_outputs,
            concurrency_limit=4,
            api_visibility="private",
        )

        def clear(request: gr.Request) -> dict[Any, Any]:
            signed_in(desk, request)
            return {
                chatbot: [],
                sources: sources_html([]),
                answer_meta: "",
                session_id: None,
                last_answer: None,
                question: "",
                vehicle_box: "",
                customer_copy: gr.update(value="", visible=False),
                copy_note: "",
                feedback_status: "",
                rating: None,
            }

        for cleared in (clear_button.click, chatbot.clear):  # the chatbot's own bin too
            cleared(clear, outputs=chat_outputs, api_visibility="private")

        def copy_answer(previous: LastAnswer | None, request: gr.Request) -> dict[Any, Any]:
            signed_in(desk, request)
            if previous is None:
                gr.Warning("Ask a question first: there is no answer to copy.")
                return {customer_copy: gr.skip(), copy_note: gr.skip()}
            copy = previous.customer_copy
            text = copy.text or "(Nothing in this answer cites a public source.)"
            note = (
                f'<div class="gbx-escalation">{_e(INTERNAL_LEFT_OUT)}</div>'
                if copy.relied_on_internal
                else ""
            )
            return {customer_copy: gr.update(value=text, visible=True), copy_note: note}

        copy_button.click(
            copy_answer,
            inputs=[last_answer],
            outputs=[customer_copy, copy_note],
            api_visibility="private",
        ).then(fn=None, js=COPY_TO_CLIPBOARD)

        def rate(helpful: bool) -> Any:
            def choose(previous: LastAnswer | None, request: gr.Request) -> dict[Any, Any]:
                signed_in(desk, request)
                if previous is None:
                    gr.Warning("Ask a question first: there is no answer to rate.")
                    return {rating: None, feedback_status: "", thumbs_up: gr.skip(),
                            thumbs_down: gr.skip()}  # fmt: skip
                chosen = "helpful" if helpful else "not helpful"
                return {
                    rating: helpful,
                    feedback_status: f"Rated **{chosen}**: add a comment if you like, then "
                    "**Send feedback**.",
                    thumbs_up: gr.update(variant="primary" if helpful else "secondary"),
                    thumbs_down: gr.update(variant="secondary" if helpful else "primary"),
                }

            return choose

        for button, helpful in ((thumbs_up, True), (thumbs_down, False)):
            button.click(
                rate(helpful),
                inputs=[last_answer],
                outputs=[rating, feedback_status, thumbs_up, thumbs_down],
                api_visibility="private",
            )

        def save_feedback(
            previous: LastAnswer | None,
            helpful: bool | None,
            comment: str,
            suggestion: str,
            request: gr.Request,
        ) -> dict[Any, Any]:
            agent = signed_in(desk, request)
            if previous is None:
                gr.Warning("Ask a question first: there is no answer to rate.")
                return {feedback_status: gr.skip()}
            if helpful is None:
                gr.Warning("Choose Helpful or Not helpful first.")
                return {feedback_status: gr.skip()}
            with shown_as_message():
                desk.feedback(
                    agent,
                    previous.session_id,
                    previous.turn_index,
                    helpful=helpful,
                    comment=comment,
                    suggestion=suggestion,
                )
            return {
                feedback_status: "**Feedback saved.** Thank you: it goes to the knowledge team.",
                feedback_comment: "",
                feedback_suggestion: "",
                rating: None,
                thumbs_up: gr.update(variant="secondary"),
                thumbs_down: gr.update(variant="secondary"),
            }

        send_feedback.click(
            save_feedback,
            inputs=[last_answer, rating, feedback_comment, feedback_suggestion],
            outputs=[
                feedback_status,
                feedback_comment,
                feedback_suggestion,
                rating,
                thumbs_up,
                thumbs_down,
            ],
            api_visibility="private",
        )

        # Vehicle

        def look_up(text: str, request: gr.Request) -> tuple[str, str, Any]:
            signed_in(desk, request)
            with shown_as_message():
                card = desk.vehicle_card(text)
            return vehicle_card_html(card), card.vehicle.label(), gr.update(interactive=True)

        lookup_event = dict(
            fn=look_up,
            inputs=[vehicle_query],
            outputs=[vehicle_card, card_vehicle, use_vehicle],
            api_visibility="private",
        )
        lookup_button.click(**lookup_event)  # type: ignore[arg-type]
        vehicle_query.submit(**lookup_event)  # type: ignore[arg-type]

        def use_in_chat(label: str, request: gr.Request) -> tuple[str, Any]:
            signed_in(desk, request)
            return label, gr.Tabs(selected="chat")

        use_vehicle.click(
            use_in_chat,
            inputs=[card_vehicle],
            outputs=[vehicle_box, tabs],
            api_visibility="private",
        )

        # Queue

        filters = [state_filter, channel_filter, severity_filter, sort_order, queue_search]

        def queue_rows_for(
            agent: AgentAccount, state: str, channel: str, severity: str, sort: str,
            search: str | None,
        ) -> list[list[str]]:  # fmt: skip
            tickets = desk.queue(
                agent, state=state, channel=channel, severity=severity, sort=sort,
                search=search or "",  # Gradio sends None for a box never typed in
            )  # fmt: skip
            return queue_rows(tickets)

        def case_html(agent: AgentAccount, ticket: Ticket) -> str:
            earlier = desk.earlier_cases(agent, ticket)
            return ticket_html(ticket, desk.transcript(agent, ticket), earlier)

        def load_queue(
            state: str, channel: str, severity: str, sort: str, search: str | None,
            request: gr.Request,
        ) -> tuple[list[list[str]], list[list[str]]]:  # fmt: skip
            agent = signed_in(desk, request)
            with shown_as_message():
                rows = queue_rows_for(agent, state, channel, severity, sort, search)
            return rows, rows

        def tick_queue(
            state: str,
            channel: str,
            severity: str,
            sort: str,
            search: str | None,
            shown: list[list[str]] | None,
            request: gr.Request,
        ) -> tuple[Any, Any]:
            """The timer's refresh: quiet when signed out, and no redraw when nothing changed."""
            try:
                agent = desk.agent_for(request_token(request))
                rows = queue_rows_for(agent, state, channel, severity, sort, search)
            except (NotSignedIn, GloveboxError):
                return gr.skip(), gr.skip()
            if rows == shown:
                return gr.skip(), gr.skip()
            return rows, rows

        dropdowns = [state_filter, channel_filter, severity_filter, sort_order]
        for trigger in [refresh_button.click, queue_search.submit, *(f.change for f in dropdowns)]:
            trigger(
                load_queue,
                inputs=filters,
                outputs=[queue_table, queue_shown],
                api_visibility="private",
            )
        queue_timer.tick(
            tick_queue,
            inputs=[*filters, queue_shown],
            outputs=[queue_table, queue_shown],
            show_progress="hidden",
            concurrency_limit=None,
            api_visibility="private",
        )

        def show_ticket(reference: str, request: gr.Request) -> tuple[Any, ...]:
            agent = signed_in(desk, request)
            with shown_as_message():
                ticket = desk.ticket(agent, ticket_id_from_reference(reference.strip()))
                detail = case_html(agent, ticket)
                suggested = desk.suggested_reply(agent, ticket)
            return (
                ticket.reference, ticket.id, detail, "", suggestion_html(suggested),
                gr.update(visible=suggested is not None), suggested.text if suggested else "",
            )  # fmt: skip

        def select_ticket(event: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
            row = event.row_value or []
            if not row:
                return (gr.skip(),) * 3 + ("",) + (gr.skip(),) * 3
            return show_ticket(str(row[0]), request)

        ticket_outputs = [
            ticket_ref, ticket_id, ticket_detail, ticket_status, suggestion_panel, use_suggestion,
            suggested_text,
        ]  # fmt: skip
        use_suggestion.click(
            lambda text: text, inputs=[suggested_text], outputs=[ticket_text],
            api_visibility="private",
        )  # fmt: skip
        queue_table.select(select_ticket, outputs=ticket_outputs, api_visibility="private")
        for trigger in (open_button.click, ticket_ref.submit):
            trigger(
                show_ticket, inputs=[ticket_ref], outputs=ticket_outputs, api_visibility="private"
            )

        def act(action: str) -> Any:
            def handle(
                current: int | None,
                text: str,
                note: str,
                state: str,
                channel: str,
                severity: str,
                sort: str,
                search: str | None,
                request: gr.Request,
            ) -> dict[Any, Any]:
                agent = signed_in(desk, request)
                if current is None:
                    gr.Warning("Select a ticket first.")
                    return {ticket_status: gr.skip()}
                with shown_as_message():
                    if action == "claim":
                        ticket = desk.claim(agent, current)
                        done = f"You took {ticket.reference}."
                    elif action == "note":
                        if not text.strip():
                            gr.Warning("Write the note first.")
                            return {ticket_status: gr.skip()}
                        ticket = desk.note(agent, current, text.strip())
                        done = "Note added."
                    elif action == "reply":
                        ticket = desk.reply(agent, current, text)
                        done = "Reply sent to the customer."
                    else:
                        if not note.strip():
                            gr.Warning("Write a resolution note first: what was done?")
                            return {ticket_status: gr.skip()}
                        ticket = desk.resolve(agent, current, note)
                        done = f"{ticket.reference} resolved."
                    detail = case_html(agent, ticket)
                    rows = queue_rows_for(agent, state, channel, severity, sort, search)
                update: dict[Any, Any] = {
                    ticket_detail: detail,
                    ticket_status: f"**{done}**",
                    queue_table: rows,
                    queue_shown: rows,
                }
                if action in ("note", "reply"):
                    update[ticket_text] = ""
                if action == "resolve":
                    update[resolution_note] = ""
                return update

            return handle

        action_outputs = [
            ticket_detail,
            ticket_status,
            queue_table,
            queue_shown,
            ticket_text,
            resolution_note,
        ]

        def typing(current: int | None, request: gr.Request) -> None:
            """Tells the driver an agent is writing. Signed out, or a resolved ticket, it stays
            quiet: a keystroke is no place for that message (Reply gives it)."""
            if current is None:
                return
            try:
                agent = desk.agent_for(request_token(request))
            except NotSignedIn:
                return
            with shown_as_message():  # a failing database is shown, as everywhere
                try:
                    desk.note_typing(agent, current)
                except InputError:
                    return

        ticket_text.input(
            typing,
            inputs=[ticket_id],
            trigger_mode="always_last",
            show_progress="hidden",
            concurrency_limit=None,
            api_visibility="private",
        )

        for button, action in (
            (claim_button, "claim"),
            (note_button, "note"),
            (reply_button, "reply"),
            (resolve_button, "resolve"),
        ):
            button.click(
                act(action),
                inputs=[ticket_id, ticket_text, resolution_note, *filters],
                outputs=action_outputs,
                api_visibility="private",
            )

        # Insights

        def load_insights(period: int, request: gr.Request) -> tuple[Any, ...]:
            agent = signed_in(desk, request)
            with shown_as_message():
                insights = desk.insights(agent, days=int(period))
            folder = Path(tempfile.gettempdir()) / "glovebox-console" / agent.username
            folder.mkdir(parents=True, exist_ok=True)
            gaps_file = folder / f"knowledge-gaps-{period}d.csv"
            gaps_file.write_text(insights_csv(insights), encoding="utf-8")
            daily_file = folder / f"questions-per-day-{period}d.csv"
            daily_file.write_text(daily_csv(insights), encoding="utf-8")
            daily_rows = [
                [day.day.isoformat(), day.questions, day.answered, day.escalated]
                for day in insights.days
            ]
            plot = {
                "day": [row[0] for row in daily_rows],
                "questions": [row[1] for row in daily_rows],
            }
            gap_rows = [
                [
                    gap.label,
                    gap.count,
                    gap.unanswered,
                    gap.thumbs_down,
                    gap.last_asked.strftime("%Y-%m-%d %H:%M"),
                    " | ".join(gap.sample_comments),
                ]
                for gap in insights.gaps
            ]
            import pandas as pd

            return (
                insights_summary_html(insights),
                pd.DataFrame(plot),
                daily_rows[::-1],  # the table newest first; the plot in time order
                gap_rows,
                gr.DownloadButton(value=str(gaps_file), interactive=True),
                gr.DownloadButton(value=str(daily_file), interactive=True),
            )

        insights_outputs = [
            insights_summary,
            questions_plot,
            daily_table,
            gaps_table,
            gaps_download,
            daily_download,
        ]
        for trigger in (insights_tab.select, insights_button.click, days.change):
            trigger(
                load_insights,
                inputs=[days],
                outputs=insights_outputs,
                api_visibility="private",
            )

        console.load(show_agent, outputs=[agent_box], api_visibility="private")
        console.load(
            load_queue,
            inputs=filters,
            outputs=[queue_table, queue_shown],
            api_visibility="private",
        )
    console.queue(default_concurrency_limit=8)
    return console
