"""The Queue tab: escalations filtered and searched, a ticket's case opened, and the agent's
actions on it (claim, note, reply to the customer, resolve).

    tab = build_queue_tab(desk, console)   # inside the console's gr.Blocks and gr.Tabs
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import gradio as gr

from assistant.desk.agent_desk import (
    AgentDesk,
    QueueChannel,
    QueueSeverity,
    QueueSort,
    QueueState,
    SuggestedReply,
)
from assistant.records import EscalationState, ticket_id_from_reference
from knowledge.errors import GloveboxError, InputError
from ui.console.edge import KEEP, Keep, View, agent_event, quiet_agent_event
from ui.console.markup import age, ago, empty, escape

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.records import Ticket

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
Rows = list[list[str]]
Handled = TypeVar("Handled")


# --- HTML of the queue and of a case (every value escaped) ------------------------------------


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
        f"{escape(said)}</blockquote></section>"
    )


def _passage_item(passage: dict[str, Any]) -> str:
    """One retrieved passage, with the [n] the answer cited it by when it was cited."""
    mark = f"[{passage['n']}] " if passage.get("n") else ""
    return (
        f"<li>{escape(mark)}<strong>{escape(passage.get('title', ''))}</strong>"
        f' <span class="gbx-muted">{escape(passage.get("section", ""))} · score '
        f"{float(passage.get('score') or 0):.2f}</span>"
        f'<blockquote class="gbx-quote">{escape(passage.get("quote", ""))}</blockquote></li>'
    )


def ticket_html(
    ticket: Ticket, transcript: list[dict[str, Any]], earlier: Sequence[Ticket] = ()
) -> str:
    state = STATE_LABELS.get(ticket.state, ticket.state.value)
    head = (
        f"<h3>{escape(ticket.reference)}</h3><div class='gbx-meta'>"
        f'<span class="gbx-badge {_severity_class(ticket.severity.value)}">'
        f"{escape(ticket.severity.value.upper())}</span>"
        f'<span class="gbx-badge gbx-state" id="ticket-state">{escape(state)}</span>'
        f'<span class="gbx-muted">{escape(ticket.channel.value)} · '
        f"{escape(ticket.reason.replace('_', ' '))} · "
        f"{escape(ticket.vehicle.label() if ticket.vehicle else 'vehicle unknown')} · "
        f"opened {escape(ago(ticket.created_at))} · "
        f"assignee: {escape(ticket.assignee or 'nobody yet')}</span></div>"
    )
    turns = "".join(
        f'<li class="gbx-role-{escape(turn.get("role", ""))}">'
        f"<strong>{escape(SPEAKERS.get(str(turn.get('role')), turn.get('role', '')))}</strong> "
        f'<span class="gbx-muted">{escape(_clock(turn.get("created_at")))}</span>'
        f"<div>{escape(turn.get('text', ''))}</div></li>"
        for turn in transcript
    )
    passages = "".join(_passage_item(passage) for passage in ticket.passages)
    notes = "".join(
        f"<li><strong>{escape(note.get('author', ''))}</strong> "
        f'<span class="gbx-muted">{escape(_clock(note.get("created_at")))}</span>: '
        f"{escape(note.get('text', ''))}</li>"
        for note in ticket.notes
    )
    resolution = (
        f"<section><h4>Resolution</h4><p>{escape(ticket.resolution_note)}</p></section>"
        if ticket.resolution_note
        else ""
    )
    return (
        f'<div class="gbx-ticket" data-reference="{escape(ticket.reference)}">{head}'
        f"<section><h4>Summary</h4><p>{escape(ticket.summary)}</p></section>"
        f"{_assistant_said(ticket, transcript)}"
        f'<section><h4>Transcript</h4><ol class="gbx-transcript">{turns}</ol></section>'
        "<section><h4>Retrieved passages</h4>"
        f"{f'<ul>{passages}</ul>' if passages else empty('No passages were retrieved.')}"
        "</section>"
        f"<section><h4>Notes</h4>{f'<ul>{notes}</ul>' if notes else empty('No notes yet.')}"
        f"</section>{resolution}{_earlier_cases_html(earlier)}</div>"
    )


def _earlier_cases_html(earlier: Sequence[Ticket]) -> str:
    """The case history: what was asked before in this conversation or for this VIN."""
    if not earlier:
        return ""
    items = "".join(
        f"<li><strong>{escape(case.reference)}</strong> "
        f'<span class="gbx-muted">{escape(STATE_LABELS.get(case.state, case.state.value))} · '
        f"opened {escape(ago(case.created_at))}</span>: {escape(case.summary)}"
        + (f"<br><em>Resolved: {escape(case.resolution_note)}</em>" if case.resolution_note else "")
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


def suggestion_html(suggested: SuggestedReply | None) -> str:
    """The drafted reply to the customer's last message, labelled as a suggestion to the agent."""
    if suggested is None:
        return ""
    items = "".join(
        f'<li><a href="{escape(source.url)}" target="_blank" rel="noopener">[{source.n}] '
        f"{escape(source.title)}</a> <span class='gbx-muted'>{escape(source.section)}</span></li>"
        for source in suggested.sources
    )
    return (
        '<section class="gbx-suggestion"><h4>Suggested reply '
        '<span class="gbx-muted">(for you only: edit it, then send it)</span></h4>'
        f'<p class="gbx-muted">To: “{escape(suggested.for_message)}” · confidence '
        f"{suggested.confidence:.2f}</p>"
        f'<blockquote class="gbx-quote">{escape(suggested.answer)}</blockquote>'
        f"<ol class='gbx-suggestion-sources'>{items}</ol></section>"
    )


