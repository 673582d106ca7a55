"""The Chat tab: the agent asks, the answer streams in with its sources, confidence and the copy
a customer may read, and the agent rates it.

    tab = build_chat_tab(desk)   # inside the console's gr.Blocks and gr.Tabs
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.desk.agent_desk import STAGE_LABELS, AgentDesk, SourceView
from knowledge.errors import GloveboxError
from ui.console.edge import KEEP, Keep, View, agent_event, agent_stream
from ui.console.markup import escape

if TYPE_CHECKING:
    from assistant.chain import AssistantReply, ReplyEvent
    from assistant.desk.accounts import AgentAccount
    from assistant.desk.agent_desk import CustomerCopy

INTERNAL_LEFT_OUT = (
    "Parts citing internal bulletins were left out; do not read those to the customer."
)
_VIN = re.compile(r"^(?=[A-Z]*\d)[A-HJ-NPR-Z0-9]{17}$")
CITATION_MARK = re.compile(r"\[(\d{1,2})\]")
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

History = list[dict[str, Any]]
"""The chatbot's messages: {"role": ..., "content": ...}."""


@dataclass(frozen=True)
class LastAnswer:
    """What the Chat tab keeps of the latest answer: for Retry, feedback and the copy button."""

    session_id: str
    turn_index: int
    question: str
    customer_copy: CustomerCopy


# --- HTML of an answer (every value escaped) -------------------------------------------------


def svg_icon(name: str, path: str) -> dict[str, str]:
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


def confidence_badge(confidence: float) -> str:
    level = "high" if confidence >= 0.75 else "medium" if confidence >= 0.5 else "low"
    return (
        f'<span class="gbx-badge gbx-{level}" id="confidence">'
        f"{level.title()} confidence · {confidence:.2f}</span>"
    )


def answer_meta_html(reply: AssistantReply) -> str:
    badges = [confidence_badge(reply.confidence)]
    if reply.vehicle is not None and (reply.vehicle.model or reply.vehicle.vin):
        badges.append(f'<span class="gbx-badge gbx-state">{escape(reply.vehicle.label())}</span>')
    if reply.abstained:
        badges.append('<span class="gbx-badge gbx-low">Not answered from the sources</span>')
    parts = [f'<div class="gbx-meta">{"".join(badges)}</div>']
    escalation = reply.escalation
    if escalation is not None:
        reference = f" · ticket <strong>{escape(escalation.ticket_id)}</strong>"
        # On the agent channel a case is flagged to the agent, not queued for another person.
        title = "Escalated to a person" if escalation.ticket_id else "Flagged for you"
        parts.append(
            f'<div class="gbx-escalation" id="escalation"><strong>{title}</strong>'
            f" · reason: {escape(escalation.reason.replace('_', ' '))}"
            f" · severity: {escape(escalation.severity.value)}"
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
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in facts)
    return (
        f'<details class="gbx-source" id="source-{source.n}">'
        f'<summary><span class="gbx-n">[{source.n}]</span>'
        f'<span class="gbx-title">{escape(source.title)}</span>{audience}'
        f'<span class="gbx-muted">relevance {source.score:.2f}</span></summary>'
        f'<div class="gbx-body"><dl class="gbx-facts">{rows}</dl>'
        f'<blockquote class="gbx-quote">{escape(source.quote)}</blockquote>'
        f'<a class="gbx-open-source" href="{escape(source.url)}" target="_blank" rel="noopener">'
        "Open the document at this section</a></div></details>"
    )


def vehicle_arguments(vehicle_box: str) -> dict[str, str | None]:
    """A 17-character VIN goes to the decoder; anything else is read as model and year."""
    text = vehicle_box.strip()
    # One 17-character token: a make, model and year can be 17 characters without spaces too.
    if _VIN.match(text.upper()):
        return {"vin": text.upper(), "vehicle_text": None}
    return {"vin": None, "vehicle_text": text or None}


def _status_message(stage: str) -> str:
    return f"_{STAGE_LABELS.get(stage, stage.replace('_', ' ').capitalize())}…_"


# --- What the handlers show ------------------------------------------------------------------


