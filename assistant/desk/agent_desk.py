"""What an agent can do, whatever the screen: the Gradio console and the agent HTTP API both
call this, so sign-in, chat, sources, the vehicle card, feedback and the queue behave the same.

Every method that reads or changes agent data takes the signed-in `AgentAccount`; callers get
it from `agent_for(token)`, which is the only way in.

    desk = AgentDesk(services, timedelta(hours=8), max_question_chars=1000)
    token = desk.sign_in("ana", "correct horse battery")
    agent = desk.agent_for(token)
    for event in desk.ask(agent, "How do I reset the TPMS light?", vehicle_text="Roadster 2022"):
        ...
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from assistant.desk.stores import DeskListings
from assistant.desk.tickets import SEVERITY_RANK
from assistant.recalls import RecallNotice
from assistant.records import Channel, EscalationState, Vehicle
from assistant.sources import stored_source_link
from assistant.vehicles import describe_vehicle
from knowledge.errors import InputError

if TYPE_CHECKING:
    from assistant.chain import Assistant, AssistantReply, Citation, ReplyEvent
    from assistant.desk.accounts import AgentAccount, SqlAccountStore
    from assistant.desk.feedback import Feedback, SqlFeedbackStore
    from assistant.desk.insights import Insights
    from assistant.desk.sessions import SqlSessionStore
    from assistant.desk.tickets import SqlTicketStore
    from assistant.records import Ticket
    from assistant.sources import SourceDocument, SourceLibrary
    from knowledge.embedder import Embedder

STAGE_LABELS = {
    "session": "Reading the conversation",
    "rewrite": "Understanding the question",
    "recall_check": "Checking open recalls for the vehicle",
    "retrieve": "Searching the service knowledge",
    "generate": "Writing the answer",
    "support": "Checking every sentence against its source",
    "escalate": "Handing the case to a person",
}
QueueState = Literal["open", "waiting_for_human", "human", "resolved", "all"]
QueueChannel = Literal["all", "driver", "agent"]
QueueSeverity = Literal["all", "critical", "high", "medium", "low"]
QueueSort = Literal["severity", "oldest", "newest"]
PUBLIC = "public"
AGENT_TYPING_SECONDS = 6.0
"""How long after an agent's last keystroke in a reply the driver still sees them typing."""
_MARKS = re.compile(r"\[(\d+)\]")


class NotSignedIn(Exception):
    """No session, an expired one, or a disabled account: sign in again."""


@dataclass(frozen=True)
class SourceView:
    """One cited passage as the sources panel shows it."""

    n: int
    title: str
    kind: str
    section: str
    page: int | None
    vehicle: str | None
    effective_date: str | None
    internal: bool
    quote: str
    score: float
    document_id: str
    url: str
    """Where the source opens: its whole document at this section, for signed-in agents."""

    @classmethod
    def of(cls, citation: Citation) -> SourceView:
        return cls(
            n=citation.n,
            title=citation.title,
            kind=citation.kind.replace("_", " "),
            section=citation.section,
            page=citation.page,
            vehicle=citation.vehicle,
            effective_date=citation.effective_date,
            internal=citation.audience != PUBLIC,
            quote=citation.quote,
            score=citation.score,
            document_id=citation.document_id,
            url=stored_source_link(citation.to_json(), agent=True),
        )


@dataclass(frozen=True)
class CustomerCopy:
    """The answer as an agent may paste it to a customer: public sources only, as footnotes."""

    text: str
    relied_on_internal: bool
    """Some sentences cited internal bulletins and were left out: say so to the agent."""


@dataclass(frozen=True)
class SuggestedReply:
    """A reply to the customer's last message, drafted from public sources for the agent."""

    for_message: str
    answer: str
    """With the `[n]` marks of `sources`."""
    text: str
    """As the agent would send it: the answer with its sources as footnotes."""
    sources: list[SourceView]
    confidence: float


@dataclass(frozen=True)
class RecallView:
    campaign: str
    title: str
    component: str
    consequence: str
    remedy: str
    do_not_drive: bool
    park_outside: bool
    effective_date: str | None


@dataclass(frozen=True)
class VehicleCard:
    vehicle: Vehicle
    description: str
    recalls: list[RecallView] = field(default_factory=list)
    filter_text: str = ""
    """How the vehicle narrows the chat: which documents answers may come from."""