# --- Handlers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """The queue's dropdowns and search box, as the desk's `queue` takes them."""

    state: str = "open"
    channel: str = "all"
    severity: str = "all"
    sort: str = "severity"
    search: str = ""


def filtered(handler: Callable[..., Handled]) -> Callable[..., Handled]:
    """The handler for an event whose last five inputs are the filters, given as QueueFilters."""

    def with_filters(desk: AgentDesk, agent: AgentAccount, *values: Any) -> Handled:
        *own, state, channel, severity, sort, search = values
        # Gradio sends None for a box never typed in.
        filters = QueueFilters(state, channel, severity, sort, search or "")
        return handler(desk, agent, *own, filters)

    return with_filters


def queue_table_rows(desk: AgentDesk, agent: AgentAccount, filters: QueueFilters) -> Rows:
    tickets = desk.queue(
        agent, state=filters.state, channel=filters.channel, severity=filters.severity,
        sort=filters.sort, search=filters.search,
    )  # fmt: skip
    return queue_rows(tickets)


def case_html(desk: AgentDesk, agent: AgentAccount, ticket: Ticket) -> str:
    """The ticket's case as it is now, with the earlier cases of its conversation or VIN."""
    earlier = desk.earlier_cases(agent, ticket)
    return ticket_html(ticket, desk.transcript(agent, ticket), earlier)


@dataclass(frozen=True)
class QueueView(View):
    """The table, and what it shows (so the timer redraws only what changed)."""

    queue_table: Rows | Keep = KEEP
    queue_shown: Rows | Keep = KEEP


def refresh_queue(desk: AgentDesk, agent: AgentAccount, filters: QueueFilters) -> QueueView:
    """The queue as the filters ask for it."""
    rows = queue_table_rows(desk, agent, filters)
    return QueueView(queue_table=rows, queue_shown=rows)


def tick_queue(
    desk: AgentDesk, agent: AgentAccount, shown: Rows | None, filters: QueueFilters
) -> QueueView:
    """The timer's refresh: quiet when it fails, and no redraw when nothing changed."""
    try:
        rows = queue_table_rows(desk, agent, filters)
    except GloveboxError:
        return QueueView()
    return QueueView() if rows == shown else QueueView(queue_table=rows, queue_shown=rows)


@dataclass(frozen=True)
class TicketView(View):
    """An opened ticket: its reference and id, its case and the suggested reply."""

    ticket_ref: str | Keep = KEEP
    ticket_id: int | Keep = KEEP
    ticket_detail: str | Keep = KEEP
    ticket_status: str | Keep = KEEP
    suggestion_panel: str | Keep = KEEP
    use_suggestion: Any = KEEP
    suggested_text: str | Keep = KEEP