@dataclass(frozen=True)
class TurnView(View):
    """An asked, retried or cleared conversation: every panel of the answer."""

    chatbot: History | Keep = KEEP
    sources: str | Keep = KEEP
    answer_meta: str | Keep = KEEP
    session_id: str | Keep | None = KEEP
    last_answer: LastAnswer | Keep | None = KEEP
    question: str | Keep = KEEP
    vehicle_box: str | Keep = KEEP
    customer_copy: Any = KEEP
    copy_note: str | Keep = KEEP
    feedback_status: str | Keep = KEEP
    rating: bool | Keep | None = KEEP


@dataclass(frozen=True)
class CopyView(View):
    """The customer copy shown, with a note when internal parts were left out."""

    customer_copy: Any = KEEP
    copy_note: str | Keep = KEEP


@dataclass(frozen=True)
class RatingView(View):
    """A thumb chosen: the rating kept, said, and the chosen thumb lit."""

    rating: bool | Keep | None = KEEP
    feedback_status: str | Keep = KEEP
    thumbs_up: Any = KEEP
    thumbs_down: Any = KEEP


@dataclass(frozen=True)
class FeedbackView(RatingView):
    """Feedback sent: the rating's panels and the two boxes emptied."""

    feedback_comment: str | Keep = KEEP
    feedback_suggestion: str | Keep = KEEP


CLEARED = TurnView(
    chatbot=[], sources=sources_html([]), answer_meta="", session_id=None, last_answer=None,
    question="", vehicle_box="", customer_copy=gr.update(value="", visible=False), copy_note="",
    feedback_status="", rating=None,
)  # fmt: skip
"""A new conversation: nothing asked, nothing shown."""


# --- Handlers --------------------------------------------------------------------------------


def ask(
    desk: AgentDesk,
    agent: AgentAccount,
    text: str,
    vehicle_text: str,
    history: History,
    session_id: str | None,
) -> Iterator[TurnView]:
    """The question's answer as it streams, then with its sources, badges and feedback state."""
    text = text.strip()
    if not text:
        gr.Warning("Type a question first.")
        return
    if len(text) > desk.max_question_chars:
        gr.Warning(f"The question is too long: keep it to {desk.max_question_chars} characters.")
        return
    history = [*history, {"role": "user", "content": text}]
    yield TurnView(
        chatbot=[*history, {"role": "assistant", "content": _status_message("session")}],
        question="", sources=sources_html([]), answer_meta="", copy_note="", feedback_status="",
        customer_copy=gr.update(value="", visible=False), rating=None,
    )  # fmt: skip
    vehicle = vehicle_arguments(vehicle_text)
    start = partial(desk.ask, agent, text, session_id=session_id, **vehicle)
    reply = yield from _streamed(start, history)
    if reply is None:
        return
    turn = desk.finish(reply)
    cited = linked_citations(reply.answer, turn.sources)
    yield TurnView(
        chatbot=[*history, {"role": "assistant", "content": cited}],
        sources=sources_html(turn.sources),
        answer_meta=answer_meta_html(reply),
        session_id=reply.session_id,
        last_answer=LastAnswer(reply.session_id, turn.turn_index, text, turn.customer_copy),
        vehicle_box=(
            reply.vehicle.label()
            if not vehicle_text.strip() and reply.vehicle is not None and reply.vehicle.model
            else KEEP  # what the agent typed stays; a vehicle the question named fills the box
        ),
    )


def _streamed(
    start: Callable[[], Iterable[ReplyEvent]], history: History
) -> Generator[TurnView, None, AssistantReply | None]:
    """The stages and the answer's words as they come; returns the reply (None on failure)."""
    answer = ""
    reply: AssistantReply | None = None
    try:
        for event in start():
            if event.kind == "status" and not answer:
                working = {"role": "assistant", "content": _status_message(event.text)}
                yield TurnView(chatbot=[*history, working])
            elif event.kind == "delta":
                answer += event.text
                yield TurnView(chatbot=[*history, {"role": "assistant", "content": answer}])
            elif event.kind == "reply":
                reply = event.reply
    except GloveboxError as error:
        failed = {"role": "assistant", "content": f"_The assistant could not answer: {error}_"}
        gr.Warning(str(error))
        yield TurnView(chatbot=[*history, failed])
        return None
    return reply