@dataclass(frozen=True)
class AgentTurn:
    """A finished answer on the agent channel, with what the console shows beside it."""

    reply: AssistantReply
    turn_index: int
    """The reply's position in the session, for feedback."""
    sources: list[SourceView]
    customer_copy: CustomerCopy


class DeskServices(DeskListings, Protocol):
    """What the agent desk works with; the server's `Services` holds it all."""

    @property
    def assistant(self) -> Assistant: ...

    @property
    def accounts(self) -> SqlAccountStore: ...

    @property
    def sources(self) -> SourceLibrary: ...

    @property
    def embedder(self) -> Embedder: ...


class AgentDesk:
    def __init__(
        self,
        services: DeskServices,
        session_ttl: timedelta,
        *,
        max_question_chars: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._accounts: SqlAccountStore = services.accounts
        self._sessions: SqlSessionStore = services.sessions
        self._tickets: SqlTicketStore = services.tickets
        self._feedback: SqlFeedbackStore = services.feedback
        self._session_ttl = session_ttl
        self.max_question_chars = max_question_chars
        # Ticket id -> the clock at an agent's last keystroke. In memory, not in the database:
        # it is stale within seconds, nothing needs it after a restart, and a keystroke should
        # not cost a write. The console and the driver API share this desk in one process.
        self._typed_at: dict[int, float] = {}
        self._typing_lock = threading.Lock()
        self._clock = clock

    # Sign-in

    def sign_in(self, username: str, password: str) -> str | None:
        """A session token for the right password; None otherwise (never says which was wrong)."""
        account = self._accounts.authenticate(username, password)
        if account is None:
            return None
        return self._accounts.open_session(account.username, self._session_ttl)

    def agent_for(self, token: str | None) -> AgentAccount:
        account = self._accounts.session_agent(token) if token else None
        if account is None:
            raise NotSignedIn("sign in again: no session, or it has expired")
        return account

    def sign_out(self, token: str) -> None:
        self._accounts.close_session(token)

    def source(self, agent: AgentAccount, document_id: str) -> SourceDocument | None:
        """Any cited document, internal ones too: agents read what drivers may not."""
        del agent  # signed in is enough: every agent reads every source
        return self._services.sources.document(document_id, audiences=Channel.AGENT.audiences)

    # Chat

    def ask(
        self,
        agent: AgentAccount,
        question: str,
        *,
        session_id: str | None = None,
        vehicle_text: str | None = None,
        vin: str | None = None,
    ) -> Iterator[ReplyEvent]:
        """The agent-channel answer as events (internal bulletins allowed); see `finish`."""
        del agent  # signed in is all it takes; kept so no caller can skip the check
        if len(question) > self.max_question_chars:
            raise InputError(
                "question",
                f"is {len(question)} characters; keep it to {self.max_question_chars}",
            )
        return self._services.assistant.stream(
            question,
            channel=Channel.AGENT,
            session_id=session_id,
            vehicle_text=vehicle_text or None,
            vin=vin or None,
        )

    def finish(self, reply: AssistantReply) -> AgentTurn:
        session = self._sessions.get_session(reply.session_id)
        turn_index = len(session.turns) - 1 if session else 0
        sources = [SourceView.of(citation) for citation in reply.citations]
        return AgentTurn(reply, turn_index, sources, customer_copy(reply))

    # Vehicle card

    def vehicle_card(self, text: str) -> VehicleCard:
        text = text.strip()
        if not text:
            raise InputError("vehicle", "enter a 17-character VIN, or a model and year")
        vehicle = self._vehicle(text)
        recalls = [
            _recall_view(notice)
            for notice in self._services.assistant.recalls.notices_for(vehicle, Channel.AGENT)
        ]
        return VehicleCard(
            vehicle=vehicle,
            description=describe_vehicle(vehicle),
            recalls=recalls,
            filter_text=(
                f"Answers come from documents for the {describe_vehicle(vehicle)} and from "
                "documents for every vehicle; other models' and years' documents are left out."
            ),
        )

    def _vehicle(self, text: str) -> Vehicle:
        catalog = self._services.assistant.catalog
        compact = text.upper()
        # One token only: a make, model and year can be 17 letters and digits without spaces.
        if len(compact) == 17 and compact.isalnum():
            decoded = catalog.decode_vin(compact)
            if decoded.model or decoded.year:
                return decoded
            raise InputError("vin", f"{compact} is not a VIN of this carmaker's vehicles")
        stated = catalog.find_in_text(text)
        if stated is None or not stated.model:
            close = catalog.model_choices(text)
            hint = f" (close: {', '.join(close)})" if close else ""
            raise InputError(
                "vehicle",
                f"{text!r} names no model I have information on; give the "
                f"{catalog.profile.vehicle_example}{hint}",
            )
        if stated.year is not None and not catalog.knows_model_year(stated):
            first, last = catalog.model_years(stated.model or "") or (0, 0)
            raise InputError(
                "vehicle",
                f"there is no {describe_vehicle(stated)} in what I have: the {stated.model} "
                f"covers model years {first}–{last}; check the year (the 10th character of "
                "the VIN gives it)",
            )
        return stated

    # Feedback

    def feedback(
        self,
        agent: AgentAccount,
        session_id: str,
        turn_index: int,
        *,
        helpful: bool,
        comment: str = "",
        suggestion: str = "",
    ) -> Feedback:
        note = f"[{agent.username}] {comment.strip()}" if comment.strip() else None
        return self._feedback.add_feedback(
            session_id, turn_index, helpful, comment=note, suggestion=suggestion or None
        )

    def feedback_list(self, agent: AgentAccount, limit: int = 500) -> list[Feedback]:
        del agent
        return self._feedback.list_feedback(limit=limit)

    # Escalation queue

    def queue(
        self,
        agent: AgentAccount,
        *,
        state: str = "open",
        channel: str = "all",
        severity: str = "all",
        sort: str = "severity",
        search: str = "",
    ) -> list[Ticket]:
        """The queue, filtered; `search` (a reference, a VIN or words) looks through every
        ticket, the resolved ones too unless the state filter says otherwise."""
        del agent
        if search.strip():
            tickets = self._tickets.search_tickets(search, limit=200)
        else:
            tickets = self._tickets.list_tickets(limit=1000)
        if state == "open":
            tickets = [t for t in tickets if t.state is not EscalationState.RESOLVED]
        elif state != "all":
            tickets = [t for t in tickets if t.state.value == state]
        if channel != "all":
            tickets = [t for t in tickets if t.channel.value == channel]
        if severity != "all":
            tickets = [t for t in tickets if t.severity.value == severity]
        if sort == "oldest":
            tickets.sort(key=lambda t: t.created_at)
        elif sort == "newest":
            tickets.sort(key=lambda t: t.created_at, reverse=True)
        else:
            tickets.sort(key=lambda t: (SEVERITY_RANK[t.severity], t.created_at))
        return tickets

    def ticket(self, agent: AgentAccount, ticket_id: int) -> Ticket:
        del agent
        ticket = self._tickets.get_ticket(ticket_id)
        if ticket is None:
            raise InputError("ticket", f"no ticket {ticket_id}")
        return ticket

    def transcript(self, agent: AgentAccount, ticket: Ticket) -> list[dict[str, Any]]:
        """The conversation as it is now (the ticket keeps it as it was when it was opened)."""
        del agent
        session = self._sessions.get_session(ticket.session_id)
        if session is None:
            return list(ticket.transcript)
        return session.transcript()

    def earlier_cases(self, agent: AgentAccount, ticket: Ticket) -> list[Ticket]:
        """Tickets opened before this one in its conversation or for its VIN."""
        del agent
        return self._tickets.earlier_tickets(ticket)

    def suggested_reply(self, agent: AgentAccount, ticket: Ticket) -> SuggestedReply | None:
        """A reply to the customer's last message, drafted from the knowledge base; None when
        the customer has not written or nothing in the public sources supports a reply."""
        from assistant.chain import AssistantReply

        transcript = self.transcript(agent, ticket)
        asked = [i for i, turn in enumerate(transcript) if turn.get("role") == "user"]
        if not asked:
            return None
        message = str(transcript[asked[-1]].get("text", ""))
        history = [
            ("assistant" if turn["role"] == "agent" else str(turn["role"]), str(turn["text"]))
            for turn in transcript[: asked[-1]]
            if turn.get("role") in ("user", "assistant", "agent")
        ]
        suggestion = self._services.assistant.suggest(
            message, vehicle=ticket.vehicle, history=history
        )
        if suggestion is None:
            return None
        reply = AssistantReply(suggestion.answer, ticket.session_id, suggestion.citations)
        return SuggestedReply(
            for_message=message,
            answer=suggestion.answer,
            text=customer_copy(reply).text,
            sources=[SourceView.of(citation) for citation in suggestion.citations],
            confidence=suggestion.confidence,
        )

    def claim(self, agent: AgentAccount, ticket_id: int) -> Ticket:
        return self._tickets.assign(ticket_id, agent.username)

    def note(self, agent: AgentAccount, ticket_id: int, text: str) -> Ticket:
        return self._tickets.add_note(ticket_id, agent.username, text)

    def reply(self, agent: AgentAccount, ticket_id: int, text: str) -> Ticket:
        if not text.strip():
            raise InputError("reply", "is empty; write what the customer should read")
        ticket = self.ticket(agent, ticket_id)
        if ticket.state is EscalationState.WAITING_FOR_HUMAN:
            self.claim(agent, ticket_id)  # replying is taking the case
        self._tickets.add_agent_message(ticket_id, text.strip())
        self._stop_typing(ticket_id)  # the reply is what the driver was waiting for
        return self.ticket(agent, ticket_id)

    def resolve(self, agent: AgentAccount, ticket_id: int, note: str) -> Ticket:
        if not note.strip():
            raise InputError("resolution_note", "is empty; say what was done for the customer")
        ticket = self.ticket(agent, ticket_id)
        if ticket.state is EscalationState.WAITING_FOR_HUMAN:
            self.claim(agent, ticket_id)
        resolved = self._tickets.resolve(ticket_id, f"{note.strip()} ({agent.username})")
        self._stop_typing(ticket_id)
        return resolved

    # Typing

    def note_typing(self, agent: AgentAccount, ticket_id: int) -> Ticket:
        """The agent is writing to the ticket's asker: `agent_is_typing` says so for a while."""
        ticket = self.ticket(agent, ticket_id)
        if ticket.state is EscalationState.RESOLVED:
            raise InputError("ticket", f"{ticket.reference} is resolved; the customer has moved on")
        now = self._clock()
        with self._typing_lock:
            self._typed_at = {
                typed: at for typed, at in self._typed_at.items() if now - at < AGENT_TYPING_SECONDS
            }
            self._typed_at[ticket_id] = now
        return ticket

    def agent_is_typing(self, ticket_id: int) -> bool:
        """Whether an agent typed a reply to this ticket in the last AGENT_TYPING_SECONDS."""
        with self._typing_lock:
            typed_at = self._typed_at.get(ticket_id)
        return typed_at is not None and self._clock() - typed_at < AGENT_TYPING_SECONDS

    def _stop_typing(self, ticket_id: int) -> None:
        with self._typing_lock:
            self._typed_at.pop(ticket_id, None)

    # Insights

    def insights(self, agent: AgentAccount, days: int = 30) -> Insights:
        from assistant.desk.insights import build_insights

        del agent
        since = datetime.now(UTC) - timedelta(days=days)
        return build_insights(self._services, self._services.embedder, since=since)


def customer_copy(reply: AssistantReply) -> CustomerCopy:
    """Sentences citing only public sources, renumbered, with the sources as footnotes."""
    from assistant.chain import ANSWER_PIECES

    public = {c.n: c for c in reply.citations if c.audience == PUBLIC}
    numbering: dict[int, int] = {}
    kept: list[str] = []
    dropped = False
    for piece in ANSWER_PIECES.split(reply.answer):
        marks = [int(n) for n in _MARKS.findall(piece)]
        if marks and not all(n in public for n in marks):
            dropped = True
            continue
        for n in marks:
            numbering.setdefault(n, len(numbering) + 1)
        kept.append(_MARKS.sub(lambda m: f"[{numbering[int(m.group(1))]}]", piece))
    footnotes = [
        f"[{new}] {public[old].title}" + (f", {public[old].section}" if public[old].section else "")
        for old, new in sorted(numbering.items(), key=lambda item: item[1])
    ]
    text = "".join(kept).strip()
    if footnotes:
        text += "\n\nSources:\n" + "\n".join(footnotes)
    return CustomerCopy(text=text, relied_on_internal=dropped)


def _recall_view(notice: RecallNotice) -> RecallView:
    metadata = notice.opening.metadata
    return RecallView(
        campaign=str(metadata.get("campaign_short") or metadata.get("campaign_number") or ""),
        title=str(metadata.get("title", "")),
        component=str(metadata.get("component", "")),
        consequence=notice.section("Consequence"),
        remedy=notice.section("Remedy"),
        do_not_drive=bool(metadata.get("do_not_drive")),
        park_outside=bool(metadata.get("park_outside")),
        effective_date=str(metadata["effective_date"]) if metadata.get("effective_date") else None,
    )