NOTHING_SELECTED = TicketView(ticket_status="")
"""A click on the table that is not on a row: the case shown stays."""


def open_ticket(desk: AgentDesk, agent: AgentAccount, reference: str) -> TicketView:
    """The ticket a reference (GBX-000123, or its number) names, with a drafted reply."""
    ticket = desk.ticket(agent, ticket_id_from_reference(reference.strip()))
    detail = case_html(desk, agent, ticket)
    suggested = desk.suggested_reply(agent, ticket)
    return TicketView(
        ticket_ref=ticket.reference,
        ticket_id=ticket.id,
        ticket_detail=detail,
        ticket_status="",
        suggestion_panel=suggestion_html(suggested),
        use_suggestion=gr.update(visible=suggested is not None),
        suggested_text=suggested.text if suggested else "",
    )


def selected_ticket(desk: AgentDesk) -> Callable[[gr.SelectData, gr.Request], Any]:
    """The table's select event: the clicked row's ticket opened."""
    opened = agent_event(desk, open_ticket)

    def select(event: gr.SelectData, request: gr.Request) -> Any:
        row = event.row_value or []
        return opened(request, str(row[0])) if row else NOTHING_SELECTED.values()

    return select


@dataclass(frozen=True)
class ActionView(View):
    """A ticket acted on: its case redrawn, what was done, the queue refreshed."""

    ticket_detail: str | Keep = KEEP
    ticket_status: str | Keep = KEEP
    queue_table: Rows | Keep = KEEP
    queue_shown: Rows | Keep = KEEP
    ticket_text: str | Keep = KEEP
    resolution_note: str | Keep = KEEP


def _acted(
    desk: AgentDesk, agent: AgentAccount, ticket: Ticket, done: str, filters: QueueFilters,
    **cleared: str,
) -> ActionView:  # fmt: skip
    detail = case_html(desk, agent, ticket)
    rows = queue_table_rows(desk, agent, filters)
    return ActionView(
        ticket_detail=detail, ticket_status=f"**{done}**", queue_table=rows, queue_shown=rows,
        **cleared,
    )  # fmt: skip


@dataclass(frozen=True)
class TicketForm:
    """What an action button sends: the open ticket, the agent's two boxes and the filters."""

    ticket_id: int
    text: str = ""
    resolution_note: str = ""
    filters: QueueFilters = QueueFilters()


def ticket_action(
    action: Callable[[AgentDesk, AgentAccount, TicketForm], ActionView],
) -> Callable[..., ActionView]:
    """The action for a button whose inputs are the ticket id, the two boxes and the filters;
    with no ticket open it only warns."""

    def on_open_ticket(
        desk: AgentDesk, agent: AgentAccount, current: int | None, text: str, note: str,
        filters: QueueFilters,
    ) -> ActionView:  # fmt: skip
        if current is None:
            gr.Warning("Select a ticket first.")
            return ActionView()
        return action(desk, agent, TicketForm(current, text, note, filters))

    return filtered(on_open_ticket)


def claim(desk: AgentDesk, agent: AgentAccount, form: TicketForm) -> ActionView:
    """The agent takes the ticket."""
    ticket = desk.claim(agent, form.ticket_id)
    return _acted(desk, agent, ticket, f"You took {ticket.reference}.", form.filters)


def add_note(desk: AgentDesk, agent: AgentAccount, form: TicketForm) -> ActionView:
    """An internal note on the ticket, from the note-or-reply box."""
    if not form.text.strip():
        gr.Warning("Write the note first.")
        return ActionView()
    ticket = desk.note(agent, form.ticket_id, form.text.strip())
    return _acted(desk, agent, ticket, "Note added.", form.filters, ticket_text="")


def reply_to_customer(desk: AgentDesk, agent: AgentAccount, form: TicketForm) -> ActionView:
    """The note-or-reply box sent to the ticket's customer."""
    ticket = desk.reply(agent, form.ticket_id, form.text)
    return _acted(desk, agent, ticket, "Reply sent to the customer.", form.filters, ticket_text="")