def retry(
    desk: AgentDesk,
    agent: AgentAccount,
    vehicle_text: str,
    history: History,
    session_id: str | None,
    previous: LastAnswer | None,
) -> Iterator[TurnView]:
    """The last question asked again, in the same conversation."""
    if previous is None:
        gr.Warning("Nothing to retry yet: ask a question first.")
        return
    yield from ask(desk, agent, previous.question, vehicle_text, history, session_id)


def clear(desk: AgentDesk, agent: AgentAccount) -> TurnView:
    """A new conversation."""
    del desk, agent
    return CLEARED


def copy_answer(desk: AgentDesk, agent: AgentAccount, previous: LastAnswer | None) -> CopyView:
    """The answer for the customer shown (the browser then copies it), public sources only."""
    del desk, agent
    if previous is None:
        gr.Warning("Ask a question first: there is no answer to copy.")
        return CopyView()
    copy = previous.customer_copy
    text = copy.text or "(Nothing in this answer cites a public source.)"
    note = (
        f'<div class="gbx-escalation">{escape(INTERNAL_LEFT_OUT)}</div>'
        if copy.relied_on_internal
        else ""
    )
    return CopyView(customer_copy=gr.update(value=text, visible=True), copy_note=note)


def choose_rating(
    desk: AgentDesk, agent: AgentAccount, previous: LastAnswer | None, *, helpful: bool
) -> RatingView:
    """A thumb pressed: it stays lit until the feedback is sent."""
    del desk, agent
    if previous is None:
        gr.Warning("Ask a question first: there is no answer to rate.")
        return RatingView(rating=None, feedback_status="")
    chosen = "helpful" if helpful else "not helpful"
    return RatingView(
        rating=helpful,
        feedback_status=f"Rated **{chosen}**: add a comment if you like, then **Send feedback**.",
        thumbs_up=gr.update(variant="primary" if helpful else "secondary"),
        thumbs_down=gr.update(variant="secondary" if helpful else "primary"),
    )


def save_feedback(
    desk: AgentDesk,
    agent: AgentAccount,
    previous: LastAnswer | None,
    helpful: bool | None,
    comment: str,
    suggestion: str,
) -> FeedbackView:
    """The rating, comment and better answer stored for the knowledge team."""
    if previous is None:
        gr.Warning("Ask a question first: there is no answer to rate.")
        return FeedbackView()
    if helpful is None:
        gr.Warning("Choose Helpful or Not helpful first.")
        return FeedbackView()
    desk.feedback(
        agent,
        previous.session_id,
        previous.turn_index,
        helpful=helpful,
        comment=comment,
        suggestion=suggestion,
    )
    return FeedbackView(
        feedback_status="**Feedback saved.** Thank you: it goes to the knowledge team.",
        feedback_comment="",
        feedback_suggestion="",
        rating=None,
        thumbs_up=gr.update(variant="secondary"),
        thumbs_down=gr.update(variant="secondary"),
    )


# --- The tab ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatTab:
    """The Chat tab's components; the Vehicle tab fills `vehicle_box`."""

    last_answer: gr.State
    session_id: gr.State
    rating: gr.State
    vehicle_box: gr.Textbox
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask_button: gr.Button
    retry_button: gr.Button
    clear_button: gr.Button
    copy_button: gr.Button
    thumbs_up: gr.Button
    thumbs_down: gr.Button
    send_feedback: gr.Button
    feedback_status: gr.Markdown
    feedback_comment: gr.Textbox
    feedback_suggestion: gr.Textbox
    answer_meta: gr.HTML
    sources: gr.HTML
    customer_copy: gr.Textbox
    copy_note: gr.HTML