def resolve(desk: AgentDesk, agent: AgentAccount, form: TicketForm) -> ActionView:
    """The ticket closed with what was done for the customer."""
    if not form.resolution_note.strip():
        gr.Warning("Write a resolution note first: what was done?")
        return ActionView()
    ticket = desk.resolve(agent, form.ticket_id, form.resolution_note)
    done = f"{ticket.reference} resolved."
    return _acted(desk, agent, ticket, done, form.filters, resolution_note="")


def note_typing(desk: AgentDesk, agent: AgentAccount, current: int | None) -> None:
    """Tells the driver an agent is writing. On a resolved ticket it stays quiet: a keystroke
    is no place for that message (Reply gives it)."""
    if current is None:
        return
    try:
        desk.note_typing(agent, current)
    except InputError:
        return


# --- The tab ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueTab:
    """The Queue tab's components (no other tab needs them)."""

    ticket_id: gr.State
    queue_shown: gr.State
    suggested_text: gr.State
    state_filter: gr.Dropdown
    channel_filter: gr.Dropdown
    severity_filter: gr.Dropdown
    sort_order: gr.Dropdown
    queue_search: gr.Textbox
    refresh_button: gr.Button
    queue_table: gr.Dataframe
    queue_timer: gr.Timer
    ticket_ref: gr.Textbox
    open_button: gr.Button
    ticket_detail: gr.HTML
    suggestion_panel: gr.HTML
    use_suggestion: gr.Button
    claim_button: gr.Button
    ticket_text: gr.Textbox
    note_button: gr.Button
    reply_button: gr.Button
    resolution_note: gr.Textbox
    resolve_button: gr.Button
    ticket_status: gr.Markdown

    @property
    def dropdowns(self) -> list[gr.Dropdown]:
        return [self.state_filter, self.channel_filter, self.severity_filter, self.sort_order]

    @property
    def filters(self) -> list[Any]:
        """The inputs `filtered` reads, in QueueFilters' order."""
        return [*self.dropdowns, self.queue_search]


def build_queue_tab(desk: AgentDesk, console: gr.Blocks) -> QueueTab:
    """The Queue tab and its events; the queue loads with the page and refreshes on a timer."""
    with gr.Tab("Queue", id="queue", elem_id="tab-queue"):
        states: dict[str, Any] = {
            "ticket_id": gr.State(None), "queue_shown": gr.State(None),
            "suggested_text": gr.State(""),
        }  # fmt: skip
        filters = _filter_row()
        table = _queue_table()
        with gr.Row():
            with gr.Column(scale=3):
                case = _case_panel()
            with gr.Column(scale=2):
                actions = _action_panel()
    tab = QueueTab(**states, **filters, **table, **case, **actions)
    _wire_queue(desk, tab, console)
    _wire_ticket(desk, tab)
    return tab


def _filter_row() -> dict[str, Any]:
    with gr.Row(elem_classes="gbx-bottom"):
        choices = {
            "state_filter": (QueueState, "open", "State", "queue-state"),
            "channel_filter": (QueueChannel, "all", "Channel", None),
            "severity_filter": (QueueSeverity, "all", "Severity", None),
            "sort_order": (QueueSort, "severity", "Sort", None),
        }
        dropdowns = {
            name: gr.Dropdown(list(get_args(values)), value=value, label=label, elem_id=elem_id)
            for name, (values, value, label, elem_id) in choices.items()
        }
        search = gr.Textbox(
            label="Search",
            placeholder="GBX-000123, a VIN or words",
            elem_id="queue-search",
            value="",
            max_lines=1,
            max_length=200,
        )
        refresh = gr.Button("Refresh", size="sm", elem_id="queue-refresh", scale=0, min_width=90)
    return {**dropdowns, "queue_search": search, "refresh_button": refresh}


def _queue_table() -> dict[str, Any]:
    table = gr.Dataframe(
        headers=QUEUE_HEADERS,
        value=[],
        interactive=False,
        wrap=True,
        elem_id="queue-table",
        max_height=260,
        column_widths=["12%", "9%", "7%", "8%", "16%", "14%", "20%", "14%"],
    )
    return {"queue_table": table, "queue_timer": gr.Timer(QUEUE_REFRESH_SECONDS)}


def _case_panel() -> dict[str, Any]:
    with gr.Row(elem_classes="gbx-bottom"):
        ticket_ref = gr.Textbox(
            label="Ticket",
            placeholder="GBX-000123, or select a row",
            elem_id="ticket-ref",
            max_lines=1,
            scale=3,
        )
        open_button = gr.Button("Open", size="sm", elem_id="open-ticket", scale=0, min_width=90)
    detail = gr.HTML(empty("Select a ticket to see the case."), elem_id="ticket-detail")
    suggestion = gr.HTML("", elem_id="suggested-reply")
    use = gr.Button("Use this answer", size="sm", elem_id="use-suggestion", visible=False)
    return {
        "ticket_ref": ticket_ref, "open_button": open_button, "ticket_detail": detail,
        "suggestion_panel": suggestion, "use_suggestion": use,
    }  # fmt: skip


def _action_panel() -> dict[str, Any]:
    claim_button = gr.Button("Claim", variant="primary", elem_id="claim")
    ticket_text = gr.Textbox(label="Note or reply", lines=3, elem_id="ticket-text")
    with gr.Row():
        note_button = gr.Button("Add note", size="sm", elem_id="add-note")
        reply_button = gr.Button("Reply to customer", size="sm", elem_id="reply-customer")
    resolution_note = gr.Textbox(label="Resolution note", lines=2, elem_id="resolution-note")
    resolve_button = gr.Button("Resolve", variant="stop", elem_id="resolve")
    status = gr.Markdown("", elem_id="ticket-status")
    return {
        "claim_button": claim_button, "ticket_text": ticket_text, "note_button": note_button,
        "reply_button": reply_button, "resolution_note": resolution_note,
        "resolve_button": resolve_button, "ticket_status": status,
    }  # fmt: skip


def _wire_queue(desk: AgentDesk, tab: QueueTab, console: gr.Blocks) -> None:
    """The table refreshed by its filters, its button, the page load and the timer."""
    shown = QueueView.outputs(tab)
    load = agent_event(desk, filtered(refresh_queue))
    # One listener a trigger, not gr.on: a dropdown's change keeps its own trigger mode.
    for trigger in [tab.refresh_button.click, tab.queue_search.submit]:
        trigger(load, inputs=tab.filters, outputs=shown, api_visibility="private")
    for dropdown in tab.dropdowns:
        dropdown.change(load, inputs=tab.filters, outputs=shown, api_visibility="private")
    tab.queue_timer.tick(
        quiet_agent_event(desk, filtered(tick_queue), signed_out=QueueView()),
        inputs=[tab.queue_shown, *tab.filters],
        outputs=shown,
        show_progress="hidden",
        concurrency_limit=None,
        api_visibility="private",
    )
    console.load(load, inputs=tab.filters, outputs=shown, api_visibility="private")


def _wire_ticket(desk: AgentDesk, tab: QueueTab) -> None:
    """A ticket opened, drafted for, typed to and acted on."""
    opened = TicketView.outputs(tab)
    tab.use_suggestion.click(
        lambda text: text, inputs=[tab.suggested_text], outputs=[tab.ticket_text],
        api_visibility="private",
    )  # fmt: skip
    tab.queue_table.select(selected_ticket(desk), outputs=opened, api_visibility="private")
    gr.on(
        [tab.open_button.click, tab.ticket_ref.submit],
        agent_event(desk, open_ticket),
        inputs=[tab.ticket_ref],
        outputs=opened,
        api_visibility="private",
    )
    tab.ticket_text.input(
        quiet_agent_event(desk, note_typing, signed_out=None),
        inputs=[tab.ticket_id],
        trigger_mode="always_last",
        show_progress="hidden",
        concurrency_limit=None,
        api_visibility="private",
    )
    for button, action in (
        (tab.claim_button, claim),
        (tab.note_button, add_note),
        (tab.reply_button, reply_to_customer),
        (tab.resolve_button, resolve),
    ):
        button.click(
            agent_event(desk, ticket_action(action)),
            inputs=[tab.ticket_id, tab.ticket_text, tab.resolution_note, *tab.filters],
            outputs=ActionView.outputs(tab),
            api_visibility="private",
        )