def build_chat_tab(desk: AgentDesk) -> ChatTab:
    """The Chat tab and its events."""
    with gr.Tab("Chat", id="chat", elem_id="tab-chat"), gr.Row():
        states: dict[str, Any] = {
            name: gr.State(None) for name in ("last_answer", "session_id", "rating")
        }
        with gr.Column(scale=3):
            conversation = _conversation()
            feedback = _feedback_controls()
        with gr.Column(scale=2):
            answer = _answer_panels()
    tab = ChatTab(**states, **conversation, **feedback, **answer)
    _wire(desk, tab)
    return tab


def _conversation() -> dict[str, Any]:
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
        copy_button = gr.Button("Copy answer with footnotes", size="sm", elem_id="copy-answer")
    return {
        "vehicle_box": vehicle_box, "chatbot": chatbot, "question": question,
        "ask_button": ask_button, "retry_button": retry_button, "clear_button": clear_button,
        "copy_button": copy_button,
    }  # fmt: skip


def _feedback_controls() -> dict[str, Any]:
    with gr.Group(elem_id="feedback"):
        with gr.Row(equal_height=True):
            thumbs = {
                name: gr.Button(
                    label,
                    icon=svg_icon(*icon),  # type: ignore[arg-type]
                    size="sm",
                    elem_id=name.replace("_", "-"),
                    min_width=80,
                )
                for name, label, icon in (
                    ("thumbs_up", "Helpful", THUMBS_UP),
                    ("thumbs_down", "Not helpful", THUMBS_DOWN),
                )
            }
            send = gr.Button(
                "Send feedback", size="sm", variant="secondary", elem_id="send-feedback",
                min_width=80,
            )  # fmt: skip
            # In the buttons' row: at 1280x800 a line below the fields is off screen.
            status = gr.Markdown("", elem_id="feedback-status")
        with gr.Row():
            comment = gr.Textbox(
                label="Comment",
                placeholder="What was wrong or missing?",
                elem_id="feedback-comment",
                lines=1,
                max_lines=4,
            )
            suggestion = gr.Textbox(
                label="Suggest a better answer",
                elem_id="feedback-suggestion",
                lines=1,
                max_lines=6,
            )
    return {
        **thumbs, "send_feedback": send, "feedback_status": status, "feedback_comment": comment,
        "feedback_suggestion": suggestion,
    }  # fmt: skip


def _answer_panels() -> dict[str, Any]:
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
    return {
        "answer_meta": answer_meta, "sources": sources, "customer_copy": customer_copy,
        "copy_note": copy_note,
    }  # fmt: skip


def _wire(desk: AgentDesk, tab: ChatTab) -> None:
    turn_outputs = TurnView.outputs(tab)
    gr.on(
        [tab.ask_button.click, tab.question.submit],
        agent_stream(desk, ask),
        inputs=[tab.question, tab.vehicle_box, tab.chatbot, tab.session_id],
        outputs=turn_outputs,
        concurrency_limit=4,
        api_visibility="private",
    )
    tab.retry_button.click(
        agent_stream(desk, retry),
        inputs=[tab.vehicle_box, tab.chatbot, tab.session_id, tab.last_answer],
        outputs=turn_outputs,
        concurrency_limit=4,
        api_visibility="private",
    )
    gr.on(  # the chatbot's own bin too
        [tab.clear_button.click, tab.chatbot.clear],
        agent_event(desk, clear),
        outputs=turn_outputs,
        api_visibility="private",
    )
    tab.copy_button.click(
        agent_event(desk, copy_answer),
        inputs=[tab.last_answer],
        outputs=CopyView.outputs(tab),
        api_visibility="private",
    ).then(fn=None, js=COPY_TO_CLIPBOARD)
    for button, helpful in ((tab.thumbs_up, True), (tab.thumbs_down, False)):
        button.click(
            agent_event(desk, partial(choose_rating, helpful=helpful)),
            inputs=[tab.last_answer],
            outputs=RatingView.outputs(tab),
            api_visibility="private",
        )
    tab.send_feedback.click(
        agent_event(desk, save_feedback),
        inputs=[tab.last_answer, tab.rating, tab.feedback_comment, tab.feedback_suggestion],
        outputs=FeedbackView.outputs(tab),
        api_visibility="private",
    )
